import { follow } from "/js/feed.js";

// The stream overlay and the widget: the top N of a race, live over /ws with polling
// through the answer cache as the fallback; rows slide to their new places. Options in
// the URL: race (an id, default the current monthly race), top (1–20, default 5), theme
// (dark | light), size (s | m | l). No sign-in and no site header: of the site it loads
// only the live feed (feed.js).
const params = new URLSearchParams(location.search);
const race = /^[a-z0-9-]{1,40}$/.test(params.get("race") || "") ? params.get("race") : "current";
const top = Math.min(20, Math.max(1, Number(params.get("top")) || 5));
document.body.classList.add(`theme-${params.get("theme") === "light" ? "light" : "dark"}`);
document.body.classList.add(`size-${["s", "l"].includes(params.get("size")) ? params.get("size") : "m"}`);
const $ = (id) => document.getElementById(id);
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
let shown = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function load() {
  try {
    // Revalidated (ETag, 304 when nothing changed): an update must not read the browser's copy.
    const resp = await fetch(`/api/wager-races/${race}?limit=${top}`, { headers: { accept: "application/json" }, cache: "no-cache" });
    if (!resp.ok) return;
    render((await resp.json()).data);
  } catch {
    // Offline for a moment: the next update or poll tries again.
  }
}

function render(r) {
  shown = r;
  $("board-title").textContent = r.kind === "monthly" ? `${r.name} race` : r.name;
  $("board-pool").textContent = `Pool ${money.format(r.prizePool)}`;
  const list = $("rows");
  // FLIP: where each row was, then where it is, then slide from the one to the other.
  const before = new Map([...list.children].map((li) => [li.dataset.uid, li.getBoundingClientRect().top]));
  const leader = r.participants[0];
  const rows = r.participants.map((p) => {
    const li = el("li", "row");
    li.dataset.uid = p.uid;
    li.append(el("span", "pos", `#${p.position}`), el("span", "name", p.name), el("span", "amount", money.format(p.wagered)));
    const gap = leader && p.uid !== leader.uid ? `−${money.format(leader.wagered - p.wagered)} to #1` : "leading";
    li.append(el("span", gap === "leading" ? "gap lead" : "gap", gap), el("span", "prize", p.prize > 0 ? `wins ${money.format(p.prize)}` : ""));
    return li;
  });
  list.replaceChildren(...rows);
  if (!rows.length) list.append(el("li", "empty", "No wagers yet."));
  for (const li of rows) {
    const was = before.get(li.dataset.uid);
    if (was === undefined) continue;
    const moved = was - li.getBoundingClientRect().top;
    if (!moved) continue;
    li.style.transition = "none";
    li.style.transform = `translateY(${moved}px)`;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      li.style.transition = "";
      li.style.transform = "";
    }));
  }
  document.body.dataset.version = String((Number(document.body.dataset.version) || 0) + 1);
  tick();
}

function tick() {
  if (!shown) return;
  const left = new Date(shown.endDate) - Date.now();
  if (left <= 0 || shown.status !== "live") {
    $("board-countdown").textContent = shown.status;
    return;
  }
  const s = Math.floor(left / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  $("board-countdown").textContent = `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

setInterval(tick, 1000);
load();
// Every sync updates every live race (the message names the monthly one).
follow((msg) => {
  if (msg.type === "leaderboard.updated" || msg.type === "race.completed") load();
}, load, 15000);
