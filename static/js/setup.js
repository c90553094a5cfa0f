// First-run setup: the code from the server's log makes the first admin, who is then
// signed in and sent to the admin page.
import { api, formData, formError, h, replace, setSession } from "/js/common.js";

const code = new URLSearchParams(location.search).get("code") || "";
const form = h("form", { class: "stack card", id: "setup-form" },
  h("label", {}, "Setup code", h("input", { name: "code", required: true, value: code, autocomplete: "off" })),
  h("label", {}, "Admin username", h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32 })),
  h("label", {}, "Password (8 characters or more)", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 })),
  h("button", { type: "submit" }, "Create the admin"));
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  formError(form, null);
  try {
    setSession(await api("/api/setup", { method: "POST", body: { ...formData(form), refreshIn: "cookie" } }));
    location.assign("/admin.html");
  } catch (err) {
    if (err.code === "SETUP_DONE") {
      replace(document.getElementById("setup"), h("p", {}, "Setup is done. ", h("a", { href: "/account.html" }, "Sign in"), "."));
      return;
    }
    formError(form, err);
  }
});
replace(document.getElementById("setup"), form);
