// Provider: duty on/off (coarse position only while on duty), live offers with a countdown, the
// job flow (navigate, 出发, 到达签到, 完成签退 with the phone's position), visits, ratings and credit.
import { h, icon } from "../dom.js";
import { api } from "../api.js";
import { t, when, isToday, errorText } from "../i18n.js";
import { state, changed, toast, fetchRequest, refresh, mergeRequest } from "../store.js";
import { navigate } from "../main.js";
import { providerProfileForm } from "./profile.js";

const ACTIVE = ["assigned", "en_route", "in_service"];
const DUTY_EVERY = 5 * 60000;
let dutyTimer = null;

const coarse = (x) => Math.round(x * 100) / 100; // ~1 km: the API keeps no finer on-duty point

function position({ precise = false } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error(t("needLocation"))); return; }
    navigator.geolocation.getCurrentPosition((p) => resolve(p.coords), () => reject(new Error(t("needLocation"))),
      { enableHighAccuracy: precise, timeout: 15000, maximumAge: precise ? 0 : 120000 });
  });
}

async function setDuty(on) {
  try {
    const body = { on_duty: on };
    if (on) {
      const c = await position();
      Object.assign(body, { lat: coarse(c.latitude), lon: coarse(c.longitude) });
    }
    state.provider = await api("/providers/me/duty", { method: "POST", body });
    keepDutyFresh();
    changed();
  } catch (e) { toast(e.code ? errorText(e) : e.message, "error"); }
}

/** While on duty and the app is open, refresh the coarse position every few minutes; never in the background. */
function keepDutyFresh() {
  clearInterval(dutyTimer);
  if (!state.provider?.on_duty) return;
  dutyTimer = setInterval(async () => {
    if (!state.provider?.on_duty || document.visibilityState !== "visible" || state.user?.role !== "provider") return;
    try {
      const c = await position();
      state.provider = await api("/providers/me/duty", { method: "POST", body: { on_duty: true, lat: coarse(c.latitude), lon: coarse(c.longitude) } });
    } catch { /* tried again next time */ }
  }, DUTY_EVERY);
}

// Countdowns change only their own digits; an expired offer is greyed, never moved away.
setInterval(() => {
  for (const el of document.querySelectorAll("[data-expires]")) {
    const left = Math.max(0, Math.round((Date.parse(el.dataset.expires) - Date.now()) / 1000));
    el.textContent = t("expiresIn", { s: left });
    if (left === 0) el.closest(".offer")?.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  }
}, 1000);

function offerCard(o) {
  const left = Math.max(0, Math.round((Date.parse(o.expires_at) - Date.now()) / 1000));
  return h("li.offer.card", { dataset: { offerId: o.id, requestId: o.request_id } },
    h("div.offer-head", icon(o.service_type, 36), h("p.offer-service", { "data-speak": "" }, t(o.service_type))),
    h("p", { "data-speak": "" }, t("distance", { km: o.distance_km.toFixed(1) }), o.area?.name ? ` · ${o.area.name}` : ""),
    h("p", { "data-speak": "" }, when(o.scheduled_start), " · ", t("minutes", { n: o.duration_minutes })),
    h("p.countdown-small", { dataset: { expires: o.expires_at }, "aria-live": "off" }, t("expiresIn", { s: left })),
    h("div.row",
      h("button.primary.accept", { type: "button", disabled: left === 0, onclick: () => accept(o) }, t("accept")),
      h("button.secondary.decline", { type: "button", disabled: left === 0, onclick: () => decline(o) }, t("decline"))));
}

async function accept(o) {
  try {
    const r = await api(`/offers/${o.id}/accept`, { method: "POST", body: {} });
    state.offers.delete(o.id);
    mergeRequest(r);
    navigate(`/job/${r.id}`);
  } catch (e) {
    if (["offer_taken", "offer_expired"].includes(e.code)) state.offers.delete(o.id);
    toast(errorText(e), "error");
    changed();
  }
}

async function decline(o) {
  try {
    await api(`/offers/${o.id}/decline`, { method: "POST", body: {} });
  } catch (e) { if (!["offer_taken", "offer_expired"].includes(e.code)) { toast(errorText(e), "error"); return; } }
  state.offers.delete(o.id);
  changed();
}

function jobRow(r) {
  return h("li.job", { dataset: { requestId: r.id, status: r.status } },
    h("a.job-link", { href: `/job/${r.id}`, "data-link": "" },
      h("span.job-service", t(r.service_type)), h("span", r.asap ? t("asap") : when(r.scheduled_start)),
      h("span.job-status", jobStatus(r.status))));
}

function jobStatus(status) {
  return { assigned: t("jobAssigned"), en_route: t("jobEnRoute"), in_service: t("inService"), completed: t("completed"), cancelled: t("cancelled") }[status] || status;
}

function home() {
  if (!state.loaded && navigator.onLine) return h("p.loading", t("loading"));
  const p = state.provider;
  if (!p) return providerProfileForm();
  if (!dutyTimer && p.on_duty) keepDutyFresh();
  const offers = [...state.offers.values()].filter((o) => !o.status || o.status === "offered").sort((a, b) => a.id - b.id);
  const mine = [...state.requests.values()];
  const today = mine.filter((r) => isToday(r.scheduled_start) && [...ACTIVE, "completed"].includes(r.status))
    .sort((a, b) => Date.parse(a.scheduled_start) - Date.parse(b.scheduled_start));
  const upcoming = mine.filter((r) => !isToday(r.scheduled_start) && ACTIVE.includes(r.status) && Date.parse(r.scheduled_start) > Date.now())
    .sort((a, b) => Date.parse(a.scheduled_start) - Date.parse(b.scheduled_start));
  return h("section.provider-home",
    h("div.duty.card", { dataset: { onDuty: p.on_duty ? "1" : "0" } },
      h("p.duty-state", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, p.on_duty ? "● " : "○ "), p.on_duty ? t("onDuty") : t("offDuty")),
      h("button.big", { type: "button", id: "duty", class: p.on_duty ? "secondary" : "primary", onclick: () => setDuty(!p.on_duty) },
        p.on_duty ? t("goOffDuty") : t("goOnDuty")),
      h("p.hint", t("dutyHint")),
      p.status !== "verified" ? h("p.hint", t("pendingVerify")) : null),
    h("h2", { "data-speak": "" }, t("offers")),
    offers.length ? h("ul.offers", { id: "offers" }, offers.map(offerCard)) : h("p.empty", { id: "no-offers" }, t("noOffers")),
    h("h2", t("jobs")),
    today.length ? h("ul.jobs", { id: "today" }, today.map(jobRow)) : h("p.empty", t("noJobs")),
    h("h2", t("upcoming")),
    upcoming.length ? h("ul.jobs", { id: "upcoming" }, upcoming.map(jobRow)) : h("p.empty", t("noJobs")),
    h("div.score.card", { id: "score" },
      h("p", { "data-speak": "" }, t("credit"), "：", h("strong", String(p.credit_score))),
      h("p", { "data-speak": "" }, t("rating"), "：",
        p.rating_count ? [h("strong", `${p.rating_avg.toFixed(1)} ★`), ` (${t("ratingsN", { n: p.rating_count })})`] : t("ratingNone"))),
    state.loadError ? h("p.error", { role: "alert" }, state.loadError) : null);
}

const fetched = new Set();
function jobView(id) {
  const r = state.requests.get(Number(id));
  if (!fetched.has(Number(id))) { fetched.add(Number(id)); fetchRequest(Number(id)); }
  if (!r) return h("p.loading", t("loading"));
  const next = { assigned: ["en_route", t("depart")], en_route: ["in_service", t("arrive")], in_service: ["completed", t("finish")] }[r.status];
  const hasPlace = r.lat != null && r.lon != null;
  const name = encodeURIComponent(r.address || r.senior_name || "");
  return h("section.job-view", { dataset: { requestId: r.id, status: r.status } },
    h("a.back", { href: "/", "data-link": "" }, "‹ ", t("back")),
    h("h1", { "data-speak": "" }, t(r.service_type), " · ", r.asap ? t("asap") : when(r.scheduled_start)),
    h("p.job-status-line", { "data-speak": "" }, jobStatus(r.status)),
    r.senior_name ? h("p", { "data-speak": "" }, t("name"), "：", r.senior_name) : null,
    r.address ? h("p", { "data-speak": "" }, t("address"), "：", r.address) : null,
    r.notes ? h("p", t("note"), "：", r.notes) : null,
    hasPlace ? h("div.row.nav-links",
      h("a.button.secondary", { id: "nav-amap", href: `https://uri.amap.com/marker?position=${r.lon},${r.lat}&name=${name}&coordinate=wgs84&callnative=1`, target: "_blank", rel: "noopener" }, icon("map", 28), t("navigate")),
      h("a.button.secondary", { id: "nav-geo", href: `geo:${r.lat},${r.lon}?q=${r.lat},${r.lon}(${name})` }, t("navigateGeo"))) : null,
    r.senior_phone ? h("a.button.secondary", { href: `tel:${r.senior_phone}` }, icon("phone", 28), t("callSenior")) : null,
    next ? h("button.primary.big", { type: "button", id: "progress", dataset: { next: next[0] }, onclick: (e) => progress(r, next[0], e.currentTarget) }, next[1]) : null);
}

async function progress(r, status, button) {
  button.disabled = true;
  const old = button.textContent;
  button.textContent = t("locating");
  try {
    const body = { status };
    try {
      const c = await position({ precise: true });
      Object.assign(body, { lat: c.latitude, lon: c.longitude });
    } catch (e) { if (status !== "en_route") throw e; } // check-in and check-out need the position
    const updated = await api(`/requests/${r.id}/progress`, { method: "POST", body });
    mergeRequest(updated);
    if (status === "completed") { refresh().catch(() => {}); navigate("/"); return; }
    await fetchRequest(r.id);
  } catch (e) {
    toast(e.code ? errorText(e) : e.message, "error");
    button.disabled = false;
    button.textContent = old;
  }
}

export const providerRoutes = [
  [/^\/job\/(\d+)$/, jobView],
  [/^\/$/, home],
  [/.*/, home],
];
