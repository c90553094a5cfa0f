// The race page: the live monthly race, or any race with ?race=ID (a finished month, a
// weekly or custom race), updated over /ws without reloading, polling with the HTTP
// cache when the socket is down. The signed-in owner's own row is highlighted.
import { follow } from "/js/feed.js";
import { api, currentAccount, freshness, h, monthName, ordinal, playerLink, ready, replace, reveal, showError, notice, usd, num } from "/js/common.js";

const $ = (id) => document.getElementById(id);
const wanted = new URLSearchParams(location.search).get("race");
// A race chosen by id; a finished month's proof and a race's live updates follow from
// its status once loaded.
const finished = Boolean(wanted && /^[a-z0-9-]{1,40}$/.test(wanted));
let race = null;

async function load() {
  try {
    const path = finished ? `/api/wager-races/${wanted}?limit=1000` : "/api/wager-races/current?limit=1000";
    race = await api(path, { fresh: true });
    render(race);
    notice("error", null);
  } catch (err) {
    showError(err);
  } finally {
    reveal();
  }
}

function render(r) {
  const title = r.kind === "monthly" ? `${r.name} race` : r.name;
  document.title = `${title} — goated`;
  $("race-title").textContent = title;
  $("race-status").textContent = r.status;
  $("race-pool").textContent = usd(r.prizePool);
  $("race-count").textContent = num(r.participantCount);
  $("race-total").textContent = usd(r.totalWagered);
  $("countdown-label").textContent = r.status === "live" ? "Ends in" : "Ended";
  freshness(r.metadata);
  replace($("prizes"), r.metadata.prizeDistribution.map((share, i) => h("li", {}, `${ordinal(i + 1)} ${usd(share * r.prizePool)}`)));
  renderPodium(r.participants.slice(0, 3));
  renderTable(r.participants);
  tick();
}

/** A finished race's proof, and how to check it by hand. */
async function showProof(id) {
  try {
    const proof = await api(`/api/wager-races/${id}/proof`);
    const url = `${location.origin}/api/wager-races/${id}/proof`;
    $("proof-digest").textContent = proof.digest;
    $("proof-command").textContent = `curl -s ${url} | jq -j .data.text | sha256sum`;
    $("proof-link").href = url;
    $("export-csv").href = `/api/wager-races/${id}/export.csv`;
    $("export-json").href = `/api/wager-races/${id}/export.json`;
    $("proof").hidden = false;
  } catch {
    // Not final yet (the transition starts before the proof is made): nothing to show.
  }
}

function renderPodium(top) {
  const places = [0, 1, 2].map((i) => {
    const p = top[i];
    if (!p) return h("div", { class: `place p${i + 1}` }, h("div", { class: "rank" }, ordinal(i + 1)), h("div", { class: "muted" }, "Nobody yet"));
    return h("div", { class: `place p${i + 1}` },
      h("div", { class: "rank" }, ordinal(p.position)),
      h("div", { class: "name" }, playerLink(p.uid, p.name)),
      h("div", { class: "amount" }, usd(p.wagered)),
      h("div", { class: "prize" }, p.prize > 0 ? usd(p.prize) : ""));
  });
  replace($("podium"), places);
}

function renderTable(rows) {
  const tied = new Map();
  for (const p of rows) tied.set(p.position, (tied.get(p.position) || 0) + 1);
  const body = rows.map((p) =>
    h("tr", { "data-name": p.name.toLowerCase(), class: p.uid === currentAccount()?.goatedUid ? "mine" : null },
      h("td", { class: "pos" }, String(p.position), tied.get(p.position) > 1 ? h("span", { class: "tie", title: "tied" }, "=") : null),
      h("td", {}, playerLink(p.uid, p.name)),
      h("td", { class: "num" }, usd(p.wagered)),
      h("td", { class: "num prize-cell" }, p.prize > 0 ? usd(p.prize) : "")));
  if (!rows.length) body.push(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No wagers yet this month.")));
  replace($("standings"), body);
  filter();
  if (rows.length && !performance.getEntriesByName("standings-rendered").length) performance.mark("standings-rendered");
}

function filter() {
  const q = $("search").value.trim().toLowerCase();
  let shown = 0;
  for (const tr of $("standings").querySelectorAll("tr[data-name]")) {
    const hit = !q || tr.dataset.name.includes(q);
    tr.hidden = !hit;
    tr.classList.toggle("highlight", Boolean(q) && hit);
    if (hit) shown += 1;
  }
  $("search").setAttribute("aria-description", q ? `${shown} players match` : "");
}

function tick() {
  if (!race) return;
  const left = new Date(race.endDate) - Date.now();
  if (left <= 0 || race.status !== "live") {
    $("countdown").textContent = new Date(race.endDate).toLocaleDateString();
    return;
  }
  const s = Math.floor(left / 1000);
  const d = Math.floor(s / 86400);
  const pad = (n) => String(n).padStart(2, "0");
  $("countdown").textContent = `${d}d ${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

async function showPrevious() {
  try {
    // Through the list (always 200): /previous answers 404 in a month with no finished
    // race, which a browser logs as an error on every visit.
    const done = await api("/api/wager-races?status=finished&limit=20");
    const last = done.results.find((r) => r.kind === "monthly" && r.status === "transition");
    if (!last) return;
    const prev = await api(`/api/wager-races/${last.id}?limit=10`);
    $("previous-title").textContent = `${prev.name} winners`;
    const winners = prev.participants.filter((p) => p.prize > 0);
    replace($("previous-winners"), winners.map((p) => h("li", {}, h("span", {}, `${ordinal(p.position)} `, playerLink(p.uid, p.name)), h("strong", {}, usd(p.prize)))));
    $("previous").hidden = winners.length === 0;
  } catch {
    // No finished race yet: nothing to show.
  }
}

function onFeed(msg) {
  if (msg.type === "leaderboard.updated" || msg.type === "race.completed") {
    load();
    if (msg.type === "race.completed") showPrevious();
  }
}

$("search").addEventListener("input", filter);
setInterval(tick, 1000);
// After the session is known, so the owner's own row can be marked.
ready.finally(load);
if (finished) showProof(wanted);
if (!finished) showPrevious();
follow(onFeed, load, 20000);
