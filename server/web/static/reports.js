/* The reports page (/reports): choose a period and a grouping, see the table, the summary, the
 * bookings and the charts, download CSV (two forms), XLSX or PDF, print. Every figure comes from
 * /api/v1/reports/... (server/core/reports.py); the choice is kept in the address, so a report can
 * be bookmarked or sent. The table shows its main columns on a screen narrower than 1500 px (the
 * usual 1366 px office screen) and all of them on a wider one (the files' columns, with ratings: 26 by
 * service, day or hour, 21 by counter or clerk; 5 fewer without the ratings table), unless "Hiển thị"
 * chooses. */
(function () {
  "use strict";

  const page = QK.page();
  function $(id) { return document.getElementById(id); }
  const charts = {};

  const COLUMNS = [
    ["report_col_called", function (r) { return QK.number(r.called); }],
    ["report_col_served", function (r) { return QK.number(r.served); }],
    ["report_col_no_show", function (r) { return QK.number(r.no_show); }],
    ["report_col_no_show_rate", function (r) { return QK.number(r.no_show_rate, 1); }],
    ["report_col_transferred", function (r) { return QK.number(r.transferred); }],
  ];
  // tickets that no counter acted on: rows by service, day and hour only (as in the files)
  const UNSERVED_COLUMNS = [
    ["report_col_not_called", function (r) { return QK.number(r.not_called); }],
    ["report_col_expired", function (r) { return QK.number(r.expired); }],
    ["report_col_remote_cancelled", function (r) { return QK.number(r.cancelled); }],
    ["report_col_lapsed", function (r) { return QK.number(r.lapsed); }],
  ];
  const TIME_COLUMNS = [
    ["report_col_wait_avg", function (r) { return minutes(r.wait.avg); }],
    ["report_col_wait_median", function (r) { return minutes(r.wait.median); }],
    ["report_col_wait_p90", function (r) { return minutes(r.wait.p90); }],
    ["report_col_wait_max", function (r) { return minutes(r.wait.max); }],
    ["report_col_target_met", function (r) { return QK.number(r.target_met); }],
    ["report_col_target_met_pct", function (r) { return QK.number(r.target_met_pct, 1); }],
    ["report_col_service_avg", function (r) { return minutes(r.service_time.avg); }],
    ["report_col_service_median", function (r) { return minutes(r.service_time.median); }],
    ["report_col_service_p90", function (r) { return minutes(r.service_time.p90); }],
    ["report_col_service_max", function (r) { return minutes(r.service_time.max); }],
  ];
  const RATING_COLUMNS = [
    ["report_col_very_satisfied", function (r) { return QK.number(r.ratings.very_satisfied); }],
    ["report_col_satisfied", function (r) { return QK.number(r.ratings.satisfied); }],
    ["report_col_unsatisfied", function (r) { return QK.number(r.ratings.unsatisfied); }],
    ["report_col_ratings_total", function (r) { return QK.number(r.ratings.total); }],
    ["report_col_satisfied_pct", function (r) { return QK.number(r.ratings.satisfied_pct, 1); }],
  ];
  // the main columns (the compact view): who, how many, how long, and how content
  const MAIN = ["report_col_issued", "report_col_called", "report_col_served", "report_col_no_show_rate",
                "report_col_wait_avg", "report_col_wait_p90", "report_col_target_met_pct",
                "report_col_service_avg", "report_col_satisfied_pct"];
  const WIDE_SCREEN = 1500;  // px: narrower, the compact view unless the address says otherwise
  // the bookings' figures per service: its name, its column's message, and its count in a day of
  // /api/v1/reports/bookings
  const BOOKING_FIGURES = [
    {name: "booked", column: "report_col_booked", count: function (d) { return d.booked; }},
    {name: "remote", column: "report_col_remote", count: function (d) { return d.remote; }},
    {name: "checked_in", column: "report_col_checked_in", count: function (d) { return d.on_time + d.late; }},
    {name: "no_show", column: "report_col_booking_no_show", count: function (d) { return d.no_show; }},
    {name: "lapsed", column: "report_col_lapsed", count: function (d) { return d.lapsed; }},
    {name: "cancelled", column: "report_col_cancelled", count: function (d) { return d.cancelled; }},
    {name: "cancelled_by_centre", column: "report_col_cancelled_by_centre",
     count: function (d) { return d.cancelled_by_centre || 0; }},
  ];
  let shown = null;  // the summary on screen, redrawn when the view changes
  const LABELS = {service: "report_col_service", counter: "report_col_counter", clerk: "report_col_clerk",
                  day: "report_col_day", hour: "report_col_hour"};

  function minutes(seconds) { return seconds === null || seconds === undefined ? "–" : QK.number(seconds / 60, 1); }

  // --- the choice <-> the address ------------------------------------------------------------
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function defaults() {
    const now = QK.localNow(page.timezone);
    const year = Number(now.date.slice(0, 4));
    $("day").value = now.date;
    $("month").value = now.date.slice(0, 7);
    $("year").value = year;
    $("quarter").value = String(Math.floor((Number(now.date.slice(5, 7)) - 1) / 3) + 1);
    $("from").value = now.date + "T00:00";
    $("to").value = now.date + "T23:59";
    const d = new Date(now.date + "T00:00:00Z");  // ISO week of today
    const day = (d.getUTCDay() + 6) % 7;
    d.setUTCDate(d.getUTCDate() - day + 3);
    const firstThursday = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
    const week = 1 + Math.round(((d - firstThursday) / 86400000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
    $("week").value = d.getUTCFullYear() + "-W" + pad(week);
  }

  function fromAddress() {
    const params = new URLSearchParams(window.location.search);
    const period = params.get("period");
    if (params.get("group_by")) $("group").value = params.get("group_by");
    const view = params.get("view");
    $("view").value = view === "full" || view === "compact" ? view
      : (window.innerWidth < WIDE_SCREEN ? "compact" : "full");
    $("basis").checked = params.get("basis") === "nd09";
    let kind = "month";  // without a choice in the address: this month
    if (params.get("from") && params.get("to")) {
      kind = "range";
      $("from").value = params.get("from").length === 10 ? params.get("from") + "T00:00" : params.get("from");
      $("to").value = params.get("to").length === 10 ? params.get("to") + "T23:59" : params.get("to");
    } else if (period) {
      let m;
      if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(period))) { kind = "day"; $("day").value = period; }
      else if ((m = /^(\d{4})-W(\d{2})$/i.exec(period))) { kind = "week"; $("week").value = period.toUpperCase(); }
      else if ((m = /^(\d{4})-Q([1-4])$/i.exec(period))) { kind = "quarter"; $("year").value = m[1]; $("quarter").value = m[2]; }
      else if ((m = /^(\d{4})-H([12])$/i.exec(period))) { kind = "half"; $("year").value = m[1]; $("half").value = m[2]; }
      else if ((m = /^(\d{4})-9M$/i.exec(period))) { kind = "nine_months"; $("year").value = m[1]; }
      else if ((m = /^(\d{4})-(\d{2})$/.exec(period))) { kind = "month"; $("month").value = period; }
      else if ((m = /^(\d{4})$/.exec(period))) { kind = "year"; $("year").value = period; }
    }
    $("kind").value = kind;
    showChoices();
  }

  function showChoices() {
    const kind = $("kind").value;
    document.querySelectorAll(".choice").forEach(function (node) {
      node.hidden = node.dataset.kind.split(" ").indexOf(kind) < 0;
    });
  }

  function query() {
    const kind = $("kind").value;
    const params = new URLSearchParams();
    const year = $("year").value;
    if (kind === "range") {
      params.set("from", $("from").value);
      params.set("to", $("to").value);
    } else {
      params.set("period", {
        day: $("day").value, week: $("week").value, month: $("month").value,
        quarter: year + "-Q" + $("quarter").value, half: year + "-H" + $("half").value,
        nine_months: year + "-9M", year: year,
      }[kind]);
      if ($("basis").checked && ["month", "quarter", "half", "nine_months", "year"].indexOf(kind) >= 0) {
        params.set("basis", "nd09");
      }
    }
    return params;
  }

  // --- drawing -----------------------------------------------------------------------------------
  function table(summary) {
    const node = $("table");
    const withIssued = ["service", "day", "hour"].indexOf(summary.group_by) >= 0;
    const columns = [[LABELS[summary.group_by], function (r) { return r.label; }]];
    if (withIssued) columns.push(["report_col_issued", function (r) { return QK.number(r.issued); }]);
    let all = columns.concat(COLUMNS, withIssued ? UNSERVED_COLUMNS : [], TIME_COLUMNS,
                             summary.ratings_available ? RATING_COLUMNS : []);
    const compact = $("view").value === "compact";
    if (compact) all = all.filter(function (c, i) { return i === 0 || MAIN.indexOf(c[0]) >= 0; });
    node.classList.toggle("compact", compact);
    const head = QK.el("thead");
    const headRow = QK.el("tr");
    all.forEach(function (c) { headRow.appendChild(QK.el("th", null, QK.msg(c[0]))); });
    head.appendChild(headRow);
    const body = QK.el("tbody");
    summary.rows.forEach(function (row) {
      const tr = QK.el("tr");
      tr.dataset.key = row.key === null ? "" : String(row.key);
      all.forEach(function (c, i) { tr.appendChild(QK.el(i ? "td" : "th", null, c[1](row))); });
      body.appendChild(tr);
    });
    const foot = QK.el("tfoot");
    const total = QK.el("tr", "total");
    const totalRow = Object.assign({}, summary.total);
    all.forEach(function (c, i) {
      let text = c[1](totalRow);
      if (i === 0) text = QK.msg("report_total");
      total.appendChild(QK.el(i ? "td" : "th", null, text));
    });
    foot.appendChild(total);
    node.replaceChildren(head, body, foot);
  }

  function chart(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({animation: false, responsive: true, maintainAspectRatio: false,
                                    plugins: {legend: {position: "bottom"}}}, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function drawCharts(summary, peaks) {
    const hours = peaks.hours.map(function (h) { return h.label.slice(0, 5); });
    chart("chart-arrivals", {type: "bar", data: {labels: hours, datasets: [
      {label: QK.msg("report_col_arrivals_per_day"), data: peaks.hours.map(function (h) { return h.arrivals_per_day; }),
       backgroundColor: "#0b4f9c"}]}});
    chart("chart-waiting", {type: "line", data: {labels: hours, datasets: [
      {label: QK.msg("report_col_waiting_avg"), data: peaks.hours.map(function (h) { return h.waiting_avg; }),
       borderColor: "#b3261e", backgroundColor: "#b3261e", tension: 0.2},
      {label: QK.msg("report_col_waiting_max"), data: peaks.hours.map(function (h) { return h.waiting_max; }),
       borderColor: "#e8a33d", backgroundColor: "#e8a33d", borderDash: [6, 4], tension: 0.2}]}});
    const rows = summary.rows;
    chart("chart-groups", {type: "bar", data: {labels: rows.map(function (r) { return r.label; }), datasets: [
      {label: QK.msg("report_col_wait_avg"), backgroundColor: "#b3261e",
       data: rows.map(function (r) { return r.wait.avg === null ? null : Math.round(r.wait.avg / 6) / 10; })},
      {label: QK.msg("report_col_service_avg"), backgroundColor: "#1b7f3b",
       data: rows.map(function (r) { return r.service_time.avg === null ? null : Math.round(r.service_time.avg / 6) / 10; })}]}});
  }

  function show(summary, peaks, daily) {
    const period = summary.period;
    $("report-title").textContent = QK.msg("report_title_summary", {group: QK.msg("report_group_" + summary.group_by)});
    $("report-period").textContent = QK.msg("report_meta_period") + ": " + period.label;
    // the dates only when the label does not say them already ("Quý IV năm 2026"), said once
    let span = period.span === period.label ? "" : period.span;
    if (period.basis === "nd09") span += (span ? " — " : "") + QK.msg("period_basis_nd09");
    $("report-span").textContent = span;
    $("report-span").hidden = !span;
    const today = QK.localNow(page.timezone).date.split("-");
    $("place-date").textContent = QK.msg("report_print_place_date",
      {place: page.place || QK.msg("report_print_no_place"), day: today[2], month: today[1], year: today[0]});
    $("summary-text").textContent = daily.text;
    $("empty").hidden = summary.total.issued > 0;
    shown = summary;
    table(summary);
    $("report").hidden = false;
    drawCharts(summary, peaks);
    document.body.dataset.report = "ready";
  }

  // --- bookings: per service, from /api/v1/reports/bookings over the period's days ----------------
  function bookingRows(figures) {
    const per = {};
    figures.days.forEach(function (day) {
      if (!day.service) return;
      const row = per[day.service] || (per[day.service] = {});
      BOOKING_FIGURES.forEach(function (f) { row[f.name] = (row[f.name] || 0) + f.count(day); });
    });
    return Object.keys(page.services).filter(function (code) {
      return per[code] && Object.keys(per[code]).some(function (k) { return per[code][k] > 0; });
    }).map(function (code) { return Object.assign({code: code, label: page.services[code].vi}, per[code]); });
  }

  function showBookings(figures) {
    const rows = bookingRows(figures);
    $("bookings").hidden = rows.length === 0;
    const head = QK.el("thead");
    const headRow = QK.el("tr");
    headRow.appendChild(QK.el("th", null, QK.msg("report_col_service")));
    BOOKING_FIGURES.forEach(function (f) { headRow.appendChild(QK.el("th", null, QK.msg(f.column))); });
    head.appendChild(headRow);
    const body = QK.el("tbody");
    const total = {};
    rows.forEach(function (row) {
      const tr = QK.el("tr");
      tr.dataset.service = row.code;
      tr.appendChild(QK.el("th", null, row.label));
      BOOKING_FIGURES.forEach(function (f) {
        tr.appendChild(QK.el("td", null, QK.number(row[f.name])));
        total[f.name] = (total[f.name] || 0) + row[f.name];
      });
      body.appendChild(tr);
    });
    const foot = QK.el("tfoot");
    const sum = QK.el("tr", "total");
    sum.appendChild(QK.el("th", null, QK.msg("report_total")));
    BOOKING_FIGURES.forEach(function (f) { sum.appendChild(QK.el("td", null, QK.number(total[f.name] || 0))); });
    foot.appendChild(sum);
    $("bookings-table").replaceChildren(head, body, foot);
  }

  function loadBookings(period) {
    const days = new URLSearchParams({from: period.first_day, to: period.last_day});
    return QK.api("GET", "/api/v1/reports/bookings?" + days.toString()).then(function (answer) {
      if (answer.ok) showBookings(answer.data);
      else $("bookings").hidden = true;
    });
  }

  // --- by procedure: what the clerks picked with the dossier code at the counter ------------------
  // (/api/v1/reports/procedures; shown once any service has procedures or a ticket carries one)
  function showProcedures(figures) {
    const lines = figures.procedures;
    const any = lines.some(function (line) { return line.procedure !== null; });
    $("procedures").hidden = !(any || page.has_procedures);
    const head = QK.el("thead");
    const headRow = QK.el("tr");
    ["report_col_service", "report_col_procedure", "report_col_served", "report_col_with_dossier",
     "report_col_service_avg"].forEach(function (key) { headRow.appendChild(QK.el("th", null, QK.msg(key))); });
    head.appendChild(headRow);
    const body = QK.el("tbody");
    lines.forEach(function (line) {
      const tr = QK.el("tr");
      tr.dataset.service = line.service || "";
      tr.dataset.procedure = line.procedure || "";
      const service = page.services[line.service];
      tr.appendChild(QK.el("th", null, service ? service.vi : (line.service || "–")));
      tr.appendChild(QK.el("td", null, line.procedure === null ? QK.msg("report_procedure_none")
        : (line.name || line.procedure)));
      tr.appendChild(QK.el("td", null, QK.number(line.served)));
      tr.appendChild(QK.el("td", null, QK.number(line.with_dossier)));
      tr.appendChild(QK.el("td", null, line.average_service_minutes === null ? "–"
        : QK.number(line.average_service_minutes, 1)));
      body.appendChild(tr);
    });
    const foot = QK.el("tfoot");
    const sum = QK.el("tr", "total");
    sum.appendChild(QK.el("th", null, QK.msg("report_total")));
    sum.appendChild(QK.el("td"));
    sum.appendChild(QK.el("td", null, QK.number(figures.totals.served)));
    sum.appendChild(QK.el("td", null, QK.number(figures.totals.with_dossier)));
    sum.appendChild(QK.el("td"));
    foot.appendChild(sum);
    $("procedures-table").replaceChildren(head, body, foot);
  }

  function loadProcedures(period) {
    const days = new URLSearchParams({from: period.first_day, to: period.last_day});
    return QK.api("GET", "/api/v1/reports/procedures?" + days.toString()).then(function (answer) {
      if (answer.ok) showProcedures(answer.data);
      else $("procedures").hidden = true;
    });
  }

  function load() {
    const params = query();
    params.set("group_by", $("group").value);
    const address = new URLSearchParams(params);
    address.set("view", $("view").value);
    history.replaceState(null, "", "?" + address.toString());
    QK.reportFiles.point("", "/api/v1/reports/summary", params);  // the same report as files
    const bare = query();
    $("error").hidden = true;
    $("file-error").hidden = true;  // (a file refused for the period shown before: not this one's)
    document.body.dataset.report = "loading";
    Promise.all([
      QK.api("GET", "/api/v1/reports/summary?" + params.toString()),
      QK.api("GET", "/api/v1/reports/peak-hours?" + bare.toString()),
      QK.api("GET", "/api/v1/reports/daily?" + bare.toString()),
    ]).then(function (answers) {
      const failed = answers.find(function (a) { return !a.ok; });
      if (failed) {
        QK.reportFiles.sayRefused($("error"), failed);
        $("error").hidden = false;
        document.body.dataset.report = "error";
        return;
      }
      show(answers[0].data, answers[1].data, answers[2].data);
      return Promise.all([loadBookings(answers[0].data.period), loadProcedures(answers[0].data.period)])
        .then(function () { document.body.dataset.bookings = "ready"; }, networkError);
    }, networkError);
  }

  // --- the files: fetched by the page and saved from it (report_files.js), a refusal said here ----
  QK.reportFiles.wire("", $("file-error"));

  // the server could not be reached (for the report, or for its bookings and procedures after it)
  function networkError() {
    $("error").textContent = QK.msg("page_network_error");
    $("error").hidden = false;
  }

  // --- dates as Vietnamese write them (dd/mm/yyyy), whatever the browser's own language ---------
  // The native date field keeps the ISO value the page sends; it is hidden, and a text field in
  // dd/mm/yyyy (with hh:mm for a range) shows and edits it, with a button for the calendar.
  // Returns the function that shows the native value in the text field.
  const dateFields = [];

  function vietnameseDate(input, withTime) {
    const text = QK.el("input", "vn-date");
    text.type = "text";
    text.inputMode = "numeric";
    text.id = input.id + "-vn";
    text.placeholder = withTime ? "dd/mm/yyyy hh:mm" : "dd/mm/yyyy";
    text.size = withTime ? 16 : 10;
    text.setAttribute("aria-label", QK.msg("sup_date_field", {format: text.placeholder}));
    const calendar = QK.el("button", "calendar", "▾");
    calendar.type = "button";
    calendar.setAttribute("aria-label", QK.msg("sup_date_calendar"));
    input.classList.add("native-date");
    input.tabIndex = -1;
    input.setAttribute("aria-hidden", "true");
    input.before(text, calendar);

    function show() {
      const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(input.value);
      text.value = m ? m[3] + "/" + m[2] + "/" + m[1] + (withTime ? " " + (m[4] || "00") + ":" + (m[5] || "00") : "") : "";
      text.setCustomValidity("");
    }
    function take() {
      const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+(\d{1,2})[:h](\d{2}))?\s*$/.exec(text.value);
      const iso = m && m[3] + "-" + pad(Number(m[2])) + "-" + pad(Number(m[1])) +
        (withTime ? "T" + pad(Number(m[4] || 0)) + ":" + (m[5] || "00") : "");
      const valid = m && !isNaN(Date.parse(iso.slice(0, 10) + "T00:00:00Z")) &&
        new Date(iso.slice(0, 10) + "T00:00:00Z").getUTCDate() === Number(m[1]);
      text.setCustomValidity(valid ? "" : QK.msg("sup_date_invalid", {format: text.placeholder}));
      if (valid) input.value = iso;
    }
    input.addEventListener("change", show);
    text.addEventListener("change", take);
    calendar.addEventListener("click", function () {
      try { input.showPicker(); } catch (error) { text.focus(); }
    });
    return show;
  }
  QK.vietnameseDate = vietnameseDate;  // also the sites' comparison's days (reports_sites.js)
  dateFields.push(vietnameseDate($("day"), false), vietnameseDate($("from"), true), vietnameseDate($("to"), true));
  function showDates() { dateFields.forEach(function (show) { show(); }); }

  // another kind of period: a date field left half-typed shows its last good date again (a
  // hidden invalid field would silently stop the form)
  $("kind").addEventListener("change", function () { showChoices(); showDates(); });
  $("controls").addEventListener("submit", function (event) { event.preventDefault(); load(); });
  $("print").addEventListener("click", function () { window.print(); });
  $("view").addEventListener("change", function () {  // the columns only: nothing asked again
    const address = new URLSearchParams(window.location.search);
    address.set("view", $("view").value);
    history.replaceState(null, "", "?" + address.toString());
    if (shown) table(shown);
  });
  $("copy").addEventListener("click", function () {
    const text = $("summary-text").textContent;
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { $("copy").textContent = QK.msg("sup_copied"); });
  });
  window.addEventListener("beforeprint", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });

  QK.supervisor(function () {
    defaults();
    fromAddress();
    showDates();
    load();
  });
})();
