// The admin page: usage analytics, verifications, payouts, races (custom and weekly),
// syncing, caches, the upstream token, prize overrides.
// Only for admins; the API checks again on every call.
import { api, currentAccount, formData, formError, h, num, ready, replace, showError, usd, when } from "/js/common.js";
import { twoFactorSection } from "/js/twofactor.js";
import { readSplit, splitFields } from "/js/splits.js";

const root = document.getElementById("admin");
const section = (title, ...body) => h("section", { class: "card" }, h("h2", {}, title), ...body);

async function verifications() {
  const list = h("ul", { class: "list", id: "pending-verifications" });
  const pending = await api("/api/admin/verifications", { auth: true });
  replace(list, pending.map((r) => {
    const note = h("input", { "aria-label": `Note for ${r.username}`, placeholder: "note (optional)", maxlength: 500 });
    const decide = (approve) => async () => {
      try {
        await api("/api/verification/confirm", { method: "POST", auth: true, body: { requestId: r.id, approve, note: note.value || undefined } });
        render();
      } catch (err) {
        showError(err);
      }
    };
    return h("li", {}, h("span", {}, `${r.username} claims ${r.goatedName} (${r.goatedUid})`),
      h("span", { class: "row-actions" }, note,
        h("button", { type: "button", onclick: decide(true), "data-approve": r.id }, "Approve"),
        h("button", { type: "button", class: "secondary", onclick: decide(false) }, "Reject")));
  }));
  if (!pending.length) list.append(h("li", { class: "muted" }, "Nothing waiting."));
  return section("Pending verifications", list);
}

async function syncing() {
  const runs = await api("/api/admin/sync-runs?limit=15", { auth: true });
  const table = h("table", {}, h("thead", {}, h("tr", {}, ["Started", "Trigger", "Outcome", "Accepted", "Error"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, runs.results.map((r) => h("tr", {}, h("td", {}, when(r.startedAt)), h("td", {}, r.trigger), h("td", {}, r.outcome), h("td", {}, r.accepted ?? "—"), h("td", {}, r.error || "")))));
  const button = h("button", { type: "button", id: "sync-now" }, "Sync now");
  const result = h("p", { class: "muted", "aria-live": "polite" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.textContent = "Syncing…";
    try {
      const run = await api("/api/admin/sync", { method: "POST", auth: true, body: {} });
      result.textContent = `Sync ${run.outcome}${run.error ? `: ${run.error}` : ""}.`;
      render();
    } catch (err) {
      result.textContent = err.message;
      button.disabled = false;
    }
  });
  const card = section("Syncing", h("div", { class: "toolbar" }, button, result), h("div", { class: "table-wrap" }, table));
  card.id = "syncing";
  return card;
}

function cacheFlush() {
  const form = h("form", { class: "stack" }, h("label", {}, "Key prefix (empty for all)", h("input", { name: "prefix", maxlength: 64 })), h("button", { type: "submit" }, "Flush caches"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const out = await api("/api/admin/cache/flush", { method: "POST", auth: true, body: formData(form) });
      formError(form, `Flushed ${out.flushed} answers.`);
    } catch (err) {
      formError(form, err);
    }
  });
  return section("Caches", form);
}

async function upstreamToken() {
  const t = await api("/api/admin/upstream/token", { auth: true });
  const expiry = t.expiresAt ? `expires ${when(t.expiresAt)} (in ${until(t.expiresAt)})${t.expiresSoon ? " — soon!" : ""}` : "its expiry cannot be read";
  const facts = h("p", {}, t.configured ? `Token ${t.fingerprint}, ${expiry}. It is checked with Goated.com before it is kept.` : "No token set (demo mode): copy it from a signed-in Goated.com session.",
    t.authFailed ? h("strong", {}, ` The casino refused it at ${when(t.lastAuthFailureAt)}.`) : "");
  const form = h("form", { class: "stack" }, h("label", {}, "New token", h("input", { name: "token", type: "password", autocomplete: "off", required: true, minlength: 10 })), h("button", { type: "submit" }, "Replace token"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("/api/admin/upstream/token", { method: "PUT", auth: true, body: formData(form) });
      render();
    } catch (err) {
      formError(form, err);
    }
  });
  const card = section("Goated token", facts, form);
  card.id = "upstream-token";
  return card;
}

function prizes() {
  const form = h("form", { class: "stack" },
    h("label", {}, "Race (YYYYMM)", h("input", { name: "race", required: true, pattern: "\\d{6}" })),
    ...splitFields(),
    h("button", { type: "submit" }, "Save prizes"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(form);
    try {
      const out = await api(`/api/admin/races/${f.race}/prizes`, { method: "PUT", auth: true, body: readSplit(f) });
      formError(form, `Saved: ${usd(out.prizePool)} split ${out.prizeDistribution.map((s) => `${+(s * 100).toFixed(2)}%`).join(" / ")}.`);
    } catch (err) {
      formError(form, err);
    }
  });
  return section("Prize overrides", form);
}

/** Weekly and custom races: the list (cancel one that has not started), a form for a
 *  custom race, and weekly series (start, stop). The server checks every rule again. */
async function races() {
  const defs = await api("/api/admin/races", { auth: true });
  const now = Date.now();
  const rows = defs.races.map((r) => {
    const started = new Date(r.startsAt) <= now;
    const cancel = h("button", { type: "button", class: "secondary", "data-cancel-race": r.id }, "Cancel");
    cancel.addEventListener("click", async () => {
      try {
        await api(`/api/admin/races/${r.id}`, { method: "DELETE", auth: true });
        render();
      } catch (err) {
        showError(err);
      }
    });
    return h("tr", {}, h("td", {}, h("a", { href: `/?race=${r.id}` }, r.id)), h("td", {}, r.name), h("td", {}, r.kind),
      h("td", {}, `${when(r.startsAt)} – ${when(r.endsAt)}`), h("td", { class: "num" }, usd(r.prizePool)),
      h("td", {}, r.cancelledAt ? "cancelled" : started ? "" : cancel));
  });
  const table = h("div", { class: "table-wrap" }, h("table", { id: "defined-races" },
    h("thead", {}, h("tr", {}, ["Id", "Name", "Kind", "Window", "Pool", ""].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No weekly or custom race yet."))])));
  const custom = h("form", { class: "stack", id: "new-race" },
    h("label", {}, "Name", h("input", { name: "name", required: true, maxlength: 80 })),
    h("label", {}, "Starts (your local time)", h("input", { name: "startsAt", type: "datetime-local", required: true })),
    h("label", {}, "Ends (your local time)", h("input", { name: "endsAt", type: "datetime-local", required: true })),
    ...splitFields(),
    h("label", {}, "Minimum wager (dollars)", h("input", { name: "minWager", type: "number", min: 0, step: "0.01", value: 0 })),
    h("button", { type: "submit" }, "Create race"));
  custom.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(custom);
    try {
      await api("/api/admin/races", { method: "POST", auth: true, body: {
        name: f.name, startsAt: new Date(f.startsAt).toISOString(), endsAt: new Date(f.endsAt).toISOString(),
        ...readSplit(f), minWager: Number(f.minWager || 0) } });
      render();
    } catch (err) {
      formError(custom, err);
    }
  });
  const days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
  const seriesList = h("ul", { class: "list", id: "race-series" }, defs.series.map((s) => {
    const stop = h("button", { type: "button", class: "secondary" }, "Stop");
    stop.addEventListener("click", async () => {
      try {
        await api(`/api/admin/race-series/${s.id}`, { method: "DELETE", auth: true });
        render();
      } catch (err) {
        showError(err);
      }
    });
    return h("li", {}, h("span", {}, `${s.name}: ${days[s.startWeekday - 1]}s ${s.startHour}:00, pool ${usd(s.prizePool)}${s.source === "demo" ? " (demo)" : ""}`),
      s.active ? stop : h("span", { class: "muted" }, "stopped"));
  }));
  const weekly = h("form", { class: "stack", id: "new-series" },
    h("label", {}, "Name", h("input", { name: "name", required: true, maxlength: 80, value: "Weekly Race" })),
    h("label", {}, "Starts on", h("select", { name: "startWeekday" }, days.map((d, i) => h("option", { value: i + 1 }, d)))),
    h("label", {}, "At hour (race time zone)", h("input", { name: "startHour", type: "number", min: 0, max: 23, value: 0, required: true })),
    ...splitFields(),
    h("button", { type: "submit" }, "Start weekly series"));
  weekly.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(weekly);
    try {
      await api("/api/admin/race-series", { method: "POST", auth: true, body: {
        name: f.name, startWeekday: Number(f.startWeekday), startHour: Number(f.startHour),
        ...readSplit(f) } });
      render();
    } catch (err) {
      formError(weekly, err);
    }
  });
  return section("Races", table, h("h3", {}, "New custom race"), custom, h("h3", {}, "Weekly series"), seriesList, weekly);
}

/** Discord and Telegram: destinations (paused or not), the latest deliveries, a test. */
async function notifications() {
  const log = await api("/api/admin/notifications?limit=20", { auth: true });
  if (!log.destinations.length) {
    return section("Notifications", h("p", { class: "muted" }, "Off: set notify.discord_webhooks or notify.telegram_bot_token and notify.telegram_chat_id to tell your community about races."));
  }
  const status = h("ul", { class: "list", id: "notify-destinations" }, log.destinations.map((d) =>
    h("li", {}, h("span", {}, d.id), d.paused ? h("strong", {}, `paused: ${d.pausedReason}`) : h("span", { class: "muted" }, "sending"))));
  const rows = log.recent.map((d) => h("tr", {}, h("td", {}, when(d.createdAt)), h("td", {}, d.destination), h("td", {}, d.kind),
    h("td", {}, d.status, d.attempts > 1 ? ` (${d.attempts} tries)` : ""), h("td", {}, d.lastError || "")));
  const button = h("button", { type: "button", id: "notify-test" }, "Send a test message");
  const result = h("p", { class: "muted", "aria-live": "polite" });
  button.addEventListener("click", async () => {
    try {
      const out = await api("/api/admin/notifications/test", { method: "POST", auth: true });
      result.textContent = `Queued for ${out.queued} destination(s); paused ones were resumed.`;
    } catch (err) {
      result.textContent = err.message;
    }
  });
  return section("Notifications", status, h("div", { class: "toolbar" }, button, result),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Queued", "Where", "What", "State", "Error"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "Nothing sent yet."))]))));
}

/** Builds the stream overlay's address from a few choices, with a live preview. */
async function overlay() {
  const live = await api("/api/wager-races?status=live&limit=20");
  const form = h("form", { class: "stack", id: "overlay-settings" },
    h("label", {}, "Race", h("select", { name: "race" }, h("option", { value: "" }, "The current monthly race"),
      live.results.filter((r) => r.kind !== "monthly").map((r) => h("option", { value: r.id }, r.name)))),
    h("label", {}, "Places shown", h("input", { name: "top", type: "number", min: 1, max: 20, value: 5 })),
    h("label", {}, "Theme", h("select", { name: "theme" }, h("option", { value: "dark" }, "Dark (light text)"), h("option", { value: "light" }, "Light (dark text)"))),
    h("label", {}, "Size", h("select", { name: "size" }, ["s", "m", "l"].map((v) => h("option", { value: v, selected: v === "m" }, { s: "Small", m: "Medium", l: "Large" }[v])))));
  const address = h("input", { id: "overlay-url", readonly: true, "aria-label": "Overlay address" });
  const preview = h("iframe", { id: "overlay-preview", title: "Overlay preview", width: 480, height: 320 });
  const update = () => {
    const f = formData(form);
    const q = new URLSearchParams({ ...(f.race ? { race: f.race } : {}), top: f.top || "5", theme: f.theme, size: f.size });
    address.value = `${location.origin}/overlay.html?${q}`;
    preview.src = `/overlay.html?${q}`;
  };
  form.addEventListener("input", update);
  update();
  return section("Stream overlay", h("p", { class: "muted" }, "Paste this address into OBS as a Browser source (transparent background). The widget, for other sites, is /widget.html with the same options."),
    form, address, preview);
}

// Charts are SVG built element by element (no library, no inline style: the CSP holds).
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A bar chart of `values` (one bar each, `labels` for their tooltips); `part` is drawn
 *  over each bar in the warning colour (e.g. the errors among requests). */
function barChart(id, title, values, labels, { format = num, part } = {}) {
  const width = 720, height = 160, pad = 24;
  const max = Math.max(1, ...values);
  const step = (width - pad) / Math.max(1, values.length);
  const bar = Math.max(1, step * 0.8);
  const chart = svg("svg", { id, class: "chart", viewBox: `0 0 ${width} ${height + pad}`, role: "img", "aria-label": `${title}: highest ${format(Math.max(0, ...values))}` },
    svg("line", { x1: pad, y1: height, x2: width, y2: height, class: "axis" }),
    svg("text", { x: 0, y: 12, class: "tick" }, format(max)),
    svg("text", { x: 0, y: height, class: "tick" }, "0"));
  values.forEach((v, i) => {
    const x = pad + i * step, hgt = (v / max) * (height - 16);
    const g = svg("g", {}, svg("title", {}, `${labels[i]}: ${format(v)}${part ? ` (${num(part[i])} errors)` : ""}`),
      svg("rect", { x, y: height - hgt, width: bar, height: Math.max(0, hgt), class: "bar" }));
    if (part && part[i]) {
      const ph = (part[i] / max) * (height - 16);
      g.append(svg("rect", { x, y: height - ph, width: bar, height: ph, class: "bar-bad" }));
    }
    chart.append(g);
  });
  const first = labels[0] ?? "", last = labels[labels.length - 1] ?? "";
  chart.append(svg("text", { x: pad, y: height + 18, class: "tick" }, first), svg("text", { x: width, y: height + 18, class: "tick", "text-anchor": "end" }, last));
  return h("figure", { class: "chart-box" }, h("figcaption", {}, title), chart);
}

const pct = (x) => (x === undefined || x === null ? "—" : `${(x * 100).toFixed(1)} %`);
const ms = (x) => (x === undefined || x === null ? "—" : `${x < 10 ? x.toFixed(2) : Math.round(x)} ms`);
const hourLabel = (iso) => new Date(iso).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

async function analytics(days) {
  const to = new Date();
  const from = new Date(to.getTime() - days * 86400000);
  const r = await api(`/api/admin/analytics?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}&rollups=false`, { auth: true });
  const range = h("select", { "aria-label": "Range", id: "analytics-range" },
    [[1, "Last 24 hours"], [7, "Last 7 days"], [30, "Last 30 days"]].map(([d, t]) => h("option", { value: d, selected: d === days }, t)));
  range.addEventListener("change", async () => {
    try {
      document.getElementById("analytics").replaceWith(await analytics(Number(range.value)));
    } catch (err) {
      showError(err);
    }
  });
  const t = r.totals;
  const facts = h("dl", { class: "facts", id: "analytics-totals" },
    h("div", {}, h("dt", {}, "Requests"), h("dd", {}, num(t.requests))),
    h("div", {}, h("dt", {}, "Error rate"), h("dd", {}, pct(t.errorRate))),
    h("div", {}, h("dt", {}, "Server errors"), h("dd", {}, num(t.serverErrors))),
    h("div", {}, h("dt", {}, "p50 / p95"), h("dd", {}, `${ms(t.p50Ms)} / ${ms(t.p95Ms)}`)),
    h("div", {}, h("dt", {}, "Cache hit ratio"), h("dd", {}, pct(r.cache.hitRatio))),
    h("div", {}, h("dt", {}, "Sync success"), h("dd", {}, `${pct(r.sync.successRate)} of ${num(r.sync.runs)} runs`)));
  const hours = r.hourly.map((x) => hourLabel(x.hour));
  const endpoints = h("table", { id: "analytics-endpoints" },
    h("thead", {}, h("tr", {}, ["Endpoint", "Requests", "Error rate", "p50", "p95"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, r.endpoints.map((e) => h("tr", {}, h("td", {}, e.route), h("td", {}, num(e.requests)), h("td", {}, pct(e.errorRate)), h("td", {}, ms(e.p50Ms)), h("td", {}, ms(e.p95Ms))))));
  const accounts = r.accounts.length
    ? h("table", { id: "analytics-accounts" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Account"), h("th", { scope: "col" }, "Requests"))),
      h("tbody", {}, r.accounts.map((a) => h("tr", {}, h("td", {}, a.username ?? `#${a.accountId} (deleted)`), h("td", {}, num(a.requests))))))
    : h("p", { class: "muted" }, "No signed-in requests in this range.");
  return h("section", { class: "card", id: "analytics" }, h("div", { class: "toolbar" }, h("h2", {}, "Usage"), range), facts,
    barChart("chart-requests", "Requests per hour (errors in red)", r.hourly.map((x) => x.requests), hours, { part: r.hourly.map((x) => x.clientErrors + x.serverErrors) }),
    barChart("chart-latency", "p95 latency per hour", r.hourly.map((x) => x.p95Ms ?? 0), hours, { format: ms }),
    barChart("chart-peak", "Requests by hour of day (UTC)", r.peakHours.map((x) => x.requests), r.peakHours.map((x) => `${String(x.hourOfDay).padStart(2, "0")}:00 UTC`)),
    h("h3", {}, "By endpoint"), h("div", { class: "table-wrap" }, endpoints),
    h("h3", {}, "Signed-in accounts"), h("div", { class: "table-wrap" }, accounts));
}

/** What is owed and paid, and one finished race's prizes with their next steps. */
async function payouts() {
  const card = h("section", { class: "card", id: "payouts" });
  await fillPayouts(card);
  return card;
}

/** (Re)draws the payouts card in place, for `raceId` or the newest finished race. */
async function fillPayouts(card, raceId) {
  const totals = await api("/api/admin/payouts", { auth: true });
  const history = await api("/api/wager-races/history?limit=12");
  const race = raceId || (history.results[0] && history.results[0].id);
  const pick = h("select", { "aria-label": "Race", id: "payout-race" },
    history.results.map((r) => h("option", { value: r.id, selected: r.id === race }, r.id)));
  const body = h("div", { id: "payout-ledger" });
  const summary = h("p", { id: "payout-totals" }, `Owed ${usd(totals.owed)} · paid ${usd(totals.paid)}`);
  replace(card, h("h2", {}, "Payouts"), summary, h("div", { class: "toolbar" }, h("label", {}, "Race ", pick)), body);
  pick.addEventListener("change", () => fillPayouts(card, pick.value).catch(showError));
  if (!race) {
    replace(body, h("p", { class: "muted" }, "No race has finished yet."));
    return;
  }
  const ledger = await api(`/api/admin/races/${race}/payouts`, { auth: true });
  const move = (p, status, extra = {}) => async () => {
    try {
      await api(`/api/admin/races/${race}/payouts/${encodeURIComponent(p.uid)}`, { method: "PATCH", auth: true, body: { status, ...extra } });
      await fillPayouts(card, race);
    } catch (err) {
      showError(err);
    }
  };
  const rows = ledger.payouts.map((p) => {
    const note = h("input", { "aria-label": `Reference or reason for ${p.name}`, placeholder: p.status === "approved" ? "tip or transaction id" : "reason to void", maxlength: 200 });
    const actions = [];
    if (p.status === "pending") actions.push(h("button", { type: "button", onclick: move(p, "approved"), "data-approve-payout": p.uid }, "Approve"));
    if (p.status === "approved") actions.push(h("button", { type: "button", onclick: () => move(p, "paid", { reference: note.value })(), "data-pay": p.uid }, "Mark paid"));
    if (p.status === "pending" || p.status === "approved") actions.push(h("button", { type: "button", class: "secondary", onclick: () => move(p, "void", { reason: note.value })() }, "Void"));
    return h("tr", {},
      h("td", {}, String(p.position)), h("td", {}, p.name), h("td", { class: "num" }, usd(p.prize)),
      h("td", { class: `payout-${p.status}` }, p.status, p.reference ? ` · ${p.reference}` : "", p.reason ? ` · ${p.reason}` : ""),
      h("td", {}, actions.length ? h("span", { class: "row-actions" }, note, ...actions) : ""));
  });
  replace(body,
    h("p", { class: "muted" }, `${race}: owed ${usd(ledger.owed)} · paid ${usd(ledger.paid)}`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["#", "Player", "Prize", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.length ? rows : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "This race paid no prizes."))]))));
}

/** How long until `iso`, in words ("3 h 20 min", "2 days"). */
function until(iso) {
  const ms = new Date(iso) - Date.now();
  if (ms <= 0) return "now";
  const min = Math.round(ms / 60000);
  if (min < 60) return `${min} min`;
  if (min < 48 * 60) return `${Math.floor(min / 60)} h ${min % 60} min`;
  return `${Math.round(min / 1440)} days`;
}

/** The first card: what needs the operator now, each line linking to where it is done. */
async function needsDoing() {
  const [token, waiting, totals, health, live, totp] = await Promise.all([
    api("/api/admin/upstream/token", { auth: true }),
    api("/api/admin/verifications", { auth: true }),
    api("/api/admin/payouts", { auth: true }),
    api("/api/health", { fresh: true }),
    api("/api/wager-races?status=live&limit=100"),
    api("/api/auth/totp", { auth: true }),
  ]);
  const items = [];
  const todo = (text, href, urgent) => items.push(h("li", { class: urgent ? "urgent" : "" }, h("a", { href }, text)));
  if (!totp.enabled) todo("Turn on two-factor sign-in: with it you manage the site from any address, your phone included.", "#two-factor", true);
  if (!token.configured) todo("No Goated token: the site shows simulated data. Paste your token and set your referral code to go live.", "#upstream-token", true);
  else if (token.authFailed) todo("Goated.com refused the token: syncing has stopped. Paste a fresh one.", "#upstream-token", true);
  else if (token.expiresAt) todo(`The Goated token expires in ${until(token.expiresAt)}.`, "#upstream-token", token.expiresSoon);
  if (waiting.length) todo(`${waiting.length} verification request${waiting.length === 1 ? "" : "s"} waiting.`, "#pending-verifications", true);
  const pending = (totals.byStatus || []).find((t) => t.status === "pending");
  if (pending && pending.count) todo(`${pending.count} prize${pending.count === 1 ? "" : "s"} (${usd(pending.amount)}) to approve.`, "#payouts", true);
  const last = health.lastSync;
  if (health.localFailure) todo(`Syncs fail on the server: ${health.localFailure.message}`, "#syncing", true);
  else if (last && last.outcome !== "success") todo(`The last sync ${last.outcome}${last.error ? `: ${last.error}` : ""}.`, "#syncing", true);
  const ends = (live.results || []).map((r) => r.endDate).filter(Boolean).sort()[0];
  if (ends) todo(`The next race ends in ${until(ends)} (${when(ends)}).`, "/races.html", false);
  if (!items.some((li) => li.classList.contains("urgent"))) items.unshift(h("li", {}, "Nothing needs you right now."));
  return h("section", { class: "card", id: "needs-doing" }, h("h2", {}, "Needs doing"), h("ul", { class: "list" }, items));
}

/** Usage analytics on a tab of their own: loaded only when opened. */
function analyticsTab() {
  const tab = h("details", { class: "card", id: "analytics-tab" }, h("summary", {}, "Usage analytics"));
  tab.addEventListener("toggle", async () => {
    if (!tab.open || tab.dataset.loaded) return;
    tab.dataset.loaded = "1";
    try {
      tab.append(await analytics(1));
    } catch (err) {
      tab.append(h("p", { class: "form-error", role: "alert" }, err.message));
    }
  }, { once: false });
  return tab;
}

async function render() {
  const me = currentAccount();
  if (!me || me.role !== "admin") {
    replace(root, h("p", { class: "card", id: "not-admin" }, "This page is for admins. ", h("a", { href: "/account.html" }, "Sign in"), " with an admin account."));
    return;
  }
  try {
    replace(root, await needsDoing(), await upstreamToken(), await verifications(), await payouts(), await races(), prizes(), await overlay(), await notifications(), await syncing(), await twoFactorSection(), cacheFlush(), analyticsTab());
  } catch (err) {
    if (err.code === "ADMIN_ADDRESS") {
      // Away from the allowed addresses: two-factor opens the admin page from anywhere.
      replace(root,
        h("p", { class: "card", id: "admin-address" }, err.message,
          " Once two-factor is on, sign out and sign in again with a code from your app."),
        await twoFactorSection());
      return;
    }
    showError(err);
  }
}

ready.then(render);
