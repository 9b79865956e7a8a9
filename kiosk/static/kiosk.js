/* The touch kiosk (kiosk/templates/kiosk/page.html; docs/kiosk.md describes each screen).
 *
 * Steps: [field ->] service [-> priority] -> the number, which goes back to the start by itself.
 * One request at a time: while a ticket is being issued every button is disabled, and each new
 * screen ignores taps for a moment, so a double tap gives one ticket and never picks something
 * on the next screen by accident.
 * Notices: closed hours (page data + a check once a minute, or the API's 409 "closed" / "closed_holiday" / "closed_day"), an
 * exhausted number range (409 "range_exhausted"), a database that cannot take the ticket (503
 * "database_full" / "database_busy" / "database_damaged": a note for staff), a network error, the Socket.IO connection
 * dropping (full screen until it is back), and the kiosk's printer out of paper or offline
 * (a banner; numbers are still issued). Every text comes from server/core/i18n.py through QK.say*.
 * Voice, for a citizen who cannot read the screen: the "Nghe hướng dẫn / Listen" button, or
 * Enter, + or 0 on a USB numeric keypad, says the current screen (its question, then each choice
 * with its key); 1-9 choose, - goes back. From then on each new screen is said by itself, and so
 * is the number issued. The audio is the kiosk server's own WAV (sounds/web.py), no network.
 */
(function () {
  "use strict";

  const page = QK.page();
  const body = document.body;
  const SCALES = [0.85, 1, 1.2, 1.4];  // A- A A+: body font-size factors
  const DEFAULT_SCALE = 1;
  const ARM_MS = 450;  // a new screen ignores taps this long (the second tap of a double tap)
  const RESULT_ARM_MS = 800;  // ... the number stays at least this long
  const OFFLINE_GRACE_MS = 1200;  // a connection back within this time shows no notice
  const RETRIES = 2;  // a tap whose answer was lost is sent again (same Idempotency-Key) after 1 s, then 2 s
  // a tap the database did not confirm (503 database_outcome_unknown) is sent once more, same key, after
  // this: the ticket comes back if it was issued, else it is issued once
  const UNCONFIRMED_RETRY_MS = 1500;
  const PRINTER_TROUBLE = {paper_out: true, offline: true};  // tickets still issued, none printed

  const screensNode = document.getElementById("screens");
  const screens = {};
  screensNode.querySelectorAll(".screen").forEach(function (node) { screens[node.dataset.name] = node; });
  // set by buildStart() from the page data: fields first (many services), a priority step
  let grouped = false;
  let startScreen = "services";
  let hasPriorities = false;
  let newSetup = null;  // page data of a saved setup change, drawn once the citizen is at the start

  const serviceGrid = document.getElementById("service-grid");
  const fieldGrid = document.getElementById("field-grid");
  const priorityGrid = document.getElementById("priority-grid");
  const fieldName = document.getElementById("field-name");
  const busyMark = document.getElementById("busy");
  const closedNotice = document.getElementById("closed");
  const offlineNotice = document.getElementById("offline");
  const banner = document.getElementById("printer-banner");
  const printerNote = document.getElementById("printer-note");
  const result = screens.result;
  const problem = screens.problem;

  const state = {
    screen: startScreen,
    field: null,      // the field chosen on the first screen (grouped kiosks)
    service: null,    // the service chosen, while asking for the priority class
    busy: false,      // a ticket request is on its way
    armedUntil: 0,    // Date.now() before which the current screen ignores taps
    scale: DEFAULT_SCALE,
    contrast: false,
    printer: null,    // {state, detail} from the server, or null while unknown
    closedByServerUntil: 0,
    voice: false,     // the citizen asked for the voice: each new screen, and the number, are said
  };
  // a paired kiosk (config limits.require_kiosk_token) keeps the device token it was opened with once
  const tokenKey = "queuekiosk.kiosk-token." + page.kiosk;
  let deviceToken = QK.tokenFromAddress();
  try {
    if (deviceToken) localStorage.setItem(tokenKey, deviceToken);
    else deviceToken = localStorage.getItem(tokenKey);
  } catch (e) { /* private mode: this visit only */ }

  let backTimer = null;
  let armTimer = null;
  let idleTimer = null;
  let hoursTimer = null;
  let offlineTimer = null;

  QK.setServerTime(page.server_time);
  QK.clock(document.getElementById("clock-time"), document.getElementById("clock-date"), page.timezone);

  // --- buttons, screens, layout -----------------------------------------------------------

  function screenButtons() {
    return Array.from(screensNode.querySelectorAll("button"));
  }

  function refreshButtons() {
    const armed = Date.now() < state.armedUntil;
    body.classList.toggle("arming", armed && !state.busy);
    body.classList.toggle("busy", state.busy);
    screenButtons().forEach(function (button) { button.disabled = state.busy || armed; });
  }

  function arm(ms) {
    state.armedUntil = Date.now() + ms;
    clearTimeout(armTimer);
    armTimer = setTimeout(refreshButtons, ms + 10);
    refreshButtons();
  }

  function setBusy(on) {
    state.busy = on;
    busyMark.hidden = !on;
    refreshButtons();
  }

  /** Columns for ``count`` buttons: big buttons, no scrolling for the usual 2–12 choices. */
  function columns(count) {
    const portrait = window.innerHeight > window.innerWidth;
    if (count <= 1) return 1;
    if (portrait) return count <= 10 ? 2 : 3;
    if (count === 2 || count === 4) return 2;
    return count <= 9 ? 3 : 4;
  }

  function layout(grid) {
    if (!grid) return;
    const count = Array.from(grid.children).filter(function (child) { return !child.hidden; }).length;
    const cols = columns(count);
    grid.style.setProperty("--cols", cols);
    grid.style.setProperty("--rows", Math.max(1, Math.ceil(count / cols)));
  }

  function layoutAll() {
    screensNode.querySelectorAll(".grid").forEach(layout);
  }

  function showScreen(name, quiet) {
    Object.keys(screens).forEach(function (key) { screens[key].hidden = key !== name; });
    state.screen = name;
    body.dataset.screen = name;
    layout(screens[name].querySelector(".grid"));
    if (!quiet) arm(name === "result" ? RESULT_ARM_MS : ARM_MS);
    touch();
    if (state.voice) speakScreen();
  }

  function showServices(field, quiet) {
    state.field = field;
    serviceGrid.querySelectorAll("button.service").forEach(function (button) {
      button.hidden = grouped && button.dataset.field !== field;
    });
    screens.services.querySelector(".back").hidden = !grouped;
    fieldName.hidden = !(grouped && field);
    if (grouped && field) QK.sayName(fieldName, page.fields[field]);
    showScreen("services", quiet);
  }

  // --- the first screens, drawn from the page data ------------------------------------------

  function choiceButton(className, names, examples) {
    const button = QK.el("button", "choice " + className);
    button.type = "button";
    button.appendChild(QK.sayName(QK.el("span", "name"), names));
    if (examples) button.appendChild(QK.sayName(QK.el("span", "examples"), examples));
    return button;
  }

  function buildStart() {
    const codes = page.service_order;
    grouped = Object.keys(page.fields).length > 0;
    startScreen = grouped ? "fields" : "services";
    hasPriorities = Object.keys(page.priorities).length > 0;
    const fieldButtons = Object.keys(page.fields).map(function (key) {
      const button = choiceButton("field", page.fields[key]);
      button.dataset.field = key;
      button.appendChild(QK.say(QK.el("span", "count"), "kiosk_field_count", {n: page.fields[key].count}));
      return button;
    });
    const directButtons = grouped ? codes.filter(function (code) { return !page.services[code].field; })
      .map(function (code) {
        const button = choiceButton("service-direct", page.services[code], page.services[code].examples);
        button.dataset.service = code;
        return button;
      }) : [];
    fieldGrid.replaceChildren.apply(fieldGrid, fieldButtons.concat(directButtons));
    serviceGrid.replaceChildren.apply(serviceGrid, codes.map(function (code) {
      const button = choiceButton("service", page.services[code], page.services[code].examples);
      button.dataset.service = code;
      button.dataset.field = page.services[code].field || "";
      return button;
    }));
    priorityGrid.replaceChildren.apply(priorityGrid, page.priority_order.map(function (code) {
      const button = choiceButton("priority", page.priorities[code]);
      button.dataset.priority = code;
      return button;
    }));
    refreshButtons();
  }

  /** Draw a saved setup change (services, fields, priority classes, hours) from its page data. */
  function adoptSetup() {
    QK.replaceData(page, Object.assign({}, newSetup, {server_time: page.server_time}));
    newSetup = null;
    body.dataset.setupHeld = "false";
    offerLanguages();
    buildStart();
    checkHours();
  }

  /** The English button only where the centre offers English (site.languages, changed in /admin). */
  function offerLanguages() {
    const english = page.languages.indexOf("en") >= 0;
    if (langSwitch) langSwitch.hidden = !english;
    if (!english && QK.lang() !== "vi") setLanguage("vi");
  }

  /** The first screen; ``quiet``: taps count at once (no tap just before could land on it).
   *  A setup change that came while a citizen was half-way is drawn now. */
  function showStart(quiet) {
    if (newSetup && !state.busy) adoptSetup();
    state.field = null;
    state.service = null;
    if (grouped) showScreen("fields", quiet);
    else showServices(null, quiet);
  }

  function back() {
    if (state.screen === "priority" && state.field) showServices(state.field);
    else showStart();
  }

  // --- the citizen's settings: language, text size, contrast (all reset for the next citizen)

  function setScale(scale) {
    state.scale = scale;
    body.style.setProperty("--qk-scale", String(scale));
    body.dataset.scale = String(scale);
    document.getElementById("text-smaller").disabled = scale === SCALES[0];
    document.getElementById("text-larger").disabled = scale === SCALES[SCALES.length - 1];
    document.getElementById("text-default").setAttribute("aria-pressed", scale === DEFAULT_SCALE ? "true" : "false");
  }

  function stepScale(step) {
    const index = SCALES.indexOf(state.scale);
    setScale(SCALES[Math.min(SCALES.length - 1, Math.max(0, index + step))]);
    touch();
  }

  function setContrast(on) {
    state.contrast = on;
    body.classList.toggle("contrast", on);
    document.getElementById("contrast").setAttribute("aria-pressed", on ? "true" : "false");
  }

  function setLanguage(lang) {
    QK.setLang(lang);
    document.title = QK.msg("kiosk_choose_service", null, lang) + " — " + document.querySelector(".bar .site").textContent;
    if (!closedNotice.hidden) fillClosed();
  }

  function atRest() {
    return state.screen === startScreen && QK.lang() === "vi" && state.scale === DEFAULT_SCALE && !state.contrast &&
      !state.voice;
  }

  /** Back to the first screen, in Vietnamese, normal text: ready for the next citizen. */
  function backToStart() {
    clearTimeout(backTimer);
    busyMark.hidden = true;
    setLanguage("vi");
    setScale(DEFAULT_SCALE);
    setContrast(false);
    state.takeFor = null;
    delete body.dataset.card;
    silence();
    showStart();
  }

  function touch() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(idle, page.idle_seconds * 1000);
  }

  function idle() {
    if (state.busy || state.screen === "result" || state.screen === "problem") return touch();
    if (!atRest()) backToStart();
  }

  // --- issuing -------------------------------------------------------------------------------

  function chooseService(code) {
    state.service = code;
    if (!hasPriorities) {
      issue(code, null);
      return;
    }
    QK.say(document.getElementById("chosen-service"), "kiosk_chosen_service", {service: page.services[code] || {vi: code}});
    showScreen("priority");
  }

  // the bar shrinks to its left end by a transform, not its width: the compositor moves it, where a
  // width transition laid out and painted the result screen again at every frame (half the kiosk PC's CPU
  // while a number is shown)
  function countdown(seconds) {
    const bar = document.getElementById("result-countdown");
    bar.style.transition = "none";
    bar.style.transform = "scaleX(1)";
    void bar.offsetWidth;  // start the transition from full width
    bar.style.transition = "transform " + seconds + "s linear";
    bar.style.transform = "scaleX(0)";
  }

  function printerTrouble() {
    return !!(state.printer && PRINTER_TROUBLE[state.printer.state]);
  }

  function showTicket(ticket) {
    const names = page.services[ticket.service] || {vi: ticket.service};
    const noPrint = !page.printer || printerTrouble();
    document.getElementById("result-number").textContent = ticket.display;
    QK.sayName(document.getElementById("result-service"), names);
    const prio = document.getElementById("result-priority");
    prio.hidden = !ticket.priority;
    if (ticket.priority) {
      QK.say(prio, "kiosk_priority_mark", {name: page.priorities[ticket.priority] || {vi: ticket.priority}});
    }
    const booked = document.getElementById("result-booked");  // a booking checked in (checkin.js)
    booked.hidden = !ticket.origin;
    if (ticket.origin === "remote") QK.say(booked, "kiosk_remote_mark");
    else if (ticket.origin) QK.say(booked, ticket.late ? "kiosk_booked_late" : "kiosk_booked_mark", {start: ticket.booking.start});
    QK.say(document.getElementById("result-ahead"), "page_people_ahead", {n: ticket.waiting_ahead});
    const eta = document.getElementById("result-eta");
    const range = ticket.eta_range || [ticket.eta_minutes, ticket.eta_minutes];  // [low, high] minutes
    if (ticket.eta_minutes === null) QK.say(eta, "kiosk_eta_no_counter");  // no open counter serves it
    else if (range[0] < range[1]) QK.say(eta, "kiosk_eta_range", {low: range[0], high: range[1]});
    else if (ticket.eta_minutes) QK.say(eta, "kiosk_eta", {n: ticket.eta_minutes});
    else QK.say(eta, "kiosk_eta_now");
    QK.say(document.getElementById("result-print"), noPrint ? "kiosk_no_print" : "kiosk_take_ticket");
    result.classList.toggle("no-print", noPrint);
    result.dataset.ticket = ticket.id;
    const qr = document.getElementById("result-qr");
    qr.parentNode.hidden = false;
    qr.src = QK.url("/t/" + encodeURIComponent(ticket.id) + "/qr.svg");
    // a citizen listening gets the time to hear the number (twice if they ask again)
    const seconds = Math.max(noPrint ? page.result_seconds_no_print : page.result_seconds, state.voice ? VOICE_RESULT_SECONDS : 0);
    showScreen("result");
    countdown(seconds);
    clearTimeout(backTimer);
    backTimer = setTimeout(backToStart, seconds * 1000);
  }

  /** The problem screen: a bilingual title, either a bilingual message or a given text, and
   *  optionally a bilingual note for staff (what the IT person has to do). */
  function showProblem(titleKey, textKey, params, text, staffKey) {
    QK.sayBi(document.getElementById("problem-title"), titleKey);
    const node = document.getElementById("problem-text");
    if (textKey) QK.sayBi(node, textKey, params);
    else QK.sayText(node, text);
    const staff = document.getElementById("problem-staff");
    staff.hidden = !staffKey;
    if (staffKey) QK.sayBi(staff, staffKey);
    problem.dataset.code = staffKey || textKey || "api";
    showScreen("problem");
    clearTimeout(backTimer);
    backTimer = setTimeout(backToStart, page.error_seconds * 1000);
  }

  /** The database did not confirm a tap, asked twice (issue()): a number may have been issued; the citizen
   * asks staff before tapping again (a new tap is a new key, so a second number). */
  function unconfirmed() {
    showProblem("kiosk_unconfirmed_title", "kiosk_database_outcome_unknown_text", null, null, "database_outcome_unknown");
  }

  function refused(answer, service) {
    const error = (answer.data && answer.data.error) || {};
    if (["closed", "closed_holiday", "closed_day"].includes(error.code)) {
      // the server's clock says closed: believe it for a minute even if ours says open
      state.closedByServerUntil = Date.now() + 60000;
      state.closedMessage = error.message;
      checkHours();
      backToStart();
      return;
    }
    if (error.code === "database_outcome_unknown") {
      unconfirmed();
      return;
    }
    if (["database_full", "database_busy", "database_damaged"].includes(error.code)) {
      // no number was given; the citizen is asked to tap again or tell staff, and staff read what to do
      showProblem("kiosk_system_title", "kiosk_" + error.code + "_text", null, null, error.code);
      return;
    }
    if (error.code === "range_exhausted" || error.code === "daily_limit_reached") {
      showProblem("kiosk_exhausted_title", "kiosk_exhausted_text",
                  {service: page.services[service] || {vi: service}});
      return;
    }
    showProblem("kiosk_error_title", null, null, QK.errorMessage(answer));
  }

  function issue(service, priority) {
    if (state.busy) return;  // a second tap while the first is on its way
    if (state.takeFor) { state.takeFor(service, priority); return; }  // for an ID card with no booking (checkin.js)
    setBusy(true);
    const request = {service: service, kiosk: page.kiosk};
    if (priority) request.priority = priority;
    // one key per tap: if the answer is lost on the way, the retry gets the same ticket back
    const headers = {"Idempotency-Key": QK.newKey()};
    if (deviceToken) headers.Authorization = "Bearer " + deviceToken;
    const attempt = function (tries, askedAgain) {
      QK.api("POST", "/api/v1/tickets", request, QK.lang(), headers).then(function (answer) {
        const code = !answer.ok && answer.data && answer.data.error && answer.data.error.code;
        if (code === "database_outcome_unknown" && !askedAgain) {
          setTimeout(function () { attempt(tries, true); }, UNCONFIRMED_RETRY_MS);
          return;
        }
        setBusy(false);
        if (answer.ok) showTicket(answer.data);
        else if (askedAgain && answer.status >= 500) unconfirmed();  // still not known: never "tap again"
        else refused(answer, service);
      }, function () {
        if (tries < RETRIES) { setTimeout(function () { attempt(tries + 1, askedAgain); }, 1000 * (tries + 1)); return; }
        setBusy(false);
        if (askedAgain) unconfirmed();  // (the first try may have issued a number: a new tap would be another key)
        else showProblem("kiosk_error_title", "page_network_error");
      });
    };
    attempt(0, false);
  }

  // --- the voice: the screen read aloud, a numeric keypad --------------------------------------

  const voiceNode = document.getElementById("kiosk-voice");
  const listenButton = document.getElementById("listen");
  const SPOKEN_SCREENS = {fields: true, services: true, priority: true};
  const VOICE_RESULT_SECONDS = 25;

  /** The buttons of the screen, in the order the voice numbers them (key 1 is the first). */
  function choices() {
    const shown = function (nodes) { return Array.from(nodes).filter(function (b) { return !b.hidden; }); };
    if (state.screen === "fields") return shown(fieldGrid.children);
    if (state.screen === "services") return shown(serviceGrid.children);
    if (state.screen === "priority") return [screens.priority.querySelector(".no-priority")].concat(shown(priorityGrid.children));
    return [];
  }

  function itemOf(button) {
    if (button.dataset.priority !== undefined) return button.dataset.priority;
    return button.dataset.field || button.dataset.service || "";
  }

  function speak(url) {
    voiceNode.src = url;
    body.dataset.spoken = url;
    const playing = voiceNode.play();
    if (playing && playing.catch) playing.catch(function () { /* no sound device: the screen still shows it */ });
  }

  function silence() {
    state.voice = false;
    voiceNode.pause();
    voiceNode.removeAttribute("src");
    listenButton.setAttribute("aria-pressed", "false");
  }

  /** Say the current screen: its question and each choice with its key; on the number, the number. */
  function speakScreen() {
    state.voice = true;
    listenButton.setAttribute("aria-pressed", "true");
    touch();
    const base = QK.url("/api/v1/announcements/kiosk/" + encodeURIComponent(page.kiosk));  // this site's voice
    if (state.screen === "result" && result.dataset.ticket) {
      speak(base + "/tickets/" + encodeURIComponent(result.dataset.ticket) + ".wav?lang=" + QK.lang());
    } else if (SPOKEN_SCREENS[state.screen]) {
      const items = choices().map(itemOf).join(",");
      speak(base + "/guide.wav?screen=" + state.screen + "&items=" + encodeURIComponent(items) + "&lang=" + QK.lang());
    }
  }

  /** The key of a USB numeric keypad (with or without Num Lock) or a keyboard: "0".."9", "+", "-", "Enter". */
  function keyOf(event) {
    const pad = /^Numpad(\d|Add|Subtract|Enter)$/.exec(event.code || "");
    if (pad) return {Add: "+", Subtract: "-", Enter: "Enter"}[pad[1]] || pad[1];
    return event.key;
  }

  // A barcode scanner types too (checkin.js: an ID card's or a booking's QR code), much faster than a
  // person: a key is acted on only when no other follows within KEY_BURST_MS, so a scan's digits
  // never pick a service.
  const KEY_BURST_MS = 90;
  let keyTimer = null;
  let lastKeyAt = 0;

  function keyAction(key, event) {
    const target = event.target;
    const onButton = target && target.tagName === "BUTTON" && target !== listenButton;
    if (key === "+" || key === "0" || (key === "Enter" && (event.code === "NumpadEnter" || !onButton))) {
      return speakScreen;
    }
    if (/^[1-9]$/.test(key)) {
      const button = choices()[Number(key) - 1];
      return button ? function () { state.voice = true; button.click(); } : null;
    }
    if (key === "-") {
      return function () {
        const back = screens[state.screen] && screens[state.screen].querySelector(".back:not([hidden]), .done");
        if (back) back.click();
      };
    }
    return null;
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;  // the check-in code
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const now = Date.now();
    const burst = now - lastKeyAt < KEY_BURST_MS;
    lastKeyAt = now;
    clearTimeout(keyTimer);  // a key right after another: a scanner's burst, not a person
    if (burst) return;
    const action = keyAction(keyOf(event), event);
    if (!action) return;
    event.preventDefault();
    keyTimer = setTimeout(action, KEY_BURST_MS);
  });

  listenButton.addEventListener("click", speakScreen);

  // --- opening hours -------------------------------------------------------------------------

  function isOpenNow() {
    return QK.openNow(page.hours, page.timezone);  // (no hours: the server was started with --ignore-hours)
  }

  /** Today is a working day and its opening is near: from ``page.checkin_from`` on (server/core/bookings/check_in.py). */
  function beforeOpening() {
    if (!page.hours || !page.checkin_from) return false;
    // the working day's hours from the check-in's start to the opening (QK.openNow's days and holidays)
    return QK.openNow(Object.assign({}, page.hours, {open: page.checkin_from, close: page.hours.open}), page.timezone);
  }

  function fillClosed() {
    const hours = page.hours;
    const text = document.getElementById("closed-hours");
    const holiday = document.getElementById("closed-holiday");
    const retired = page.retired;
    const today = QK.localNow(page.timezone);
    // a holiday or a day not worked, even within the opening hours: said as a day off, not "outside hours"
    const dayOff = !!hours && (hours.holidays.indexOf(today.date) >= 0 || hours.days.indexOf(today.day) < 0);
    QK.sayBi(document.getElementById("closed-title"), retired ? "kiosk_retired_title" : dayOff ? "kiosk_off_day_title" : "kiosk_closed_title");
    document.getElementById("closed-come-back").hidden = !!retired;
    if (retired) {  // merged into another site: closed for good, and where to go instead
      if (retired.moved_to) QK.sayBi(text, retired.moved_to_address ? "kiosk_retired_moved_at" : "kiosk_retired_moved", {site: retired.moved_to, address: retired.moved_to_address});
      else QK.sayBi(text, "kiosk_retired_text");
      holiday.hidden = true;
    } else if (hours) {
      QK.sayBi(text, "kiosk_closed_hours", {
        open: hours.open_label, close: hours.close_label,
        days: {vi: QK.daysText(hours.days, "vi"), en: QK.daysText(hours.days, "en")},
      });
      holiday.hidden = hours.holidays.indexOf(today.date) < 0;
    } else {
      QK.sayText(text, state.closedMessage || "");
      holiday.hidden = true;
    }
  }

  function checkHours() {
    clearTimeout(hoursTimer);
    const byServer = Date.now() < state.closedByServerUntil;
    const closed = byServer || !!page.retired || !isOpenNow();
    if (closed) fillClosed();
    if (closed && closedNotice.hidden && state.screen !== "result") showStart(true);
    closedNotice.hidden = !closed;
    body.dataset.closed = closed ? "true" : "false";
    // shortly before opening a booked citizen checks in (checkin.css lifts the notice off its screens)
    body.dataset.early = closed && !byServer && !page.retired && beforeOpening() ? "true" : "false";
    // once a minute, just after the minute turns (or when the server's "closed" runs out)
    let wait = QK.toNextMinute();
    if (byServer) wait = Math.min(wait, state.closedByServerUntil - Date.now() + 50);
    hoursTimer = setTimeout(checkHours, wait);
  }

  // --- the server: connection, printer state -------------------------------------------------

  function setPrinter(printer) {
    state.printer = printer || null;
    body.dataset.printer = printer ? printer.state : "none";
    const trouble = printerTrouble();
    banner.hidden = !trouble;
    printerNote.hidden = !(printer && printer.state === "paper_near_end");
    if (!printerNote.hidden) QK.sayBi(printerNote, "printer_state_paper_near_end");
    if (trouble) {
      const reason = "kiosk_printer_reason_" + printer.state;
      QK.sayBi(banner, "kiosk_printer_banner", {reason: {vi: QK.msg(reason, null, "vi"), en: QK.msg(reason, null, "en")}});
    }
  }

  function onPrinterStatus(event) {
    if (!event) return;
    const ours = (event.kiosks && event.kiosks.indexOf(page.kiosk) >= 0) || (page.printer && event.printer === page.printer);
    if (ours) setPrinter({state: event.state, detail: event.detail});
  }

  function onState(snapshot) {
    if (!snapshot || snapshot.kind !== "kiosk") return;
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    if (snapshot.page) {
      const current = Object.assign({}, page);
      delete current.server_time;
      newSetup = QK.canonical(snapshot.page) === QK.canonical(current) ? null : snapshot.page;
      body.dataset.setupHeld = newSetup ? "true" : "false";  // (held for a citizen half-way: tests wait on it)
      // nobody half-way through taking a number (at the very first screen): draw it at once
      if (newSetup && !state.busy && state.screen === startScreen && !(grouped && state.field)) showStart(true);
    }
    if (snapshot.kiosk && "printer" in snapshot.kiosk) setPrinter(snapshot.kiosk.printer);
    QK.setLive("live");
    checkHours();
  }

  function connectionLost() {
    QK.setLive("offline");
    if (offlineTimer || !offlineNotice.hidden) return;
    offlineTimer = setTimeout(function () {
      offlineTimer = null;
      offlineNotice.hidden = false;
    }, OFFLINE_GRACE_MS);
  }

  function connected(socket) {
    clearTimeout(offlineTimer);
    offlineTimer = null;
    offlineNotice.hidden = true;
    QK.setLive("connected");
    // the state snapshot that follows makes the page whole again (printer state, server clock)
    socket.emit("subscribe", {kiosk: page.kiosk}, function (answer) {
      body.dataset.subscribed = answer && answer.ok ? "ok" : "error";
    });
    checkHours();
  }

  function connect() {
    if (typeof io !== "function") {  // the Socket.IO client did not load: the page still issues tickets
      connectionLost();
      return null;
    }
    const socket = io({reconnectionDelayMax: 3000});
    socket.on("connect", function () { connected(socket); });
    socket.on("disconnect", connectionLost);
    socket.on("connect_error", connectionLost);
    socket.on("state", onState);
    socket.on("printer.status", onPrinterStatus);
    socket.on("config.changed", function () {  // a saved setup change: the new snapshot brings it
      socket.emit("subscribe", {kiosk: page.kiosk});
    });
    socket.on("resync", function () {  // events may have been lost (a message-queue outage): take a fresh state
      socket.emit("subscribe", {kiosk: page.kiosk});
    });
    return socket;
  }

  // --- wiring ----------------------------------------------------------------------------------

  screensNode.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button || button.disabled || state.busy || Date.now() < state.armedUntil) return;
    if (button.classList.contains("back")) back();
    else if (button.classList.contains("done")) backToStart();
    else if (button.classList.contains("field")) showServices(button.dataset.field);
    else if (button.dataset.priority !== undefined) issue(state.service, button.dataset.priority || null);
    else if (button.dataset.service) chooseService(button.dataset.service);
  });

  const langSwitch = document.getElementById("lang-switch");
  if (langSwitch) langSwitch.addEventListener("click", function () { setLanguage(QK.otherLang()); touch(); });
  document.getElementById("text-smaller").addEventListener("click", function () { stepScale(-1); });
  document.getElementById("text-default").addEventListener("click", function () { setScale(DEFAULT_SCALE); touch(); });
  document.getElementById("text-larger").addEventListener("click", function () { stepScale(1); });
  document.getElementById("contrast").addEventListener("click", function () { setContrast(!state.contrast); touch(); });
  document.getElementById("result-qr").addEventListener("error", function () { this.parentNode.hidden = true; });

  document.addEventListener("pointerdown", touch, true);
  document.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  window.addEventListener("resize", layoutAll);

  setScale(DEFAULT_SCALE);
  setPrinter(null);
  buildStart();
  QK.translate();
  showStart(true);
  checkHours();
  connect();

  // for the page tests and for anyone looking with developer tools
  window.QKKiosk = {
    state: state,
    checkHours: checkHours,
    backToStart: backToStart,
    printerStatus: onPrinterStatus,
    // for the check-in step (checkin.js): the same screens, busy mark and refusals as issuing
    body: body, showScreen: showScreen, showStart: showStart, showTicket: showTicket, showProblem: showProblem,
    refused: refused, setBusy: setBusy, touch: touch, deviceToken: function () { return deviceToken; },
  };
})();
