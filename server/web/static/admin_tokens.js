/* /admin's tab of device tokens (an admin's): the list with "Thu hồi", a new token, and its pairing
 * link and QR code shown once: QK.admin.tokensPanel.
 */
(function () {
  "use strict";

  const A = QK.admin;
  const el = QK.el, say = QK.say, labelled = A.labelled;
  const API = A.API, data = A.data, accountSite = A.accountSite;
  const madeOnceLayout = A.madeOnceLayout, send = A.send, onSecondPress = A.onSecondPress;

  /** Device tokens: the list (revoke), a new token, and its pairing link and QR code once. */
  function tokensPanel(panel) {
    const drawn = madeOnceLayout(panel, "tokens", {role: "kiosk"},
                                 {title: "admin_token_new", hint: "admin_h_tokens", made: "token-made"});
    const table = drawn.table, form = drawn.form, made = drawn.made;

    function drawList() {
      const columns = ["admin_c_id", "admin_f_role", "admin_f_token_name", "admin_f_token_counter", "admin_f_token_kiosk",
                       "admin_f_account_site", "admin_c_state"];
      const head = el("tr");
      columns.forEach(function (key) { head.appendChild(labelled("th", null, key)); });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      data.tokens.slice().reverse().forEach(function (token) {
        const row = el("tr", "item");
        row.dataset.key = String(token.id);
        [token.id, QK.msg("admin_role_" + token.role, null, QK.lang()), token.name, token.counter, token.kiosk, accountSite(token)]
          .forEach(function (value) { row.appendChild(el("td", null, value === null || value === undefined ? "" : value)); });
        const state = el("td");
        if (token.revoked_at) state.appendChild(labelled("span", "revoked", "admin_revoked"));
        else {
          const revoke = labelled("button", "revoke", "admin_revoke");
          revoke.type = "button";
          onSecondPress(revoke, "admin_revoke", function () {
            send("DELETE", API + "tokens/" + token.id, undefined, form, function () { return A.reload().then(drawList); });
          });
          state.appendChild(revoke);
        }
        row.appendChild(state);
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
    }

    function showMade(answer) {
      made.replaceChildren();
      made.hidden = false;
      made.appendChild(labelled("p", "message info", answer.pair_path ? "admin_token_pair" : "admin_token_once"));
      const row = el("div", "copy-row");
      const link = el("input", "token-link");
      link.readOnly = true;
      link.value = answer.pair_path ? answer.pair_path : answer.token;
      const copy = labelled("button", "copy", "admin_copy");
      copy.type = "button";
      copy.addEventListener("click", function () {
        link.select();
        const done = function () { say(copy, "admin_copied"); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link.value).then(done, function () { document.execCommand("copy"); done(); });
        else { document.execCommand("copy"); done(); }
      });
      row.appendChild(link);
      row.appendChild(copy);
      made.appendChild(row);
      if (!answer.pair_path) return;
      QK.api("POST", "/admin/pair-qr", {path: answer.pair_path}, QK.lang()).then(function (qr) {
        if (!qr.ok) { form.showError(null, qr); return; }
        link.value = qr.data.url;
        const image = el("img", "qr");
        image.alt = QK.msg("admin_qr_alt", null, QK.lang());
        image.src = "data:image/svg+xml;base64," + btoa(qr.data.svg);
        made.appendChild(image);
      });
    }

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      made.hidden = true;
      send("POST", API + "tokens", form.read("create"), form, function (answer) {
        showMade(answer.data);
        form.settle();
        form.status("admin_saved");
        return A.reload().then(drawList);
      });
    });
    drawList();
    return {refresh: drawList};
  }

  A.tokensPanel = tokensPanel;
  A.loaded.push(document.currentScript);
})();
