// Web Push on this phone: subscribe with the server's VAPID key, or unsubscribe. Where the browser
// cannot (no push service, permission refused), the app says so; urgent alerts also go by SMS.
import { api } from "./api.js";

const supported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

function keyBytes(b64url) {
  const b64 = (b64url + "=".repeat((4 - (b64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** "on" | "off" | "unsupported" for this browser. */
export async function pushState() {
  if (!supported()) return "unsupported";
  const reg = await navigator.serviceWorker.getRegistration();
  const sub = reg && (await reg.pushManager.getSubscription());
  return sub ? "on" : "off";
}

export async function enablePush() {
  if (!supported()) throw new Error("unsupported");
  if ((await Notification.requestPermission()) !== "granted") throw new Error("denied");
  const reg = await navigator.serviceWorker.ready;
  const { public_key } = await api("/push/public-key");
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
  await api("/push/subscriptions", { method: "POST", body: sub.toJSON() });
}

export async function disablePush() {
  const reg = await navigator.serviceWorker.getRegistration();
  const sub = reg && (await reg.pushManager.getSubscription());
  if (!sub) return;
  try { await api("/push/subscriptions", { method: "DELETE", body: { endpoint: sub.endpoint } }); } finally { await sub.unsubscribe(); }
}
