/* The clerk console (/counter): signing out (docs/counter.md). "Đăng xuất" at an open or paused
 * counter asks whether to close it: closed, the lobby shows it so and the waits leave it out; left
 * open, a colleague still working there (or a second screen) goes on. A closed counter signs out at
 * once. A number the counter still holds is said, and offered to be finished first.
 */
(function () {
  "use strict";

  const C = QK.console;
  const $ = C.$;
  const bi = C.bi;

  $("logout").addEventListener("click", function () {
    if (C.busy) return;
    if (!C.counter || C.counter.state === "closed") return leave(false);
    $("logout-said").hidden = true;
    $("logout-finish").hidden = true;
    C.showDialog("dialog-logout");
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
    if (C.busy || !C.me) return;
    const dialog = $("dialog-logout");
    const focused = document.activeElement;
    const path = "/api/v1/counters/" + C.me.counter;
    let finished = null;  // the number finished on the way
    C.busy = C.leaving = true;
    C.drawButtons();
    dialog.querySelectorAll("button").forEach(function (button) { button.disabled = true; });

    (finish ? finishHeld(path, finish) : Promise.resolve(null)).then(function (number) {
      finished = number;
      return close ? step(C.sendOnce(path + "/close", {}), "console_logout_no_answer") : null;
    }).then(function () {
      if (close) C.counter = Object.assign({}, C.counter, {state: "closed"});
      return QK.api("POST", "/api/v1/auth/logout").then(function (answer) { return answer.ok; }, function () { return false; });
    }).then(function (signedOut) {
      if (signedOut) {
        C.busy = C.leaving = false;
        return C.showLogin();
      }
      end([bi(close ? "console_closed_not_signed_out" : "console_not_signed_out")]);
    }, function (stop) {
      if (stop && stop.expired) {
        C.busy = C.leaving = false;
        return C.showLogin(QK.msg("console_session_ended"), QK.msg("console_session_ended", null, "en"));
      }
      const lines = (stop && stop.lines) || [bi("console_network_error")];
      if (finished) lines.unshift(bi("console_logout_finished_open", {number: finished}));
      end(lines, stop && stop.code === "counter_busy" ? heldTicket(path) : stop && stop.offer);
    });

    /** Say ``lines``; offer to finish the ticket ``offer`` gives; focus what the clerk presses next. */
    function end(lines, offer) {
      Promise.resolve(offer).then(function (ticket) {
        C.busy = C.leaving = false;
        if (!C.me) return;
        const finishButton = $("logout-finish");
        if (ticket) {
          finishing = ticket;
          QK.setBi(finishButton, "console_logout_finish", {number: ticket.display});
          finishButton.hidden = false;
        } else if (finished) {
          finishButton.hidden = true;  // done: what is left to try again is the close
        }
        dialog.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
        C.drawCurrent();
        C.scheduleRefresh();
        const fill = function (node) {
          node.replaceChildren.apply(node, lines.map(function (line) { return line(QK.el("div")); }));
        };
        if (dialog.hidden) return C.showNotice("error", fill);
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
      return step(C.sendOnce(path + "/finish", {}), "console_no_answer").then(function () {
        C.counter = Object.assign({}, C.counter, {ticket: null});
        return ticket.display;
      });
    });
  }

  /** The ticket the counter holds now (asked afresh: the console's own may be a moment old), or null. */
  function heldTicket(path) {
    return QK.api("GET", path).then(function (answer) { return (answer.ok && answer.data.ticket) || null; }, function () { return null; });
  }
  C.loaded.push(document.currentScript);
})();
