// A visit as the senior's side sees it: status in plain words, provider, cancel, rate, book again.
import { h } from "../dom.js";
import { api } from "../api.js";
import { t, when, errorText } from "../i18n.js";
import { state, changed, toast, providerCall, book, dismissWaiting, seniorName, mergeRequest } from "../store.js";

const ACTIVE = ["pending", "offering", "escalated", "assigned", "en_route", "in_service"];
const CANCELLABLE = ["pending", "offering", "escalated", "assigned"];
const FACES = [[5, "good"], [3, "ok"], [1, "bad"]];
const open = { cancel: new Set() };

export function statusWords(r) {
  const who = providerCall(r);
  switch (r.status) {
    case "pending": case "offering": return t("searching");
    case "escalated": return t("escalated");
    case "assigned": return t("accepted", { who });
    case "en_route": return t("enRoute", { who });
    case "in_service": return t("inService");
    case "completed": return t("completed");
    default: return t("cancelled");
  }
}

export const isActive = (r) => ACTIVE.includes(r.status);

export function visitsOf(seniorId) {
  return [...state.requests.values()].filter((r) => seniorId === undefined || r.senior_id === seniorId)
    .sort((a, b) => (isActive(b) - isActive(a)) || (b.id - a.id));
}

/** The waiting (offline) bookings, each shown "等待发送" or with the server's refusal. */
export function waitingCards(seniorId) {
  return state.waiting.filter((w) => seniorId === undefined || w.senior_id === seniorId).map((w) =>
    h("li.visit.waiting", { dataset: { key: w.key, state: w.state } },
      h("p.visit-service", { "data-speak": "" }, state.user.role === "family" ? `${seniorName(w.senior_id)} · ` : "",
        t(w.service_type), " · ", w.scheduled_start ? when(w.scheduled_start) : t("asap")),
      w.state === "waiting"
        ? h("p.status.status-waiting", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "… "), t("waiting"))
        : [h("p.status.status-refused", { role: "alert" }, h("span.mark", { "aria-hidden": "true" }, "⚠ "), t("refused", { msg: w.error })),
          h("button.secondary", { type: "button", onclick: () => dismissWaiting(w.key) }, t("dismiss"))]));
}

export function visitCard(r, { showSenior = false } = {}) {
  const words = statusWords(r);
  const assigned = r.provider_id && ["assigned", "en_route", "in_service", "completed"].includes(r.status);
  const card = h("li.visit", { dataset: { requestId: r.id, status: r.status } },
    h("div.visit-head",
      h("p.visit-service", { "data-speak": "" }, showSenior ? `${seniorName(r.senior_id)} · ` : "", t(r.service_type), " · ",
        r.asap ? t("asap") : when(r.scheduled_start), r.plan_id ? h("span.badge", ` · ${t("planBadge")}`) : null),
      assigned && r.provider_name ? h("span.avatar", { "aria-hidden": "true" }, r.provider_name[0]) : null),
    h(`p.status.status-${r.status}`, { "data-speak": "" }, statusIcon(r.status), words),
    actions(r));
  return card;
}

/** A big line-drawn face: smiling (5), level (3) or sad (1). */
function face(stars) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 48 48");
  svg.setAttribute("class", "face-icon");
  svg.setAttribute("aria-hidden", "true");
  const mouth = { 5: "M14 29q10 10 20 0", 3: "M15 31h18", 1: "M14 34q10-9 20 0" }[stars];
  svg.innerHTML = `<circle cx="24" cy="24" r="21" fill="none" stroke="currentColor" stroke-width="3"/>`
    + `<circle cx="17" cy="19" r="3" fill="currentColor"/><circle cx="31" cy="19" r="3" fill="currentColor"/>`
    + `<path d="${mouth}" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/>`;
  return svg;
}

function statusIcon(status) {
  const icons = { pending: "… ", offering: "… ", escalated: "… ", assigned: "✔ ", en_route: "➜ ", in_service: "● ", completed: "✔️ ", cancelled: "✖️ " };
  return h("span", { "aria-hidden": "true" }, icons[status] || "");
}

function actions(r) {
  const out = [];
  if (CANCELLABLE.includes(r.status)) {
    if (open.cancel.has(r.id)) {
      out.push(h("div.confirm-box", { role: "group", "aria-label": t("cancelAsk") },
        h("p", { "data-speak": "" }, t("cancelAsk")),
        h("div.row",
          h("button.danger", { type: "button", onclick: () => doCancel(r) }, t("yesCancel")),
          h("button.secondary", { type: "button", onclick: () => { open.cancel.delete(r.id); changed(); } }, t("noKeep")))));
    } else {
      out.push(h("button.secondary.cancel", { type: "button", onclick: () => { open.cancel.add(r.id); changed(); } }, t("cancel")));
    }
  }
  if (r.status === "completed" && ["senior", "family"].includes(state.user?.role)) {
    if (r.rating_stars || r._rated) out.push(h("p.rated", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "✔ "), t("rated")));
    else out.push(h("div.rate", { role: "group", "aria-label": t("rateAsk") },
      h("p", { "data-speak": "" }, t("rateAsk")),
      h("div.faces", FACES.map(([stars, word]) =>
        h("button.face", { type: "button", dataset: { stars }, onclick: () => rate(r, stars) },
          face(stars), h("span", t(word)))))));
  }
  if (["completed", "cancelled"].includes(r.status)) {
    out.push(h("button.secondary.again", { type: "button", onclick: () => again(r) }, t("bookAgain")));
  }
  return out.length ? h("div.visit-actions", out) : null;
}

async function doCancel(r) {
  try {
    const updated = await api(`/requests/${r.id}/cancel`, { method: "POST", body: {} });
    mergeRequest(updated);
    open.cancel.delete(r.id);
    changed();
  } catch (e) { toast(errorText(e), "error"); }
}

async function rate(r, stars) {
  try {
    await api(`/requests/${r.id}/rating`, { method: "POST", body: { stars } });
    state.requests.set(r.id, { ...r, _rated: true, rating_stars: stars });
    changed();
  } catch (e) {
    if (e.code === "already_rated") { state.requests.set(r.id, { ...r, _rated: true }); changed(); }
    else toast(errorText(e), "error");
  }
}

/** 再订一次: the same service for the same senior, now (if it was "now") or at the same time of day next. */
async function again(r) {
  let scheduled_start = null;
  if (!r.asap) {
    const then = new Date(r.scheduled_start);
    const next = new Date(Date.now());
    next.setUTCHours(then.getUTCHours(), then.getUTCMinutes(), 0, 0);
    while (next.getTime() < Date.now() + 30 * 60000) next.setTime(next.getTime() + 86400000);
    scheduled_start = next.toISOString();
  }
  try {
    const result = await book({ senior_id: r.senior_id, service_type: r.service_type, scheduled_start });
    toast(result.queued ? t("waiting") : `${t("booked")}：${t(r.service_type)} · ${scheduled_start ? when(scheduled_start) : t("asap")}`);
  } catch (e) { toast(errorText(e), "error"); }
}
