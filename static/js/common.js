// Shared by every page: the API client, the session, a DOM builder that only ever sets
// text (never HTML: player names can contain markup), formatting, the header.

export class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super(err ? err.message : `The server answered ${status}.`);
    this.status = status;
    this.code = err ? err.code : "NETWORK";
    this.field = err && err.details ? err.details.field : undefined;
  }
}

let accessToken = null;
let account = null;

/** Calls the API; resolves to `data` of the envelope, throws ApiError with its message. */
export async function api(path, { method = "GET", body, auth = false, full = false, fresh = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth && accessToken) headers.authorization = `Bearer ${accessToken}`;
  let resp;
  try {
    // `fresh` revalidates with the server (a 304 when the ETag still matches) instead
    // of trusting the browser's copy for its max-age.
    const cache = fresh ? "no-cache" : "default";
    resp = await fetch(path, { method, headers, cache, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { error: { message: "The server could not be reached. Check your connection.", code: "NETWORK" } });
  }
  if (resp.status === 401 && auth && accessToken && (await refreshSession())) {
    return api(path, { method, body, auth, full, fresh });
  }
  const json = await resp.json().catch(() => null);
  if (!resp.ok || !json || json.status !== "success") throw new ApiError(resp.status, json);
  return full ? json : json.data;
}

/** Silent sign-in from the HttpOnly refresh cookie; the access token stays in memory.
 *  Only when the page-readable `goated_session` hint says a session exists: an
 *  anonymous visit makes no request that would answer 401. */
export async function refreshSession() {
  if (!document.cookie.split(";").some((c) => c.trim().startsWith("goated_session=1"))) {
    setSession(null);
    return false;
  }
  try {
    const resp = await fetch("/api/auth/refresh", { method: "POST", headers: { "content-type": "application/json" }, body: "{}", credentials: "same-origin" });
    const json = await resp.json();
    if (!resp.ok || json.status !== "success") throw new Error("no session");
    setSession(json.data);
    return true;
  } catch {
    // The session ended (expired, revoked): forget the hint too.
    document.cookie = "goated_session=; Path=/; SameSite=Strict; Max-Age=0";
    setSession(null);
    return false;
  }
}

export function setSession(session) {
  accessToken = session ? session.accessToken : null;
  account = session ? session.account : null;
  renderNav();
}

export const currentAccount = () => account;

/** Builds an element. Strings become text nodes; attributes are set, never parsed. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
export const usd = (n) => money.format(n || 0);
export const num = (n) => new Intl.NumberFormat("en-US").format(n || 0);
// "November 2026" for a monthly race id (YYYYMM); a weekly or custom race's id as it is.
export const monthName = (id) => !/^\d{6}$/.test(id) ? id : new Date(Date.UTC(+id.slice(0, 4), +id.slice(4) - 1, 15)).toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
export const ordinal = (n) => `${n}${["th", "st", "nd", "rd"][(n % 100 >= 11 && n % 100 <= 13) || n % 10 > 3 ? 0 : n % 10]}`;
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

export function playerLink(uid, name) {
  return h("a", { href: `/player.html?uid=${encodeURIComponent(uid)}`, class: "player" }, name);
}

/** The notice area: demo data, stale data, errors. */
export function notice(kind, text) {
  const area = document.getElementById("notices");
  if (!area) return;
  const id = `notice-${kind}`;
  document.getElementById(id)?.remove();
  if (text) area.append(h("p", { id, class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text));
}

export function freshness(meta) {
  if (!meta) return;
  notice("demo", meta.source === "demo" ? "Demo mode: the players and wagers on this site are simulated." : null);
  notice("stale", meta.stale ? `The casino has not answered lately; data as of ${when(meta.lastSyncedAt)}.` : null);
}

/** Shows the page's content once its first answer is in (or failed): until then it is
 *  laid out but hidden, so nothing on screen jumps as the data arrives. */
export function reveal() {
  document.getElementById("main")?.removeAttribute("data-loading");
}

export function showError(err) {
  notice("error", err instanceof ApiError ? err.message : "Something went wrong. Try again.");
}

function renderNav() {
  const admin = document.getElementById("nav-admin");
  if (admin) admin.hidden = !(account && account.role === "admin");
  const link = document.getElementById("nav-account");
  if (link) link.textContent = account ? account.username : "Sign in";
}

/** A form's fields as an object; empty strings are left out. */
export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) if (String(v).trim() !== "") out[k] = String(v).trim();
  return out;
}

/** Shows an API error next to a form, in words. */
export function formError(form, err) {
  let slot = form.querySelector(".form-error");
  if (!slot) {
    slot = h("p", { class: "form-error", role: "alert" });
    form.append(slot);
  }
  slot.textContent = err ? (err instanceof ApiError ? err.message : String(err)) : "";
}

const PAGES = [
  ["/", "Race"],
  ["/races.html", "History"],
  ["/leaderboard.html", "Leaderboard"],
  ["/account.html", "Sign in", "nav-account"],
  ["/admin.html", "Admin", "nav-admin"],
];

function header() {
  const top = document.getElementById("top");
  if (!top) return;
  const here = location.pathname === "/index.html" ? "/" : location.pathname;
  const links = PAGES.map(([href, label, id]) =>
    h("a", { href, id, "aria-current": href === here ? "page" : undefined, hidden: id === "nav-admin" }, label),
  );
  replace(top, h("a", { href: "/", class: "brand" }, "goated"), h("nav", { "aria-label": "Main" }, links));
}

header();
export const ready = refreshSession();
