/* /admin's tab of webhooks (an admin's): the list with "Xóa", a new one with its secret shown once, and
 * the chosen one's delivery log with "Gửi lại": QK.admin.webhooksPanel.
 */
(function () {
  "use strict";

  const A = QK.admin;
  const el = QK.el, say = QK.say, labelled = A.labelled;
  const API = A.API, data = A.data;
  const madeOnceLayout = A.madeOnceLayout, send = A.send, onSecondPress = A.onSecondPress;

  /** Webhooks: the list (delete), a new one (its secret shown once), and the chosen one's delivery log with replay. */
  function webhooksPanel(panel) {
    const drawn = madeOnceLayout(panel, "webhooks", {events: []},
                                 {title: "admin_webhook_new", hint: "admin_h_webhooks", made: "webhook-made"});
    const table = drawn.table, form = drawn.form, made = drawn.made;
    const log = el("div", "deliveries");
    log.id = "webhook-deliveries";
    drawn.side.appendChild(log);
    let chosen = null;

    function cell(row, value) { row.appendChild(el("td", null, value === null || value === undefined ? "" : String(value))); }
    function when(iso) { return iso ? new Date(iso).toLocaleString(QK.lang() === "en" ? "en-GB" : "vi-VN") : ""; }

    function drawList() {
      const head = el("tr");
      ["admin_c_id", "admin_f_webhook_url", "admin_f_webhook_events", "admin_f_webhook_secret", ""].forEach(function (key) {
        head.appendChild(key ? labelled("th", null, key) : el("th"));
      });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      data.webhooks.forEach(function (hook) {
        const row = el("tr", "item" + (hook.id === chosen ? " chosen" : ""));
        row.dataset.key = String(hook.id);
        row.tabIndex = 0;
        [hook.id, hook.url, hook.events.join(", "), hook.secret].forEach(function (value) { cell(row, value); });
        const actions = el("td");
        const remove = labelled("button", "revoke", "admin_delete");
        remove.type = "button";
        remove.addEventListener("click", function (event) { event.stopPropagation(); });
        onSecondPress(remove, "admin_delete", function () {
          send("DELETE", API + "webhooks/" + hook.id, undefined, form, function () {
            if (chosen === hook.id) { chosen = null; log.replaceChildren(); }
            return A.reload();
          });
        });
        actions.appendChild(remove);
        row.appendChild(actions);
        row.addEventListener("click", function () { choose(hook.id); });
        row.addEventListener("keydown", function (event) { if (event.key === "Enter") choose(hook.id); });
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
      if (!data.webhooks.length) table.appendChild(labelled("caption", null, "admin_empty_list"));
      if (chosen !== null) drawDeliveries();
    }

    function choose(id) {
      chosen = id;
      drawList();
    }

    function drawDeliveries() {
      const id = chosen;
      QK.api("GET", API + "webhooks/" + id + "/deliveries?limit=50", undefined, QK.lang()).then(function (answer) {
        if (id !== chosen) return;
        log.replaceChildren(labelled("h2", null, "admin_webhook_deliveries"));
        if (!answer.ok) { log.appendChild(el("p", "message error", QK.errorMessage(answer))); return; }
        const list = el("table", "items");
        const head = el("tr");
        ["admin_c_occurred", "admin_c_event", "admin_c_state", "admin_c_attempts", "admin_c_last_answer", "admin_c_next_attempt", ""]
          .forEach(function (key) { head.appendChild(key ? labelled("th", null, key) : el("th")); });
        const thead = el("thead");
        thead.appendChild(head);
        const tbody = el("tbody");
        answer.data.deliveries.forEach(function (d) {
          const row = el("tr", "delivery " + d.status);
          row.dataset.delivery = d.delivery;
          cell(row, when(d.occurred_at));
          cell(row, d.event);
          row.appendChild(labelled("td", null, "admin_delivery_" + d.status));
          cell(row, d.attempts);
          cell(row, d.last_error || d.last_status_code);
          cell(row, when(d.next_attempt_at));
          const actions = el("td");
          const replay = labelled("button", "replay", "admin_replay");
          replay.type = "button";
          replay.addEventListener("click", function () {
            send("POST", API + "webhooks/" + id + "/deliveries/" + d.id + "/replay", undefined, form, function () {
              form.status("admin_replay_sent");
              drawDeliveries();
            });
          });
          actions.appendChild(replay);
          row.appendChild(actions);
          tbody.appendChild(row);
        });
        list.replaceChildren(thead, tbody);
        if (!answer.data.deliveries.length) list.appendChild(labelled("caption", null, "admin_empty_list"));
        log.appendChild(list);
      });
    }

    function showSecret(hook) {
      made.replaceChildren(labelled("p", "message info", "admin_webhook_secret_once"));
      const row = el("div", "copy-row");
      const secret = el("input", "token-link");
      secret.readOnly = true;
      secret.value = hook.secret;
      const copy = labelled("button", "copy", "admin_copy");
      copy.type = "button";
      copy.addEventListener("click", function () {
        secret.select();
        document.execCommand("copy");
        say(copy, "admin_copied");
      });
      row.appendChild(secret);
      row.appendChild(copy);
      made.appendChild(row);
      made.hidden = false;
    }

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      made.hidden = true;
      const body = form.read("create");
      if (body.events === "all") body.events = data.webhookEvents.slice();
      if (!body.secret) delete body.secret;
      send("POST", API + "webhooks", body, form, function (answer) {
        showSecret(answer.data);
        form.fill({events: []}, "create");
        form.status("admin_saved");
        chosen = answer.data.id;
        return A.reload();
      });
    });
    drawList();
    return {refresh: drawList};
  }

  A.webhooksPanel = webhooksPanel;
  A.loaded.push(document.currentScript);
})();
