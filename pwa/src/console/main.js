// The community center console (社区中心控制台): a desktop-first page for center staff and admins,
// its own bundle beside the phone app. A side nav of panels; the live link re-reads what changed.
import "./console.css";
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { errorText, getLang } from "../i18n.js";
import * as live from "../live.js";
import { applySettings, saveSetting } from "../settings.js";
import { ct } from "./words.js";
import { livePanel } from "./live.js";
import { hotlinePanel } from "./hotline.js";
import { coveragePanel } from "./coverage.js";
import { providersPanel } from "./providers.js";
import { subsidiesPanel } from "./subsidies.js";
import { statsPanel } from "./stats.js";
import { carePanel } from "./care.js";

const PANELS = [
  ["live", livePanel], ["hotline", hotlinePanel], ["coverage", coveragePanel], ["providers", providersPanel],
  ["subsidies", subsidiesPanel], ["stats", statsPanel], ["care", carePanel],
];
const app = document.getElementById("app");
const main = h("main", { id: "panel", tabindex: "-1" });
const banner = h("div.conn", { role: "status", "aria-live": "polite" });
const notices = h("div.notices", { id: "notices", "aria-live": "assertive" });
let user = null;
let current = null; // {name, panel}: the panel drawn now (its onEvent / onReady / stop hooks)

const slug = () => location.pathname.replace(/^\/console\/?/, "").split("/")[0] || "live";

/** The signed-in staff member (panels read their id). */
export const me = () => user;

export function go(name) {
  history.pushState({}, "", `/console/${name}`);
  draw(true);
}
window.addEventListener("popstate", () => draw(true));

function langButton() {
  const en = getLang() === "en";
  return h("button.secondary", { type: "button", id: "lang", lang: en ? "zh-CN" : "en", onclick: () => {
    saveSetting("lang", en ? "zh" : "en"); applySettings(); shell(); draw(true);
  } }, en ? "中文" : "English");
}

function header() {
  return h("header.top",
    h("a.brand", { href: "/console/live" }, h("span.brand-name", "邻里"), h("span.brand-sub", ct("console"))),
    h("div.top-actions",
      user && h("span.who", ct("signedInAs", { name: user.name, role: ct(`roleName_${user.role}`) })),
      langButton(),
      user && h("button.secondary", { type: "button", id: "sign-out", onclick: signOut }, ct("signOut"))));
}

function nav() {
  const here = slug();
  return h("nav.side", { "aria-label": ct("nav") }, h("ul", PANELS.map(([name]) => h("li",
    h("a", { href: `/console/${name}`, id: `nav-${name}`, "aria-current": name === here ? "page" : null,
      onclick: (e) => { if (e.metaKey || e.ctrlKey) return; e.preventDefault(); go(name); } }, ct(name))))));
}

function shell() {
  if (!user) { mount(app, header(), h("div.layout.single", main)); return; }
  mount(app, h("a.skip", { href: "#panel" }, ct("skip")), header(), banner, notices,
    h("div.layout", nav(), main));
}

/** Draw the panel the address names (a new one on a route change; the same one otherwise). */
function draw(routeChanged) {
  if (!user) return;
  const name = PANELS.some(([n]) => n === slug()) ? slug() : "live";
  if (!routeChanged && current?.name === name) return;
  current?.panel?.stop?.();
  const fn = PANELS.find(([n]) => n === name)[1];
  mount(main);
  current = { name, panel: fn(main) || {} };
  app.querySelector("nav.side")?.replaceWith(nav());
  document.body.dataset.panel = name;
  document.title = `${ct(name)} · ${ct("console")}`;
  const heading = main.querySelector("h1");
  if (routeChanged && heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}

// A new SOS is told on every panel (the live panel lists it too).
function notice(event) {
  if (event.type !== "sos_alert") return;
  const sos = event.sos || {};
  notices.prepend(h("p.notice", { role: "alert", "data-sos-id": sos.id },
    h("strong", ct("newSos", { name: sos.senior_name || "" })), " ",
    h("a", { href: "/console/live", onclick: (e) => { e.preventDefault(); e.target.closest(".notice").remove(); go("live"); } },
      ct("viewLive"))));
  while (notices.children.length > 3) notices.lastChild.remove();
}

function drawBanner(state) {
  mount(banner, state === "down" ? h("p.reconnecting", { id: "reconnecting" }, ct("reconnecting")) : null);
}

function loginView() {
  const error = h("p.msg.error", { role: "alert" });
  const form = h("form.login", { id: "login" }, h("h1", ct("signIn")),
    h("label.field", h("span.field-label", ct("phone")), h("input", { name: "phone", type: "tel", autocomplete: "username", required: true })),
    h("label.field", h("span.field-label", ct("password")),
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    error, h("button.primary", { type: "submit" }, ct("signIn")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const d = new FormData(form);
    try {
      await api("/auth/login", { method: "POST", body: { phone: d.get("phone"), password: d.get("password") } });
      await start();
    } catch (err) { error.textContent = errorText(err); }
  });
  return form;
}

async function signOut() {
  try { await api("/auth/logout", { method: "POST" }); } catch { /* signed out here anyway */ }
  live.disconnect(); live.forget();
  current?.panel?.stop?.();
  user = null; current = null;
  shell(); mount(main, loginView());
}

async function start() {
  try {
    user = (await api("/me")).user;
  } catch {
    user = null; shell(); mount(main, loginView()); return;
  }
  applySettings(user.locale);
  if (!["center_staff", "admin"].includes(user.role)) {
    const u = user; user = null; shell(); user = u;
    mount(main, h("section.card", h("h1", ct("console")), h("p", ct("staffOnly")), h("p", h("a", { href: "/" }, ct("toPhoneApp")))));
    return;
  }
  if (!location.pathname.startsWith("/console/")) history.replaceState({}, "", "/console/live");
  shell();
  live.forget();
  live.setBaseline(user.id, user.last_event_id);
  live.connect(() => current?.panel?.onReady?.());
  draw(true);
}

live.onEvent((event) => { notice(event); current?.panel?.onEvent?.(event); });
live.onStatus(drawBanner);
window.addEventListener("linli:signed-out", () => { if (user) signOut(); });
applySettings();
start().finally(() => { document.body.dataset.ready = "1"; });
