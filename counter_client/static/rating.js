/* The citizen rating tablet of one counter (docs/counter.md).
 *
 * Paired once with a `rating` token of the counter (/rating/N#token=qk_…, also opened in a tab
 * where the page is open already, or the setup form; kept in localStorage). Connects to Socket.IO with it, subscribes to {"rating": N}: the snapshot's
 * `ask` (a ticket finished moments ago and not rated yet, e.g. after a reload) and each
 * `rating.ask` event show the question; a tap posts the rating with the token. Screens: idle,
 * ask, reasons (after "Không hài lòng", when config.yaml lists reasons), thanks, setup.
 * Timings are read from QK.page() each time, so tests can shorten them.
 */
(function () {
  "use strict";

  const page = QK.page();
  const $ = function (id) { return document.getElementById(id); };
  const storageKey = "queuekiosk.rating-token." + page.counter;
  const screens = ["idle", "ask", "reasons", "thanks", "setup"];

  let token = null;
  let socket = null;
  let asking = null;       // {ticket: {id, number, display, service}, ...} while a question is open
  let chosen = new Set();  // reasons ticked
  let timer = null;
  let sending = false;

  function show(name) {
    screens.forEach(function (screen) { $("screen-" + screen).hidden = screen !== name; });
    document.body.dataset.screen = name;
  }

  function idleIn(seconds) {
    clearTimeout(timer);
    timer = setTimeout(goIdle, Math.max(0, seconds) * 1000);
  }

  function goIdle() {
    clearTimeout(timer);
    asking = null;
    chosen = new Set();
    show("idle");
  }

  function problem(id, key) {
    const node = $(id);
    if (!key) {
      node.hidden = true;
      return;
    }
    QK.setBi(node, key);
    node.hidden = false;
  }

  // --- the question --------------------------------------------------------------------------

  function ask(prompt, secondsLeft) {
    asking = prompt;
    chosen = new Set();
    sending = false;
    const names = page.services[prompt.ticket.service] || {vi: prompt.ticket.service || ""};
    QK.setBi($("ask-number"), "rating_number", {number: prompt.ticket.display});
    $("ask-service").textContent = names.vi;
    problem("ask-problem", null);
    problem("reasons-problem", null);
    setButtons(false);
    show("ask");
    idleIn(secondsLeft === undefined ? page.ask_seconds : secondsLeft);
  }

  function setButtons(disabled) {
    document.querySelectorAll("button.level, #send-reasons").forEach(function (b) { b.disabled = disabled; });
  }

  function drawReasons() {
    const list = $("reason-list");
    list.replaceChildren.apply(list, page.reasons.map(function (reason) {
      const button = QK.setPair(QK.el("button", "reason"), reason.vi, reason.en);
      button.type = "button";
      button.dataset.reason = reason.code;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        if (chosen.has(reason.code)) chosen.delete(reason.code);
        else chosen.add(reason.code);
        button.setAttribute("aria-pressed", String(chosen.has(reason.code)));
        idleIn(page.ask_seconds);  // every tap gives the citizen the time again
      });
      return button;
    }));
  }

  document.querySelectorAll("button.level").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!asking || sending) return;
      const level = button.dataset.level;
      if (level === "unsatisfied" && page.reasons.length) {
        drawReasons();
        show("reasons");
        idleIn(page.ask_seconds);
        return;
      }
      send(level, [], "ask-problem");
    });
  });

  $("send-reasons").addEventListener("click", function () {
    if (!asking || sending) return;
    send("unsatisfied", Array.from(chosen), "reasons-problem");
  });

  function send(level, reasons, problemId) {
    const ticket = asking.ticket;
    sending = true;
    setButtons(true);
    post("/api/v1/tickets/" + encodeURIComponent(ticket.id) + "/rating", {level: level, reasons: reasons}).then(function (answer) {
      sending = false;
      const code = answer.data && answer.data.error && answer.data.error.code;
      if (answer.status === 201 || code === "already_rated") {
        thank(level === "unsatisfied" ? "sorry" : null);
      } else if (code === "rating_closed") {
        thank("closed");
      } else if (answer.status === 401 || answer.status === 403) {
        setup("rating_setup_refused");
      } else {
        setButtons(false);
        const node = $(problemId);
        QK.setPair(node, QK.errorMessage(answer));
        node.hidden = false;
      }
    }, function () {
      sending = false;
      setButtons(false);
      problem(problemId, "rating_send_failed");
    });
  }

  function thank(kind) {
    asking = null;
    // a smile thanks a satisfied citizen; after "Không hài lòng" (or too late to rate) a neutral face
    const neutral = kind === "sorry" || kind === "closed";
    $("thanks-face").classList.toggle("neutral", neutral);
    $("thanks-face").querySelector("use").setAttribute("href", neutral ? "#face-neutral" : "#face-very_satisfied");
    $("thanks-sorry").hidden = kind !== "sorry";
    $("thanks-closed").hidden = kind !== "closed";
    show("thanks");
    idleIn(page.thanks_seconds);
  }

  function post(url, body) {  // the tablet's own token, never a cookie
    const controller = new AbortController();
    const limit = setTimeout(function () { controller.abort(); }, 10000);
    return fetch(QK.url(url), {
      method: "POST", credentials: "omit", signal: controller.signal,
      headers: {"Content-Type": "application/json", "Accept": "application/json", "Accept-Language": "vi",
                "Authorization": "Bearer " + token},
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return {ok: response.ok, status: response.status, data: data};
      });
    }).finally(function () { clearTimeout(limit); });
  }

  // --- the live link -------------------------------------------------------------------------

  function connect() {
    if (socket) {
      socket.off();
      socket.disconnect();
    }
    socket = io({forceNew: true, auth: {token: token}, reconnectionDelayMax: 5000});
    QK.watchConnection(socket, $("offline"));
    function subscribe() {
      socket.emit("subscribe", {rating: page.counter}, function (answer) {
        if (answer && answer.error) setup(null, answer.error.message);
      });
    }
    socket.on("connect", subscribe);
    socket.on("connect_error", function (error) {
      // refused by the server (a wrong token): no reconnecting will help. Unreachable: it retries itself.
      if (!socket.active) setup("rating_setup_refused");
    });
    socket.on("config.changed", subscribe);  // a saved setup change: the new snapshot brings it
    socket.on("resync", subscribe);  // events may have been lost (a message-queue outage): take a fresh state
    socket.on("state", function (snapshot) {
      if (snapshot.kind !== "rating") return;
      QK.setServerTime(snapshot.server_time);
      if (snapshot.counter && snapshot.counter.name) $("counter-name").textContent = snapshot.counter.name;
      QK.setLive("live");
      const current = asking && asking.ticket.id;
      if (snapshot.ask && snapshot.ask.ticket.id !== current && document.body.dataset.screen === "idle") {
        ask(snapshot.ask, (Date.parse(snapshot.ask.until) - QK.now().getTime()) / 1000);
      }
    });
    socket.on("rating.ask", function (prompt) { ask(prompt); });
    socket.on("rating.done", function (done) {  // rated (on another tablet of the counter, or a retry)
      if (asking && asking.ticket.id === done.ticket && !sending) goIdle();
    });
  }

  // --- pairing -------------------------------------------------------------------------------

  function setup(key, text) {
    clearTimeout(timer);
    if (socket) {
      socket.off();
      socket.disconnect();
      socket = null;
    }
    $("offline").hidden = true;
    show("setup");
    const node = $("setup-problem");
    if (key) QK.setBi(node, key);
    else if (text) QK.setPair(node, text);
    node.hidden = !key && !text;
  }

  function pair(value) {
    token = value;
    try { localStorage.setItem(storageKey, value); } catch (e) { /* private mode: this visit only */ }
    goIdle();
    connect();
  }

  $("setup-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const value = $("setup-token").value.trim();
    if (value) pair(value);
  });

  // the pairing screen says to open /rating/N#token=…: in a tab where the page is open already,
  // that changes only the address's hash, so the token is read on hashchange as well
  window.addEventListener("hashchange", function () {
    const value = QK.tokenFromAddress();
    if (value) pair(value);
  });

  const fromUrl = QK.tokenFromAddress();
  if (fromUrl) {
    pair(fromUrl);
  } else {
    try { token = localStorage.getItem(storageKey); } catch (e) { token = null; }
    if (token) {
      goIdle();
      connect();
    } else {
      setup();
    }
  }
})();
