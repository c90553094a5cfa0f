// The affiliate leaderboard by period, paginated; the period and page live in the URL.
import { api, freshness, h, playerLink, replace, reveal, showError, usd } from "/js/common.js";

const PERIODS = [["today", "Today"], ["this_week", "This week"], ["this_month", "This month"], ["all_time", "All time"]];
const params = new URLSearchParams(location.search);
let period = PERIODS.some(([p]) => p === params.get("period")) ? params.get("period") : "this_month";
let page = Math.max(1, Number(params.get("page")) || 1);
const LIMIT = 50;

function tabs() {
  replace(document.getElementById("periods"), PERIODS.map(([value, label]) =>
    h("button", { type: "button", "aria-pressed": String(value === period), onclick: () => go(value, 1) }, label)));
}

function go(p, n) {
  period = p;
  page = n;
  history.replaceState(null, "", `?period=${period}&page=${page}`);
  tabs();
  load();
}

async function load() {
  try {
    const full = await api(`/api/affiliate/leaderboard?period=${period}&page=${page}&limit=${LIMIT}`, { full: true });
    freshness(full.metadata);
    const { results, pagination } = full.data;
    const rows = results.map((r) => h("tr", {}, h("td", { class: "pos" }, String(r.position)), h("td", {}, playerLink(r.uid, r.name)), h("td", { class: "num" }, usd(r.wagered))));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "Nobody wagered in this period.")));
    replace(document.getElementById("board"), rows);
    replace(document.getElementById("pager"),
      h("button", { type: "button", class: "secondary", disabled: page <= 1, onclick: () => go(period, page - 1) }, "Previous"),
      h("span", {}, `Page ${pagination.page} of ${Math.max(1, pagination.pages)}`),
      h("button", { type: "button", class: "secondary", disabled: page >= pagination.pages, onclick: () => go(period, page + 1) }, "Next"));
  } catch (err) {
    showError(err);
  } finally {
    reveal();
  }
}

tabs();
load();
