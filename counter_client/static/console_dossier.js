/* The clerk console (/counter): the dossier of the number served (docs/counter.md), its code typed or
 * scanned (a scanner types it and presses Enter) and the procedure picked from the service's, saved
 * with PUT /api/v1/counters/N/dossier.
 */
(function () {
  "use strict";

  const C = QK.console;
  const $ = C.$;
  const page = QK.page();

  // Drawn afresh only for another ticket, so that a snapshot does not undo what the clerk is typing.
  let dossierFor = null;
  C.drawDossier = function () {
    const ticket = C.counter && C.counter.ticket;
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
  };

  $("dossier").addEventListener("submit", function (event) {
    event.preventDefault();
    if (!C.me || !C.counter || !C.counter.ticket) return;
    const body = {dossier_code: $("dossier-code").value.trim() || null, procedure: $("dossier-procedure").value || null};
    QK.api("PUT", "/api/v1/counters/" + C.me.counter + "/dossier", body).then(function (answer) {
      C.showNotice(answer.ok ? "info" : "error", function (node) {
        if (!answer.ok) QK.setPair(node, QK.errorMessage(answer));
        else QK.setBi(node, "console_dossier_saved", {number: answer.data.display, code: answer.data.dossier_code || "–"});
      });
      if (answer.ok) {
        C.counter.ticket = Object.assign({}, C.counter.ticket, answer.data);
        $("dossier-code").value = answer.data.dossier_code || "";
      } else if (answer.data && answer.data.error && answer.data.error.field === "dossier_code") {
        $("dossier-code").focus();
      }
    }, function () {
      C.showNotice("error", C.bi("page_network_error"));
    });
  });
  C.loaded.push(document.currentScript);
})();
