// Family: the seniors they are linked to, their visits live, booking for them, SOS with acknowledge.
import { h } from "../dom.js";
import { api } from "../api.js";
import { t, when, errorText } from "../i18n.js";
import { state, toast, seniorName } from "../store.js";
import { visitCard, waitingCards, visitsOf, isActive } from "./visits.js";
import { plansLink } from "./plans.js";

export function sosAlerts() {
  const open = [...state.sos.values()].filter((s) => s.status !== "resolved").sort((a, b) => b.id - a.id);
  if (!open.length) return null;
  return h("section.sos-alerts", { id: "sos-alerts", "aria-label": t("openSos") }, open.map((s) => {
    const acks = s.acks || [];
    const mine = acks.some((a) => a.user_id === state.user.id);
    return h("div.sos-alert", { role: "alert", dataset: { sosId: s.id, status: s.status } },
      h("p.sos-title", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "⚠ "), t("sosAlert", { name: s.senior_name || seniorName(s.senior_id) })),
      h("p", when(s.opened_at), s.lat ? ` · ${t("location")} ` : "",
        s.lat ? h("a", { href: `https://uri.amap.com/marker?position=${s.lon},${s.lat}&coordinate=wgs84&callnative=1` }, t("showMap")) : null),
      acks.length ? h("p.acked", h("span.mark", { "aria-hidden": "true" }, "✔ "), t("acked", { who: acks.map((a) => a.name || a.role).join("、") })) : null,
      mine ? null : h("button.danger.big.ack", { type: "button", onclick: () => ack(s) }, t("ack")));
  }));
}

async function ack(s) {
  try {
    const updated = await api(`/sos/${s.id}/ack`, { method: "POST", body: {} });
    const acks = s.acks ? [...s.acks] : [];
    if (!acks.some((a) => a.user_id === state.user.id)) acks.push({ user_id: state.user.id, role: state.user.role, name: state.user.name });
    state.sos.set(s.id, { ...s, ...updated, acks });
    toast(t("acked", { who: state.user.name }));
  } catch (e) { toast(errorText(e), "error"); }
}

function seniorCard(s) {
  const waiting = state.waiting.filter((w) => w.senior_id === s.id).length;
  const visits = visitsOf(s.id);
  const active = visits.filter(isActive);
  return h("li.senior-card.card", { dataset: { seniorId: s.id } },
    h("h2", { "data-speak": "" }, s.name),
    h("ul.visits", active.map((r) => visitCard(r))),
    !active.length && !waiting ? h("p.empty", t("noVisits")) : null,
    h("div.row",
      h("a.primary.button", { href: `/book/${s.id}`, "data-link": "", dataset: { bookFor: s.id } }, t("bookFor", { name: s.name })),
      h("a.secondary.button", { href: `/senior/${s.id}`, "data-link": "" }, t("myVisits")),
      plansLink(s.id, { big: false })));
}

function home() {
  if (!state.loaded && navigator.onLine) return h("p.loading", t("loading"));
  return h("section.family-home",
    h("h1", { "data-speak": "" }, t("mySeniors")),
    state.waiting.length ? h("ul.visits", { id: "visits" }, waitingCards()) : null,
    state.seniors.length ? h("ul.seniors", state.seniors.map(seniorCard)) : h("p.empty", t("noSeniors")),
    state.loadError ? h("p.error", { role: "alert" }, state.loadError) : null);
}

function seniorPage(id) {
  const s = state.seniors.find((x) => x.id === Number(id));
  if (!s) return home();
  const visits = visitsOf(s.id);
  return h("section.family-senior",
    h("a.back", { href: "/", "data-link": "" }, "‹ ", t("back")),
    h("h1", { "data-speak": "" }, s.name),
    h("a.primary.button.big", { href: `/book/${s.id}`, "data-link": "" }, t("bookFor", { name: s.name })),
    plansLink(s.id),
    h("h2", t("myVisits")),
    h("ul.visits", { id: "visits" }, waitingCards(s.id), visits.slice(0, 20).map((r) => visitCard(r))),
    !visits.length ? h("p.empty", t("noVisits")) : null);
}

export const familyRoutes = [
  [/^\/senior\/(\d+)$/, seniorPage],
  [/^\/$/, home],
  [/.*/, home],
];
