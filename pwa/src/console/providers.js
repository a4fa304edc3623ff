// 服务人员 Providers: the verification queue, suspension and blacklist with a reason, complaints.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { ct } from "./words.js";
import { action, clock, joined, load, messages, serviceName, table } from "./ui.js";

export function providersPanel(root) {
  const box = messages();
  const queue = h("div", { id: "verify-queue" });
  const all = h("div", { id: "provider-list" });
  const complaints = h("div", { id: "complaints" });
  const services = (p) => joined((p.services || []).map(serviceName));

  const drawQueue = () => load(queue, () => api("/providers?status=pending"), (list) => (list.length ? table(ct("verifyQueue"), [
    [ct("name"), (p) => p.name],
    [ct("services"), services],
    [ct("radiusKm"), (p) => String(p.service_radius_km), "num"],
    [ct("actions"), (p) => action(ct("verify"), async () => {
      await api(`/providers/${p.id}/verify`, { method: "POST" });
      box.show(`${ct("verify")}：${p.name}`); drawQueue(); drawAll();
    }, box, { cls: "primary", props: { id: `verify-${p.id}` } })],
  ], list, { rowProps: (p) => ({ "data-provider-id": p.id }) }) : h("p.empty", ct("noneNow"))));

  const sanction = (p) => {
    const reason = h("input", { id: `reason-${p.id}`, name: "reason", maxLength: 500, "aria-label": `${ct("reason")}：${p.name}` });
    const act = (kind) => action(ct(kind), async () => {
      if (!reason.value.trim()) { reason.focus(); box.show(ct("reasonNeeded"), "error"); return; }
      await api(`/providers/${p.id}/${kind}`, { method: "POST", body: { reason: reason.value.trim() } });
      box.show(`${ct(kind)}：${p.name}`); drawAll();
    }, box, { cls: kind === "blacklist" ? "danger" : "secondary", props: { id: `${kind}-${p.id}` } });
    if (p.status === "blacklisted") return p.status_reason || "";
    const restore = action(ct("restore"), async () => {
      await api(`/providers/${p.id}/verify`, { method: "POST" });
      box.show(`${ct("restore")}：${p.name}`); drawAll();
    }, box, { props: { id: `restore-${p.id}` } });
    return h("div.row.tight", reason, p.status === "verified" ? act("suspend") : restore, act("blacklist"));
  };

  const drawAll = () => load(all, () => api("/providers?limit=200"), (list) => {
    const shown = list.filter((p) => p.status !== "pending");
    return shown.length ? table(ct("allProviders"), [
      [ct("name"), (p) => p.name],
      [ct("services"), services],
      [ct("status"), (p) => h("span", ct(`pst_${p.status}`), p.status_changed_at ? ` · ${clock(p.status_changed_at)}` : "")],
      [ct("creditScore"), (p) => String(p.credit_score), "num"],
      [ct("rating"), (p) => (p.rating_avg ? `${Number(p.rating_avg).toFixed(1)}（${p.rating_count}）` : "—"), "num"],
      [`${ct("reason")} / ${ct("actions")}`, sanction],
    ], shown, { rowProps: (p) => ({ "data-provider-id": p.id, "data-status": p.status }) }) : h("p.empty", ct("noneNow"));
  });

  const resolveForm = (c) => {
    const text = h("input", { id: `resolution-${c.id}`, name: "resolution", maxLength: 500, "aria-label": `${ct("resolution")} #${c.id}` });
    const decide = (upheld) => action(ct(upheld ? "upheld" : "dismissed"), async () => {
      if (!text.value.trim()) { text.focus(); box.show(ct("reasonNeeded"), "error"); return; }
      await api(`/complaints/${c.id}/resolve`, { method: "POST", body: { upheld, resolution: text.value.trim() } });
      box.show(`#${c.id} ${ct(upheld ? "upheld" : "dismissed")}`); drawComplaints(); drawAll();
    }, box, { cls: upheld ? "primary" : "secondary", props: { id: `${upheld ? "uphold" : "dismiss"}-${c.id}` } });
    return h("div.row.tight", text, decide(true), decide(false));
  };

  const drawComplaints = () => load(complaints, () => api("/complaints?status=open"), (list) => (list.length ? table(ct("complaints"), [
    ["#", (c) => String(c.id), "num"],
    [ct("time"), (c) => clock(c.created_at)],
    [ct("category"), (c) => ct(`cat_${c.category}`)],
    [ct("text"), (c) => c.text],
    [ct("resolveComplaint"), resolveForm],
  ], list, { rowProps: (c) => ({ "data-complaint-id": c.id }) }) : h("p.empty", ct("noComplaints"))));

  mount(root, h("h1", ct("providers")), box,
    h("section.panel-part", { "aria-labelledby": "queue-h" }, h("h2", { id: "queue-h" }, ct("verifyQueue")), queue),
    h("section.panel-part", { "aria-labelledby": "complaints-h" }, h("h2", { id: "complaints-h" }, ct("complaints")), complaints),
    h("section.panel-part", { "aria-labelledby": "all-h" }, h("h2", { id: "all-h" }, ct("allProviders")), all));
  drawQueue(); drawComplaints(); drawAll();
  return {};
}
