// The phone app for seniors (长辈版), family and providers: a shell, a router and the live link.
import "./style.css";
import { api } from "./api.js";
import { h, icon, mount } from "./dom.js";
import { t, getLang } from "./i18n.js";
import * as live from "./live.js";
import { applySettings, readAloud } from "./settings.js";
import { state, subscribe, changed, refresh, applyEvent, flushQueue } from "./store.js";
import { authView, staffView } from "./views/auth.js";
import { seniorRoutes } from "./views/senior.js";
import { familyRoutes, sosAlerts } from "./views/family.js";
import { providerRoutes } from "./views/provider.js";
import { settingsView } from "./views/settings.js";
import { bookingRoutes } from "./views/booking.js";

const app = document.getElementById("app");
const banner = h("div.banner", { id: "conn", role: "status", "aria-live": "polite" });
const toastBox = h("div.toast-box", { role: "status", "aria-live": "polite" });
const main = h("main", { id: "main", tabindex: "-1" });
const alerts = h("div", { id: "alerts" }); // SOS alerts for family and providers, on every screen

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, "", path);
  else history.pushState({}, "", path);
  render(true);
}
window.addEventListener("popstate", () => render(true));
document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.metaKey || event.ctrlKey) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});

function routesFor(role) {
  const common = [[/^\/settings$/, settingsView]];
  if (role === "senior") return [...common, ...bookingRoutes, ...seniorRoutes];
  if (role === "family") return [...common, ...bookingRoutes, ...familyRoutes];
  if (role === "provider") return [...common, ...providerRoutes];
  return [[/^\/settings$/, settingsView], [/.*/, staffView]];
}

function header() {
  const role = state.user?.role;
  return h("header.top",
    h("a.brand", { href: "/", "data-link": "" }, h("span.brand-name", t("app")), h("span.brand-sub", t("tagline"))),
    role && h("div.top-actions",
      h("button.tool", { type: "button", id: "read-aloud", onclick: () => readAloud(main, getLang()) },
        icon("speak", 24), h("span", t("readAloud"))),
      h("a.tool", { href: "/settings", "data-link": "", id: "settings-link" }, icon("gear", 24), h("span", t("settings")))));
}

let pendingRender = false;
let lastPath = null;
/** Draw the current route. A live change never redraws under a field being typed in. */
function render(routeChanged = false) {
  const active = document.activeElement;
  if (!routeChanged && active && main.contains(active) && ["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)) {
    if (!pendingRender) {
      pendingRender = true;
      active.addEventListener("blur", () => { pendingRender = false; setTimeout(render, 0); }, { once: true });
    }
    return;
  }
  const path = location.pathname;
  const scroll = window.scrollY;
  let view;
  if (!state.user) view = authView(path);
  else {
    const routes = routesFor(state.user.role);
    for (const [pattern, fn] of routes) {
      const m = path.match(pattern);
      if (m) { view = fn(...m.slice(1)); break; }
    }
    view = view || routes[routes.length - 1][1]();
  }
  document.body.dataset.role = state.user?.role || "guest";
  document.body.dataset.path = path;
  if (routeChanged && path !== lastPath && state.toast && Date.now() - state.toast.at > 1000) state.toast = null;
  mount(main, view);
  mount(alerts, state.user && state.user.role !== "senior" ? sosAlerts() : null);
  const top = app.querySelector("header.top");
  top.replaceWith(header());
  if (routeChanged && path !== lastPath) {
    window.scrollTo(0, 0);
    const heading = main.querySelector("h1, h2");
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
  } else window.scrollTo(0, scroll);
  lastPath = path;
  drawToast();
}

// A message stays where it is until dismissed or the screen changes: nothing moves on a timer.
function drawToast() {
  const tst = state.toast;
  if (!tst) { toastBox.replaceChildren(); return; }
  mount(toastBox, h(`div.toast.${tst.kind}`, h("p", { "data-speak": "" }, tst.message),
    h("button.secondary", { type: "button", onclick: () => { state.toast = null; drawToast(); } }, t("dismiss"))));
}

function drawBanner(socketState = live.liveState()) {
  const offline = !navigator.onLine;
  if (offline) mount(banner, h("p.offline", t("offline")), state.user ? h("p.reconnecting", { id: "reconnecting" }, t("reconnecting")) : null);
  else if (state.user && socketState === "down") mount(banner, h("p.reconnecting", { id: "reconnecting" }, t("reconnecting")));
  else banner.replaceChildren();
}

const USER_KEY = "linli.user";
export async function signedIn(user) {
  if (user.last_event_id === undefined && navigator.onLine) {
    try { user = { ...user, ...(await api("/me")).user }; } catch { /* the login's copy will do */ }
  }
  state.user = user;
  localStorage.setItem(USER_KEY, JSON.stringify({ id: user.id, name: user.name, role: user.role, locale: user.locale }));
  applySettings(user.locale);
  live.forget();
  live.setBaseline(user.id, user.last_event_id);
  live.connect(async () => { await refresh().catch(() => {}); flushQueue(); });
  try { await refresh(); } catch { /* shown when the link comes back */ }
  flushQueue();
  render(true);
}

export async function signOut() {
  try { await api("/auth/logout", { method: "POST" }); } catch { /* signed out locally anyway */ }
  live.disconnect();
  live.forget();
  localStorage.removeItem(USER_KEY);
  Object.assign(state, { user: null, seniors: [], provider: null, waiting: [], loaded: false });
  state.requests.clear(); state.offers.clear(); state.sos.clear();
  navigate("/", { replace: true });
}

async function boot() {
  applySettings();
  mount(app, h("a.skip", { href: "#main" }, t("skip")), header(), banner, toastBox, alerts, main);
  live.onEvent(applyEvent);
  live.onStatus((s) => drawBanner(s));
  subscribe(() => render(false));
  window.addEventListener("online", () => { drawBanner(); flushQueue(); });
  window.addEventListener("linli:signed-out", () => { if (state.user) signOut(); });
  window.addEventListener("offline", () => drawBanner());
  // Back in the foreground: fetch again (events may have been missed while the phone slept).
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.user) { refresh().catch(() => {}); flushQueue(); }
  });
  try {
    const { user } = await api("/me");
    await signedIn(user);
  } catch (e) {
    // Offline: open the app shell for the last user (the server decides again once back online).
    const cached = e.code === "network" && JSON.parse(localStorage.getItem(USER_KEY) || "null");
    if (cached) await signedIn(cached);
    else render(true);
  }
  drawBanner();
  document.body.dataset.ready = "1";
}

export { changed };
boot();
