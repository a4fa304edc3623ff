// Imported into the generated service worker: shows a Web Push message and opens the app's own
// screen on a tap. Payload (server/notify/messages.py): {kind, title, body, url, tag, silent, urgency, …}.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data && event.data.text() }; }
  const urgent = data.urgency === "high" || data.kind === "sos";
  event.waitUntil(self.registration.showNotification(data.title || "邻里", {
    body: data.body || "", tag: data.tag || undefined, renotify: Boolean(data.tag) && !data.silent,
    silent: Boolean(data.silent), requireInteraction: urgent, lang: "zh-CN",
    icon: "/icon-192.png", badge: "/icon-192.png", data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
    const open = clients.find((c) => c.url.startsWith(self.location.origin));
    if (open) return open.navigate(url).then((c) => (c || open).focus());
    return self.clients.openWindow(url);
  }));
});
