// 每周…: a weekly plan in taps only: the days (big toggles 一 … 日), a time (three big presets; family
// may type another), 确认 → POST /plans with FREQ=WEEKLY;BYDAY=…, starting on the next chosen day.
// Toggles change the page in place (no redraw), so focus and the screen reader's place stay put.
import { h } from "../dom.js";
import { api, newKey } from "../api.js";
import { t, errorText } from "../i18n.js";
import { state, refresh, toast, seniorName } from "../store.js";
import { navigate } from "../main.js";
import { BYDAY, nextStart, rruleOf } from "../weekly-rule.js";
import { dayWords, dayNames, daysWords, timeWords } from "./plans.js";

const PRESETS = ["09:00", "11:30", "15:00"];
let form = null; // {key, days: Set of BYDAY codes, time: "HH:MM", sending}

function summaryText(service) {
  if (!form.days.size) return t("pickDays");
  return `${daysWords([...form.days])} ${timeWords(form.time)} ${t(service)}`;
}

function toggle(code, button, summary, service) {
  if (form.days.has(code)) form.days.delete(code);
  else form.days.add(code);
  button.setAttribute("aria-pressed", String(form.days.has(code)));
  summary.textContent = summaryText(service);
}

function pickTime(value, group, summary, service, custom) {
  form.time = value;
  for (const b of group.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.time === value));
  if (custom && custom.value !== value) custom.value = "";
  summary.textContent = summaryText(service);
}

async function submit(seniorId, service, button, summary) {
  if (!form.days.size) { summary.textContent = t("pickDays"); summary.focus(); return; }
  if (!navigator.onLine) { toast(t("planNeedsNet"), "error"); return; } // plans are never queued offline
  const what = summaryText(service);
  button.disabled = true;
  try {
    await api("/plans", { method: "POST", headers: { "Idempotency-Key": form.key },
      body: { senior_id: Number(seniorId), service_type: service, rrule: rruleOf(form.days),
        start: nextStart(form.days, form.time), duration_minutes: 60 } });
    form = null;
    toast(t("planSaved", { what }));
    refresh().catch(() => {});
    navigate(state.user.role === "family" ? `/plans/${seniorId}` : "/plans", { replace: true });
  } catch (e) {
    button.disabled = false;
    form.key = newKey(); // a changed choice is a new request
    toast(e.code === "network" ? t("planNeedsNet") : errorText(e), "error");
  }
}

export function weeklyView(seniorId, service) {
  const formKey = `${seniorId}/${service}`;
  if (form?.for !== formKey) form = { for: formKey, key: newKey(), days: new Set(), time: PRESETS[0] };
  const family = state.user.role === "family";
  const summary = h("p.plan-summary", { id: "plan-summary", tabindex: "-1", "aria-live": "polite", "data-speak": "" });
  summary.textContent = summaryText(service);
  const days = h("div.day-grid", BYDAY.map((code, i) => h("button.toggle.day", {
    type: "button", "aria-pressed": String(form.days.has(code)), "aria-label": dayNames()[i], dataset: { day: code },
    onclick: (ev) => toggle(code, ev.currentTarget, summary, service) }, dayWords()[i])));
  const custom = family ? h("input", { type: "time", id: "plan-time", name: "plan-time", step: 300,
    value: PRESETS.includes(form.time) ? "" : form.time }) : null;
  const times = h("div.time-choices", PRESETS.map((v) => h("button.toggle.time", {
    type: "button", "aria-pressed": String(form.time === v), dataset: { time: v },
    onclick: () => pickTime(v, times, summary, service, custom) }, timeWords(v))));
  custom?.addEventListener("change", () => { if (custom.value) pickTime(custom.value, times, summary, service, custom); });
  const button = h("button.primary.big", { type: "button", id: "plan-confirm" }, t("planConfirm"));
  button.addEventListener("click", () => submit(seniorId, service, button, summary));
  return h("section.booking.weekly",
    h("a.back", { href: `/book/${seniorId}/${service}`, "data-link": "" }, "‹ ", t("back")),
    h("h1", { "data-speak": "" }, family ? `${seniorName(Number(seniorId))} · ` : "", t("weeklyTitle", { service: t(service) })),
    navigator.onLine ? null : h("p.status.status-waiting", { role: "status" }, t("planNeedsNet")),
    h("fieldset", h("legend", { "data-speak": "" }, t("whichDays")), days),
    h("fieldset", h("legend", { "data-speak": "" }, t("whatTime")), times,
      family ? [h("label.field-label", { for: "plan-time" }, t("otherTime")), custom] : null),
    summary, button);
}
