// Sign up, sign in, sign out; claim a Goated player and follow the claim; edit the
// public profile once verified. The access token stays in memory; the refresh token
// is an HttpOnly cookie.
import { api, currentAccount, formData, formError, h, monthName, ready, replace, setSession, usd, when } from "/js/common.js";
import { twoFactorSection } from "/js/twofactor.js";

const root = document.getElementById("account");

function field(label, attrs) {
  return h("label", {}, label, h("input", attrs));
}

function signInForms() {
  const login = h("form", { class: "stack card", id: "login-form", "aria-labelledby": "login-title" },
    h("h2", { id: "login-title" }, "Sign in"),
    field("Username or email", { name: "username", autocomplete: "username", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Sign in"));
  const register = h("form", { class: "stack card", id: "register-form", "aria-labelledby": "register-title" },
    h("h2", { id: "register-title" }, "Create an account"),
    field("Username", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32 }),
    field("Email (optional)", { name: "email", type: "email", autocomplete: "email" }),
    field("Password (8 characters or more)", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 }),
    h("button", { type: "submit" }, "Create account"));
  login.addEventListener("submit", (e) => submit(e, "/api/auth/login"));
  register.addEventListener("submit", (e) => submit(e, "/api/auth/register"));
  replace(root, h("div", { class: "grid-2" }, login, register));
}

async function submit(event, path) {
  event.preventDefault();
  const form = event.currentTarget;
  formError(form, null);
  try {
    setSession(await api(path, { method: "POST", body: { ...formData(form), refreshIn: "cookie" } }));
    await render();
  } catch (err) {
    // An account with two-factor: the password was right; ask for the code.
    if (err.code === "TOTP_REQUIRED" && !form.querySelector("[name=totp]")) {
      form.querySelector("button[type=submit]").before(
        field("Code from your authenticator app (or a recovery code)", { name: "totp", inputmode: "numeric", autocomplete: "one-time-code", required: true, id: "login-totp" }));
      form.querySelector("[name=totp]").focus();
    }
    formError(form, err);
  }
}

async function render() {
  const me = currentAccount();
  if (!me) return signInForms();
  const status = await api("/api/verification/status", { auth: true });
  const logout = h("button", { type: "button", class: "secondary", id: "logout" }, "Sign out");
  logout.addEventListener("click", async () => {
    await api("/api/auth/logout", { method: "POST", body: {} }).catch(() => null);
    setSession(null);
    signInForms();
  });
  const info = h("section", { class: "card" },
    h("h2", {}, `Signed in as ${me.username}`),
    h("p", { class: "muted" }, `${me.role === "admin" ? "Admin · " : ""}${me.email || "no email"} · since ${when(me.createdAt)}`),
    status.verified
      ? h("p", { id: "verified-as" }, "Verified as ", h("a", { href: `/player.html?uid=${encodeURIComponent(status.goatedUid)}` }, status.goatedUid))
      : h("p", { class: "muted" }, "Not verified yet."),
    logout);
  replace(root, info, status.verified ? profileForm(me, status.goatedUid) : claimSection(status));
  if (status.verified) root.append(await payoutsSection());
  root.append(await twoFactorSection());
}

/** The prizes this player won, and where each payment is. */
async function payoutsSection() {
  const mine = await api("/api/auth/me/payouts", { auth: true });
  const rows = mine.map((p) =>
    h("li", { class: "payout" },
      h("span", {}, h("a", { href: `/?race=${p.raceId}` }, `${monthName(p.raceId)} race`), ` · place ${p.position}`),
      h("strong", {}, usd(p.prize)),
      h("span", { class: `payout-${p.status}` }, p.status),
      p.reference ? h("span", { class: "muted" }, `ref ${p.reference}`) : null,
      p.reason ? h("span", { class: "muted" }, p.reason) : null));
  return h("section", { class: "card", id: "my-payouts" }, h("h2", {}, "Your prizes"),
    rows.length ? h("ul", { class: "list" }, rows) : h("p", { class: "muted" }, "No prizes yet: finish in the money and they show here."));
}

function claimSection(status) {
  const history = h("ul", { class: "list", id: "claims" }, status.requests.map((r) =>
    h("li", {}, h("span", {}, `${r.goatedName} (${r.goatedUid})`), h("strong", { class: `claim-${r.status}` }, r.status), r.note ? h("span", { class: "muted" }, r.note) : null)));
  if (status.pending) {
    return h("section", { class: "card" }, h("h2", {}, "Verification"), h("p", { id: "pending-claim" }, `Your claim of ${status.pending.goatedName} waits for an admin.`), history);
  }
  const form = h("form", { class: "stack", id: "claim-form" },
    field("Your Goated username", { name: "goatedUsername", required: true, maxlength: 128 }),
    h("button", { type: "submit" }, "Request verification"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    try {
      await api("/api/verification/request", { method: "POST", auth: true, body: formData(form) });
      await render();
    } catch (err) {
      formError(form, err);
    }
  });
  return h("section", { class: "card" }, h("h2", {}, "Verify your Goated account"), h("p", { class: "muted" }, "Claim the player you are on Goated; an admin checks and approves it."), form, history);
}

function profileForm(me, uid) {
  const form = h("form", { class: "stack", id: "profile-form" },
    h("label", {}, "Bio (500 characters at most)", h("textarea", { name: "bio", maxlength: 500, rows: 4 }, me.bio || "")),
    h("label", {}, "Profile colour", h("input", { name: "profileColor", type: "color", value: me.profileColor || "#f5c84c" })),
    h("label", { class: "check" }, h("input", { name: "showName", type: "checkbox", checked: Boolean(me.showName) }),
      " Show my name in full on public boards (when the site hides names)"),
    h("button", { type: "submit" }, "Save profile"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError(form, null);
    const body = { bio: form.elements.bio.value, profileColor: form.elements.profileColor.value, showName: form.elements.showName.checked };
    try {
      await api(`/api/users/${encodeURIComponent(uid)}`, { method: "PATCH", auth: true, body });
      formError(form, "Saved.");
    } catch (err) {
      formError(form, err);
    }
  });
  return h("section", { class: "card" }, h("h2", {}, "Public profile"), form);
}

ready.then(render).catch((err) => replace(root, h("p", { class: "notice notice-error" }, err.message)));
