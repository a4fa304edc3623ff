// Sign in and register with a phone number and a password.
import { h } from "../dom.js";
import { api } from "../api.js";
import { t, errorText } from "../i18n.js";
import { settings, saveSetting, applySettings } from "../settings.js";
import { navigate, signedIn, signOut } from "../main.js";

function field(label, input) { return h("label.field", h("span.field-label", label), input); }

function langSwitch() {
  const en = document.documentElement.lang === "en";
  return h("button.link-button", { type: "button", lang: en ? "zh-CN" : "en", onclick: () => {
    saveSetting("lang", en ? "zh" : "en"); applySettings(); navigate(location.pathname, { replace: true });
  } }, en ? "中文" : "English");
}

function loginView() {
  const error = h("p.form-error", { role: "alert", id: "login-error" });
  const form = h("form.card", { id: "login" },
    h("h1", t("signIn")),
    field(t("phone"), h("input", { name: "phone", type: "tel", inputmode: "numeric", autocomplete: "username", required: true })),
    field(t("password"), h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error,
    h("button.primary.big", { type: "submit" }, t("signIn")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = new FormData(form);
    error.textContent = "";
    try {
      const { user } = await api("/auth/login", { method: "POST", body: { phone: d.get("phone"), password: d.get("password") } });
      history.replaceState({}, "", "/");
      await signedIn(user);
    } catch (err) { error.textContent = errorText(err); }
  });
  return h("section.auth", form, h("p", h("a", { href: "/register", "data-link": "" }, t("noAccount"))), langSwitch());
}

function registerView() {
  const error = h("p.form-error", { role: "alert" });
  const form = h("form.card", { id: "register" },
    h("h1", t("register")),
    field(t("name"), h("input", { name: "name", required: true, autocomplete: "name" })),
    field(t("phone"), h("input", { name: "phone", type: "tel", inputmode: "numeric", autocomplete: "username", required: true })),
    field(t("password"), h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minLength: 8 })),
    h("fieldset", h("legend", t("role")),
      [["senior", t("roleSenior")], ["family", t("roleFamily")], ["provider", t("roleProvider")]].map(([v, label], i) =>
        h("label.check", h("input", { type: "radio", name: "role", value: v, checked: i === 0 }), label))),
    error,
    h("button.primary.big", { type: "submit" }, t("register")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = new FormData(form);
    error.textContent = "";
    try {
      const body = { phone: d.get("phone"), password: d.get("password"), name: d.get("name"), role: d.get("role"),
        locale: document.documentElement.lang === "en" ? "en" : "zh-CN" };
      await api("/auth/register", { method: "POST", body });
      const { user } = await api("/auth/login", { method: "POST", body: { phone: body.phone, password: body.password } });
      history.replaceState({}, "", "/");
      await signedIn(user);
    } catch (err) { error.textContent = errorText(err); }
  });
  return h("section.auth", form, h("p", h("a", { href: "/", "data-link": "" }, t("haveAccount"))), langSwitch());
}

export function authView(path) {
  return path === "/register" ? registerView() : loginView();
}

export function staffView() {
  return h("section.card", h("h1", t("settings")), h("p", t("staffNote")),
    h("a.primary.big", { href: "/console", id: "open-console" }, t("openConsole")),
    h("button.secondary.big", { type: "button", onclick: signOut }, t("signOut")));
}
