/* The clerk console (docs/counter.md).
 *
 * Log in through the API, then act on the counter with big buttons or one-key shortcuts.
 * The answer of each action is drawn at once (the new number is on screen as soon as the
 * HTTP answer is in, not after the Socket.IO event). The Socket.IO connection is opened after
 * login (the server reads the session at connect); on every (re)connect it subscribes to the
 * counter and draws the `state` snapshot, and any later event in the counter's room asks for
 * a fresh snapshot: the waiting list follows the kiosks without polling. Refusals are shown in
 * the API's own (Vietnamese) words. Every state-changing call carries the session's CSRF token,
 * and an Idempotency-Key kept across its retries (sendOnce).
 */
(function () {
  "use strict";

  const page = QK.page();
  const $ = function (id) { return document.getElementById(id); };
  const loginForm = $("login");
  const work = $("work");
  const notice = $("notice");
  const actionButtons = Array.from(document.querySelectorAll(".actions button[data-action]"));
  const timeFormat = new Intl.DateTimeFormat("vi-VN", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: page.timezone});

  let me = null;           // {user, counter}
  let counter = null;      // the counter's state: {number, name, state, ticket, ...}
  let queue = [];          // its waiting list, oldest first
  let socket = null;
  let busy = false;        // an action is on its way: one at a time, and snapshots wait
  let leaving = false;     // a close or sign-out is on its way: its dialog stays until the answer (leave)
  let refreshTimer = null;
  let openDialog = null;
  const ACTION_RETRIES = 2;

  // --- small helpers -------------------------------------------------------------------------

  function showNotice(kind, fill) {
    notice.className = "message " + kind;
    fill(notice);
    notice.hidden = false;
  }

  function hideNotice() { notice.hidden = true; }

  function serviceNames(code) {
    return page.services[code] || {vi: code};
  }

  function counterWords(number) {  // "quầy 3" / "counter 3", to follow "sang" / "to"
    return {vi: QK.msg("console_to_counter", {counter: number}, "vi"), en: QK.msg("console_to_counter", {counter: number}, "en")};
  }

  function since(iso) {  // seconds from an ISO time to now, by the server's clock
    return iso ? Math.max(0, (QK.now().getTime() - Date.parse(iso)) / 1000) : null;
  }

  /** A notice's (or a line's) content: message ``key`` in Vietnamese, its English below. */
  function bi(key, params) { return function (node) { return QK.setBi(node, key, params); }; }

  // --- drawing -------------------------------------------------------------------------------

  function drawCurrent() {
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
    drawDossier();
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
    drawButtons();
  }

  // The dossier code (typed, or scanned: a scanner types it and presses Enter) and the procedure served.
  // Drawn afresh only for another ticket, so that a snapshot does not undo what the clerk is typing.
  let dossierFor = null;
  function drawDossier() {
    const ticket = counter && counter.ticket;
    const form = $("dossier");
    form.hidden = !ticket;
    if (!ticket) { dossierFor = null; return; }
    if (dossierFor === ticket.id + "|" + ticket.service) return;
    dossierFor = ticket.id + "|" + ticket.service;
    $("dossier-code").value = ticket.dossier_code || "";
    const select = $("dossier-procedure");
    const list = (page.procedures || {})[ticket.service] || [];
    const none = QK.el("option", null, QK.msg("console_procedure_none"));
    none.value = "";
    select.replaceChildren.apply(select, [none].concat(list.map(function (p) {
      const option = QK.el("option", null, p.code + " · " + p.vi);
      option.value = p.code;
      return option;
    })));
    select.value = ticket.procedure || "";
    select.hidden = $("dossier-procedure-label").hidden = !list.length;
  }

  $("dossier").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!me || !counter || !counter.ticket) return;
    const body = {dossier_code: $("dossier-code").value.trim() || null, procedure: $("dossier-procedure").value || null};
    QK.api("PUT", "/api/v1/counters/" + me.counter + "/dossier", body).then(function (answer) {
      showNotice(answer.ok ? "info" : "error", function (node) {
        if (!answer.ok) QK.setPair(node, QK.errorMessage(answer));
        else QK.setBi(node, "console_dossier_saved", {number: answer.data.display, code: answer.data.dossier_code || "–"});
      });
      if (answer.ok) {
        counter.ticket = Object.assign({}, counter.ticket, answer.data);
        $("dossier-code").value = answer.data.dossier_code || "";
      } else if (answer.data && answer.data.error && answer.data.error.field === "dossier_code") {
        $("dossier-code").focus();
      }
    }, function () {
      showNotice("error", bi("page_network_error"));
    });
  });

  // the wait's start: when the citizen joined the queue, a remote number's check-in (as /reports count it),
  // not its phone request (issued_at, from a server without queued_at)
  function queuedAt(ticket) { return ticket.queued_at || ticket.issued_at; }

  function drawTimers() {
    const ticket = counter && counter.ticket;
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

  function allowed(action) {
    const ticket = counter && counter.ticket;
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
  }

  function drawButtons() {
    actionButtons.forEach(function (button) {
      button.disabled = busy || !allowed(button.dataset.action);
    });
    document.querySelectorAll("#queue-list button").forEach(function (button) { button.disabled = busy; });
  }

  /** A booked ticket (docs/bookings.md): "Đặt lịch 08:15" when called from its slot's start, else
   *  booked but late, or a remote number checked in. */
  function origin(ticket) {
    if (ticket.origin === "remote") return QK.msg("console_remote");
    if (ticket.due_at) return QK.msg("console_booked", {time: timeFormat.format(new Date(ticket.due_at))});
    return QK.msg("console_booked_late");
  }

  function drawQueue() {
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
      call.disabled = busy;
      call.addEventListener("click", function () { act("next", {number: ticket.number}); });
      item.appendChild(call);
      return item;
    });
    $("queue-list").replaceChildren.apply($("queue-list"), items);
    $("queue-empty").hidden = queue.length > 0;
    $("queue-count").textContent = queue.length ? "(" + queue.length + ")" : "";
  }

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

  function loadFigures() {
    if (!me) return;
    QK.api("GET", "/api/v1/me/today").then(function (answer) {
      if (answer.ok) drawFigures(answer.data);
    }, function () { /* the connection mark says it */ });
  }

  setInterval(function () {
    if (!me) return;
    drawTimers();
    document.querySelectorAll("#queue-list li").forEach(function (item, index) {
      const ticket = queue[index];
      const node = item.querySelector(".waiting");
      if (ticket && node) node.textContent = " · " + QK.msg("console_waiting_for", {time: QK.duration(since(queuedAt(ticket)))});
    });
  }, 1000);

  // --- live link -----------------------------------------------------------------------------

  function subscribe() {
    if (!socket || !me) return;
    socket.emit("subscribe", {counter: me.counter}, function (answer) {
      if (answer && answer.error) {
        if (answer.error.code === "unauthorized" || answer.error.code === "bad_token") {
          showLogin(answer.error.message);
        } else {
          showNotice("error", function (node) { QK.setPair(node, answer.error.message); });
        }
      }
    });
  }

  function scheduleRefresh() {  // any event may change the counter or its queue: ask for a fresh snapshot
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(subscribe, page.refresh_ms);
  }

  function onState(snapshot) {
    if (snapshot.kind !== "counter" || !me || snapshot.counter.number !== me.counter) return;
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    if (busy) {  // taken before the action's answer: it may be older than what the answer shows
      scheduleRefresh();
      return;
    }
    counter = snapshot.counter;
    queue = snapshot.queue || [];
    drawCurrent();
    drawQueue();
    QK.setLive("live");
  }

  function connect() {
    disconnect();
    socket = io({forceNew: true, reconnectionDelayMax: 5000});
    QK.watchConnection(socket, $("offline"));
    socket.on("connect", function () {
      subscribe();
      loadFigures();
    });
    socket.on("state", onState);
    QK.followSetup(socket, page, subscribe);  // a saved setup change: names again, then a snapshot
    socket.on("rating.received", loadFigures);
    socket.onAny(function (name) { if (name !== "state" && name !== "config.changed" && name !== "resync") scheduleRefresh(); });
  }

  function disconnect() {
    clearTimeout(refreshTimer);
    if (socket) {
      socket.off();
      socket.disconnect();
      socket = null;
    }
    $("offline").hidden = true;
    delete document.body.dataset.live;
  }

  // --- actions -------------------------------------------------------------------------------

  /**
   * POST an action with one Idempotency-Key for all its tries: when the connection drops
   * (the answer may have been lost on its way back) it is sent again after 1 s and 2 s, and
   * the server does it once. A try that timed out is not repeated (the clerk would wait too
   * long); it ends with "not known whether it was done". Rejects with {timedOut}.
   */
  function sendOnce(url, body) {
    const headers = {"Idempotency-Key": QK.newKey()};
    const attempt = function (tries) {
      return QK.api("POST", url, body, undefined, headers).catch(function (error) {
        const timedOut = !!error && error.name === "AbortError";
        if (timedOut || tries >= ACTION_RETRIES) throw {timedOut: timedOut};
        return new Promise(function (resolve) { setTimeout(resolve, 1000 * (tries + 1)); })
          .then(function () { return attempt(tries + 1); });
      });
    };
    return attempt(0);
  }

  // "next" over a number called and never started ("Bắt đầu") ends it as the site's policy says
  // (policy.unstarted_at_next): a no-show, or served without a service time. The clerk is told which:
  // the answer says it (Unstarted-Ended); a replayed answer does not, and then the ticket is asked.
  function tellUnstarted(ticket, answer) {
    const said = unstartedEnded(answer, ticket);
    const status = said ? Promise.resolve(said) : QK.api("GET", "/api/v1/tickets/" + encodeURIComponent(ticket.id))
      .then(function (asked) { return asked.ok ? asked.data.status : null; });
    status.then(function (now) {
      const key = now === "no_show" ? "console_unstarted_no_show" : now === "done" ? "console_unstarted_served" : null;
      if (!key) return;
      const line = QK.setBi(QK.el("div", "unstarted"), key, {number: ticket.display});
      if (notice.hidden) showNotice("info", function (node) { node.replaceChildren(line); });
      else notice.appendChild(line);
    }, function () { /* the connection mark says it */ });
  }

  /** The status "next" left ``ticket`` in, from the answer's Unstarted-Ended ("no_show; ticket=ID"), or null. */
  function unstartedEnded(answer, ticket) {
    const value = answer.headers && answer.headers.get("Unstarted-Ended");
    if (!value) return null;
    const parts = value.split(";").map(function (part) { return part.trim(); });
    return parts[1] === "ticket=" + ticket.id ? parts[0] : null;
  }

  function act(action, body) {
    if (busy || !me) return;
    busy = true;
    drawButtons();
    hideNotice();
    const started = performance.now();
    const held = counter && counter.ticket;
    const unstarted = action === "next" && held && held.status === "called" ? held : null;
    sendOnce("/api/v1/counters/" + me.counter + "/" + action, body || {}).then(function (answer) {
      if (unstarted && answer.ok) tellUnstarted(unstarted, answer);
      if (answer.status === 204) {
        counter = Object.assign({}, counter, {ticket: null, state: "open"});
        showNotice("info", bi("console_nobody_waiting"));
      } else if (answer.ok) {
        if (action === "pause" || action === "resume") counter = answer.data;
        else if (action === "finish" || action === "no-show" || action === "transfer") counter = Object.assign({}, counter, {ticket: null});
        else counter = Object.assign({}, counter, {ticket: answer.data, state: "open"});
        if (action === "transfer") {
          const sentTo = answer.data.target_counter;
          const to = sentTo ? counterWords(sentTo) : serviceNames(answer.data.service);  // English where it has one
          showNotice("info", bi("console_transferred", {number: answer.data.display, to: to}));
        }
        if (answer.data && answer.data.id) queue = queue.filter(function (t) { return t.id !== answer.data.id; });
      } else if (answer.status === 401) {
        showLogin(QK.errorMessage(answer));
        return;
      } else {
        // the API's sentence with its English below (a database's refusal too: the IT person may read English)
        const texts = QK.errorTexts(answer);
        showNotice("error", function (node) { QK.setPair(node, QK.errorMessage(answer), texts && texts.en); });
      }
      document.body.dataset.lastActionMs = String(Math.round(performance.now() - started));
      if (action !== "start" && action !== "recall" && answer.ok) loadFigures();
    }, function (failure) {
      showNotice("error", bi(failure.timedOut ? "console_no_answer" : "console_network_error"));
    }).finally(function () {
      busy = false;
      if (me) {
        drawCurrent();
        drawQueue();
        scheduleRefresh();
      }
    });
  }

  function press(action) {
    if (!me || busy || !allowed(action)) return;
    if (action === "transfer") return openTransfer();
    if (action === "call-number") return showDialog("dialog-number");
    if (action === "pause") return showDialog("dialog-pause");
    act(action);
  }

  actionButtons.forEach(function (button) {
    button.addEventListener("click", function () { press(button.dataset.action); });
  });

  // --- dialogs: transfer, call a number, pause with a reason ---------------------------------

  let opener = null;  // what had the focus when a dialog opened: it has it again when the dialog closes

  function showDialog(id) {
    closeDialog();
    opener = document.activeElement;
    openDialog = $(id);
    openDialog.hidden = false;
    // the number or reason field, or the dialog's default button, else "Hủy": Enter never picks a
    // transfer target by accident
    const first = openDialog.querySelector("input, [data-default]") || openDialog.querySelector("button.cancel");
    if (first) first.focus();
  }

  function closeDialog() {
    if (!openDialog) return;
    const focusWasIn = openDialog.contains(document.activeElement) || document.activeElement === document.body;
    openDialog.hidden = true;
    openDialog = null;
    if (focusWasIn && opener && opener !== document.body && document.contains(opener)) opener.focus();
  }

  function cancelDialog() {
    if (!leaving) closeDialog();  // a close or sign-out on its way is not undone by hiding its dialog: it waits
  }

  document.querySelectorAll("[data-close]").forEach(function (button) { button.addEventListener("click", cancelDialog); });
  document.querySelectorAll(".dialog-backdrop").forEach(function (backdrop) {
    backdrop.addEventListener("click", function (event) { if (event.target === backdrop) cancelDialog(); });
  });

  function choice(label, en, onChoose) {
    const button = QK.setPair(QK.el("button", "choice"), label, en);
    button.type = "button";
    button.addEventListener("click", onChoose);
    return button;
  }

  /** The transfer dialog, from the counters as they are now (GET /api/v1/queue: open or closed, and what
   *  they serve); without an answer, from the page's setup alone (the states unknown). */
  function openTransfer() {
    const held = counter && counter.ticket;
    QK.api("GET", "/api/v1/queue").then(function (answer) {
      return answer.ok ? answer.data.counters : null;
    }, function () { return null; }).then(function (live) {
      if (!me || busy || openDialog || !counter || !counter.ticket || counter.ticket.id !== held.id) return;  // moved on
      fillTransfer(live);
      showDialog("dialog-transfer");
    });
  }

  /** The services some counter serves, but the ticket's own, and the other counters (the setup's names,
   *  an admin may have changed them), each saying whether it is open now: a closed counter, or a service
   *  whose counters are all closed, asks first. */
  function fillTransfer(live) {
    const own = counter && counter.ticket && counter.ticket.service;
    const served = {};  // code -> true when one of its counters is not closed (paused counts as open, as above)
    const stateOf = {};
    (live || []).forEach(function (c) {
      stateOf[c.number] = c.state;
      c.services.forEach(function (code) { served[code] = served[code] || c.state !== "closed"; });
    });
    $("transfer-choose").hidden = false;
    $("transfer-confirm").hidden = true;
    $("transfer-services").replaceChildren.apply($("transfer-services"), page.service_order.filter(function (code) {
      return code !== own && (!live || code in served);
    }).map(function (code) {
      const names = serviceNames(code);
      const noneOpen = live && !served[code];
      const button = choice(code + " · " + names.vi, names.en, function () {
        if (noneOpen) return askClosed("console_transfer_service_closed_ask", {service: names}, names, {service: code});
        closeDialog();
        act("transfer", {service: code});
      });
      button.dataset.service = code;
      if (noneOpen) {
        button.dataset.state = "closed";
        button.appendChild(QK.setBi(QK.el("span", "counter-state"), "console_service_none_open"));
      }
      return button;
    }));
    $("transfer-counters").replaceChildren.apply($("transfer-counters"), Object.keys(page.counters).filter(function (n) {
      return (!me || Number(n) !== me.counter) && (!live || n in stateOf);
    }).map(function (n) {
      const state = stateOf[n];
      const button = choice(page.counters[n], null, function () {
        if (state === "closed") return askClosed("console_transfer_closed_ask", {counter: n}, counterWords(n), {counter: Number(n)});
        closeDialog();
        act("transfer", {counter: Number(n)});
      });
      button.dataset.counter = n;
      if (state) {
        button.dataset.state = state;
        button.appendChild(QK.setBi(QK.el("span", "counter-state"), "console_counter_" + state));
      }
      return button;
    }));
  }

  /** A closed counter, or a service with no counter open: nobody would call the number until one opens
   *  (a centre may send one to a counter about to open). The clerk says so twice, in the dialog: ``ask``
   *  (with ``params`` and the number), and "Vẫn chuyển sang ``to``", which sends ``body`` to transfer. */
  function askClosed(ask, params, to, body) {
    QK.setBi($("transfer-confirm-text"), ask, Object.assign({number: counter.ticket.display}, params));
    const yes = QK.setBi($("transfer-confirm-yes"), "console_transfer_anyway", {to: to});
    yes.onclick = function () { closeDialog(); act("transfer", body); };
    $("transfer-choose").hidden = true;
    $("transfer-confirm").hidden = false;
    yes.focus();
  }

  $("transfer-confirm-back").addEventListener("click", function () {
    $("transfer-confirm").hidden = true;
    $("transfer-choose").hidden = false;
    const first = $("transfer-counters").querySelector("button");
    if (first) first.focus();
  });

  $("number-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const value = $("number-input").value.trim();
    if (!/^\d+$/.test(value)) return;
    closeDialog();
    $("number-input").value = "";
    act("next", {number: Number(value)});
  });

  $("pause-reasons").replaceChildren.apply($("pause-reasons"), page.pause_reasons.map(function (key) {
    const button = choice(QK.msg(key), QK.msg(key, null, "en"), function () { pauseWith(QK.msg(key)); });
    button.dataset.reason = key;
    return button;
  }));

  $("pause-form").addEventListener("submit", function (event) {
    event.preventDefault();
    pauseWith($("pause-other").value.trim() || null);
  });

  function pauseWith(reason) {
    closeDialog();
    $("pause-other").value = "";
    act("pause", reason ? {reason: reason} : {});
  }

  // --- keyboard shortcuts --------------------------------------------------------------------

  const byKey = {};
  Object.keys(page.shortcuts).forEach(function (action) { byKey["Key" + page.shortcuts[action]] = action; });

  document.addEventListener("keydown", function (event) {
    if (!me || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape") {
      cancelDialog();
      return;
    }
    if (openDialog) return QK.keepTabIn(event, openDialog);
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (/^Digit\d$|^Numpad\d$/.test(event.code)) {  // typing a number: call that number
      if (!allowed("call-number") || busy) return;
      event.preventDefault();
      showDialog("dialog-number");
      $("number-input").value = event.key;
      return;
    }
    let action = byKey[event.code];
    if (!action) return;
    if (action === "pause" && counter && counter.state === "paused") action = "resume";
    event.preventDefault();
    press(action);
  });

  // --- logging in and out --------------------------------------------------------------------

  function showLogin(message, en) {
    disconnect();
    closeDialog();
    me = null;
    counter = null;
    work.hidden = true;
    $("who").hidden = true;
    loginForm.hidden = false;
    const error = $("login-error");
    error.hidden = !message;
    if (message) QK.setPair(error, message, en);
    $("login-button").disabled = false;
    $((($("username").value) ? "password" : "username")).focus();
  }

  function startConsole(user, number) {
    me = {user: user, counter: number};
    loginForm.hidden = true;
    $("password").value = "";
    $("who-user").textContent = QK.msg("console_signed_in", {user: user, counter: number});
    $("who-user").title = page.counters[number] || "";
    $("who").hidden = false;
    work.hidden = false;
    hideNotice();
    counter = {number: number, state: "open", ticket: null};
    queue = [];
    fillTransfer();
    drawCurrent();
    drawQueue();
    connect();
  }

  loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const body = {username: $("username").value.trim(), password: $("password").value};
    const number = $("counter").value.trim();
    if (number) body.counter = Number(number);
    $("login-button").disabled = true;
    QK.api("POST", "/api/v1/auth/login", body).then(function (answer) {
      if (!answer.ok) return showLogin(QK.errorMessage(answer));
      if (answer.data.csrf_token) QK.setCsrfToken(answer.data.csrf_token);  // a new session has a new token
      if (answer.data.counter === null || answer.data.counter === undefined) {
        return showLogin(QK.msg("console_need_counter"));
      }
      startConsole(answer.data.full_name || answer.data.user, answer.data.counter);
    }, function () {
      showLogin(QK.msg("console_network_error"));
    });
  });

  // "Đăng xuất" at an open or paused counter asks whether to close it: closed, the lobby shows it so and
  // the waits leave it out; left open, a colleague still working there (or a second screen) goes on.
  // A closed counter signs out at once.
  $("logout").addEventListener("click", function () {
    if (busy) return;
    if (!counter || counter.state === "closed") return leave(false);
    $("logout-said").hidden = true;
    $("logout-finish").hidden = true;
    showDialog("dialog-logout");
  });

  let finishing = null;  // the ticket "Kết thúc số N, …" names: finished only while the counter still holds it

  $("logout-only").addEventListener("click", function () { leave(false); });
  $("logout-close").addEventListener("click", function () { leave(true); });
  $("logout-finish").addEventListener("click", function () { leave(true, finishing); });

  /**
   * Sign out, closing the counter first when ``close`` (and finishing ``finish``, a ticket, before that).
   * One step after the other; while they are on their way the dialog waits for them (Esc, "Hủy" and a
   * click beside it do nothing). A step that fails is said, after what was done before it, and the
   * clerk stays signed in to try again: only a sign-out the server took shows the login form, and an
   * expired session shows it saying that the counter may still be open.
   */
  function leave(close, finish) {
    if (busy || !me) return;
    const dialog = $("dialog-logout");
    const focused = document.activeElement;
    const path = "/api/v1/counters/" + me.counter;
    let finished = null;  // the number finished on the way
    busy = leaving = true;
    drawButtons();
    dialog.querySelectorAll("button").forEach(function (button) { button.disabled = true; });

    (finish ? finishHeld(path, finish) : Promise.resolve(null)).then(function (number) {
      finished = number;
      return close ? step(sendOnce(path + "/close", {}), "console_logout_no_answer") : null;
    }).then(function () {
      if (close) counter = Object.assign({}, counter, {state: "closed"});
      return QK.api("POST", "/api/v1/auth/logout").then(function (answer) { return answer.ok; }, function () { return false; });
    }).then(function (signedOut) {
      if (signedOut) {
        busy = leaving = false;
        return showLogin();
      }
      end([bi(close ? "console_closed_not_signed_out" : "console_not_signed_out")]);
    }, function (stop) {
      if (stop && stop.expired) {
        busy = leaving = false;
        return showLogin(QK.msg("console_session_ended"), QK.msg("console_session_ended", null, "en"));
      }
      const lines = (stop && stop.lines) || [bi("console_network_error")];
      if (finished) lines.unshift(bi("console_logout_finished_open", {number: finished}));
      end(lines, stop && stop.code === "counter_busy" ? heldTicket(path) : stop && stop.offer);
    });

    /** Say ``lines``; offer to finish the ticket ``offer`` gives; focus what the clerk presses next. */
    function end(lines, offer) {
      Promise.resolve(offer).then(function (ticket) {
        busy = leaving = false;
        if (!me) return;
        const finishButton = $("logout-finish");
        if (ticket) {
          finishing = ticket;
          QK.setBi(finishButton, "console_logout_finish", {number: ticket.display});
          finishButton.hidden = false;
        } else if (finished) {
          finishButton.hidden = true;  // done: what is left to try again is the close
        }
        dialog.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
        drawCurrent();
        scheduleRefresh();
        const fill = function (node) {
          node.replaceChildren.apply(node, lines.map(function (line) { return line(QK.el("div")); }));
        };
        if (dialog.hidden) return showNotice("error", fill);
        fill($("logout-said"));
        $("logout-said").hidden = false;
        const again = dialog.contains(focused) && !focused.hidden ? focused : $("logout-close");
        (ticket ? finishButton : again).focus();
      });
    }
  }

  /** ``sent`` (an action's answer) when it was done, else a stop saying why: the server's words, a lost
   * connection or ``noAnswer`` (no answer in time), or an expired session. */
  function step(sent, noAnswer) {
    return sent.then(function (answer) {
      if (answer.ok) return answer;
      if (answer.status === 401) throw {expired: true};
      const error = (answer.data && answer.data.error) || {};
      const texts = QK.errorTexts(answer);
      throw {code: error.code, lines: [function (node) { return QK.setPair(node, QK.errorMessage(answer), texts && texts.en); }]};
    }, function (failure) {
      throw {lines: [bi(failure && failure.timedOut ? noAnswer : "console_network_error")]};
    });
  }

  /** Finish ``ticket`` if the counter still holds it: its number; null when it holds nothing (finished or
   * transferred elsewhere meanwhile: closing is what is left). Another number held is not finished: a stop
   * offering that one instead. */
  function finishHeld(path, ticket) {
    return step(QK.api("GET", path), "console_network_error").then(function (answer) {
      const now = answer.data.ticket;
      if (!now) return null;
      if (now.id !== ticket.id) throw {lines: [bi("console_logout_other_number", {number: now.display})], offer: now};
      return step(sendOnce(path + "/finish", {}), "console_no_answer").then(function () {
        counter = Object.assign({}, counter, {ticket: null});
        return ticket.display;
      });
    });
  }

  /** The ticket the counter holds now (asked afresh: the console's own may be a moment old), or null. */
  function heldTicket(path) {
    return QK.api("GET", path).then(function (answer) { return (answer.ok && answer.data.ticket) || null; }, function () { return null; });
  }

  const wanted = new URLSearchParams(location.search).get("counter");
  if (wanted && /^\d+$/.test(wanted)) $("counter").value = wanted;

  // already logged in (e.g. a reload): go straight to the console
  QK.api("GET", "/api/v1/auth/me").then(function (answer) {
    if (answer.ok && answer.data.counter) {
      if (answer.data.csrf_token) QK.setCsrfToken(answer.data.csrf_token);
      startConsole(answer.data.full_name || answer.data.name, answer.data.counter);
    } else {
      showLogin();
    }
  }, function () {
    showLogin(QK.msg("console_network_error"));
  });
})();
