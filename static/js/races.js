// Every race: the live and upcoming ones (monthly, weekly, custom), then the finished
// ones, latest first, with their winners.
import { api, h, ordinal, playerLink, replace, showError, usd, num, when } from "/js/common.js";

const params = new URLSearchParams(location.search);
const page = Math.max(1, Number(params.get("page")) || 1);

async function load() {
  try {
    if (page === 1) {
      const open = await api("/api/wager-races?status=live&limit=20");
      const soon = await api("/api/wager-races?status=upcoming&limit=20");
      const rows = [...open.results, ...soon.results].map((r) => h("li", {},
        h("span", {}, h("a", { href: `/?race=${r.id}` }, r.name), ` · ${r.kind} · ${r.status}`),
        h("span", { class: "muted" }, `${when(r.startDate)} – ${when(r.endDate)} · pool ${usd(r.prizePool)}`)));
      replace(document.getElementById("running"), h("section", { class: "card" }, h("h2", {}, "Live and upcoming"), h("ul", { class: "list", id: "running-races" }, rows)));
    }
    const data = await api(`/api/wager-races?status=finished&page=${page}&limit=12`);
    const cards = data.results.map((r) =>
      h("section", { class: "card" },
        h("h2", {}, h("a", { href: `/?race=${r.id}` }, r.kind === "monthly" ? `${r.name} race` : r.name)),
        h("p", { class: "muted" }, `${r.kind} · ${r.status} · ${num(r.participantCount)} players · ${usd(r.totalWagered)} wagered · pool ${usd(r.prizePool)}`),
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
