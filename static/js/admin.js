// The admin page: verifications, syncing, caches, the upstream token, prize overrides.
// Only for admins; the API checks again on every call.
import { api, currentAccount, formData, formError, h, ready, replace, showError, usd, when } from "/js/common.js";

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
  return section("Syncing", h("div", { class: "toolbar" }, button, result), h("div", { class: "table-wrap" }, table));
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
  const facts = h("p", {}, t.configured ? `Token ${t.fingerprint}, expires ${when(t.expiresAt)}${t.expiresSoon ? " — soon!" : ""}.` : "No token set (demo mode).",
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
  return section("Upstream token", facts, form);
}

function prizes() {
  const form = h("form", { class: "stack" },
    h("label", {}, "Race (YYYYMM)", h("input", { name: "race", required: true, pattern: "\\d{6}" })),
    h("label", {}, "Prize pool (dollars)", h("input", { name: "prizePool", type: "number", min: 0, step: "0.01", required: true })),
    h("label", {}, "Shares by place, comma-separated", h("input", { name: "shares", required: true, placeholder: "0.5, 0.3, 0.1, 0.05, 0.05" })),
    h("button", { type: "submit" }, "Save prizes"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formData(form);
    try {
      const out = await api(`/api/admin/races/${f.race}/prizes`, { method: "PUT", auth: true, body: { prizePool: Number(f.prizePool), prizeDistribution: f.shares.split(",").map(Number) } });
      formError(form, `Saved: ${usd(out.prizePool)} split ${out.prizeDistribution.join(" / ")}.`);
    } catch (err) {
      formError(form, err);
    }
  });
  return section("Prize overrides", form);
}

async function render() {
  const me = currentAccount();
  if (!me || me.role !== "admin") {
    replace(root, h("p", { class: "card", id: "not-admin" }, "This page is for admins. ", h("a", { href: "/account.html" }, "Sign in"), " with an admin account."));
    return;
  }
  try {
    replace(root, await verifications(), await syncing(), await upstreamToken(), cacheFlush(), prizes());
  } catch (err) {
    showError(err);
  }
}

ready.then(render);
