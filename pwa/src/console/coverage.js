// 覆盖 Coverage: per service type the share of seniors covered per community, split by care level
// (severe and moderate first), the uncovered seniors, the map, and station siting suggestions.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { errorText } from "../i18n.js";
import { ct } from "./words.js";
import { COLORS, coverageMap } from "./map.js";
import { CARE_LEVELS, clock, communityNames, field, messages, num, pct, qs, serviceName, SERVICES, table } from "./ui.js";

export function coveragePanel(root) {
  const box = messages();
  const type = h("select", { id: "coverage-type", name: "service_type" },
    SERVICES.map((code) => h("option", { value: code }, serviceName(code))));
  const figures = h("div", { id: "coverage-figures" });
  const mapEl = h("div.map", { id: "coverage-map", role: "region", "aria-label": ct("mapLabel") });
  const sitingOut = h("div", { id: "siting" });
  const uncovered = h("div", { id: "uncovered" });
  let map = null;

  const k = h("input", { id: "siting-k", name: "k", type: "number", min: 1, max: 20, value: 3, required: true });
  const radius = h("input", { id: "siting-radius", name: "radius_km", type: "number", min: 0.5, max: 20, step: 0.5, value: 3 });
  const siting = h("form.row.inline-form", { id: "siting-form" },
    field(ct("kSites"), k), field(ct("radiusKm"), radius), h("button.primary", { type: "submit" }, ct("suggest")));
  siting.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const s = await api(`/center/siting${qs({ service_type: type.value, k: k.value, radius_km: radius.value })}`);
      map?.showSites(s.sites, s.radius_km);
      mount(sitingOut, sitingView(s));
    } catch (err) { box.show(errorText(err), "error"); }
  });

  async function show() {
    box.show("");
    mount(sitingOut);
    try {
      const [cov, places, names] = await Promise.all([
        api(`/center/coverage${qs({ service_type: type.value })}`), api(`/center/map${qs({ service_type: type.value })}`),
        communityNames(api)]);
      mount(figures, coverageTable(cov));
      mount(uncovered, uncoveredTable(cov.uncovered, names));
      map?.remove();
      mapEl.replaceChildren();
      map = coverageMap(mapEl, places, { site: (n) => ct("siteN", { n }) });
    } catch (err) { box.show(errorText(err), "error"); }
  }
  type.addEventListener("change", show);

  mount(root, h("h1", ct("coverage")), h("div.row.inline-form", field(ct("serviceType"), type)), box, figures,
    h("section.panel-part", { "aria-labelledby": "map-h" }, h("h2", { id: "map-h" }, ct("map")), legend(), mapEl),
    h("section.panel-part", { "aria-labelledby": "siting-h" }, h("h2", { id: "siting-h" }, ct("siting")), siting, sitingOut),
    h("section.panel-part", { "aria-labelledby": "uncovered-h" }, h("h2", { id: "uncovered-h" }, ct("uncovered")), uncovered));
  show();
  return { stop: () => map?.remove() };
}

/** "中文 / English": the half in the page's language. */
const half = (text) => { const parts = String(text).split(" / "); return parts.length === 2 ? parts[document.documentElement.lang === "en" ? 1 : 0] : text; };
const share = (x) => (x ? `${x.covered}/${x.seniors}（${pct(x.ratio)}）` : "—");

function coverageTable(cov) {
  const byLevel = Object.fromEntries(CARE_LEVELS.map((level) => {
    const seniors = cov.communities.reduce((n, c) => n + (c.by_care_level?.[level]?.seniors || 0), 0);
    const covered = cov.communities.reduce((n, c) => n + (c.by_care_level?.[level]?.covered || 0), 0);
    return [level, { seniors, covered, ratio: seniors ? covered / seniors : null }];
  }));
  const rows = [...cov.communities, { name: ct("total"), total: true, by_care_level: byLevel, ...cov.total }];
  return h("section.panel-part", { "aria-labelledby": "cov-h" },
    h("h2", { id: "cov-h" }, `${serviceName(cov.service_type)} · ${ct("ratio")} ${pct(cov.total.ratio)}`),
    h("p.hint", ct("computedAt", { time: clock(cov.computed_at) })),
    table(`${ct("coverage")}：${serviceName(cov.service_type)}`, [
      [ct("community"), (c) => (c.total ? h("strong", c.name) : c.name)],
      [ct("seniorsN"), (c) => String(c.seniors), "num"],
      [ct("coveredN"), (c) => String(c.covered), "num"],
      [ct("ratio"), (c) => h("span.bar-cell", h("span.bar", { style: `width:${Math.round((c.ratio || 0) * 100)}%` }), pct(c.ratio)), "num"],
      ...CARE_LEVELS.map((level) => [ct(level), (c) => share(c.by_care_level?.[level]), "num"]),
    ], rows, { rowProps: (c) => ({ "data-community-id": c.community_id }) }));
}

function uncoveredTable(list, names) {
  if (!list.length) return h("p.empty", ct("noneNow"));
  return table(ct("uncovered"), [
    [ct("name"), (s) => s.name],
    [ct("careLevel"), (s) => ct(s.care_level || "unassessed")],
    [ct("community"), (s) => names.get(s.community_id)?.name || `#${s.community_id}`],
  ], list, { rowProps: (s) => ({ "data-senior-id": s.senior_id }) });
}

function sitingView(s) {
  return h("div",
    h("p", ct("before", { a: num(s.before.covered_weight), b: num(s.before.uncovered_weight) }), "；",
      ct("after", { a: num(s.after.covered_weight) })),
    s.guarantee ? h("p.hint", { id: "siting-guarantee" }, `${ct("guarantee")}：${half(s.guarantee)}`) : null,
    !s.sites.length ? h("p.empty", ct("noSites")) : table(ct("siting"), [
      ["#", (x) => ct("siteN", { n: s.sites.indexOf(x) + 1 })],
      [ct("seniorsN"), (x) => String(x.seniors), "num"],
      [ct("weight"), (x) => num(x.weight), "num"],
      ["lat, lon", (x) => `${x.lat.toFixed(4)}, ${x.lon.toFixed(4)}`, "num"],
    ], s.sites));
}

function legend() {
  const item = (color, label, shape = "dot") => h("li", h("span", { class: `swatch ${shape}`, style: `border-color:${color};background:${shape === "dot" ? color : "#fff"}` }), label);
  return h("ul.legend", item(COLORS.covered, ct("legendCovered")), item(COLORS.uncovered, ct("legendUncovered")),
    item(COLORS.radius, ct("legendRadius"), "ring"), item(COLORS.community, ct("legendCommunity"), "ring"),
    item(COLORS.site, ct("legendSite"), "ring"));
}
