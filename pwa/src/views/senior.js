// 长辈版: five big services, SOS apart, my visits; the SOS screen with its 5-second countdown.
import { h, icon } from "../dom.js";
import { api } from "../api.js";
import { t, when, errorText, dayKey } from "../i18n.js";
import { state, changed, refresh, toast, savedContacts } from "../store.js";
import { serviceGrid } from "./booking.js";
import { visitCard, waitingCards, visitsOf, isActive } from "./visits.js";
import { seniorProfileForm } from "./profile.js";
import { plansLink } from "./plans.js";

function home() {
  if (!state.loaded && navigator.onLine) return h("p.loading", t("loading"));
  const me = state.seniors[0];
  if (!me) return seniorProfileForm();
  const visits = visitsOf(me.id);
  const shown = [...visits.filter(isActive), ...visits.filter((r) => !isActive(r)).slice(0, 5)];
  const openSos = [...state.sos.values()].find((s) => s.status !== "resolved");
  return h("section.senior-home",
    h("h1.hello", { "data-speak": "" }, `${me.name}，您好`),
    serviceGrid(me.id),
    h("a.sos-button", { href: "/sos", "data-link": "", id: "sos-button" }, icon("sos", 44),
      h("span.sos-word", { "data-speak": "" }, t("sos")), h("span.sos-hint", t("sosHint"))),
    openSos ? sosStatus(openSos) : null,
    checkinCard(me.id),
    plansLink(me.id),
    h("h2", { "data-speak": "" }, t("myVisits")),
    h("ul.visits", { id: "visits" }, waitingCards(), shown.map((r) => visitCard(r))),
    !shown.length && !state.waiting.length ? h("p.empty", t("noVisits")) : null,
    state.loadError ? h("p.error", { role: "alert" }, state.loadError) : null);
}

// --- 每日平安: one tap says "I'm fine" today (the server keeps the first tap of the day) -------------

const okKey = (id) => `linli.checkin.${id}`;

function checkinCard(seniorId) {
  const done = JSON.parse(localStorage.getItem(okKey(seniorId)) || "null");
  if (done && done.day === dayKey(new Date())) {
    return h("p.checked-in", { id: "checkin", "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "✔ "),
      t("imOkDone", { time: when(done.at) }));
  }
  return h("button.secondary.big.checkin", { type: "button", id: "checkin", onclick: async () => {
    try {
      const row = await api("/checkins", { method: "POST", body: { senior_id: seniorId } });
      localStorage.setItem(okKey(seniorId), JSON.stringify({ day: dayKey(new Date(row.at)), at: row.at }));
      changed();
    } catch (e) { toast(errorText(e), "error"); }
  } }, t("imOk"));
}

// --- SOS ----------------------------------------------------------------------------------------

let sos = { phase: "idle" }; // idle | counting | sending | sent | offline
let timer = null;

function stopTimer() { clearInterval(timer); timer = null; }

function startCountdown() {
  stopTimer();
  sos = { phase: "counting", left: 5, position: null };
  navigator.geolocation?.getCurrentPosition((p) => { sos.position = p.coords; }, () => {}, { timeout: 4000, maximumAge: 60000 });
  timer = setInterval(() => {
    if (location.pathname !== "/sos") { stopTimer(); sos = { phase: "idle" }; return; } // left the screen: no call
    sos.left -= 1;
    const n = document.getElementById("sos-count");
    if (sos.left <= 0) { stopTimer(); raise(); }
    else if (n) n.textContent = t("sosCountdown", { n: sos.left });
  }, 1000);
}

async function raise() {
  stopTimer();
  const me = state.seniors[0];
  if (!navigator.onLine || !me) { sos = { phase: "offline" }; changed(); return; }
  sos.phase = "sending";
  changed();
  const body = { senior_id: me.id };
  if (sos.position) { body.lat = sos.position.latitude; body.lon = sos.position.longitude; }
  try {
    const alert = await api("/sos", { method: "POST", body });
    state.sos.set(alert.id, { ...(state.sos.get(alert.id) || {}), ...alert });
    sos = { phase: "sent", id: alert.id };
    refresh().catch(() => {});
  } catch (e) {
    // Never queued: without the network, phone someone now.
    sos = e.code === "network" ? { phase: "offline" } : { phase: "error", message: errorText(e) };
  }
  changed();
}

function callLinks() {
  const contacts = state.seniors[0]?.emergency_contacts || savedContacts();
  return h("div.calls",
    contacts.map((c) => h("a.call", { href: `tel:${c.phone}` }, icon("phone", 32),
      h("span", t("call", { who: `${c.relation || t("family")} ${c.name}` })))),
    h("a.call.call-120", { href: "tel:120" }, icon("phone", 32), h("span", t("call120"))));
}

function sosStatus(alert) {
  const acks = alert.acks || (alert.acked_at ? [{ name: alert.acked_by_name }] : []);
  const seen = acks.length
    ? acks.map((a) => h("p.seen", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "✔ "), t("sosSeenBy", { who: a.name || t("family") })))
    : h("p.seen", { "data-speak": "" }, t("sosNotSeen"));
  return h("div.sos-status", { role: "status", id: "sos-status", dataset: { sosId: alert.id, status: alert.status } },
    h("p.sos-sent", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "⚠ "), t("sosSent"), " · ", when(alert.opened_at)),
    h("p", { "data-speak": "" }, t("sosSentHint")), seen);
}

function sosView() {
  if (sos.phase === "idle" || sos.phase === "done") {
    if (!navigator.onLine) sos = { phase: "offline" };
    else startCountdown();
  }
  const leave = h("a.back", { href: "/", "data-link": "", onclick: () => { stopTimer(); sos = { phase: "idle" }; } }, "‹ ", t("back"));
  if (sos.phase === "offline") {
    queueMicrotask(() => { sos = { phase: "idle" }; });
    return h("section.sos-screen", leave, h("h1", { "data-speak": "" }, t("sosOffline")), callLinks());
  }
  if (sos.phase === "counting") {
    return h("section.sos-screen.counting",
      h("h1", { "data-speak": "" }, t("sos")),
      h("p.countdown", { id: "sos-count", "aria-live": "assertive" }, t("sosCountdown", { n: sos.left })),
      h("button.big.secondary", { type: "button", id: "sos-cancel", onclick: () => { stopTimer(); sos = { phase: "idle" }; history.back(); } }, t("sosCancel")),
      h("button.big.danger", { type: "button", id: "sos-now", onclick: () => raise() }, t("sosNow")));
  }
  if (sos.phase === "sending") return h("section.sos-screen", h("h1", t("sos")), h("p.countdown", t("loading")));
  if (sos.phase === "error") {
    return h("section.sos-screen", leave, h("h1", t("sos")), h("p.error", { role: "alert" }, sos.message), callLinks());
  }
  const alert = state.sos.get(sos.id) || [...state.sos.values()][0];
  if (alert?.status === "resolved") queueMicrotask(() => { sos = { phase: "idle" }; });
  return h("section.sos-screen.sent", leave, h("h1", { "data-speak": "" }, t("sosSent")),
    alert ? sosStatus(alert) : null, callLinks());
}

export const seniorRoutes = [
  [/^\/sos$/, sosView],
  [/^\/$/, home],
  [/.*/, home],
];
export { sosStatus, callLinks };
