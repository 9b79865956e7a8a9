/* The clerk console (/counter), its first part: QK.console, which the page's other parts share (each
 * builds on the ones templates/counter_console/page.html loads before it): who is signed in, the
 * counter and its waiting list as the server gave them last, whether an action is on its way; and
 * what the clerk sees of them: the current number with its details and timers, the buttons its state
 * allows, the waiting list and today's figures.
 */
(function () {
  "use strict";

  const page = QK.page();
  const $ = function (id) { return document.getElementById(id); };
  const C = QK.console = {
    $: $,
    me: null,          // {user, counter} (console.js)
    counter: null,     // the counter's state: {number, name, state, ticket, ...}
    queue: [],         // its waiting list, oldest first
    busy: false,       // an action is on its way: one at a time, and snapshots wait
    leaving: false,    // a close or sign-out is on its way: its dialog stays until the answer (console_sign_out.js)
    openDialog: null,  // the dialog shown (console_dialogs.js)
    // each part's <script>, put in as the part's last step: console.js starts the page only if all ran
    // (and console.js's own, as its last step)
    loaded: [],
  };
  QK.namePageIfNotRun(C, "console_part_missing");  // (console.js, which checks the parts, did not run)
  const notice = $("notice");
  const actionButtons = C.actionButtons = Array.from(document.querySelectorAll(".actions button[data-action]"));
  const timeFormat = new Intl.DateTimeFormat("vi-VN", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: page.timezone});

  // --- small helpers -------------------------------------------------------------------------

  C.showNotice = function (kind, fill) {
    notice.className = "message " + kind;
    fill(notice);
    notice.hidden = false;
  };

  C.hideNotice = function () { notice.hidden = true; };

  C.serviceNames = function (code) {
    return page.services[code] || {vi: code};
  };

  C.counterWords = function (number) {  // "quầy 3" / "counter 3", to follow "sang" / "to"
    return {vi: QK.msg("console_to_counter", {counter: number}, "vi"), en: QK.msg("console_to_counter", {counter: number}, "en")};
  };

  function since(iso) {  // seconds from an ISO time to now, by the server's clock
    return iso ? Math.max(0, (QK.now().getTime() - Date.parse(iso)) / 1000) : null;
  }

  /** A notice's (or a line's) content: message ``key`` in Vietnamese, its English below. */
  C.bi = function (key, params) { return function (node) { return QK.setBi(node, key, params); }; };

  const showNotice = C.showNotice, serviceNames = C.serviceNames;

  // --- drawing -------------------------------------------------------------------------------

  C.drawCurrent = function () {
    const counter = C.counter;
    const ticket = counter && counter.ticket;
    const number = $("current-number");
    const details = $("current-details");
    details.replaceChildren();
    if (!ticket) {
      number.className = "number none";
      QK.setBi(number, "console_no_ticket");
      delete number.dataset.ticket;
    } else {
      number.className = "number";
      number.textContent = ticket.display;
      number.dataset.ticket = ticket.id;
      const names = serviceNames(ticket.service);
      details.appendChild(QK.setPair(QK.el("div", "service"), names.vi, names.en));
      details.appendChild(QK.setBi(QK.el("div", "status " + ticket.status),
        ticket.status === "serving" ? "console_status_serving" : "console_status_called"));
      if (ticket.priority) {
        const priority = page.priorities[ticket.priority] || {vi: ticket.priority};
        details.appendChild(QK.setPair(QK.el("div", "prio"), QK.msg("console_priority") + ": " + priority.vi, priority.en));
      }
      if (ticket.origin) details.appendChild(QK.el("div", "booked", origin(ticket)));
      if (ticket.origin_service && ticket.origin_service !== ticket.service) {
        details.appendChild(QK.setBi(QK.el("div", "moved"), "console_transferred_from",
          {service: serviceNames(ticket.origin_service).vi}));
      }
      // the citizen lost the paper or it jammed: print it again at the kiosk that issued it
      const reprint = QK.setBi(QK.el("button", "reprint"), "console_reprint");
      reprint.type = "button";
      reprint.addEventListener("click", function () {
        QK.api("POST", "/api/v1/tickets/" + encodeURIComponent(ticket.id) + "/reprint", {}).then(function (answer) {
          showNotice(answer.ok ? "info" : "error", function (node) {
            if (answer.ok) QK.setBi(node, "console_reprinted", {number: ticket.display, printer: answer.data.printer});
            else QK.setPair(node, QK.errorMessage(answer));
          });
        });
      });
      details.appendChild(reprint);
    }
    $("current-timers").hidden = !ticket;
    drawTimers();
    C.drawDossier();
    const isPaused = counter && counter.state === "paused";
    const isClosed = counter && counter.state === "closed";  // e.g. a supervisor closed it; "next" opens it again
    const state = $("who-state");
    state.className = "state" + (isPaused ? " paused" : isClosed ? " closed" : "");
    if (isPaused && counter.pause_reason) {
      QK.setPair(state, QK.msg("console_state_paused") + ": " + counter.pause_reason, QK.msg("console_state_paused", null, "en"));
    } else {
      QK.setBi(state, isPaused ? "console_state_paused" : isClosed ? "console_state_closed" : "console_state_open");
    }
    const pause = $("pause-button");
    pause.dataset.action = isPaused ? "resume" : "pause";
    QK.setBi(pause.querySelector(".label"), isPaused ? "console_resume" : "console_pause");
    document.body.classList.toggle("paused", !!isPaused);
    C.drawButtons();
  };

  // the wait's start: when the citizen joined the queue, a remote number's check-in (as /reports count it),
  // not its phone request (issued_at, from a server without queued_at)
  function queuedAt(ticket) { return ticket.queued_at || ticket.issued_at; }

  function drawTimers() {
    const ticket = C.counter && C.counter.ticket;
    if (!ticket) return;
    // the wait ended at the first call; the service runs from "start" (or, without it, the latest call)
    const waited = ticket.called_at && queuedAt(ticket) ? (Date.parse(ticket.called_at) - Date.parse(queuedAt(ticket))) / 1000 : since(queuedAt(ticket));
    $("waited").textContent = QK.duration(waited);
    $("service-timer").textContent = QK.duration(since(ticket.started_at || ticket.last_called_at || ticket.called_at));
    // a number only called is not yet served: its clock says so (reports count it from the call if never started)
    const label = $("service-timer-label");
    const key = ticket.status === "called" ? "console_since_called" : "console_service_time";
    if (label.dataset.bi !== key) QK.sayBi(label, key);
  }

  C.allowed = function (action) {
    const ticket = C.counter && C.counter.ticket;
    const called = !!ticket && ticket.status === "called";
    return {
      next: true,
      recall: called,
      start: called,
      finish: !!ticket,
      "no-show": called,
      transfer: !!ticket,
      "call-number": true,
      pause: !ticket,
      resume: true,
    }[action];
  };

  C.drawButtons = function () {
    actionButtons.forEach(function (button) {
      button.disabled = C.busy || !C.allowed(button.dataset.action);
    });
    document.querySelectorAll("#queue-list button").forEach(function (button) { button.disabled = C.busy; });
  };

  /** A booked ticket (docs/bookings.md): "Đặt lịch 08:15" when called from its slot's start, else
   *  booked but late, or a remote number checked in. */
  function origin(ticket) {
    if (ticket.origin === "remote") return QK.msg("console_remote");
    if (ticket.due_at) return QK.msg("console_booked", {time: timeFormat.format(new Date(ticket.due_at))});
    return QK.msg("console_booked_late");
  }

  C.drawQueue = function () {
    const queue = C.queue;
    const items = queue.map(function (ticket) {
      const item = QK.el("li");
      item.dataset.number = ticket.number;
      item.appendChild(QK.el("span", "number", ticket.display));
      const meta = QK.el("span", "meta");
      meta.appendChild(QK.el("span", "service", serviceNames(ticket.service).vi));
      if (ticket.priority) {
        const priority = page.priorities[ticket.priority] || {vi: ticket.priority};
        meta.appendChild(QK.el("span", "prio", " · " + priority.vi));
      }
      if (ticket.target_counter) meta.appendChild(QK.el("span", "moved", " · " + QK.msg("console_sent_here")));
      if (ticket.origin) meta.appendChild(QK.el("span", "booked", " · " + origin(ticket)));
      if (queuedAt(ticket)) {
        meta.appendChild(QK.el("span", "time", " · " + timeFormat.format(new Date(queuedAt(ticket)))));
        meta.appendChild(QK.el("span", "waiting", " · " + QK.msg("console_waiting_for", {time: QK.duration(since(queuedAt(ticket)))})));
      }
      item.appendChild(meta);
      const call = QK.el("button", "call", QK.msg("console_call"));
      call.type = "button";
      call.title = QK.msg("console_call_this", {number: ticket.display});
      call.disabled = C.busy;
      call.addEventListener("click", function () { C.act("next", {number: ticket.number}); });
      item.appendChild(call);
      return item;
    });
    $("queue-list").replaceChildren.apply($("queue-list"), items);
    $("queue-empty").hidden = queue.length > 0;
    $("queue-count").textContent = queue.length ? "(" + queue.length + ")" : "";
  };

  function drawFigures(figures) {
    $("fig-served").textContent = String(figures.served);
    $("fig-avg").textContent = figures.average_service_seconds === null ? "–" : QK.duration(figures.average_service_seconds);
    $("fig-no-shows").textContent = String(figures.no_shows);
    const r = figures.ratings;
    const node = $("fig-ratings");
    node.replaceChildren();
    if (!r.count) {
      node.textContent = "–";
      return;
    }
    [["very_satisfied", "vs"], ["satisfied", "s"], ["unsatisfied", "u"]].forEach(function (pair) {
      const part = QK.el("span", "level " + pair[1]);
      part.title = QK.msg("console_rating_" + pair[0]);
      part.dataset.level = pair[0];
      part.appendChild(QK.el("span", "face", ""));
      part.appendChild(QK.el("span", "n", String(r[pair[0]])));
      node.appendChild(part);
    });
  }

  C.loadFigures = function () {
    if (!C.me) return;
    QK.api("GET", "/api/v1/me/today").then(function (answer) {
      if (answer.ok) drawFigures(answer.data);
    }, function () { /* the connection mark says it */ });
  };

  /** Every second (console.js): the running timers and the waits in the list. */
  C.tick = function () {
    if (!C.me) return;
    drawTimers();
    document.querySelectorAll("#queue-list li").forEach(function (item, index) {
      const ticket = C.queue[index];
      const node = item.querySelector(".waiting");
      if (ticket && node) node.textContent = " · " + QK.msg("console_waiting_for", {time: QK.duration(since(queuedAt(ticket)))});
    });
  };
  C.loaded.push(document.currentScript);
})();
