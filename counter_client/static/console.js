/* The clerk console (/counter, docs/counter.md).
 *
 * Log in through the API, then act on the counter with big buttons or one-key shortcuts. Every
 * state-changing call carries the session's CSRF token.
 *
 * This file is the page: the login, and the console started for the clerk it names (or at once when
 * the session is still on, e.g. after a reload). Its parts, which share QK.console, are loaded before
 * it in the order templates/counter_console/page.html gives: console_view.js (QK.console; the current
 * number, the buttons, the waiting list, the figures), console_dossier.js, console_live.js (the
 * Socket.IO link), console_dialogs.js (transfer, call a number, pause), console_actions.js (the
 * actions and their keys) and console_sign_out.js.
 */
(function () {
  "use strict";

  // a part that did not arrive, or failed as it ran, would leave a console whose buttons half work: the
  // page names it and starts nothing (no login, no request to the server)
  const missing = QK.firstPartNotLoaded(QK.console && QK.console.loaded);  // (console_view.js makes QK.console)
  if (missing) {
    QK.namePartMissing("console_part_missing", missing);
    return;
  }

  const C = QK.console;
  const $ = C.$;
  const page = QK.page();
  const loginForm = $("login");
  const work = $("work");

  // --- logging in ----------------------------------------------------------------------------

  C.showLogin = function (message, en) {
    C.disconnect();
    C.closeDialog();
    C.me = null;
    C.counter = null;
    work.hidden = true;
    $("who").hidden = true;
    loginForm.hidden = false;
    const error = $("login-error");
    error.hidden = !message;
    if (message) QK.setPair(error, message, en);
    $("login-button").disabled = false;
    $((($("username").value) ? "password" : "username")).focus();
  };
  const showLogin = C.showLogin;

  function startConsole(user, number) {
    C.me = {user: user, counter: number};
    loginForm.hidden = true;
    $("password").value = "";
    $("who-user").textContent = QK.msg("console_signed_in", {user: user, counter: number});
    $("who-user").title = page.counters[number] || "";
    $("who").hidden = false;
    work.hidden = false;
    C.hideNotice();
    C.counter = {number: number, state: "open", ticket: null};
    C.queue = [];
    C.fillTransfer();
    C.drawCurrent();
    C.drawQueue();
    C.connect();
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

  const wanted = new URLSearchParams(location.search).get("counter");
  if (wanted && /^\d+$/.test(wanted)) $("counter").value = wanted;

  setInterval(C.tick, 1000);  // the running timers and the waits in the list

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
  C.loaded.push(document.currentScript);  // (this file ran to its end: console_view.js names it otherwise)
})();
