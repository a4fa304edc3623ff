// Imported into the generated service worker: shows a Web Push message and opens the app on tap.
// Payload (JSON): {title, body, url?, tag?, urgent?}; anything else is shown as plain text.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = { body: event.data && event.data.text() }; }
  const title = data.title || "邻里";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "", tag: data.tag, renotify: Boolean(data.tag), requireInteraction: Boolean(data.urgent),
    icon: "/icon-192.png", badge: "/icon-192.png", lang: "zh-CN", data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || "/", self.location.origin).href;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
    const open = clients.find((c) => c.url.startsWith(self.location.origin));
    if (open) { open.navigate(url); return open.focus(); }
    return self.clients.openWindow(url);
  }));
});
