/* Web Push on a citizen's phone, one module for the pages that offer it: the tracking page
 * (kiosk/static/notify.js, worker /api/v1/push/sw.js, scope /t/; under /s/{site}/ both through
 * QK.url: /api/v1/sites/{site}/push/sw.js, scope /s/{site}/t/) and the booking page
 * (server/web/static/book.js, worker /book/sw.js, scope /book/<code>). Both workers are
 * server/web/static/push-sw.js. The server encrypts each message for this browser only (RFC 8291).
 *
 * QK.push.usable(): whether this browser can subscribe here (a secure page, https or 127.0.0.1).
 * QK.push.subscribe(worker, scope): asks the citizen's permission, registers the worker, subscribes
 * with the server's VAPID key and resolves to the subscription's JSON text, as the notifications
 * APIs take it ({channel: "push", address: <that text>}). It rejects with Error("denied") when the
 * citizen (or the phone) refuses notifications, with another error when the browser cannot subscribe.
 */
(function () {
  "use strict";

  function usable() {
    return window.isSecureContext && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function keyBytes(base64url) {
    const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }

  function subscribe(worker, scope) {
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return Promise.all([QK.api("GET", "/api/v1/push/key"), navigator.serviceWorker.register(worker, {scope: scope})]);
    }).then(function (both) {
      if (!both[0].ok) throw new Error("no_key");
      return both[1].pushManager.subscribe({userVisibleOnly: true, applicationServerKey: keyBytes(both[0].data.public_key)});
    }).then(function (subscription) { return JSON.stringify(subscription.toJSON()); });
  }

  QK.push = {usable: usable, subscribe: subscribe};
}());
