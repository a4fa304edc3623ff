// 实时 Live operations: open requests (escalated ones assigned by hand), open SOS alerts with who has
// acknowledged them, providers on duty. Re-read on the live link's events, never under a field being typed in.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { errorText } from "../i18n.js";
import { ct } from "./words.js";
import { action, clock, joined, messages, serviceName, table } from "./ui.js";
import { me } from "./main.js";

const EVENTS = new Set(["dashboard_updated", "sos_alert", "sos_updated", "request_updated"]);

export function livePanel(root) {
  const box = messages();
  const stamp = h("p.hint", { id: "live-stamp" });
  const body = h("div.live-grid", { id: "live" });
  const dialog = h("dialog.assign", { id: "assign-dialog", "aria-labelledby": "assign-title" });
  mount(root, h("h1", ct("liveTitle")), stamp, box, body, dialog);
  const state = { data: null, timer: null, waiting: false, stopped: false };

  async function refresh() {
    clearTimeout(state.timer);
    try {
      state.data = await api("/center/live");
      redraw();
    } catch (e) { box.show(errorText(e), "error"); }
  }
  // Several events often arrive together: one read for all of them.
  const soon = () => { clearTimeout(state.timer); state.timer = setTimeout(refresh, 150); };

  function redraw() {
    if (state.stopped || !state.data) return;
    const active = document.activeElement;
    if (active && body.contains(active) && ["INPUT", "TEXTAREA"].includes(active.tagName)) {
      if (!state.waiting) {
        state.waiting = true;
        active.addEventListener("blur", () => { state.waiting = false; setTimeout(redraw, 0); }, { once: true });
      }
      return;
    }
    const focusedId = active && body.contains(active) ? active.id : null;
    const d = state.data;
    mount(stamp, ct("updatedAt", { time: clock(d.at, { date: false }) }));
    mount(body, sosSection(d.sos, box, refresh), requestSection(d.requests, (r) => openAssign(r)), providerSection(d.providers));
    if (focusedId) document.getElementById(focusedId)?.focus();
  }

  async function openAssign(request) {
    mount(dialog, h("h2", { id: "assign-title" }, ct("candidatesFor", { name: request.senior_name || "", service: serviceName(request.service_type) })),
      h("p.loading", ct("loading")));
    if (!dialog.open) dialog.showModal();
    try {
      const candidates = await api(`/center/requests/${request.id}/candidates`);
      drawCandidates(request, candidates);
    } catch (e) { mount(dialog, h("p.msg.error", { role: "alert" }, errorText(e)), closeButton()); }
  }

  const closeButton = () => h("button.secondary", { type: "button", id: "assign-close", onclick: () => dialog.close() }, ct("close"));

  function drawCandidates(request, candidates) {
    const inner = messages();
    const assign = (c) => action(ct("assign"), async () => {
      await api(`/center/requests/${request.id}/assign`, { method: "POST", body: { provider_id: c.provider_id } });
      dialog.close();
      box.show(ct("assigned", { name: c.name }));
      refresh();
    }, inner, { cls: c.eligible ? "primary" : "secondary", props: { id: `assign-${c.provider_id}`, "data-provider-id": c.provider_id } });
    const why = (c) => h("ul.reasons", (c.reasons || []).map((r) => h("li", `${pick(r)} (${r.points > 0 ? "+" : ""}${r.points})`)),
      (c.blocked || []).map((b) => h("li.blocked", pick(b))));
    mount(dialog, h("h2", { id: "assign-title" }, ct("candidatesFor", { name: request.senior_name || "", service: serviceName(request.service_type) })),
      inner,
      candidates.length ? table(ct("candidatesFor", { name: request.senior_name || "", service: serviceName(request.service_type) }), [
        [ct("name"), (c) => c.name],
        [ct("distanceKm"), (c) => Number(c.distance_km).toFixed(1), "num"],
        [ct("score"), (c) => (c.score === null || c.score === undefined ? "—" : Number(c.score).toFixed(1)), "num"],
        [ct("status"), (c) => (c.eligible ? ct("eligible") : ct("notEligible"))],
        [ct("reasons"), why],
        [ct("actions"), assign],
      ], candidates, { rowProps: (c) => ({ "data-provider-id": c.provider_id }) }) : h("p.empty", ct("noCandidates")),
      closeButton());
    dialog.querySelector("button.primary, button")?.focus();
  }

  refresh();
  return {
    onEvent: (e) => { if (EVENTS.has(e.type)) soon(); },
    onReady: refresh, // after a reconnect: what was missed is re-read
    stop: () => { state.stopped = true; clearTimeout(state.timer); if (dialog.open) dialog.close(); },
  };
}

const pick = (words) => (document.documentElement.lang === "en" ? words.en : words.zh) || words.code;

function sosSection(alerts, box, refresh) {
  const items = alerts.map((s) => {
    const acks = joined((s.acks || []).map((a) => a.name || a.role));
    const note = h("input", { id: `note-${s.id}`, name: "note", maxLength: 500, "aria-label": ct("resolveNote") });
    return h("li.sos-item", { "data-sos-id": s.id, "data-status": s.status },
      h("p.sos-name", h("strong", s.senior_name || `#${s.senior_id}`), " · ", h("span", ct(`sst_${s.status}`))),
      h("p", ct("openedAt", { time: clock(s.opened_at) }), " · ", acks ? ct("ackedBy", { who: acks }) : ct("notAcked")),
      h("div.row",
        (s.acks || []).some((a) => a.user_id === me()?.id) ? null
          : action(ct("ackBtn"), async () => { await api(`/sos/${s.id}/ack`, { method: "POST" }); refresh(); }, box,
            { cls: s.status === "open" ? "primary" : "secondary", props: { id: `ack-${s.id}` } }),
        h("label.inline", h("span", ct("resolveNote")), note),
        action(ct("resolveBtn"), async () => {
          if (!note.value.trim()) { note.focus(); box.show(ct("resolveNote"), "error"); return; }
          await api(`/sos/${s.id}/resolve`, { method: "POST", body: { note: note.value.trim() } }); refresh();
        }, box, { props: { id: `resolve-${s.id}` } })));
  });
  return h("section.panel-part.sos-part", { "aria-labelledby": "sos-h" },
    h("h2", { id: "sos-h" }, `${ct("openSos")}（${alerts.length}）`),
    items.length ? h("ul.sos-list", { id: "sos-list" }, items) : h("p.empty", ct("noneNow")));
}

function requestSection(requests, onAssign) {
  const status = (r) => h("span", h("span", { class: `st st-${r.status}` }, ct(`rst_${r.status}`)),
    r.overdue ? h("span.badge.overdue", ct("overdue")) : null);
  const actions = (r) => (r.status === "escalated"
    ? h("button.primary", { type: "button", id: `assign-open-${r.id}`, onclick: () => onAssign(r) }, ct("assign")) : "");
  return h("section.panel-part", { "aria-labelledby": "req-h" },
    h("h2", { id: "req-h" }, `${ct("openRequests")}（${requests.length}）`),
    requests.length ? table(ct("openRequests"), [
      ["#", (r) => String(r.id), "num"],
      [ct("senior"), (r) => r.senior_name || `#${r.senior_id}`],
      [ct("service"), (r) => serviceName(r.service_type)],
      [ct("time"), (r) => (r.asap ? ct("asap") : clock(r.scheduled_start))],
      [ct("status"), status],
      [ct("actions"), actions],
    ], requests, { rowProps: (r) => ({ "data-request-id": r.id, "data-status": r.status, class: r.overdue ? "overdue" : null }) })
      : h("p.empty", ct("noneNow")));
}

function providerSection(providers) {
  return h("section.panel-part", { "aria-labelledby": "prov-h" },
    h("h2", { id: "prov-h" }, `${ct("onDutyProviders")}（${providers.length}）`),
    providers.length ? table(ct("onDutyProviders"), [
      [ct("name"), (p) => p.name],
      [ct("services"), (p) => joined((p.services || []).map(serviceName))],
      [ct("status"), (p) => ct("load", { n: p.active_load ?? 0 })],
    ], providers, { rowProps: (p) => ({ "data-provider-id": p.id }) }) : h("p.empty", ct("noneNow")));
}
