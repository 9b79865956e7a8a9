/* The clerk console (/counter): its dialogs, one shown at a time, the focus back where it was after
 * it: transfer (to a service or a counter, asking first when nobody there would call the number),
 * call a number, pause with a reason. The sign-out's dialog is console_sign_out.js's.
 */
(function () {
  "use strict";

  const C = QK.console;
  const $ = C.$;
  const page = QK.page();

  let opener = null;  // what had the focus when a dialog opened: it has it again when the dialog closes

  C.showDialog = function (id) {
    C.closeDialog();
    opener = document.activeElement;
    const dialog = C.openDialog = $(id);
    dialog.hidden = false;
    // the number or reason field, or the dialog's default button, else "Hủy": Enter never picks a
    // transfer target by accident
    const first = dialog.querySelector("input, [data-default]") || dialog.querySelector("button.cancel");
    if (first) first.focus();
  };

  C.closeDialog = function () {
    const dialog = C.openDialog;
    if (!dialog) return;
    const focusWasIn = dialog.contains(document.activeElement) || document.activeElement === document.body;
    dialog.hidden = true;
    C.openDialog = null;
    if (focusWasIn && opener && opener !== document.body && document.contains(opener)) opener.focus();
  };

  C.cancelDialog = function () {
    if (!C.leaving) C.closeDialog();  // a close or sign-out on its way is not undone by hiding its dialog: it waits
  };

  const closeDialog = C.closeDialog;

  document.querySelectorAll("[data-close]").forEach(function (button) { button.addEventListener("click", C.cancelDialog); });
  document.querySelectorAll(".dialog-backdrop").forEach(function (backdrop) {
    backdrop.addEventListener("click", function (event) { if (event.target === backdrop) C.cancelDialog(); });
  });

  function choice(label, en, onChoose) {
    const button = QK.setPair(QK.el("button", "choice"), label, en);
    button.type = "button";
    button.addEventListener("click", onChoose);
    return button;
  }

  /** The transfer dialog, from the counters as they are now (GET /api/v1/queue: open or closed, and what
   *  they serve); without an answer, from the page's setup alone (the states unknown). */
  C.openTransfer = function () {
    const held = C.counter && C.counter.ticket;
    QK.api("GET", "/api/v1/queue").then(function (answer) {
      return answer.ok ? answer.data.counters : null;
    }, function () { return null; }).then(function (live) {
      const counter = C.counter;
      if (!C.me || C.busy || C.openDialog || !counter || !counter.ticket || counter.ticket.id !== held.id) return;  // moved on
      C.fillTransfer(live);
      C.showDialog("dialog-transfer");
    });
  };

  /** The services some counter serves, but the ticket's own, and the other counters (the setup's names,
   *  an admin may have changed them), each saying whether it is open now: a closed counter, or a service
   *  whose counters are all closed, asks first. */
  C.fillTransfer = function (live) {
    const own = C.counter && C.counter.ticket && C.counter.ticket.service;
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
      const names = C.serviceNames(code);
      const noneOpen = live && !served[code];
      const button = choice(code + " · " + names.vi, names.en, function () {
        if (noneOpen) return askClosed("console_transfer_service_closed_ask", {service: names}, names, {service: code});
        closeDialog();
        C.act("transfer", {service: code});
      });
      button.dataset.service = code;
      if (noneOpen) {
        button.dataset.state = "closed";
        button.appendChild(QK.setBi(QK.el("span", "counter-state"), "console_service_none_open"));
      }
      return button;
    }));
    $("transfer-counters").replaceChildren.apply($("transfer-counters"), Object.keys(page.counters).filter(function (n) {
      return (!C.me || Number(n) !== C.me.counter) && (!live || n in stateOf);
    }).map(function (n) {
      const state = stateOf[n];
      const button = choice(page.counters[n], null, function () {
        if (state === "closed") return askClosed("console_transfer_closed_ask", {counter: n}, C.counterWords(n), {counter: Number(n)});
        closeDialog();
        C.act("transfer", {counter: Number(n)});
      });
      button.dataset.counter = n;
      if (state) {
        button.dataset.state = state;
        button.appendChild(QK.setBi(QK.el("span", "counter-state"), "console_counter_" + state));
      }
      return button;
    }));
  };

  /** A closed counter, or a service with no counter open: nobody would call the number until one opens
   *  (a centre may send one to a counter about to open). The clerk says so twice, in the dialog: ``ask``
   *  (with ``params`` and the number), and "Vẫn chuyển sang ``to``", which sends ``body`` to transfer. */
  function askClosed(ask, params, to, body) {
    QK.setBi($("transfer-confirm-text"), ask, Object.assign({number: C.counter.ticket.display}, params));
    const yes = QK.setBi($("transfer-confirm-yes"), "console_transfer_anyway", {to: to});
    yes.onclick = function () { closeDialog(); C.act("transfer", body); };
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
    C.act("next", {number: Number(value)});
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
    C.act("pause", reason ? {reason: reason} : {});
  }
  C.loaded.push(document.currentScript);
})();
