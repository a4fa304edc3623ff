// 补贴 Subsidy statements by month: the table, the flagged visits apart, CSV and XLSX downloads.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { ct } from "./words.js";
import { CARE_LEVELS, field, load, num, qs, serviceName, table, today } from "./ui.js";

export function subsidiesPanel(root) {
  const month = h("input", { id: "subsidy-month", name: "month", type: "month", value: today().slice(0, 7), required: true });
  const out = h("div", { id: "subsidies" });
  const links = h("p.row.downloads");
  const form = h("form.row.inline-form", { id: "subsidy-form" }, field(ct("month"), month), h("button.primary", { type: "submit" }, ct("show")));
  const draw = () => {
    const base = `/api/v1/center/subsidies${qs({ month: month.value })}`;
    mount(links, h("a.button.secondary", { href: `${base}&format=csv`, download: `subsidies-${month.value}.csv`, id: "subsidy-csv" }, ct("downloadCsv")),
      h("a.button.secondary", { href: `${base}&format=xlsx`, download: `subsidies-${month.value}.xlsx`, id: "subsidy-xlsx" }, ct("downloadXlsx")));
    load(out, () => api(`/center/subsidies${qs({ month: month.value })}`), statement);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); draw(); });
  mount(root, h("h1", ct("subsidies")), form, links, out);
  draw();
  return {};
}

function statement(s) {
  const level = (x) => (x.total ? "" : ct(CARE_LEVELS.includes(x.care_level) ? x.care_level : "unassessed"));
  return h("div",
    s.rates?.illustrative ? h("p.hint", { id: "illustrative" }, ct("illustrative")) : null,
    s.rows.length ? table(`${ct("subsidies")} ${s.month}`, [
      [ct("organization"), (r) => r.organization || "—"],
      [ct("provider"), (r) => r.provider],
      [ct("service"), (r) => (r.total ? "" : serviceName(r.service_type))],
      [ct("careLevel"), level],
      [ct("visits"), (r) => String(r.visits), "num"],
      [ct("amount"), (r) => num(r.amount, 2), "num"],
    ], [...s.rows, { organization: ct("total"), provider: "", service_type: "", care_level: "", visits: s.totals.visits, amount: s.totals.amount, total: true }],
    { rowProps: (r) => (r.total ? { class: "total" } : null) }) : h("p.empty", ct("noneNow")),
    h("h2", ct("flagged")),
    s.flagged.length ? table(ct("flagged"), [
      ["#", (f) => String(f.request_id), "num"],
      [ct("provider"), (f) => f.provider],
      [ct("service"), (f) => serviceName(f.service_type)],
      [ct("reason"), (f) => f.reason],
    ], s.flagged, { rowProps: (f) => ({ "data-request-id": f.request_id }) }) : h("p.empty", ct("noneNow")));
}
