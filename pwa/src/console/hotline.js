// 电话预约 Hotline booking: an elder phones in; staff find them, pick a service and a time, and book
// on their behalf (channel "hotline"), once or every week (a plan; a 关爱探访 care visit if ticked).
import { api, newKey } from "../api.js";
import { h, mount } from "../dom.js";
import { errorText } from "../i18n.js";
import { BYDAY, nextStart, rruleOf } from "../weekly-rule.js";
import { ct } from "./words.js";
import { CARE_LEVELS, communityNames, field, messages, qs, serviceName, SERVICES, table } from "./ui.js";

export function hotlinePanel(root) {
  const box = messages();
  const results = h("div", { id: "hotline-results" });
  const booking = h("div", { id: "hotline-booking" });
  const query = h("input", { id: "senior-q", name: "q", type: "search", required: true, minLength: 2, maxLength: 40, autocomplete: "off" });
  const search = h("form.row.inline-form", { id: "senior-search", role: "search" },
    field(ct("searchSenior"), query), h("button.primary", { type: "submit" }, ct("search")));
  search.addEventListener("submit", async (e) => {
    e.preventDefault();
    box.show("");
    mount(booking);
    try {
      const [found, names] = await Promise.all([api(`/seniors${qs({ q: query.value.trim(), limit: 20 })}`), communityNames(api)]);
      mount(results, found.length ? table(ct("search"), [
        [ct("name"), (s) => s.name],
        [ct("birthYear"), (s) => String(s.birth_year), "num"],
        [ct("community"), (s) => names.get(s.community_id)?.name || `#${s.community_id}`],
        [ct("careLevel"), (s) => ct(CARE_LEVELS.includes(s.care_level) ? s.care_level : "unassessed")],
        [ct("actions"), (s) => h("button.secondary", { type: "button", id: `pick-${s.id}`, onclick: () => pick(s) }, ct("choose"))],
      ], found, { rowProps: (s) => ({ "data-senior-id": s.id }) }) : h("p.empty", ct("noResults")));
    } catch (err) { box.show(errorText(err), "error"); }
  });

  /** 每周定期: a weekly plan for the elder (a 关爱探访 care visit if ticked), from the next chosen day. */
  async function makePlan(senior, d) {
    const days = new Set(d.getAll("day"));
    if (!days.size) return box.show(ct("pickDays"), "error");
    const start = nextStart(days, d.get("plan_time") || "09:00");
    const body = { senior_id: senior.id, service_type: d.get("service"), rrule: rruleOf(days), start,
      duration_minutes: 60, kind: d.get("care_visit") ? "care_visit" : "service" };
    if (d.get("notes")) body.notes = d.get("notes");
    try {
      const plan = await api("/plans", { method: "POST", body, headers: { "Idempotency-Key": newKey() } });
      const names = ct("dayShort").split(",");
      const rule = BYDAY.filter((c) => days.has(c)).map((c) => names[BYDAY.indexOf(c)]).join("、");
      box.show(ct("planMade", { name: senior.name, service: serviceName(plan.service_type), rule,
        start: start.replace("T", " ").slice(0, 16) }));
      mount(booking);
      query.focus();
    } catch (err) { box.show(errorText(err), "error"); }
  }

  function pick(senior) {
    const at = h("input", { type: "datetime-local", name: "at", id: "book-at" });
    const names = ct("dayShort").split(",");
    const weekly = h("fieldset", { id: "plan-days" }, h("legend", ct("weekDays")), h("div.row",
      BYDAY.map((code, i) => h("label.check", h("input", { type: "checkbox", name: "day", value: code }), names[i]))),
    field(ct("planTime"), h("input", { type: "time", name: "plan_time", id: "plan-time", value: "09:00", step: 300 })),
    h("label.check", h("input", { type: "checkbox", name: "care_visit", id: "care-visit" }), ct("careVisit")));
    const form = h("form.card", { id: "hotline-form", "data-senior-id": senior.id },
      h("h2", ct("chosen", { name: senior.name })),
      h("fieldset", h("legend", ct("pickService")), h("div.row", SERVICES.map((code, i) =>
        h("label.check", h("input", { type: "radio", name: "service", value: code, checked: i === 0 }), serviceName(code))))),
      h("fieldset", h("legend", ct("pickTime")), h("div.row",
        h("label.check", h("input", { type: "radio", name: "when", value: "asap", checked: true }), ct("asapOpt")),
        h("label.check", h("input", { type: "radio", name: "when", value: "at" }), ct("atTime")), at,
        h("label.check", h("input", { type: "radio", name: "when", value: "weekly" }), ct("weeklyOpt")))),
      weekly,
      field(ct("note"), h("input", { name: "notes", maxLength: 500 })),
      h("button.primary", { type: "submit", id: "book" }, ct("book")));
    at.addEventListener("input", () => { form.querySelector("input[value=at]").checked = true; });
    weekly.addEventListener("change", () => { form.querySelector("input[value=weekly]").checked = true; });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const d = new FormData(form);
      if (d.get("when") === "weekly") return makePlan(senior, d);
      const body = { senior_id: senior.id, service_type: d.get("service"), channel: "hotline" };
      if (d.get("when") === "at" && at.value) body.scheduled_start = at.value; // naive: Asia/Shanghai
      if (d.get("notes")) body.notes = d.get("notes");
      try {
        const r = await api("/requests", { method: "POST", body, headers: { "Idempotency-Key": newKey() } });
        box.show(ct("booked", { name: senior.name, service: serviceName(r.service_type), status: ct(`rst_${r.status}`) }));
        mount(booking);
        query.focus();
      } catch (err) { box.show(errorText(err), "error"); }
    });
    mount(booking, form);
    form.querySelector("input[name=service]").focus();
  }

  mount(root, h("h1", ct("hotline")), search, box, results, booking);
  return {};
}
