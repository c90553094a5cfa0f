// Two-factor sign-in for the signed-in account: turn it on (QR code for the app, a
// first code, then the recovery codes shown once) or off (with a code). Used by the
// account page and the admin page.
import { api, formData, formError, h, replace } from "/js/common.js";

/** The server's QR code (SVG it drew itself, no script in it) as a node. */
function qrNode(svgText) {
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = document.importNode(doc.documentElement, true);
  svg.setAttribute("width", "200");
  svg.setAttribute("height", "200");
  return svg;
}

function codeField(label) {
  return h("label", {}, label, h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true, maxlength: 32 }));
}

export async function twoFactorSection() {
  const box = h("section", { class: "card stack", id: "two-factor", "aria-labelledby": "two-factor-title" });
  await draw(box);
  return box;
}

async function draw(box) {
  const state = await api("/api/auth/totp", { auth: true });
  const title = h("h2", { id: "two-factor-title" }, "Two-factor sign-in");
  if (state.enabled) {
    const off = h("form", { class: "stack" },
      h("p", {}, `On. ${state.recoveryCodesLeft} recovery codes left. Admins signed in with a code can manage the site from any address.`),
      codeField("A code from your app, or a recovery code"),
      h("button", { type: "submit", class: "secondary" }, "Turn off"));
    off.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("/api/auth/totp", { method: "DELETE", auth: true, body: formData(off) });
        await draw(box);
      } catch (err) {
        formError(off, err);
      }
    });
    replace(box, title, off);
    return;
  }
  const start = h("button", { type: "button", id: "totp-start" }, "Turn on two-factor");
  start.addEventListener("click", async () => {
    try {
      const made = await api("/api/auth/totp", { method: "POST", auth: true });
      confirmStep(box, title, made);
    } catch (err) {
      replace(box, title, h("p", { class: "form-error", role: "alert" }, err.message));
    }
  });
  replace(box, title,
    h("p", {}, "Sign in with a code from an authenticator app as well as your password. Admins who do can manage the site from any address."),
    start);
}

function confirmStep(box, title, made) {
  const form = h("form", { class: "stack", id: "totp-confirm" },
    h("p", {}, "Scan this with your authenticator app (or type the key), then enter the code it shows."),
    h("div", { class: "qr" }, qrNode(made.qrSvg)),
    h("p", { class: "muted" }, "Key: ", h("code", { id: "totp-secret" }, made.secret)),
    codeField("Code from the app"),
    h("button", { type: "submit" }, "Turn on"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const done = await api("/api/auth/totp/confirm", { method: "POST", auth: true, body: formData(form) });
      const finished = h("button", { type: "button" }, "I have saved them");
      finished.addEventListener("click", () => draw(box));
      replace(box, title,
        h("p", {}, "Two-factor is on. Save these recovery codes somewhere safe: each signs you in once without the app. They are not shown again."),
        h("ul", { class: "codes", id: "recovery-codes" }, done.recoveryCodes.map((c) => h("li", {}, h("code", {}, c)))),
        finished);
    } catch (err) {
      formError(form, err);
    }
  });
  replace(box, title, form);
}
