// 统计 Statistics over a period: response-time percentiles, fulfilment, escalations, SOS first
// acknowledgement, per community and service type, as SVG bar charts (drawn here) and as CSV.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { ct } from "./words.js";
import { field, load, num, pct, qs, serviceName, table, today } from "./ui.js";

const daysAgo = (n) => new Date(Date.now() - n * 86400000).toISOString().slice(0, 10);

export function statsPanel(root) {
  const from = h("input", { id: "stats-from", name: "from", type: "date", value: daysAgo(30), required: true });
  const to = h("input", { id: "stats-to", name: "to", type: "date", value: today(), required: true });
  const out = h("div", { id: "stats" });
  const links = h("p.row.downloads");
  const form = h("form.row.inline-form", { id: "stats-form" }, field(ct("from"), from), field(ct("to"), to),
    h("button.primary", { type: "submit" }, ct("show")));
  const draw = () => {
    const q = qs({ from: from.value, to: to.value });
    mount(links, h("a.button.secondary", { href: `/api/v1/center/stats${q}&format=csv`, download: `stats-${from.value}-${to.value}.csv`, id: "stats-csv" },
      ct("downloadCsv")));
    load(out, () => api(`/center/stats${q}`), figures);
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); draw(); });
  mount(root, h("h1", ct("stats")), form, links, out);
  draw();
  return {};
}

const p = (x, key) => num(x?.[key], 1);

function figures(s) {
  const communities = s.by_community.map((c) => ({ label: c.name, ...c }));
  const services = s.by_service_type.map((x) => ({ label: serviceName(x.service_type), ...x }));
  return h("div",
    h("section.panel-part", { "aria-labelledby": "overall-h" }, h("h2", { id: "overall-h" }, `${s.from} — ${s.to}`), overall(s.overall)),
    h("section.panel-part", { "aria-labelledby": "bycom-h" }, h("h2", { id: "bycom-h" }, ct("byCommunity")),
      h("div.charts", bars(ct("chartOf", { what: ct("requests"), by: ct("community") }), communities, (c) => c.requests, String),
        bars(ct("chartOf", { what: ct("fulfilment"), by: ct("community") }), communities, (c) => c.fulfilment_rate, pct, 1)),
      figureTable(ct("byCommunity"), ct("community"), communities)),
    h("section.panel-part", { "aria-labelledby": "bysvc-h" }, h("h2", { id: "bysvc-h" }, ct("byService")),
      h("div.charts", bars(ct("chartOf", { what: ct("requests"), by: ct("service") }), services, (c) => c.requests, String),
        bars(ct("chartOf", { what: `${ct("acceptMin")} p90`, by: ct("service") }), services, (c) => c.accept_minutes?.p90, (v) => num(v, 1))),
      figureTable(ct("byService"), ct("service"), services)),
    s.rural ? h("section.panel-part", { "aria-labelledby": "rural-h" }, h("h2", { id: "rural-h" }, ct("rural")),
      h("p", ct("ruralCommunities", { a: s.rural.communities, b: s.rural.communities_covered })),
      h("p", ct("ruralSeniors", { a: s.rural.seniors, b: s.rural.seniors_covered }))) : null);
}

function overall(o) {
  const item = (label, value) => h("div.figure", h("dt", label), h("dd", value));
  return h("dl.figures", { id: "stats-overall" },
    item(ct("requests"), String(o.requests)), item(ct("completedN"), String(o.completed)),
    item(ct("cancelledN"), String(o.cancelled)), item(ct("escalatedN"), String(o.escalated)),
    item(ct("fulfilment"), pct(o.fulfilment_rate)),
    item(`${ct("acceptMin")} p50/p90/p95`, `${p(o.accept_minutes, "p50")} / ${p(o.accept_minutes, "p90")} / ${p(o.accept_minutes, "p95")}`),
    item(`${ct("arrivalMin")} p50/p90/p95`, `${p(o.arrival_minutes, "p50")} / ${p(o.arrival_minutes, "p90")} / ${p(o.arrival_minutes, "p95")}`),
    item(`${ct("sosAck")} p50/p90`, `${o.sos?.count ?? 0} · ${p(o.sos?.first_ack_seconds, "p50")} / ${p(o.sos?.first_ack_seconds, "p90")}`));
}

function figureTable(caption, by, rows) {
  return table(caption, [
    [by, (r) => r.label],
    [ct("requests"), (r) => String(r.requests), "num"],
    [ct("completedN"), (r) => String(r.completed), "num"],
    [ct("escalatedN"), (r) => String(r.escalated), "num"],
    [ct("fulfilment"), (r) => pct(r.fulfilment_rate), "num"],
    [`${ct("acceptMin")} p50/p90`, (r) => `${p(r.accept_minutes, "p50")} / ${p(r.accept_minutes, "p90")}`, "num"],
    [`${ct("arrivalMin")} p50/p90`, (r) => `${p(r.arrival_minutes, "p50")} / ${p(r.arrival_minutes, "p90")}`, "num"],
    [`${ct("sosAck")} p50`, (r) => `${r.sos?.count ?? 0} · ${p(r.sos?.first_ack_seconds, "p50")}`, "num"],
  ], rows);
}

/** A horizontal SVG bar chart (role=img with a text title; the table beside it has the figures). */
function bars(title, rows, value, format, max = null) {
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const values = rows.map((r) => Number(value(r)) || 0);
  const top = max ?? Math.max(1, ...values);
  const rowH = 30, labelW = 150, barW = 260, width = labelW + barW + 90;
  const svg = el("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 8}`, width, height: rows.length * rowH + 8,
    role: "img", "aria-label": title, class: "chart" });
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    svg.append(el("text", { x: labelW - 8, y: y + 20, "text-anchor": "end" }, r.label.length > 9 ? `${r.label.slice(0, 8)}…` : r.label),
      el("rect", { x: labelW, y: y + 4, width: Math.max(1, (values[i] / top) * barW), height: rowH - 10, class: "chart-bar" }),
      el("text", { x: labelW + (values[i] / top) * barW + 6, y: y + 20 }, format(value(r) ?? null)));
  });
  return h("figure.chart-box", h("figcaption", title), rows.length ? svg : h("p.empty", ct("noneNow")));
}
