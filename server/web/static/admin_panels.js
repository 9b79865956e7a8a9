/* /admin: the panels of the setup's sections: a section of items (its list, "Thêm mới" and the form
 * of the chosen item), and the forms of the site's own settings (PATCH /admin/site): hours and
 * holidays, the priority policy, the ticker, notifications to citizens, limits, the voice. An admin
 * changes everything; a supervisor only the ticker, the displays' slides and the holidays (the
 * server checks the same), and sees the rest read-only. Each returns {refresh()}, which admin.js
 * calls after a reload of the setup and a switch of language. Also the layout of the tabs of things
 * shown once made (madeOnceLayout: admin_tokens.js, admin_webhooks.js).
 */
(function () {
  "use strict";

  const A = QK.admin;
  const el = QK.el, say = QK.say, labelled = A.labelled;
  const API = A.API, data = A.data, isAdmin = A.isAdmin;
  const FIELDS = A.FIELDS, KEYS = A.KEYS, LISTS = A.LISTS, get = A.get;
  const makeForm = A.makeForm, mayDiscard = A.mayDiscard, send = A.send;
  const onSecondPress = A.onSecondPress, disarm = A.disarm;

  function itemsOf(section) {
    if (section === "users") return data.users;
    if (section === "sites") return data.sites || [];
    return data.setup[section] || [];
  }

  function supervisorMay(field) { return !!field.sup; }
  function editableFor(section) {
    return function (field) {
      // a path on the server's disk: an admin of the whole installation only (the one whom GET /admin/sites answers)
      if (field.installation) return isAdmin() && !!data.sites;
      return isAdmin() || (section === "displays" || section === "holidays" || section === "ticker") && supervisorMay(field);
    };
  }

  function readOnlyNote(panel, anyEditable) {
    if (!anyEditable) panel.appendChild(labelled("p", "message info readonly", "admin_readonly"));
  }

  /** A section of items: its list, "Thêm mới" and the form of the chosen item. */
  function itemPanel(section, panel) {
    const key = KEYS[section];
    const editable = editableFor(section);
    readOnlyNote(panel, FIELDS[section].some(editable));
    const layout = el("div", "layout");
    const side = el("div", "list");
    const table = el("table", "items");
    side.appendChild(table);
    const add = labelled("button", "new", "admin_new");
    add.type = "button";
    add.hidden = !isAdmin();
    side.appendChild(add);
    const right = el("div", "edit");
    const title = el("h2", "editing");
    right.appendChild(title);
    const form = makeForm(FIELDS[section], editable, section);
    right.appendChild(form.node);
    const remove = labelled("button", "delete", "admin_delete");
    remove.type = "button";
    form.node.querySelector(".actions").appendChild(remove);
    const testPrint = labelled("button", "test-print", "admin_test_print");
    testPrint.type = "button";
    testPrint.hidden = section !== "printers";
    form.node.querySelector(".actions").appendChild(testPrint);
    layout.appendChild(side);
    layout.appendChild(right);
    panel.appendChild(layout);

    let chosen = null;  // the key of the item in the form; null: a new one

    function drawList() {
      const columns = LISTS[section].columns;
      const head = el("tr");
      columns.forEach(function (column) { head.appendChild(labelled("th", null, column[0])); });
      const thead = el("thead");
      thead.appendChild(head);
      const tbody = el("tbody");
      itemsOf(section).forEach(function (item) {
        const row = el("tr", "item");
        row.dataset.key = String(item[key]);
        row.tabIndex = 0;
        if (String(item[key]) === String(chosen)) row.classList.add("chosen");
        columns.forEach(function (column) {
          const cell = el("td");
          if (section === "services" && column[1] === null) {
            // as the kiosk shows it: the name with its typical procedures under it; then its field ("lĩnh vực")
            cell.appendChild(el("span", "name", item.name.vi));
            if (item.examples) cell.appendChild(el("span", "examples", item.examples.vi));
            if (item.field) cell.appendChild(el("span", "field-name", item.field.vi));
          } else {
            const value = column[1](item);
            cell.textContent = value === null || value === undefined ? "" : String(value);
          }
          row.appendChild(cell);
        });
        const pick = function () { if (String(item[key]) === String(chosen) || mayDiscard([form])) choose(item[key]); };
        row.addEventListener("click", pick);
        row.addEventListener("keydown", function (event) { if (event.key === "Enter") pick(); });
        tbody.appendChild(row);
      });
      table.replaceChildren(thead, tbody);
      if (!itemsOf(section).length) table.appendChild(labelled("caption", null, "admin_empty_list"));
    }

    function choose(itemKey) {
      const item = itemsOf(section).find(function (i) { return String(i[key]) === String(itemKey); });
      chosen = item ? item[key] : null;
      form.fill(item || null, item ? "change" : "create");
      right.hidden = false;
      say(title, item ? "admin_editing" : "admin_adding", {item: item ? String(item[key]) : ""});
      // a site added by mistake may go (the server says why one may not); never the first
      remove.hidden = !item || !isAdmin() || section === "users" || (section === "sites" && !!item.first);
      testPrint.hidden = section !== "printers" || !item || !isAdmin();
      // a counter serving nothing takes only the numbers transferred to it: allowed, but said
      const servesNothing = section === "counters" && item && Array.isArray(item.services) && !item.services.length;
      if (section === "counters") form.note("services", servesNothing ? "admin_counter_serves_nothing" : null);
      disarm(remove);
      drawList();
    }

    add.addEventListener("click", function () {
      if (!mayDiscard([form])) return;
      chosen = null;
      form.fill(null, "create");
      right.hidden = false;
      say(title, "admin_adding");
      remove.hidden = true;
      drawList();
      const first = form.node.querySelector("input:not([disabled]), select:not([disabled])");
      if (first) first.focus();
    });

    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      const mode = chosen === null ? "create" : "change";
      const body = form.read(mode);
      if (mode === "change" && !Object.keys(body).length) { form.status("admin_saved"); return; }  // nothing changed
      // a new site without its days ticked keeps the first site's days
      if (section === "sites" && body.hours && Array.isArray(body.hours.days) && !body.hours.days.length) delete body.hours.days;
      const url = API + section + (mode === "change" ? "/" + encodeURIComponent(chosen) : "");
      const saved = function (answer) {
        const savedKey = mode === "create" ? get(body, key) : chosen;
        return A.reload().then(function () {
          choose(answer.data && answer.data[key] !== undefined ? answer.data[key] : savedKey);
          form.status("admin_saved");
        });
      };
      send(mode === "create" ? "POST" : "PATCH", url, body, form, saved, mode === "change" && function () {
        return send("PATCH", url, Object.assign({}, body, {confirm: true}), form, saved);
      });
    });

    testPrint.addEventListener("click", function () {
      // printed like a ticket by the process that drives the printer: its state shows on the dashboard
      send("POST", API + "printers/" + encodeURIComponent(chosen) + "/test-print", undefined, form, function () {
        form.status("admin_test_print_sent");
      });
    });

    const removing = section === "sites" ? ["admin_site_remove", "admin_site_remove_confirm"] : ["admin_delete"];
    onSecondPress(remove, removing[0], function () {
      const url = API + section + "/" + encodeURIComponent(chosen);
      const removed = function () {
        return A.reload().then(function () { chosen = null; right.hidden = true; drawList(); });
      };
      send("DELETE", url, undefined, form, removed, function () { return send("DELETE", url + "?confirm=true", undefined, form, removed); });
    }, removing[1]);

    drawList();
    right.hidden = true;
    const items = itemsOf(section);
    if (items.length) choose(items[0][key]);
    return {refresh: drawList};
  }

  /** A form of the site (PATCH /admin/site): hours, holidays, policy, the common ticker. */
  function siteForm(group, parent, titleKey, noteKey, shape) {
    const box = el("div", "site-form");
    box.appendChild(labelled("h2", null, titleKey));
    if (noteKey) box.appendChild(labelled("p", "hint", noteKey));
    const editable = editableFor(group);
    readOnlyNote(box, FIELDS[group].some(editable));
    const form = makeForm(FIELDS[group], editable, group);
    box.appendChild(form.node);
    parent.appendChild(box);
    form.fill(data.site, "change");
    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      form.clearErrors();
      if (!form.commitPending()) return;  // a date in the box that is not one: said under it, nothing sent
      const body = form.read("change");
      if (!Object.keys(body).length) { form.status("admin_saved"); return; }  // nothing changed: nothing to save
      const sent = shape ? shape(body) : body;
      const saved = function () {
        return A.reload().then(function () { form.fill(data.site, "change"); form.status("admin_saved"); });
      };
      // hours or holidays that would cancel bookings: asked, and sent again saying the person knows
      send("PATCH", API + "site", sent, form, saved, function () {
        return send("PATCH", API + "site", Object.assign({}, sent, {confirm: true}), form, saved);
      });
    });
    return form;
  }

  function hoursPanel(panel) {
    const columns = el("div", "layout two");
    panel.appendChild(columns);
    const hours = siteForm("hours", columns, "admin_hours_title");
    siteForm("holidays", columns, "admin_holidays_title", "admin_h_holidays");
    // tickets' QR codes at an address no phone opens (this machine's loopback, a backend behind nginx)
    const loopback = el("p", "message error tracking-loopback");
    loopback.id = "tracking-loopback";
    hours.node.insertBefore(loopback, hours.node.firstChild);
    function showTracking() {
      const tracking = data.site.tracking;
      loopback.hidden = !(tracking && tracking.unreachable);
      // only an admin can set the address (or have the server started on another): a supervisor is told whom to tell
      if (!loopback.hidden) say(loopback, isAdmin() ? tracking.unreachable : "admin_tracking_loopback_tell", {address: tracking.address});
    }
    showTracking();
    return {refresh: showTracking};  // a save (or another admin's) redraws the warning, not the forms
  }

  function prioritiesPanel(panel) {
    const drawn = itemPanel("priorities", panel);
    siteForm("policy", panel, "admin_policy_title", "admin_h_policy");
    return drawn;
  }

  function tickerPanel(panel) {
    const form = siteForm("ticker", panel, "admin_tab_ticker", "admin_h_ticker");
    if (data.site.ticker === null && data.setup.displays.length > 1) {
      form.node.insertBefore(labelled("p", "message info", "admin_ticker_differs"), form.node.firstChild);
    }
    return {refresh: function () {}};
  }

  /** Notifications to citizens: N ahead, the channels offered and each channel's settings, one form
   * (PATCH /admin/site {notifications}). A channel whose main setting is empty is removed. */
  const CHANNEL_KEYS = {sms: "url", zalo: "access_token", email: "host"};
  function notificationsPanel(panel) {
    siteForm("notifications", panel, "admin_tab_notifications", "admin_h_notifications", function (body) {
      const wanted = body.notifications;
      if (!wanted) return body;  // (only what was changed is sent: the notifications, or nothing)
      const before = data.site.notifications || {};
      Object.keys(CHANNEL_KEYS).forEach(function (name) {
        if (!wanted[name] || wanted[name][CHANNEL_KEYS[name]] === null) wanted[name] = null;
      });
      if (wanted.sms && before.sms && before.sms.headers) {  // a header taken out of the list is removed
        Object.keys(before.sms.headers).forEach(function (h) { if (!(h in wanted.sms.headers)) wanted.sms.headers[h] = null; });
      }
      const offersPush = (wanted.channels || []).indexOf("push") >= 0;
      if (!offersPush && wanted.push && wanted.push.subject === null && !before.push) wanted.push = null;
      else if (wanted.push && wanted.push.subject === null) delete wanted.push.subject;
      return body;
    });
    return {refresh: function () {}};  // as the hours: a save (or another admin's) does not undo what is typed
  }

  /** Issuing and booking limits (PATCH /admin/site {limits}). An empty limit is sent as null, which
   * restores its default; "off" switches one off (the server shows a switched-off limit as "off"). */
  function limitsPanel(panel) {
    siteForm("limits", panel, "admin_tab_limits", "admin_h_limits");
    return {refresh: function () {}};  // as the hours: a save (or another admin's) does not undo what is typed
  }

  /** The site's voice (PATCH /admin/site {sounds}): recordings folder, text to speech, piper voice, cache. */
  function soundsPanel(panel) {
    siteForm("sounds", panel, "admin_tab_sounds", "admin_h_sounds");
    return {refresh: function () {}};
  }


  /** A tab of things made here and shown once (device tokens, webhooks): their list on the left; on the right
   *  the title and hint (``said``: their message keys), the form of a new one (filled with ``blank``) and the
   *  box that shows it once made (``said.made``: its id). */
  function madeOnceLayout(panel, section, blank, said) {
    const layout = el("div", "layout");
    const side = el("div", "list");
    const table = el("table", "items " + section);
    side.appendChild(table);
    const right = el("div", "edit");
    right.appendChild(labelled("h2", null, said.title));
    right.appendChild(labelled("p", "hint", said.hint));
    const form = makeForm(FIELDS[section], function () { return true; }, section);
    form.fill(blank, "create");
    right.appendChild(form.node);
    const made = el("div", "token-made");
    made.id = said.made;
    made.hidden = true;
    right.appendChild(made);
    layout.appendChild(side);
    layout.appendChild(right);
    panel.appendChild(layout);
    return {side: side, table: table, form: form, made: made};
  }

  Object.assign(A, {itemPanel: itemPanel, prioritiesPanel: prioritiesPanel, hoursPanel: hoursPanel,
                    tickerPanel: tickerPanel, notificationsPanel: notificationsPanel, limitsPanel: limitsPanel,
                    soundsPanel: soundsPanel, madeOnceLayout: madeOnceLayout});
  A.loaded.push(document.currentScript);
})();
