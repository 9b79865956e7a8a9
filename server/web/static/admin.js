/* The web admin (/admin): the centre's setup edited live through /api/v1/admin/...
 *
 * After the login (QK.supervisor, as /reports), the page reads the whole setup once and draws the
 * tab that is open: a list of items on the left, a form on the right. Forms are described by
 * FIELDS (admin_fields.js: path in the API's JSON, kind of input, label: the server's for the site's
 * fields and a display's, given with the page); a save sends the form as the API
 * takes it (POST for a new item, PATCH as a JSON merge patch, where an emptied field is null)
 * and shows the server's refusal next to the field it names (error.field), or "Đã lưu" (admin_forms.js).
 * An admin changes everything; a supervisor only the ticker, the displays' slides and the
 * holidays (the server checks the same), and sees the rest read-only. The page redraws its lists
 * when anyone saves a change (Socket.IO "config.changed").
 * Text goes in with textContent only; every label follows the language switch (QK.setLang).
 *
 * This file is the page: the setup loaded, the tabs, and the questions before what is typed is lost.
 * Its parts, which share QK.admin, are loaded before it in the order templates/admin/page.html gives.
 */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  // a part that did not arrive, or failed as it ran, would leave a login that leads to blank tabs:
  // the page names it and starts nothing
  const missing = QK.firstPartNotLoaded(QK.admin && QK.admin.loaded);  // (admin_fields.js makes QK.admin)
  if (missing) {
    QK.namePartMissing("admin_part_missing", missing);
    return;
  }

  const A = QK.admin;
  const API = A.API, data = A.data, isAdmin = A.isAdmin, labelled = A.labelled;
  const openForms = A.openForms, mayDiscard = A.mayDiscard;

  let currentTab = null;
  const panels = {};  // tab -> {refresh()} of the panel drawn last

  // --- loading ----------------------------------------------------------------------------
  function loadAll() {
    const calls = [QK.api("GET", API + "setup"), QK.api("GET", API + "site")];
    if (isAdmin()) calls.push(QK.api("GET", API + "users"), QK.api("GET", API + "tokens"), QK.api("GET", API + "webhooks"));
    return Promise.all(calls).then(function (answers) {
      const failed = answers.find(function (a) { return !a.ok; });
      if (failed) throw failed;
      data.setup = answers[0].data.setup;
      data.site = answers[1].data;
      if (isAdmin()) {
        data.users = answers[2].data;
        data.tokens = answers[3].data;
        data.webhooks = answers[4].data.webhooks;
        data.webhookEvents = answers[4].data.events;
      }
      $("load-error").hidden = true;
      return isAdmin() ? loadSites() : null;
    }).catch(function (answer) {
      const box = $("load-error");
      box.textContent = answer && answer.status ? QK.errorMessage(answer) : QK.msg("page_network_error", null, QK.lang());
      box.hidden = false;
      throw answer;
    });
  }

  /** The sites, for an admin of the whole installation; anyone else is refused and sees no tab. */
  function loadSites() {
    return QK.api("GET", "/api/v1/admin/sites").then(function (answer) {
      data.sites = answer.ok ? answer.data : null;
      $("tab-sites").hidden = !data.sites;
    }, function () {});
  }

  function reload() {
    return loadAll().then(function () {
      if (currentTab && panels[currentTab]) panels[currentTab].refresh();
    });
  }
  A.reload = reload;  // (the panels' saves)

  // --- tabs ---------------------------------------------------------------------------------
  const DRAW = {
    services: function (p) { return A.itemPanel("services", p); },
    counters: function (p) { return A.itemPanel("counters", p); },
    priorities: A.prioritiesPanel,
    hours: A.hoursPanel,
    kiosks: function (p) { return A.itemPanel("kiosks", p); },
    displays: function (p) { return A.itemPanel("displays", p); },
    printers: function (p) { return A.itemPanel("printers", p); },
    users: function (p) { return A.itemPanel("users", p); },
    sites: function (p) {
      p.appendChild(labelled("p", "hint", "admin_h_sites"));
      return A.itemPanel("sites", p);
    },
    tokens: A.tokensPanel,
    webhooks: A.webhooksPanel,
    ticker: A.tickerPanel,
    notifications: A.notificationsPanel,
    limits: A.limitsPanel,
    sounds: A.soundsPanel,
  };
  const ADMIN_ONLY_TABS = ["users", "tokens", "webhooks", "notifications"];

  /** Draw ``tab`` afresh (its form offers what the setup holds now) and show it. */
  function openTab(tab) {
    if (!mayDiscard()) return;
    openForms.length = 0;
    currentTab = tab;
    document.querySelectorAll(".tab").forEach(function (button) {
      const on = button.dataset.tab === tab;
      button.classList.toggle("active", on);
      button.setAttribute("aria-selected", on ? "true" : "false");
    });
    document.querySelectorAll(".panel").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== tab;
      if (panel.dataset.panel === tab) {
        panel.replaceChildren();
        panels[tab] = DRAW[tab](panel);
        QK.translate(panel);
      }
    });
    if (location.hash !== "#" + tab) history.replaceState(null, "", "#" + tab);
  }

  function start(who) {
    A.me = who;
    document.body.dataset.role = A.me.role;
    ADMIN_ONLY_TABS.forEach(function (tab) { $("tab-" + tab).hidden = !isAdmin(); });
    document.querySelectorAll(".tab").forEach(function (button) {
      button.addEventListener("click", function () { openTab(button.dataset.tab); });
    });
    loadAll().then(function () {
      const asked = location.hash.replace(/^#/, "");
      const tab = DRAW[asked] && !$("tab-" + asked).hidden ? asked : (isAdmin() ? "services" : "ticker");
      openTab(tab);
      document.body.dataset.ready = "1";
    });
    if (window.io) {
      // another admin (or this one in another tab) saved: the lists show it
      const socket = io({reconnectionDelayMax: 5000});
      socket.on("config.changed", function () { reload().catch(function () {}); });
    }
  }

  // "Đăng xuất" (supervisor.js ends the session, then reloads): /admin asks first, before the session ends,
  // and the reload after a "yes" is not asked about again
  let discarded = false;
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#logout")) return;
    if (mayDiscard()) discarded = true;
    else event.stopPropagation();
  }, true);

  // leaving or reloading the page with something typed and not saved: the browser asks
  window.addEventListener("beforeunload", function (event) {
    if (!discarded && openForms.some(function (form) { return form.node.isConnected && form.dirty(); })) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  $("lang").addEventListener("click", function () {
    QK.setLang(QK.otherLang());
    if (currentTab && panels[currentTab]) panels[currentTab].refresh();
  });

  QK.supervisor(start);
  A.loaded.push(document.currentScript);  // (this file ran to its end: admin_fields.js names it otherwise)
})();
