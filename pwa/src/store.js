// What the app knows: the signed-in user and what they may see, kept fresh by fetches and events.
import { api, ApiError, newKey } from "./api.js";
import { t, errorText, getLang } from "./i18n.js";
import * as queue from "./queue.js";

// Lists and events carry no address or phone: keep what a full fetch showed while the visit is on.
const PRIVATE = ["address", "senior_name", "senior_phone", "lat", "lon"];
const ON = ["pending", "offering", "escalated", "assigned", "en_route", "in_service"];
export function mergeRequest(r) {
  const old = state.requests.get(r.id) || {};
  const next = { ...old, ...r };
  if (ON.includes(r.status)) for (const k of PRIVATE) if (r[k] == null && old[k] != null) next[k] = old[k];
  state.requests.set(r.id, next);
  return next;
}

export const state = {
  user: null,
  seniors: [],          // senior: own profile; family: linked seniors (with contacts when allowed)
  requests: new Map(),  // id → request
  offers: new Map(),    // id → offer (provider)
  sos: new Map(),       // id → alert
  provider: null,       // provider: own profile
  waiting: [],          // offline bookings not yet confirmed by the server
  toast: null,
  loaded: false,
};

const listeners = new Set();
export const subscribe = (fn) => listeners.add(fn);
export const changed = () => listeners.forEach((fn) => fn());

export function toast(message, kind = "info") {
  state.toast = { message, kind, at: Date.now() };
  changed();
}

const contactsKey = () => `linli.contacts.${state.user?.id}`;
/** Who to phone when offline: the senior's emergency contacts (names and numbers only). */
export const savedContacts = () => JSON.parse(localStorage.getItem(contactsKey()) || "[]");

/** Fetch everything the user's screens show. */
export async function refresh() {
  const role = state.user?.role;
  if (!role) return;
  const jobs = [];
  if (role === "senior" || role === "family") {
    const seniorsKey = `linli.seniors.${state.user.id}`;
    jobs.push(api("/seniors?limit=50").then(async (list) => {
      localStorage.setItem(seniorsKey, JSON.stringify(list.map(({ id, name }) => ({ id, name }))));
      const full = await Promise.all(list.map((s) => api(`/seniors/${s.id}`).catch(() => null)));
      if (full.some((s) => s === null)) throw new ApiError(0, "network", "network"); // keep what we had
      state.seniors = full;
      if (role === "senior") {
        const contacts = full.flatMap((s) => s.emergency_contacts || []).map(({ name, phone, relation }) => ({ name, phone, relation }));
        localStorage.setItem(contactsKey(), JSON.stringify(contacts));
      }
    }).catch((e) => {
      // Offline: keep what is shown, or the ids and names seen last time, so a booking can still be queued.
      if (e.code !== "network") throw e;
      if (!state.seniors.length) state.seniors = JSON.parse(localStorage.getItem(seniorsKey) || "[]");
    }));
    jobs.push(api("/sos?status=open").then((list) => { state.sos = new Map(list.map((s) => [s.id, s])); }).catch(() => {}));
  }
  if (role === "provider") {
    jobs.push(api("/providers").then((list) => { state.provider = list[0] || null; }));
    jobs.push(api("/offers").then((list) => { state.offers = new Map(list.map((o) => [o.id, o])); }).catch(() => {}));
    jobs.push(api("/sos?status=open").then((list) => { state.sos = new Map(list.map((s) => [s.id, s])); }).catch(() => {}));
  }
  if (["senior", "family", "provider"].includes(role)) {
    jobs.push(api("/requests?limit=60").then((list) => {
      const keep = new Set(list.map((r) => r.id));
      for (const id of [...state.requests.keys()]) if (!keep.has(id)) state.requests.delete(id);
      list.forEach(mergeRequest);
    }));
  }
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r) => r.status === "rejected");
  state.loadError = failed && failed.reason?.code !== "network" ? errorText(failed.reason) : null;
  await loadWaiting();
  state.loaded = true;
  changed();
}

export async function loadWaiting() {
  try { state.waiting = await queue.queued(state.user?.id); } catch { state.waiting = []; }
}

/** An event from the socket: merge it and redraw. */
export function applyEvent(event) {
  if (event.type === "request_updated" && event.request) {
    const r = event.request;
    mergeRequest(r);
    if (["assigned", "en_route", "in_service"].includes(r.status)) fetchRequest(r.id); // names and the address, as this viewer may see them
  } else if (event.type === "offer_created" && event.offer) {
    state.offers.set(event.offer.id, event.offer);
  } else if (event.type === "offer_withdrawn") {
    state.offers.delete(event.offer_id);
  } else if ((event.type === "sos_alert" || event.type === "sos_updated") && event.sos) {
    const prev = state.sos.get(event.sos.id) || {};
    state.sos.set(event.sos.id, { ...prev, ...event.sos });
    fetchSos(event.sos.id);
  }
  changed();
}

export async function fetchRequest(id) {
  try {
    const r = await api(`/requests/${id}`);
    mergeRequest(r);
    changed();
    return r;
  } catch { return state.requests.get(id); }
}

export async function fetchSos(id) {
  try {
    const s = await api(`/sos/${id}`);
    state.sos.set(id, { ...(state.sos.get(id) || {}), ...s });
    changed();
  } catch { /* the event's own copy stays */ }
}

/** Book, or keep the booking to send when back online (ids and choices only: never the note). */
export async function book({ senior_id, service_type, scheduled_start, notes }) {
  const entry = { key: newKey(), user_id: state.user.id, senior_id, service_type, scheduled_start: scheduled_start || null };
  if (!navigator.onLine) {
    await queue.enqueue(entry);
    await loadWaiting();
    changed();
    return { queued: true };
  }
  try {
    const r = await send(entry, notes);
    return { request: r };
  } catch (e) {
    if (e instanceof ApiError && e.code === "network") {
      await queue.enqueue(entry);
      await loadWaiting();
      changed();
      return { queued: true };
    }
    throw e;
  }
}

async function send(entry, notes) {
  const body = { senior_id: entry.senior_id, service_type: entry.service_type };
  if (entry.scheduled_start) body.scheduled_start = entry.scheduled_start;
  if (notes) body.notes = notes;
  const r = await api("/requests", { method: "POST", body, headers: { "Idempotency-Key": entry.key } });
  mergeRequest(r);
  changed();
  return r;
}

let flushing = null;
/** Send what was booked offline, each with its own Idempotency-Key; one flush at a time. */
export function flushQueue() {
  if (flushing || !state.user || !navigator.onLine) return flushing;
  flushing = (async () => {
    for (const entry of await queue.queued(state.user.id)) {
      if (entry.state !== "waiting") continue;
      try {
        await send(entry);
        await queue.drop(entry.key);
      } catch (e) {
        if (e instanceof ApiError && (e.code === "network" || e.status >= 500 || e.status === 429)) break;
        await queue.markRefused(entry, errorText(e));
      }
    }
    await loadWaiting();
    changed();
  })().finally(() => { flushing = null; });
  return flushing;
}

export const dismissWaiting = async (key) => { await queue.drop(key); await loadWaiting(); changed(); };

/** "王师傅" from a provider's name (English: the name itself). */
export function providerCall(request) {
  const name = request?.provider_name;
  if (!name) return t("someone");
  return getLang() === "en" ? name : t("master", { s: name[0] });
}

export const seniorName = (id) => state.seniors.find((s) => s.id === id)?.name || "";
export { ApiError };
