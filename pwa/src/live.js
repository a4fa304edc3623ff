// Real time over Socket.IO: connect with {last_event_id} (the session cookie signs in), replay what
// was missed, drop repeated event_ids, show "正在重新连接" while the link is down.
import { io } from "socket.io-client";

let socket = null;
let lastEventId = null;
const seen = new Set();
const handlers = new Set();
const statusListeners = new Set();
let state = "idle"; // idle | connecting | live | down

const setState = (value) => {
  state = value;
  document.body.dataset.socket = value;
  statusListeners.forEach((fn) => fn(value));
};

export const onEvent = (fn) => handlers.add(fn);

/** Where replay starts when nothing has arrived yet: the server's newest event id for this user
 *  when the app signed in (from GET /me), else this tab's last position (kept across reloads). */
export function setBaseline(userId, serverId) {
  const kept = Number(sessionStorage.getItem(`linli.event.${userId}`));
  const base = Math.max(Number.isInteger(serverId) ? serverId : -1, Number.isInteger(kept) && kept > 0 ? kept : -1);
  if (base >= 0 && (lastEventId === null || base > lastEventId)) lastEventId = base;
  storeKey = `linli.event.${userId}`;
}
let storeKey = null;
export const onStatus = (fn) => statusListeners.add(fn);
export const liveState = () => state;

function deliver(payload) {
  const id = payload?.event_id;
  if (typeof id === "number") {
    if (seen.has(id)) return; // a replay may repeat what arrived live
    seen.add(id);
    if (seen.size > 2000) seen.delete(seen.values().next().value);
    if (lastEventId === null || id > lastEventId) lastEventId = id;
    if (storeKey) sessionStorage.setItem(storeKey, String(lastEventId));
    document.body.dataset.lastEventId = String(lastEventId);
  }
  handlers.forEach((fn) => fn(payload));
}

const TYPES = ["offer_created", "offer_withdrawn", "request_updated", "sos_alert", "sos_updated", "dashboard_updated"];

/** Open the link for the signed-in user (cookie auth); onReady runs after every (re)connect's replay. */
export function connect(onReady) {
  disconnect();
  setState("connecting");
  socket = io({
    path: "/socket.io", transports: ["websocket", "polling"], withCredentials: true,
    reconnectionDelay: 500, reconnectionDelayMax: 4000,
    auth: (cb) => cb(lastEventId === null ? {} : { last_event_id: lastEventId }),
  });
  for (const type of TYPES) socket.on(type, (payload) => deliver({ type, ...payload }));
  socket.on("ready", () => { setState("live"); onReady?.(); });
  socket.on("disconnect", () => setState("down"));
  socket.on("connect_error", () => setState("down"));
  // Going offline: drop the link at once (the browser may not notice for a while) and come back
  // with last_event_id, so everything sent meanwhile is replayed.
  window.addEventListener("offline", goDown);
  window.addEventListener("online", comeBack);
}

function goDown() { if (socket) { socket.disconnect(); setState("down"); } }
function comeBack() { if (socket && !socket.connected) { setState("connecting"); socket.connect(); } }

export function disconnect() {
  window.removeEventListener("offline", goDown);
  window.removeEventListener("online", comeBack);
  if (socket) { socket.removeAllListeners(); socket.disconnect(); socket = null; }
  setState("idle");
}

/** Forget the event position (sign-out: the next user starts fresh). */
export function forget() { lastEventId = null; storeKey = null; seen.clear(); delete document.body.dataset.lastEventId; }
