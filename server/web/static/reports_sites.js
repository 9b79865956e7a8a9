/* /reports: every site side by side (GET /api/v1/reports/sites), for the province and the
 * installation's admin. The section stays hidden, and is not asked for, for anyone else (a site's
 * supervisor or admin), and for anyone the API refuses.
 * It has its own days (whole business days, each site's own), from the first of this month to
 * today by default; the rest of the page (one site's report) is reports.js.
 * Text goes in with textContent only.
 */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }
  function el(tag, className, text) { return QK.el(tag, className, text); }
  function minutes(seconds) { return seconds === null || seconds === undefined ? "–" : QK.number(seconds / 60, 1); }
  function share(value) { return value === null || value === undefined ? "–" : QK.number(value, 1) + " %"; }

  // the waits' columns say their unit, as the site's own report and `queuekiosk site compare` do
  const COLUMNS = [
    ["sup_sites_issued", function (r) { return QK.number(r.issued, 0); }],
    ["sup_sites_served", function (r) { return QK.number(r.served, 0); }],
    ["report_col_wait_avg", function (r) { return minutes(r.wait.avg); }],
    ["report_col_wait_p90", function (r) { return minutes(r.wait.p90); }],
    ["sup_sites_target", function (r) { return share(r.target_met_pct); }],
    ["sup_sites_satisfied", function (r) { return share(r.ratings.satisfied_pct); }],
    // not cancelled, and how many of them checked in: "12 (9 đã đến)"
    ["sup_sites_bookings", function (r) {
      return QK.msg("sup_sites_checked_in", {booked: QK.number(r.bookings.booked, 0), checked_in: QK.number(r.bookings.checked_in, 0)});
    }],
  ];

  function draw(report) {
    const table = $("sites-table");
    const head = el("tr");
    head.appendChild(el("th", null, QK.msg("sup_sites_site")));
    COLUMNS.forEach(function (column) { head.appendChild(el("th", null, QK.msg(column[0]))); });
    const thead = el("thead");
    thead.appendChild(head);
    const tbody = el("tbody");
    function row(label, figures, className, href) {
      const tr = el("tr", className);
      const th = el("th");
      if (href) {
        const link = el("a", null, label);  // the site's own reports
        link.href = href;
        th.appendChild(link);
      } else {
        th.textContent = label;
      }
      tr.appendChild(th);
      COLUMNS.forEach(function (column) { tr.appendChild(el("td", null, column[1](figures))); });
      return tr;
    }
    const names = {};
    report.sites.forEach(function (site) { names[site.site] = site.name; });
    report.sites.forEach(function (site) {
      // a site merged into another: still in the figures of its days, and said to be retired
      const label = !site.retired ? site.name : site.name + " (" + QK.msg(site.moved_to ? "sup_site_retired_to" : "sup_site_retired",
        {site: names[site.moved_to] || site.moved_to}) + ")";
      const tr = row(label, site, site.retired ? "site retired" : "site", "/s/" + encodeURIComponent(site.site) + "/reports");
      if (!site.retired) {  // its dashboard, as it is now (a retired site has nothing live to watch)
        const live = el("a", "live", QK.msg("sup_sites_dashboard"));
        live.href = "/s/" + encodeURIComponent(site.site) + "/dashboard";
        tr.firstChild.append(" · ", live);
      }
      tr.dataset.site = site.site;
      tbody.appendChild(tr);
    });
    const tfoot = el("tfoot");
    tfoot.appendChild(row(QK.msg("sup_sites_total"), report.total, "total"));
    table.replaceChildren(thead, tbody, tfoot);
  }

  function load() {
    const days = new URLSearchParams({from: $("sites-from").value, to: $("sites-to").value});
    const url = "/api/v1/reports/sites?" + days.toString();
    QK.reportFiles.point("sites-", "/api/v1/reports/sites", days);  // the same comparison as files
    const error = $("sites-error");  // the table's: a file's refusal has its own box (#sites-file-error)
    $("sites-file-error").hidden = true;  // (a file refused for the days shown before: not these days')
    return QK.api("GET", url).then(function (answer) {
      if (answer.status === 403 || answer.status === 401) { $("sites-compare").hidden = true; return; }
      $("sites-compare").hidden = false;
      if (!answer.ok) { QK.sayError(error, answer); error.hidden = false; return; }
      error.hidden = true;
      draw(answer.data);
      $("sites-compare").dataset.ready = "1";
    }, function () {  // no answer (the network, or the page being left)
      QK.say(error, "page_network_error");
      error.hidden = false;
    });
  }

  function start() {
    // the site's today (its time zone, the server's clock), as reports.js: not the browser's
    const today = QK.localNow(QK.page().timezone).date;
    $("sites-from").value = today.slice(0, 8) + "01";
    $("sites-to").value = today;
    shows.forEach(function (show) { show(); });
    $("sites-controls").addEventListener("submit", function (event) { event.preventDefault(); load(); });
    load();
  }

  // its files downloaded as the site's own report's (report_files.js), a refusal said in its own box
  QK.reportFiles.wire("sites-", $("sites-file-error"));

  // the days as Vietnamese write them (dd/mm/yyyy) whatever the browser's language (reports.js)
  const shows = [QK.vietnameseDate($("sites-from"), false), QK.vietnameseDate($("sites-to"), false)];

  // once the page's login is done (supervisor.js shows #work), ask whether this person compares sites
  const work = $("work");
  let started = false;
  function mayCompare(me) {  // as the API's rule (server/web/api/reports.py sites_compared)
    return Boolean(me) && (me.role === "province" || (me.role === "admin" && me.site === null));
  }
  function check() {
    if (!started && !work.hidden) { started = true; if (mayCompare(QK.me)) start(); }
  }
  new MutationObserver(check).observe(work, {attributes: true, attributeFilter: ["hidden"]});
  check();
})();
