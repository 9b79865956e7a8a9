/* The Web Push service worker (served at /api/v1/push/sw.js with the scope /t/ for the tracking (/api/v1/sites/{site}/push/sw.js, /s/{site}/t/ for a site's)
 * pages, and at /book/sw.js with the scope /book/<code> for a booking's page; server/web/static/push.js
 * registers it): shows a message the server pushed ("còn 2 số nữa đến lượt Ông/Bà", "Mời Ông/Bà đến
 * quầy 5") and, when tapped, opens the page it was subscribed from (the ticket's, or the booking's). The server encrypts every message for this browser only (RFC 8291). */
self.addEventListener("push", function (event) {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {body: event.data ? event.data.text() : ""}; }
  event.waitUntil(self.registration.showNotification(data.title || "", {
    body: data.body || "", tag: "queuekiosk-" + (data.number || ""), renotify: true, lang: "vi",
    data: {url: self.registration.scope},
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(self.clients.matchAll({type: "window"}).then(function (windows) {
    if (windows.length) return windows[0].focus();
    return self.clients.openWindow(event.notification.data.url);
  }));
});
