/* The touch kiosk: a tap on a service issues one ticket and shows it for a few seconds.
 * A request in flight disables every button, so a double tap gives one ticket. */
(function () {
  "use strict";

  const page = QK.page();
  const serviceButtons = Array.from(document.querySelectorAll("button.service"));
  const chips = Array.from(document.querySelectorAll("button.chip"));
  const result = document.getElementById("result");
  const problem = document.getElementById("problem");
  const busyMark = document.getElementById("busy");

  let priority = null;
  let busy = false;
  let backTimer = null;

  QK.clock(document.getElementById("clock-time"), document.getElementById("clock-date"), page.timezone);

  function setBusy(on) {
    busy = on;
    serviceButtons.concat(chips).forEach(function (button) { button.disabled = on; });
  }

  function choosePriority(chip) {
    priority = chip.dataset.priority || null;
    chips.forEach(function (other) { other.setAttribute("aria-pressed", other === chip ? "true" : "false"); });
  }

  function backToStart() {
    clearTimeout(backTimer);
    result.hidden = true;
    problem.hidden = true;
    busyMark.hidden = true;
    if (chips.length) choosePriority(chips[0]);
    setBusy(false);
  }

  function showFor(overlay, seconds) {
    busyMark.hidden = true;
    overlay.hidden = false;
    clearTimeout(backTimer);
    backTimer = setTimeout(backToStart, seconds * 1000);
  }

  function showTicket(ticket) {
    const names = page.services[ticket.service] || {vi: ticket.service};
    document.getElementById("result-number").textContent = ticket.display;
    QK.setPair(document.getElementById("result-service"), names.vi, names.en);
    QK.setBi(document.getElementById("result-ahead"), "kiosk_people_ahead", {n: ticket.waiting_ahead});
    const eta = document.getElementById("result-eta");
    if (ticket.eta_minutes) QK.setBi(eta, "kiosk_eta", {n: ticket.eta_minutes});
    else QK.setBi(eta, "kiosk_eta_now");
    showFor(result, page.result_seconds);
  }

  function showProblem(fill) {
    fill(document.getElementById("problem-text"));
    showFor(problem, page.error_seconds);
  }

  function issue(service) {
    if (busy) return;  // a second tap while the first is on its way
    setBusy(true);
    busyMark.hidden = false;
    const body = {service: service, kiosk: page.kiosk};
    if (priority) body.priority = priority;
    QK.api("POST", "/api/v1/tickets", body).then(function (answer) {
      if (answer.ok) showTicket(answer.data);
      else showProblem(function (node) { QK.setPair(node, QK.errorMessage(answer)); });
    }, function () {
      showProblem(function (node) { QK.setBi(node, "page_network_error"); });
    });
  }

  serviceButtons.forEach(function (button) {
    button.addEventListener("click", function () { issue(button.dataset.service); });
  });
  chips.forEach(function (chip) {
    chip.addEventListener("click", function () { if (!busy) choosePriority(chip); });
  });
  document.querySelectorAll(".overlay button.done").forEach(function (button) {
    button.addEventListener("click", backToStart);
  });
  document.addEventListener("contextmenu", function (event) { event.preventDefault(); });
})();
