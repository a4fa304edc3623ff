// 平安 Daily check-ins not made today, and 定期 recurring plans with pause / resume.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { ct } from "./words.js";
import { action, clock, communityNames, field, load, messages, qs, serviceName, table, today } from "./ui.js";

export function carePanel(root) {
  const box = messages();
  const day = h("input", { id: "checkin-date", name: "date", type: "date", value: today() });
  const checkins = h("div", { id: "checkins" });
  const plans = h("div", { id: "plans" });
  const form = h("form.row.inline-form", { id: "checkin-form" }, field(ct("date"), day), h("button.primary", { type: "submit" }, ct("show")));

  const drawCheckins = () => load(checkins, async () => [await api(`/center/checkins${qs({ date: day.value })}`), await communityNames(api)],
    ([list, names]) => (list.length ? table(ct("checkins"), [
      [ct("name"), (c) => c.name],
      [ct("community"), (c) => names.get(c.community_id)?.name || `#${c.community_id}`],
      [ct("deadline"), (c) => c.deadline],
      [ct("familyAlerted"), (c) => clock(c.family_alerted_at)],
      [ct("staffAlerted"), (c) => clock(c.staff_alerted_at)],
    ], list, { rowProps: (c) => ({ "data-senior-id": c.senior_id }) }) : h("p.empty", ct("allCheckedIn"))));

  const toggle = (plan) => {
    const paused = plan.status === "paused";
    return action(ct(paused ? "resume" : "pause"), async () => {
      await api(`/plans/${plan.id}`, { method: "PATCH", body: { paused: !paused } });
      box.show(`${ct(paused ? "resume" : "pause")} #${plan.id}`); drawPlans();
    }, box, { props: { id: `plan-${plan.id}` } });
  };

  const drawPlans = () => load(plans, () => api("/plans"), (list) => (list.length ? table(ct("plans"), [
    ["#", (p) => String(p.id), "num"],
    [ct("senior"), (p) => p.senior_name || `#${p.senior_id}`],
    [ct("service"), (p) => serviceName(p.service_type)],
    [ct("rule"), (p) => h("code", p.rrule)],
    [ct("time"), (p) => clock(p.start)],
    [ct("status"), (p) => ct(`pst_${p.status}`)],
    [ct("actions"), (p) => (p.status === "ended" ? "" : toggle(p))],
  ], list, { rowProps: (p) => ({ "data-plan-id": p.id, "data-status": p.status }) }) : h("p.empty", ct("noneNow"))));

  form.addEventListener("submit", (e) => { e.preventDefault(); drawCheckins(); });
  mount(root, h("h1", ct("care")), box,
    h("section.panel-part", { "aria-labelledby": "checkins-h" }, h("h2", { id: "checkins-h" }, ct("checkins")), form, checkins),
    h("section.panel-part", { "aria-labelledby": "plans-h" }, h("h2", { id: "plans-h" }, ct("plans")), plans));
  drawCheckins(); drawPlans();
  return {};
}
