// Finished races, newest first, with their winners.
import { api, h, monthName, ordinal, playerLink, replace, showError, usd, num } from "/js/common.js";

const params = new URLSearchParams(location.search);
const page = Math.max(1, Number(params.get("page")) || 1);

async function load() {
  try {
    const data = await api(`/api/wager-races/history?page=${page}&limit=12`);
    const cards = data.results.map((r) =>
      h("section", { class: "card" },
        h("h2", {}, h("a", { href: `/?race=${r.id}` }, `${monthName(r.id)} race`)),
        h("p", { class: "muted" }, `${r.status} · ${num(r.participantCount)} players · ${usd(r.totalWagered)} wagered · pool ${usd(r.prizePool)}`),
        h("ol", { class: "list" }, r.winners.map((w) => h("li", {}, h("span", {}, `${ordinal(w.position)} `, playerLink(w.uid, w.name)), h("strong", {}, usd(w.prize)))))));
    if (!cards.length) cards.push(h("p", { class: "card muted" }, "No race has finished yet."));
    replace(document.getElementById("history"), cards);
    const pages = data.pagination.pages;
    replace(document.getElementById("pager"),
      page > 1 ? h("a", { class: "button", href: `?page=${page - 1}` }, "Newer") : null,
      pages > 1 ? h("span", {}, `Page ${page} of ${pages}`) : null,
      page < pages ? h("a", { class: "button", href: `?page=${page + 1}` }, "Older") : null);
  } catch (err) {
    showError(err);
  }
}

load();
