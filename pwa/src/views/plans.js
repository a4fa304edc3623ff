// 我的定期服务: a senior's recurring plans (GET /plans) in plain words, their next visits, and
// pause / resume, skip the next one, end (with a confirmation). Every change needs the network.
import { h } from "../dom.js";
import { api, newKey } from "../api.js";
import { t, when, errorText, getLang, dayKey, TZ } from "../i18n.js";
import { state, changed, refresh, toast, seniorName } from "../store.js";

import { BYDAY } from "../weekly-rule.js";

export { BYDAY };
export const dayWords = () => t("days").split(",");
export const dayNames = () => t("dayNames").split(",");

/** "上午9:00" / "中午11:30" / "下午3:00" (en "9:00 am") from "HH:MM" on the Shanghai clock. */
export function timeWords(hhmm) {
  const [hr, min] = hhmm.split(":").map(Number);
  const clock = `${hr % 12 || 12}:${String(min).padStart(2, "0")}`;
  if (getLang() === "en") return `${clock} ${hr < 12 ? "am" : "pm"}`;
  const part = hr < 11 ? "上午" : hr < 13 ? "中午" : hr < 18 ? "下午" : "晚上";
  return `${part}${hr > 12 ? clock : `${hr}:${String(min).padStart(2, "0")}`}`;
}

/** "每周一、三、五" (en "Every Mon, Wed, Fri") from the chosen BYDAY codes. */
export function daysWords(codes) {
  if (codes.length === 7) return t("everyDay");
  const words = dayWords();
  const list = BYDAY.filter((c) => codes.includes(c)).map((c) => words[BYDAY.indexOf(c)]);
  return t("planWeekly", { days: list.join(t("daySep")) });
}

/** A plan in plain words: "每周一、三、五 上午9:00 助餐"; rules the app does not make read "定期". */
export function planWords(plan) {
  const parts = Object.fromEntries(plan.rrule.split(";").map((p) => p.split("=")));
  const hhmm = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    .format(new Date(plan.start));
  let days = t("planOther");
  const plain = !parts.INTERVAL || parts.INTERVAL === "1";
  if (plain && parts.FREQ === "DAILY" && !parts.BYDAY) days = t("everyDay");
  else if (plain && parts.FREQ === "WEEKLY" && (parts.BYDAY || "").split(",").every((c) => BYDAY.includes(c))) {
    days = daysWords(parts.BYDAY ? parts.BYDAY.split(",") : [BYDAY[(new Date(plan.start).getUTCDay() + 6) % 7]]);
  }
  return `${days} ${timeWords(hhmm)} ${t(plan.service_type)}`;
}

// The screen's data: fetched when the screen is opened and after each change.
const data = { seniorId: null, plans: [], occ: new Map(), loading: false, error: null, ending: new Set() };

async function load(seniorId) {
  Object.assign(data, { seniorId, loading: true, error: null });
  try {
    const plans = (await api(`/plans?senior_id=${seniorId}`)).filter((p) => p.status !== "ended");
    const occ = await Promise.all(plans.map((p) => api(`/plans/${p.id}/occurrences`).catch(() => [])));
    Object.assign(data, { plans, occ: new Map(plans.map((p, i) => [p.id, occ[i]])) });
  } catch (e) {
    data.error = e.code === "network" ? t("planNeedsNet") : errorText(e);
  }
  data.loading = false;
  changed();
}

const upcoming = (plan) => (data.occ.get(plan.id) || []).filter((o) => new Date(o.start).getTime() > Date.now());
const nextVisits = (plan) => upcoming(plan).filter((o) => !["skipped", "cancelled"].includes(o.status));

/** One change to a plan: online only; then the plans and the visits are fetched again. */
async function act(fn, done) {
  if (!navigator.onLine) { toast(t("planNeedsNet"), "error"); return; }
  try {
    await fn();
    toast(done);
    await load(data.seniorId);
    refresh().catch(() => {});
  } catch (e) { toast(e.code === "network" ? t("planNeedsNet") : errorText(e), "error"); }
}

const pause = (p) => act(() => api(`/plans/${p.id}`, { method: "PATCH", body: { paused: p.status === "active" } }),
  p.status === "active" ? t("pausedDone") : t("resumed"));

function skipNext(p) {
  const next = nextVisits(p)[0];
  if (!next) return;
  act(() => api(`/plans/${p.id}/skip`, { method: "POST", body: { date: dayKey(new Date(next.start)) },
    headers: { "Idempotency-Key": newKey() } }), t("skippedOne", { when: visitWhen(next.start) }));
}

function end(p) {
  data.ending.delete(p.id);
  act(() => api(`/plans/${p.id}`, { method: "DELETE" }), t("planEnded"));
}

/** "12月3日 09:00（星期三）": the day of the week said too, as the plan is by weekday. */
function visitWhen(iso) {
  const weekday = (new Date(new Date(iso).getTime() + 8 * 3600000).getUTCDay() + 6) % 7; // Shanghai, 0 = Monday
  return getLang() === "en" ? `${when(iso)} (${dayNames()[weekday]})` : `${when(iso)}（${dayNames()[weekday]}）`;
}

function endBox(p) {
  if (!data.ending.has(p.id)) {
    return h("button.secondary.end-plan", { type: "button", onclick: () => { data.ending.add(p.id); changed(); } }, t("endPlan"));
  }
  return h("div.confirm-box", { role: "group", "aria-label": t("endAsk") },
    h("p", { "data-speak": "" }, t("endAsk")),
    h("div.row",
      h("button.danger", { type: "button", onclick: () => end(p) }, t("yesEnd")),
      h("button.secondary", { type: "button", onclick: () => { data.ending.delete(p.id); changed(); } }, t("noKeep"))));
}

function planCard(p) {
  const next = nextVisits(p).slice(0, 3);
  const skipped = upcoming(p).filter((o) => o.status === "skipped");
  const active = p.status === "active";
  return h("li.plan", { dataset: { planId: p.id, status: p.status } },
    h("h2.plan-title", { "data-speak": "" }, planWords(p)),
    active
      ? [h("p.plan-next-label", t("planNext")),
        h("ul.plan-next", next.map((o) => h("li", { "data-speak": "", dataset: { start: o.start } }, visitWhen(o.start))))]
      : h("p.status.status-waiting", { "data-speak": "" }, h("span.mark", { "aria-hidden": "true" }, "‖ "), t("planPaused")),
    active && skipped.length
      ? h("p.plan-skipped", { "data-speak": "" }, `${t("skippedList")}：`, skipped.map((o) => visitWhen(o.start)).join(t("daySep")))
      : null,
    h("div.visit-actions",
      h("button.secondary.pause-plan", { type: "button", onclick: () => pause(p) }, active ? t("pause") : t("resume")),
      active && next.length ? h("button.secondary.skip-next", { type: "button", onclick: () => skipNext(p) }, t("skipNext")) : null,
      endBox(p)));
}

function plansView(id) {
  const seniorId = Number(id) || state.seniors[0]?.id;
  const family = state.user.role === "family";
  // Opened just now (the shell still shows the previous path): fetch again.
  if (seniorId && (data.seniorId !== seniorId || document.body.dataset.path !== location.pathname) && !data.loading) {
    data.plans = data.seniorId === seniorId ? data.plans : [];
    queueMicrotask(() => load(seniorId));
    data.loading = true;
  }
  const title = family ? t("plansOf", { name: seniorName(seniorId) }) : t("myPlans");
  return h("section.plans",
    h("a.back", { href: "/", "data-link": "" }, "‹ ", t("back")),
    h("h1", { "data-speak": "" }, title),
    data.loading && !data.plans.length ? h("p.loading", t("loading")) : null,
    data.error ? h("p.error", { role: "alert" }, data.error) : null,
    !data.loading && !data.error && !data.plans.length ? h("p.empty", t("noPlans")) : null,
    h("ul.plans-list", { id: "plans" }, data.plans.map(planCard)),
    seniorId ? h("a.secondary.button.big", { href: `/book/${seniorId}`, "data-link": "", id: "add-plan" }, t("addPlan")) : null);
}

/** The link on the senior's home and the family's screens. */
export const plansLink = (seniorId, { big = true } = {}) => h(`a.secondary.button${big ? ".big" : ""}.plans-link`,
  { href: state.user.role === "family" ? `/plans/${seniorId}` : "/plans", "data-link": "", dataset: { plansFor: seniorId } },
  state.user.role === "family" ? t("regular") : t("myPlans"));

export const planRoutes = [
  [/^\/plans\/?$/, () => plansView()],
  [/^\/plans\/(\d+)\/?$/, plansView],
];
