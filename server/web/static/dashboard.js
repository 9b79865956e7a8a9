/* The supervisor's live dashboard (/dashboard): queues and their longest wait, counters and how long
 * each has been serving, idle or paused, printers, alerts (with the system's, e.g. the voice's), today's
 * figures, the latest calls.
 *
 * Live over Socket.IO (the "dashboard" room), no polling: the "state" snapshot draws everything;
 * an event of the room (a ticket issued or called, a counter paused, ...) asks for a fresh snapshot
 * a moment later, and printer.status events change the printer at once. The seconds of each wait
 * and each counter's time are counted on in the page from the snapshot's times, so an alert
 * appears the moment a wait passes its service's target. */
(function () {
  "use strict";

  const page = QK.page();
  function $(id) { return document.getElementById(id); }
  const REFRESH_MS = 200;
  const PRINTER_ALERTS = ["paper_near_end", "paper_out", "offline"];
  let view = null;
  let socket = null;
  let refreshTimer = null;
  // an admin or supervisor closes a counter left open and reprints a lost ticket; the province only reads
  let mayAct = false;

  function since(iso) { return iso ? (QK.now() - Date.parse(iso)) / 1000 : null; }

  function serviceName(code) {
    const s = page.services[code];
    return s ? s.vi : code;
  }

  function drawServices() {
    const grid = $("services");
    grid.replaceChildren();
    view.overview.services.forEach(function (s) {
      const card = QK.el("div", "service-card");
      card.dataset.service = s.code;
      card.appendChild(QK.el("div", "name", s.name));
      const waiting = QK.el("div", "waiting");
      waiting.appendChild(QK.el("span", "count", s.waiting));
      waiting.appendChild(QK.el("span", "label", " " + QK.msg("dash_waiting") +
        (s.priority ? " (" + s.priority + " " + QK.msg("dash_priority") + ")" : "")));
      card.appendChild(waiting);
      const longest = QK.el("div", "longest");
      longest.appendChild(QK.el("span", "label", QK.msg("dash_longest") + ": "));
      const value = QK.el("span", "value", "–");
      // when the longest-waiting citizen joined the queue (a remote number: its check-in; docs/api.md)
      value.dataset.since = s.oldest_issued_at || "";
      longest.appendChild(value);
      card.appendChild(longest);
      card.appendChild(QK.el("div", "target", QK.msg("dash_target", {n: s.target_wait_minutes})));
      grid.appendChild(card);
    });
  }

  function activityText(c) {
    if (c.activity === "serving") return QK.msg("dash_serving", {number: c.ticket.number});
    if (c.activity === "called") return QK.msg("dash_called", {number: c.ticket.number});
    if (c.activity === "paused") return QK.msg("dash_paused") + (c.pause_reason ? ": " + c.pause_reason : "");
    // closed under its clerk (the dashboard's close), or an admin signed in there (only a clerk's sign-in
    // opens it): someone is there, and their first "next" opens it
    if (c.activity === "closed" && c.signed_in && c.signed_in.length) {
      return QK.msg("dash_closed_signed_in", {names: c.signed_in.join(", ")});
    }
    if (c.activity === "closed") return QK.msg("dash_closed");
    return QK.msg("dash_idle");
  }

  function drawCounters() {
    const table = $("counters");
    const body = QK.el("tbody");
    const focused = table.contains(document.activeElement) ? document.activeElement.dataset.counter : null;
    view.overview.counters.forEach(function (c) {
      const tr = QK.el("tr", "counter " + c.activity);
      tr.dataset.counter = c.number;
      tr.dataset.activity = c.activity;
      tr.appendChild(QK.el("th", null, c.name || String(c.number)));
      tr.appendChild(QK.el("td", "activity", activityText(c)));
      const time = QK.el("td", "time", "");
      time.dataset.since = c.since || "";
      tr.appendChild(time);
      tr.appendChild(QK.el("td", "services", c.services.join(", ")));
      const act = QK.el("td", "act");
      // perhaps left open by a clerk who signed out, was disabled or lost the device; a number it holds
      // goes back to the waiting list (the dialog says so)
      if (mayAct && c.activity !== "closed") {
        const close = QK.el("button", "close", QK.msg("dash_close"));
        close.type = "button";
        close.dataset.counter = c.number;
        close.setAttribute("aria-label", QK.msg("dash_close_counter", {number: c.number}));
        close.addEventListener("click", function () { askToClose(c); });
        act.appendChild(close);
      }
      tr.appendChild(act);
      body.appendChild(tr);
    });
    table.replaceChildren(body);
    if (focused) focusClose(focused);  // drawn afresh on every change: the keyboard keeps its place
  }

  /** Focus counter ``number``'s "Đóng quầy", else (closed now) the table. */
  function focusClose(number) {
    const button = $("counters").querySelector('button.close[data-counter="' + number + '"]');
    (button || $("counters")).focus();
  }

  function drawPrinters() {
    const list = $("printers");
    list.replaceChildren();
    if (!view.printers.length) list.appendChild(QK.el("li", "none", QK.msg("dash_no_printers")));
    $("reprint").hidden = !mayAct || !view.printers.length;  // nothing to reprint on, or refused (403)
    view.printers.forEach(function (p) {
      const item = QK.el("li", "printer");
      item.dataset.printer = p.printer;
      item.dataset.state = p.state;
      item.appendChild(QK.el("span", "id", p.printer));
      item.appendChild(QK.el("span", "state", QK.msg("printer_state_" + p.state)));
      if (p.detail) item.appendChild(QK.el("span", "detail", p.detail));  // why, as the driver says it
      if (p.pending) item.appendChild(QK.el("span", "jobs", "⏳ " + p.pending));
      list.appendChild(item);
    });
  }

  function drawToday() {
    const t = view.overview.today;
    $("today-issued").textContent = QK.number(t.issued);
    $("today-served").textContent = QK.number(t.served);
    $("today-no-show").textContent = QK.number(t.no_show);
    $("today-wait").textContent = t.wait_avg === null ? "–" : QK.duration(t.wait_avg);
    $("today-met").textContent = t.target_met_pct === null ? "–" : QK.number(t.target_met_pct, 1) + "%";
  }

  function drawHistory() {
    const list = $("history");
    list.replaceChildren();
    (view.history || []).slice(0, 10).forEach(function (h) {
      const item = QK.el("li", null, h.number + " → " + QK.msg("report_counter_n", {number: h.called_by}) +
        " · " + serviceName(h.service));
      list.appendChild(item);
    });
  }

  /** The alerts now: waits past the target (counted on in the page) and printers needing care. */
  function drawAlerts() {
    const list = $("alerts");
    const found = [];
    view.overview.services.forEach(function (s) {
      const waited = since(s.oldest_issued_at);
      if (waited !== null && waited > s.target_wait_minutes * 60) {
        found.push({kind: "wait", key: s.code, text: QK.msg("dash_alert_wait",
          {service: s.name, minutes: Math.floor(waited / 60), target: s.target_wait_minutes})});
      }
    });
    view.system.forEach(function (n) {  // e.g. voice without text to speech: what the IT person must do
      found.push({kind: "system", key: n.item, text: n.message + (n.detail ? " (" + n.detail + ")" : "")});
    });
    (view.setup || []).forEach(function (n) {  // a setting to change, e.g. tickets' QR codes on loopback
      found.push({kind: "setup", key: n.item, text: n.message});
    });
    view.printers.forEach(function (p) {
      if (PRINTER_ALERTS.indexOf(p.state) >= 0) {
        found.push({kind: "printer", key: p.printer, text: QK.msg("dash_alert_printer",
          {printer: p.printer, state: QK.msg("printer_state_" + p.state)})});
      }
    });
    list.replaceChildren();
    found.forEach(function (a) {
      const item = QK.el("li", "alert " + a.kind, a.text);
      item.dataset.alert = a.kind + ":" + a.key;
      list.appendChild(item);
    });
    $("no-alerts").hidden = found.length > 0;
    $("alerts-box").classList.toggle("active", found.length > 0);
  }

  function tick() {
    if (!view) return;
    document.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = node.dataset.since ? QK.duration(since(node.dataset.since)) : "–";
    });
    view.overview.services.forEach(function (s) {
      const card = document.querySelector('.service-card[data-service="' + s.code + '"]');
      const waited = since(s.oldest_issued_at);
      if (card) card.classList.toggle("over", waited !== null && waited > s.target_wait_minutes * 60);
    });
    drawAlerts();
  }

  function draw(snapshot) {
    QK.setServerTime(snapshot.server_time);
    view = {overview: snapshot.overview, printers: snapshot.overview.printers, history: snapshot.history,
            system: snapshot.system || [], setup: snapshot.setup || []};
    drawServices();
    drawCounters();
    drawPrinters();
    drawToday();
    drawHistory();
    tick();
    QK.setLive("live");
  }

  function subscribe() {
    refreshTimer = null;
    socket.emit("subscribe", {dashboard: true}, function (answer) {
      if (answer && answer.error) QK.setLive("refused");
    });
  }

  function refreshSoon() {
    if (refreshTimer === null) refreshTimer = setTimeout(subscribe, REFRESH_MS);
  }

  function connect() {
    socket = io({forceNew: true, reconnectionDelayMax: 5000});
    QK.watchConnection(socket, $("offline"));
    socket.on("connect", subscribe);
    socket.on("state", function (snapshot) { if (snapshot.kind === "dashboard") draw(snapshot); });
    QK.followSetup(socket, page, subscribe);  // a saved setup change: names again, then a snapshot
    ["ticket.issued", "ticket.called", "ticket.recalled", "ticket.started", "ticket.finished", "ticket.no_show",
     "ticket.transferred", "ticket.requeued", "queue.changed", "counter.changed", "counter.signed_in",
     "counter.signed_out"].forEach(function (name) {
      socket.on(name, refreshSoon);
    });
    socket.on("system.changed", refreshSoon);  // e.g. the database refused a write: the snapshot says so
    socket.on("printer.status", function (status) {
      if (!view) return;
      const printer = view.printers.find(function (p) { return p.printer === status.printer; });
      if (printer) Object.assign(printer, status);
      else view.printers.push(status);
      drawPrinters();
      drawAlerts();
    });
  }

  // a citizen lost the paper and says the number: print it again on the kiosk printer that issued it
  $("reprint").addEventListener("submit", function (event) {
    event.preventDefault();
    const number = $("reprint-number").value.trim();
    const said = $("reprint-result");
    if (!/^[0-9]{1,9}$/.test(number)) { said.textContent = QK.msg("dash_reprint_which"); return; }
    QK.api("POST", "/api/v1/tickets/by-number/" + number + "/reprint", {}).then(function (answer) {
      said.textContent = answer.ok ? QK.msg("dash_reprint_sent", {number: number, printer: answer.data.printer})
        : answer.data.error.message;
      said.className = answer.ok ? "said ok" : "said refused";
    });
  });

  // "Đóng quầy": asked first, saying what becomes of a number the counter holds: one being served is
  // most likely served (ended as served, or back to the waiting list if not), one only called goes back to
  // the waiting list; the server's refusal (a number called there meanwhile, or the one held finished
  // since) is said in the dialog. While the close is on its way the dialog waits for its answer (Esc and
  // "Hủy" do nothing); Tab stays in it, and the focus goes back to the counter's row when it closes.
  let closing = null;  // the counter the dialog asks about
  let closingName = null;  // its name, as its row says it
  let held = null;  // the number it holds as the dialog says it ({number, serving}), or null
  let sending = false;  // its close is on its way

  function askToClose(c) {
    closing = c.number;
    closingName = c.name;
    held = c.ticket ? {number: c.ticket.number, serving: c.activity === "serving"} : null;
    const number = held && held.number;
    $("close-cancel").disabled = false;
    $("close-title").textContent = QK.msg("dash_close_title", {counter: c.name || QK.msg("report_counter_n", {number: c.number})});
    $("close-hint").textContent = held === null ? QK.msg("dash_close_hint")
      : QK.msg(held.serving ? "dash_close_serving" : "dash_close_held", {number: number});
    $("close-confirm").textContent = held === null ? QK.msg("dash_close")
      : QK.msg(held.serving ? "dash_close_finish" : "dash_close_requeue", {number: number});
    $("close-other").textContent = held && held.serving ? QK.msg("dash_close_requeue", {number: number}) : "";
    $("close-other").hidden = !(held && held.serving);
    $("close-said").hidden = true;
    $("close-confirm").disabled = $("close-other").disabled = false;
    $("close-dialog").hidden = false;
    // a number held: one Enter must not move or end a citizen's number, so "Hủy" is the default
    (held === null ? $("close-confirm") : $("close-cancel")).focus();
  }

  /** The number asked about moved meanwhile (close_requeue_moved): the dialog asks again about what the
   * counter holds now, saying the refusal; never the stale number again on the next Enter. */
  function askAgain(refusal) {
    const number = closing;
    QK.api("GET", "/api/v1/counters/" + number).then(function (answer) {
      if (closing !== number) return;
      sending = false;
      if (answer.ok) {
        const now = answer.data;
        const activity = now.ticket ? (now.ticket.status === "serving" ? "serving" : "called") : now.state;
        if (activity === "closed") return endAsking();  // closed meanwhile: nothing to ask
        askToClose({number: number, name: closingName, ticket: now.ticket, activity: activity});
      }
      refusal();
      $("close-cancel").focus();
    }, refusal);
  }

  function endAsking() {
    if (sending || closing === null) return;
    const number = closing;
    closing = null;
    $("close-dialog").hidden = true;
    focusClose(number);
  }

  $("close-cancel").addEventListener("click", endAsking);
  $("close-dialog").addEventListener("click", function (event) { if (event.target === event.currentTarget) endAsking(); });
  document.addEventListener("keydown", function (event) {
    if (closing === null) return;
    if (event.key === "Escape") endAsking();
    else QK.keepTabIn(event, $("close-dialog"));
  });

  /** Close the counter the dialog asks about; ``body`` says what becomes of its number. */
  function sendClose(body) {
    if (closing === null || sending) return;
    sending = true;
    const buttons = [$("close-confirm"), $("close-other"), $("close-cancel")];
    buttons.forEach(function (b) { b.disabled = true; });
    const said = function (text) {
      sending = false;
      $("close-said").textContent = text;
      $("close-said").hidden = false;
      buttons.forEach(function (b) { b.disabled = false; });
      $("close-confirm").focus();
    };
    QK.api("POST", "/api/v1/counters/" + closing + "/close", body, undefined, {"Idempotency-Key": QK.newKey()}).then(function (answer) {
      if (!answer.ok && answer.data && answer.data.error && answer.data.error.code === "close_requeue_moved") {
        return askAgain(function () { said(QK.errorMessage(answer)); });
      }
      if (!answer.ok) return said(answer.status === 401 ? QK.msg("dash_close_signed_out") : QK.errorMessage(answer));
      sending = false;
      endAsking();
      refreshSoon();
    }, function () {
      said(QK.msg("dash_close_lost"));
    });
  }

  $("close-confirm").addEventListener("click", function () {
    if (held === null) sendClose({});
    else sendClose(held.serving ? {finish: held.number} : {requeue: held.number});
  });
  $("close-other").addEventListener("click", function () { if (held !== null) sendClose({requeue: held.number}); });

  QK.clock($("clock-time"), $("clock-date"), page.timezone);
  setInterval(tick, 1000);
  QK.supervisor(function (me) {
    mayAct = me.role === "admin" || me.role === "supervisor";
    connect();
  });
})();
