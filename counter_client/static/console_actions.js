/* The clerk console (/counter): its actions on the counter (next, recall, start, finish, no-show,
 * transfer, call a number, pause, resume), from the big buttons or one-key shortcuts. The answer of
 * each is drawn at once (the new number is on screen as soon as the HTTP answer is in, not after the
 * Socket.IO event); a refusal is shown in the API's own (Vietnamese) words, its English below. Every
 * action carries the session's CSRF token (QK.api) and an Idempotency-Key kept across its retries
 * (sendOnce).
 */
(function () {
  "use strict";

  const C = QK.console;
  const $ = C.$;
  const page = QK.page();
  const notice = $("notice");
  const ACTION_RETRIES = 2;

  /**
   * POST an action with one Idempotency-Key for all its tries: when the connection drops
   * (the answer may have been lost on its way back) it is sent again after 1 s and 2 s, and
   * the server does it once. A try that timed out is not repeated (the clerk would wait too
   * long); it ends with "not known whether it was done". Rejects with {timedOut}.
   */
  C.sendOnce = function (url, body) {
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
  };

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
      if (notice.hidden) C.showNotice("info", function (node) { node.replaceChildren(line); });
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

  C.act = function (action, body) {
    if (C.busy || !C.me) return;
    C.busy = true;
    C.drawButtons();
    C.hideNotice();
    const started = performance.now();
    const held = C.counter && C.counter.ticket;
    const unstarted = action === "next" && held && held.status === "called" ? held : null;
    C.sendOnce("/api/v1/counters/" + C.me.counter + "/" + action, body || {}).then(function (answer) {
      if (unstarted && answer.ok) tellUnstarted(unstarted, answer);
      if (answer.status === 204) {
        C.counter = Object.assign({}, C.counter, {ticket: null, state: "open"});
        C.showNotice("info", C.bi("console_nobody_waiting"));
      } else if (answer.ok) {
        if (action === "pause" || action === "resume") C.counter = answer.data;
        else if (action === "finish" || action === "no-show" || action === "transfer") C.counter = Object.assign({}, C.counter, {ticket: null});
        else C.counter = Object.assign({}, C.counter, {ticket: answer.data, state: "open"});
        if (action === "transfer") {
          const sentTo = answer.data.target_counter;
          const to = sentTo ? C.counterWords(sentTo) : C.serviceNames(answer.data.service);  // English where it has one
          C.showNotice("info", C.bi("console_transferred", {number: answer.data.display, to: to}));
        }
        if (answer.data && answer.data.id) C.queue = C.queue.filter(function (t) { return t.id !== answer.data.id; });
      } else if (answer.status === 401) {
        C.showLogin(QK.errorMessage(answer));
        return;
      } else {
        // the API's sentence with its English below (a database's refusal too: the IT person may read English)
        const texts = QK.errorTexts(answer);
        C.showNotice("error", function (node) { QK.setPair(node, QK.errorMessage(answer), texts && texts.en); });
      }
      document.body.dataset.lastActionMs = String(Math.round(performance.now() - started));
      if (action !== "start" && action !== "recall" && answer.ok) C.loadFigures();
    }, function (failure) {
      C.showNotice("error", C.bi(failure.timedOut ? "console_no_answer" : "console_network_error"));
    }).finally(function () {
      C.busy = false;
      if (C.me) {
        C.drawCurrent();
        C.drawQueue();
        C.scheduleRefresh();
      }
    });
  };

  function press(action) {
    if (!C.me || C.busy || !C.allowed(action)) return;
    if (action === "transfer") return C.openTransfer();
    if (action === "call-number") return C.showDialog("dialog-number");
    if (action === "pause") return C.showDialog("dialog-pause");
    C.act(action);
  }

  C.actionButtons.forEach(function (button) {
    button.addEventListener("click", function () { press(button.dataset.action); });
  });

  // --- keyboard shortcuts --------------------------------------------------------------------

  const byKey = {};
  Object.keys(page.shortcuts).forEach(function (action) { byKey["Key" + page.shortcuts[action]] = action; });

  document.addEventListener("keydown", function (event) {
    if (!C.me || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape") {
      C.cancelDialog();
      return;
    }
    if (C.openDialog) return QK.keepTabIn(event, C.openDialog);
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (/^Digit\d$|^Numpad\d$/.test(event.code)) {  // typing a number: call that number
      if (!C.allowed("call-number") || C.busy) return;
      event.preventDefault();
      C.showDialog("dialog-number");
      $("number-input").value = event.key;
      return;
    }
    let action = byKey[event.code];
    if (!action) return;
    if (action === "pause" && C.counter && C.counter.state === "paused") action = "resume";
    event.preventDefault();
    press(action);
  });
  C.loaded.push(document.currentScript);
})();
