/* The clerk console: log in through the API, then act on the counter with big buttons.
 * The Socket.IO connection is opened after login (the server reads the session at connect);
 * on every (re)connect it subscribes to the counter and draws the `state` snapshot, and any
 * later event asks for a fresh snapshot. API refusals are shown as the API words them. */
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
  let busy = false;
  let refreshTimer = null;

  // --- drawing -----------------------------------------------------------------------------

  function showNotice(kind, fill) {
    notice.className = "message " + kind;
    fill(notice);
    notice.hidden = false;
  }

  function serviceNames(code) {
    return page.services[code] || {vi: code};
  }

  function drawCurrent() {
    const ticket = counter && counter.ticket;
    const number = $("current-number");
    const details = $("current-details");
    details.replaceChildren();
    if (!ticket) {
      number.className = "number none";
      QK.setBi(number, "console_no_ticket");
    } else {
      number.className = "number";
      number.textContent = ticket.display;
      const names = serviceNames(ticket.service);
      details.appendChild(QK.setPair(QK.el("div"), names.vi, names.en));
      details.appendChild(QK.setBi(QK.el("div"), ticket.status === "serving" ? "console_status_serving" : "console_status_called"));
      if (ticket.priority) {
        const priority = page.priorities[ticket.priority] || {vi: ticket.priority};
        details.appendChild(QK.setPair(QK.el("div", "prio"), QK.msg("console_priority") + ": " + priority.vi, priority.en));
      }
    }
    const isPaused = counter && counter.state === "paused";
    const state = $("who-state");
    state.className = "state" + (isPaused ? " paused" : "");
    QK.setBi(state, isPaused ? "console_state_paused" : "console_state_open");
    const pause = $("pause-button");
    pause.dataset.action = isPaused ? "resume" : "pause";
    QK.setBi(pause, isPaused ? "console_resume" : "console_pause");
    drawButtons();
  }

  function drawButtons() {
    const ticket = counter && counter.ticket;
    const called = !!ticket && ticket.status === "called";
    const allowed = {
      next: true,
      recall: called,
      start: called,
      finish: !!ticket,
      "no-show": called,
      pause: !ticket,
      resume: true,
    };
    actionButtons.forEach(function (button) {
      button.disabled = busy || !allowed[button.dataset.action];
    });
  }

  function drawQueue() {
    const items = queue.map(function (ticket) {
      const item = QK.el("li");
      item.appendChild(QK.el("span", "number", ticket.display));
      const meta = QK.el("span", "meta");
      const names = serviceNames(ticket.service);
      meta.appendChild(QK.el("span", "service", names.vi));
      if (ticket.priority) {
        const priority = page.priorities[ticket.priority] || {vi: ticket.priority};
        meta.appendChild(QK.el("span", "prio", " · " + priority.vi));
      }
      if (ticket.issued_at) meta.appendChild(QK.el("span", "time", " · " + timeFormat.format(new Date(ticket.issued_at))));
      item.appendChild(meta);
      return item;
    });
    $("queue-list").replaceChildren.apply($("queue-list"), items);
    $("queue-empty").hidden = queue.length > 0;
    $("queue-count").textContent = queue.length ? "(" + queue.length + ")" : "";
  }

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
    refreshTimer = setTimeout(subscribe, 150);
  }

  function onState(snapshot) {
    if (snapshot.kind !== "counter" || !me || snapshot.counter.number !== me.counter) return;
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
    socket.on("connect", subscribe);
    socket.on("state", onState);
    socket.onAny(function (name) { if (name !== "state") scheduleRefresh(); });
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

  function act(action) {
    if (busy || !me) return;
    busy = true;
    drawButtons();
    notice.hidden = true;
    QK.api("POST", "/api/v1/counters/" + me.counter + "/" + action, {}).then(function (answer) {
      if (answer.status === 204) {
        showNotice("info", function (node) { QK.setBi(node, "console_nobody_waiting"); });
      } else if (answer.ok) {
        if (action === "pause" || action === "resume") counter = answer.data;
        else if (action === "finish" || action === "no-show") counter = Object.assign({}, counter, {ticket: null});
        else counter = Object.assign({}, counter, {ticket: answer.data, state: "open"});
      } else if (answer.status === 401) {
        showLogin(QK.errorMessage(answer));
      } else {
        showNotice("error", function (node) { QK.setPair(node, QK.errorMessage(answer)); });
      }
    }, function () {
      showNotice("error", function (node) { QK.setBi(node, "page_network_error"); });
    }).finally(function () {
      busy = false;
      if (me) drawCurrent();
    });
  }

  actionButtons.forEach(function (button) {
    button.addEventListener("click", function () { act(button.dataset.action); });
  });

  // --- logging in and out --------------------------------------------------------------------

  function showLogin(message) {
    disconnect();
    me = null;
    counter = null;
    work.hidden = true;
    $("who").hidden = true;
    loginForm.hidden = false;
    const error = $("login-error");
    error.hidden = !message;
    if (message) QK.setPair(error, message);
    $("login-button").disabled = false;
    $((($("username").value) ? "password" : "username")).focus();
  }

  function startConsole(user, number) {
    me = {user: user, counter: number};
    loginForm.hidden = true;
    $("password").value = "";
    $("who-user").textContent = QK.msg("console_signed_in", {user: user, counter: number});
    $("who").hidden = false;
    work.hidden = false;
    notice.hidden = true;
    counter = {number: number, state: "open", ticket: null};
    queue = [];
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
      if (answer.data.counter === null || answer.data.counter === undefined) {
        return showLogin(QK.msg("console_need_counter"));
      }
      startConsole(answer.data.user, answer.data.counter);
    }, function () {
      showLogin(QK.msg("page_network_error"));
    });
  });

  $("logout").addEventListener("click", function () {
    disconnect();
    QK.api("POST", "/api/v1/auth/logout").finally(function () { showLogin(); });
  });

  const wanted = new URLSearchParams(location.search).get("counter");
  if (wanted && /^\d+$/.test(wanted)) $("counter").value = wanted;

  // already logged in (e.g. a reload): go straight to the console
  QK.api("GET", "/api/v1/auth/me").then(function (answer) {
    if (answer.ok && answer.data.counter) startConsole(answer.data.name, answer.data.counter);
    else showLogin();
  }, function () {
    showLogin(QK.msg("page_network_error"));
  });
})();
