/* The clerk console (/counter): its live link. The Socket.IO connection is opened after login (the
 * server reads the session at connect); on every (re)connect it subscribes to the counter and draws
 * the `state` snapshot, and any later event in the counter's room asks for a fresh snapshot: the
 * waiting list follows the kiosks without polling.
 */
(function () {
  "use strict";

  const C = QK.console;
  const $ = C.$;
  const page = QK.page();

  let socket = null;
  let refreshTimer = null;

  function subscribe() {
    if (!socket || !C.me) return;
    socket.emit("subscribe", {counter: C.me.counter}, function (answer) {
      if (answer && answer.error) {
        if (answer.error.code === "unauthorized" || answer.error.code === "bad_token") {
          C.showLogin(answer.error.message);
        } else {
          C.showNotice("error", function (node) { QK.setPair(node, answer.error.message); });
        }
      }
    });
  }

  C.scheduleRefresh = function () {  // any event may change the counter or its queue: ask for a fresh snapshot
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(subscribe, page.refresh_ms);
  };

  function onState(snapshot) {
    if (snapshot.kind !== "counter" || !C.me || snapshot.counter.number !== C.me.counter) return;
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    if (C.busy) {  // taken before the action's answer: it may be older than what the answer shows
      C.scheduleRefresh();
      return;
    }
    C.counter = snapshot.counter;
    C.queue = snapshot.queue || [];
    C.drawCurrent();
    C.drawQueue();
    QK.setLive("live");
  }

  C.connect = function () {
    C.disconnect();
    socket = io({forceNew: true, reconnectionDelayMax: 5000});
    QK.watchConnection(socket, $("offline"));
    socket.on("connect", function () {
      subscribe();
      C.loadFigures();
    });
    socket.on("state", onState);
    QK.followSetup(socket, page, subscribe);  // a saved setup change: names again, then a snapshot
    socket.on("rating.received", C.loadFigures);
    socket.onAny(function (name) { if (name !== "state" && name !== "config.changed" && name !== "resync") C.scheduleRefresh(); });
  };

  C.disconnect = function () {
    clearTimeout(refreshTimer);
    if (socket) {
      socket.off();
      socket.disconnect();
      socket = null;
    }
    $("offline").hidden = true;
    delete document.body.dataset.live;
  };
  C.loaded.push(document.currentScript);
})();
