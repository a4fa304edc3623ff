// Settings for every role: language, text size (three steps), high contrast, family links, sign out.
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { settings, saveSetting, applySettings } from "../settings.js";
import { state, changed } from "../store.js";
import { signOut } from "../main.js";
import { addFamilyForm } from "./profile.js";
import { pushState, enablePush, disablePush } from "../push.js";

const push = { state: null, message: "" };

function pushGroup() {
  if (push.state === null) { pushState().then((s) => { push.state = s; changed(); }).catch(() => {}); }
  const busy = (fn) => async () => {
    push.message = "";
    try { await fn(); push.state = await pushState(); } catch (e) {
      push.message = e.message === "denied" ? t("pushDenied") : e.message === "unsupported" ? t("pushUnsupported") : t("pushFailed");
    }
    changed();
  };
  return h("fieldset.segmented", { id: "push" }, h("legend", t("notifications")),
    push.state === "unsupported" ? h("p.hint", t("pushUnsupported"))
      : push.state === "on" ? [h("p", t("pushOn")), h("button.secondary", { type: "button", onclick: busy(disablePush) }, t("pushTurnOff"))]
        : h("button.secondary", { type: "button", onclick: busy(enablePush) }, t("pushOff")),
    push.message ? h("p.error", { role: "alert" }, push.message) : null);
}

function choose(key, value) {
  saveSetting(key, value);
  applySettings(state.user?.locale);
  changed();
}

function group(label, options, current, key) {
  return h("fieldset.segmented", h("legend", label),
    h("div.row", options.map(([value, text]) =>
      h("button.choice-small", { type: "button", "aria-pressed": String(current === value), onclick: () => choose(key, value) }, text))));
}

export function settingsView() {
  const me = state.user;
  const senior = me.role === "senior" ? state.seniors[0] : null;
  return h("section.settings",
    h("a.back", { href: "/", "data-link": "" }, "‹ ", t("back")),
    h("h1", { "data-speak": "" }, t("settings")),
    h("p", { "data-speak": "" }, t("signedInAs", { name: me.name, role: t(`roleName_${me.role}`) })),
    group(t("language"), [["zh", "中文"], ["en", "English"]], settings.lang || (document.documentElement.lang === "en" ? "en" : "zh"), "lang"),
    group(t("textSize"), [[0, t("sizeS")], [1, t("sizeM")], [2, t("sizeL")]], settings.size, "size"),
    group(t("contrast"), [[false, t("off")], [true, t("on")]], settings.contrast, "contrast"),
    pushGroup(),
    senior ? [
      senior.emergency_contacts?.length ? h("div.card", h("h2", t("linkedFamily")),
        h("ul", senior.emergency_contacts.map((c) => h("li", `${c.relation || ""} ${c.name} ${c.phone}`)))) : null,
      addFamilyForm(senior.id)] : null,
    h("button.secondary.big", { type: "button", id: "sign-out", onclick: signOut }, t("signOut")));
}
