/* The public booking page (server/web/templates/book/page.html; docs/bookings.md).
 *
 * Steps: service -> day (or a same-day remote number) -> slot with its free places -> name, phone,
 * optional ID number -> the booking: its code, a QR code to show at the kiosk, a calendar file and
 * the link to this booking's own page, where it can be cancelled. /book/<code> opens that page.
 * Every text comes from the catalogs (QK.say); English at one tap. Data goes in with textContent only.
 */
(function () {
  "use strict";

  const page = QK.page();
  const body = document.body;
  const steps = {};
  document.querySelectorAll("section.step").forEach(function (node) { steps[node.dataset.step] = node; });
  const byId = function (id) { return document.getElementById(id); };
  const state = {service: null, day: null, slot: null, remote: false, busy: false, booking: null, pending: null,
                 goneDay: null};  // goneDay: the day #day-error says went
  const trail = [];  // the steps behind the current one, for "back"

  function serviceOf(code) {
    return page.services.find(function (s) { return s.code === code; });
  }

  function show(step, quiet) {
    const current = body.dataset.step;
    if (!quiet && current !== step) trail.push(current);
    Object.keys(steps).forEach(function (name) { steps[name].hidden = name !== step; });
    body.dataset.step = step;
    window.scrollTo(0, 0);
    const heading = steps[step].querySelector("h1");
    if (heading && current !== undefined) { heading.tabIndex = -1; heading.focus({preventScroll: true}); }
  }

  function back() {
    const previous = trail.pop();
    if (previous) show(previous, true);
  }

  /** "Thứ Ba, 24/11" for a YYYY-MM-DD day (the days' names: the kiosk's and the display's, one source). */
  function dayParams(day) {
    const weekday = "kiosk_day_" + QK.weekdayOf(day);
    return {weekday: {vi: QK.msg(weekday, null, "vi"), en: QK.msg(weekday, null, "en")},
            date: day.slice(8, 10) + "/" + day.slice(5, 7) + "/" + day.slice(0, 4)};
  }

  function choice(className) {
    const button = QK.el("button", "choice " + (className || ""));
    button.type = "button";
    return button;
  }

  // --- the steps ---------------------------------------------------------------------------

  function drawServices() {
    byId("services").replaceChildren.apply(byId("services"), page.services.map(function (service) {
      const button = choice("service");
      button.dataset.service = service.code;
      const name = QK.el("span", "name");
      name.dataset.vi = service.vi;
      if (service.en) name.dataset.en = service.en;
      button.appendChild(name);
      if (service.examples) {
        const sub = QK.el("span", "sub");
        sub.dataset.vi = service.examples.vi;
        if (service.examples.en) sub.dataset.en = service.examples.en;
        button.appendChild(sub);
      }
      return button;
    }));
    QK.translate(byId("services"));
  }

  function chooseService(code) {
    const service = serviceOf(code);
    state.service = service;
    byId("day-error").hidden = true;
    const chosen = byId("day-service");
    chosen.dataset.vi = service.vi;
    if (service.en) chosen.dataset.en = service.en; else delete chosen.dataset.en;
    drawRemote();
    drawDays();
    show("day");
  }

  // the chosen service's days: when it is chosen, and again when the setup changes (a holiday saved); the
  // note that a day went (dayGone) goes once that day is offered again (the holiday removed)
  function drawDays() {
    byId("days").replaceChildren.apply(byId("days"), state.service.days.map(function (day) {
      const button = choice("day");
      button.dataset.day = day;
      return QK.say(button, "book_day", dayParams(day));
    }));
    if (state.service.days.indexOf(state.goneDay) >= 0) byId("day-error").hidden = true;
    QK.translate(steps.day);
  }

  /** Why today's number cannot be taken now: a holiday, a day that is not a working day (its working
   *  days named, as the kiosk's closed screen names them), else the hours. */
  function closedReason() {
    const opening = page.opening;
    const today = opening && QK.localNow(page.timezone);
    if (today && opening.holidays.indexOf(today.date) >= 0) return ["book_remote_closed_holiday", page.hours];
    if (today && opening.days.indexOf(today.day) < 0) {
      return ["book_remote_closed_day", Object.assign({}, page.hours, {
        days: {vi: QK.daysText(opening.days, "vi"), en: QK.daysText(opening.days, "en")}})];
    }
    return ["book_remote_closed", page.hours];
  }

  // a number for today only while the centre is open (as issuing checks it); else when it opens
  function drawRemote() {
    const service = state.service;
    if (!service) return;
    byId("take-remote").hidden = !service.remote || !remoteOpen;
    const closed = byId("remote-closed");
    closed.hidden = !service.remote || remoteOpen;
    if (!closed.hidden) QK.say.apply(QK, [closed].concat(closedReason()));
    // a form for today's number left open past closing says so at once, not when it is sent
    const late = state.remote && !remoteOpen;
    const note = byId("form-closed");
    note.hidden = !late;
    if (late) QK.say(note, "book_remote_closed_now", page.hours);
    byId("submit").disabled = late || state.busy;
  }

  // A page left open follows the hours: it offers the number from the opening time and stops at the
  // closing time, on the server's clock (page.server_time; the phone's may be wrong), checked just after
  // each minute turns and when the phone shows the page again (a hidden tab's timers run late).
  let remoteOpen = page.remote_open;
  let hoursTimer = null;
  function followHours() {
    clearTimeout(hoursTimer);
    if (!page.opening) return;  // the server ignores the hours (--ignore-hours): always open
    const now = QK.openNow(page.opening, page.timezone);
    if (now !== remoteOpen) {
      remoteOpen = now;
      drawRemote();
    }
    hoursTimer = setTimeout(followHours, QK.toNextMinute());
  }

  // --- a saved setup change (server/web/live_setup.py): every open page follows it without a reload ---

  // The citizen's language choice is kept on this phone (the booking's own page, a reload, /book again),
  // or asked for by the link (?lang=en). Vietnamese first otherwise, whatever the phone's own language:
  // many Vietnamese phones are set to English.
  const LANGUAGE_KEY = "queuekiosk.book.lang";

  function chosenLanguage() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (asked === "en" || asked === "vi") return asked;
    try { return localStorage.getItem(LANGUAGE_KEY) || "vi"; } catch (error) { return "vi"; }
  }

  function chooseLanguage(lang) {
    QK.setLang(lang);
    try { localStorage.setItem(LANGUAGE_KEY, lang); } catch (error) { /* private mode: for this page only */ }
  }

  /** The language button only while the centre offers English (site.languages, changed in /admin). */
  function offerLanguages() {
    const english = page.languages.indexOf("en") >= 0;
    byId("lang").hidden = !english;
    if (!english && QK.lang() !== "vi") QK.setLang("vi");
  }

  /** The page's data again (English, services, hours), drawn where the citizen is. */
  function adoptSetup() {
    QK.api("GET", "/book/page.json").then(function (answer) {
      if (!answer.ok || !answer.data) return;
      if (JSON.stringify(answer.data.retired || null) !== JSON.stringify(page.retired || null)) {
        location.reload();  // retired, reopened, or sent elsewhere: the page is drawn anew by the server
        return;
      }
      QK.replaceData(page, Object.assign(answer.data, {code: page.code}));
      QK.setServerTime(page.server_time);
      remoteOpen = page.remote_open;
      offerLanguages();
      drawServices();
      const chosen = state.service && serviceOf(state.service.code);
      if (chosen) {  // its day list and the chosen day's slots as they are now (a holiday saved drops that day)
        state.service = chosen;
        drawDays();
        relistSlots();
      }
      drawRemote();
      followHours();
    }, function () { /* unreachable now: asked again at the next connect */ });
  }

  let socket = null;
  let watched = null;  // the ticket whose room this page is in (a remote number's, while it holds)

  function followSetup() {
    if (typeof io !== "function") return;  // (the Socket.IO client did not load: the page works as it was)
    socket = io({reconnectionDelayMax: 10000});
    let connects = 0;
    socket.on("connect", function () {
      QK.setLive("live");
      watched = null;  // a new connection is in no room
      if (connects++ > 0) {  // a change may have come while the phone was away
        adoptSetup();
        refreshBooking();
      }
      followBooking();
    });
    socket.on("disconnect", function () { QK.setLive("offline"); });
    socket.on("config.changed", adoptSetup);
    // a remote number that ends while its page is open (cancelled on another tab, lapsed past its deadline,
    // checked in at the kiosk): told to its ticket's room, the signal only; the booking is asked for again
    ["booking.cancelled", "booking.lapsed", "ticket.issued"].forEach(function (kind) { socket.on(kind, refreshBooking); });
    document.addEventListener("visibilitychange", function () {  // a phone asleep misses events
      if (!document.hidden && socket.connected) refreshBooking();
    });
  }

  /** A remote number's page follows its ticket's room while the number holds (booked). */
  function followBooking() {
    const booking = state.booking;
    if (!socket || !socket.connected || !booking || booking.status !== "booked" || !booking.ticket) return;
    if (watched === booking.ticket) return;
    watched = booking.ticket;
    // once in the room, the booking asked for again: a change before that (a check-in while the phone was
    // still connecting) reached no room this page was in
    socket.emit("subscribe", {ticket: booking.ticket}, function (answer) {
      if (answer && answer.ok) refreshBooking();
    });
  }

  /** The booking shown, as it is now (redrawn only when its status changed). */
  function refreshBooking() {
    const shown = state.booking;
    if (!shown || shown.status !== "booked") return;
    QK.api("GET", "/api/v1/bookings/" + encodeURIComponent(shown.code), undefined, QK.lang()).then(function (result) {
      if (!result.ok || state.booking !== shown || result.data.status === shown.status) return;
      if (result.data.status === "checked_in") result.data.notify = shown.notify;  // the ticket took its opt-in over
      showBooking(result.data, state.fresh);
    }, function () { /* unreachable now: asked again at the next connect */ });
  }

  function chooseDay(day) {
    state.day = day;
    state.remote = false;
    byId("day-error").hidden = true;
    QK.say(byId("slot-day"), "book_day", dayParams(day));
    byId("slots").replaceChildren();
    byId("slot-error").hidden = true;
    steps.slot.querySelector(".note").hidden = true;
    show("slot");
    listSlots();
  }

  /** The chosen day's slots with their free places, drawn on the slot step; ``then(slots)`` once drawn
   *  (an answer for a service or day chosen before the current one is dropped). */
  function listSlots(then) {
    const list = byId("slots");
    const service = state.service.code, day = state.day;
    QK.api("GET", "/api/v1/services/" + encodeURIComponent(service) + "/slots?date=" + day, undefined,
           QK.lang()).then(function (result) {
      if (state.service.code !== service || state.day !== day) return;
      if (!result.ok) { showProblem(list, result); return; }
      steps.slot.querySelector(".note").hidden = result.data.length > 0;
      list.replaceChildren.apply(list, result.data.map(function (slot) {
        const button = choice("slot");
        button.dataset.start = slot.start;
        button.dataset.end = slot.end;
        button.disabled = slot.free <= 0;
        button.appendChild(QK.el("span", "name", slot.start + "–" + slot.end));
        button.appendChild(QK.say(QK.el("span", "sub"), slot.free > 0 ? "book_free" : "book_full", {n: slot.free}));
        return button;
      }));
      if (then) then(result.data);
    }, function () { showProblem(list, null); });
  }

  /** After a setup saved in /admin (any change) or a reconnect: the chosen day's slots listed anew. A day
   *  no longer offered (a holiday saved on it, its weekday off, today's last slot begun) sends the citizen back to the days,
   *  told why (dayGone). On the form, the chosen slot and what was typed are kept while that slot is still
   *  offered with a free place; else the citizen is back at the list, told why: the slot is full now, its
   *  time has begun (the server's clock passed it), or it is no longer one of the centre's times. */
  function relistSlots() {
    const step = body.dataset.step;
    if (!state.day || state.remote || (step !== "slot" && step !== "form")) return;
    if (state.service.days.indexOf(state.day) < 0) {  // (a booking being sent: its answer says where to go)
      if (step === "slot" || !state.busy) dayGone();
      return;
    }
    const chosen = step === "form" ? state.slot : null;
    listSlots(function (slots) {
      if (!chosen || state.busy || body.dataset.step !== "form" || state.remote || state.slot !== chosen) return;
      const listed = slots.find(function (slot) { return slot.start === chosen.start && slot.end === chosen.end; });
      if (listed && listed.free > 0) return;
      if (trail[trail.length - 1] === "slot") back();
      else show("slot", true);
      const note = byId("slot-error");
      const why = listed ? "book_slot_taken" : hasBegun(state.day, chosen.start) ? "book_slot_begun" : "book_slot_gone";
      QK.say(note, why, {start: chosen.start});
      note.hidden = false;
    });
  }

  /** ``start`` ("HH:MM") of ``day`` has come on the server's clock (every time of a day gone by has). */
  function hasBegun(day, start) {
    const now = QK.localNow(page.timezone);
    return day < now.date || (day === now.date && start + ":00" <= now.time);
  }

  /** The chosen day takes no bookings any more: back to the day list, told why: the refusal of the booking
   *  sent (``result``: a holiday or a day off saved meanwhile), or a holiday saved on it (page.opening, none
   *  under --ignore-hours), or all its times listed have begun (today's last one, or a day gone by), else
   *  that the centre no longer takes bookings on it (its weekday no longer a working day, fewer days ahead,
   *  an earlier closing time). */
  function dayGone(result) {
    const note = byId("day-error"), day = state.day;
    const holiday = page.opening && page.opening.holidays.indexOf(day) >= 0;
    const starts = Array.prototype.map.call(byId("slots").querySelectorAll("button[data-start]"),
                                            function (button) { return button.dataset.start; });
    const over = hasBegun(day, "00:00") && starts.every(function (start) { return hasBegun(day, start); });
    const why = holiday ? "book_day_holiday" : over ? "book_day_over" : "book_day_gone";
    if (result) sayProblem(note, result);
    else QK.say(note, why, {date: dayParams(day).date});
    state.goneDay = day;
    state.day = null;
    state.slot = null;
    const at = trail.lastIndexOf("day");
    if (at >= 0) {
      trail.length = at + 1;
      back();
    } else show("day", true);
    note.hidden = false;
  }

  function chooseSlot(start, end) {
    state.slot = {start: start, end: end};
    QK.say(byId("summary"), "book_summary", Object.assign(dayParams(state.day), {
      service: {vi: state.service.vi, en: state.service.en || state.service.vi}, start: start, end: end}));
    openForm();
  }

  function chooseRemote() {
    state.remote = true;
    QK.say(byId("summary"), "book_summary_remote", {service: {vi: state.service.vi, en: state.service.en || state.service.vi}});
    openForm();
  }

  function openForm() {
    byId("form-error").hidden = true;
    BOXES.forEach(function (id) { sayUnder(id, null); });
    forgetCode();  // a new request needs a new code
    drawRemote();
    show("form");
  }

  // the SMS code asked for is dropped: the next press of the button asks for a new one
  function forgetCode() {
    state.pending = null;
    byId("sms-box").hidden = true;
    byId("sms_code").value = "";
    sayUnder("sms_code", null);
  }

  // a field's refusal said with the label the citizen sees ("Số điện thoại: ..."), not the API's key
  const FIELD_LABELS = {name: "book_name", phone: "book_phone", id_number: "book_id_number", sms_code: "book_sms_code"};

  const BOXES = Object.keys(FIELD_LABELS);  // the form's boxes, in its order

  /** One refusal (the error, or one of its ``others``) in each language ({vi, en}): a field's with the label
   *  the citizen sees (the refusal's translations, the labels from the catalog), else its own sentence. */
  function refusalTexts(each) {
    const text = {};
    ["vi", "en"].forEach(function (lang) {
      const said = (each.translations || {})[lang] || each;
      const label = each.problem && FIELD_LABELS[each.field];
      text[lang] = label ? QK.msg("page_field_problem", {label: QK.msg(label, null, lang), problem: said.problem || each.problem}, lang)
        : said.message || each.message;
    });
    return text;
  }

  // said in the page's language, and again in the other one when the citizen switches; every field
  // refused at once (``others``), one after another
  function sayProblem(node, result, refused) {
    const error = result && result.data && result.data.error;
    if (!result) return QK.say(node, "page_network_error");
    if (!error) return QK.sayError(node, result);
    const texts = (refused || [error].concat(error.others || [])).map(refusalTexts);
    const text = {};
    ["vi", "en"].forEach(function (lang) { text[lang] = texts.map(function (each) { return each[lang]; }).join(" · "); });
    return QK.say(node, "page_said", {text: text});
  }

  /** What is wrong with box ``id``, said just below it ({vi, en}; null: nothing), the box marked (red) and
   *  described by it (a screen reader says it with the box), until the citizen types in it. */
  function sayUnder(id, text) {
    const box = byId(id), note = byId(id + "-error");
    note.hidden = !text;
    if (text) {
      QK.say(note, "page_said", {text: text});
      box.setAttribute("aria-invalid", "true");
      box.setAttribute("aria-describedby", note.id);
    } else {
      box.removeAttribute("aria-invalid");
      box.removeAttribute("aria-describedby");
    }
  }

  /** A refusal of the form, as a form on a phone says it: each refused box's message under that box, the
   *  rest (a field without a box, the booking's own refusal) at the top. Returns the first box refused in
   *  the form's order (to focus), or null. */
  function showFormProblem(result) {
    const top = byId("form-error");
    if (!result) { showProblem(top, null); return null; }  // not reached: the boxes stay as they were told
    const error = result.data && result.data.error;
    const refused = error ? [error].concat(error.others || []) : [];
    const boxed = {};
    refused.forEach(function (each) {  // (a box hidden now, the SMS code's once dropped, has its message at the top)
      if (FIELD_LABELS[each.field] && !byId(each.field).closest("[hidden]")) boxed[each.field] = each;
    });
    BOXES.forEach(function (id) { sayUnder(id, boxed[id] ? refusalTexts(boxed[id]) : null); });
    const rest = refused.filter(function (each) { return boxed[each.field] !== each; });
    top.hidden = false;  // (an alert: a screen reader says it even when the focus stays in the box it was in)
    if (error && rest.length === 0) QK.say(top, "book_check_boxes", {n: Object.keys(boxed).length});
    else sayProblem(top, result, error ? rest : null);
    return byId(BOXES.find(function (id) { return boxed[id]; }) || "") || null;
  }

  function showProblem(node, result) {
    if (node === byId("slots")) {
      node.replaceChildren(sayProblem(QK.el("p", "message error"), result));
    } else {
      sayProblem(node, result);
      node.hidden = false;
    }
  }

  function submit(event) {
    event.preventDefault();
    if (state.busy) return;
    const request = {service: state.service.code, name: byId("name").value, phone: byId("phone").value};
    const idNumber = byId("id_number").value.replace(/\s/g, "");
    if (idNumber) request.id_number = idNumber;
    if (page.notify && byId("notify").checked) request.notify = true;  // told at N ahead and when called
    if (state.remote) request.remote = true;
    else { request.date = state.day; request.start = state.slot.start; }
    if (state.pending) {  // the centre confirms phones with a code by SMS (booking.sms_code)
      request.sms_code = byId("sms_code").value.replace(/\s/g, "");
      request.pending = state.pending;
    }
    state.busy = true;
    byId("submit").disabled = true;
    // one key for the same request until it is answered: a tap again after a lost answer gets the booking
    // the first made (its code), not a refusal for booking twice
    const sent = JSON.stringify(request);
    if (!state.unanswered || state.unanswered.body !== sent) state.unanswered = {body: sent, key: QK.newKey()};
    const headers = {"Idempotency-Key": state.unanswered.key};
    let focusNext = null;
    QK.api("POST", "/api/v1/bookings", request, QK.lang(), headers).then(function (result) {
      if (result.status < 500) state.unanswered = null;  // (a proxy's 502 may follow a booking made: keep the key)
      if (result.status === 201) {
        trail.length = 0;
        state.pending = null;
        showBooking(result.data, true);
      } else if (result.status === 202 && result.data.sms_code_sent) {
        state.pending = result.data.pending;
        byId("form-error").hidden = true;
        QK.say(byId("sms-sent"), "book_sms_sent", {phone: result.data.phone});
        byId("sms-box").hidden = false;
        byId("sms_code").focus();
      } else {
        const error = (result.data && result.data.error) || {};
        // taken meanwhile, or no longer a slot (the centre saved other hours at that moment)
        if (error.code === "slot_full" || error.code === "booking_hours_changed") {
          chooseDay(state.day);  // the slots as they are now, and why the citizen is back there
          showProblem(byId("slot-error"), result);
          return;
        }
        if (error.code === "booking_holiday" || error.code === "booking_closed_day") {
          dayGone(result);  // saved while it was sent: back to the days, as a saved change seen first does
          return;
        }
        if (!state.remote && state.service.days.indexOf(state.day) < 0) {
          dayGone();  // refused otherwise after relistSlots left the day gone to this answer: not offered now
          return;
        }
        const asksAnew = error.code === "sms_code_void" || error.code === "sms_code_expired";
        // "Xác nhận" asks anew: the button is where to go next (the code's box is gone, its message at the top)
        if (asksAnew) forgetCode();
        const first = showFormProblem(result);
        focusNext = asksAnew ? byId("submit") : first;
      }
    }, function () { showFormProblem(null); }).finally(function () {
      state.busy = false;
      drawRemote();
      if (focusNext) {  // (once the button is enabled again), in the middle of a phone's screen, its message below
        focusNext.focus({preventScroll: true});
        focusNext.scrollIntoView({block: "center"});
      }
    });
  }

  // --- a booking's own page ------------------------------------------------------------------

  function showBooking(booking, fresh) {
    state.booking = booking;
    state.fresh = fresh;
    const code = booking.code;
    const remote = booking.kind === "remote";
    const service = serviceOf(booking.service) || booking.service_name || {vi: booking.service};
    body.dataset.state = booking.status;
    QK.say(byId("done-title"), fresh ? (remote ? "book_remote_title" : "book_booked_title") : "book_booking_title");
    byId("number-box").hidden = !remote;
    byId("number").textContent = remote ? booking.number : "";
    const serviceNode = byId("done-service");
    serviceNode.dataset.vi = service.vi;
    if (service.en) serviceNode.dataset.en = service.en;
    if (remote) QK.say(byId("when"), "book_remote_deadline", {deadline: booking.deadline});
    else QK.say(byId("when"), "book_when", Object.assign(dayParams(booking.date), {start: booking.start, end: booking.end}));
    byId("code").textContent = code;
    byId("qr").src = QK.url("/api/v1/bookings/" + code + "/qr.svg");
    QK.say(byId("done-hint"), remote ? "book_remote_hint_done" : "book_show_qr");
    // cancelled by the centre (its day or hours closed, its site retired): said so, with why
    // (a remote number of today, its deadline after a new closing time already past, has no slot to name)
    const reason = booking.cancel_reason === "hours_changed" && remote ? "hours_changed_remote" : booking.cancel_reason;
    const cancelled = reason ? "book_status_cancelled_" + reason : "book_status_cancelled";
    const statusKey = {checked_in: "book_status_checked_in", cancelled: cancelled,
                       lapsed: "book_status_lapsed"}[booking.status];
    const status = byId("done-status");
    status.hidden = !statusKey;
    if (statusKey) QK.say(status, statusKey, Object.assign(dayParams(booking.date), {number: booking.number, start: booking.start, end: booking.end}));
    const ics = byId("ics");
    ics.hidden = remote || booking.status !== "booked";
    ics.href = QK.url("/api/v1/bookings/" + code + "/booking.ics");
    byId("manage").href = QK.url("/book/" + code);
    byId("manage").hidden = !fresh;
    const told = byId("done-notify");  // the opt-in made with it (answered only when booking)
    told.hidden = !(fresh && booking.notify);
    if (fresh && booking.notify) QK.say(told, "book_notify_done", {address: booking.notify.address, ahead: booking.notify.ahead});
    const track = byId("track");  // a number's tracking page: where to go, then the queue live
    track.hidden = !booking.track_url || (booking.status !== "booked" && booking.status !== "checked_in");
    if (booking.track_url) track.href = booking.track_url;
    drawPush(booking);
    const ended = booking.status === "cancelled" || booking.status === "lapsed";  // nothing to come for
    ["qr", "done-hint", "when"].forEach(function (id) { byId(id).hidden = ended; });
    // checked in: the number is given, so no "scan this QR code at the kiosk" (the code stays, for staff)
    if (booking.status === "checked_in") byId("qr").hidden = byId("done-hint").hidden = true;
    byId("cancel").hidden = booking.status !== "booked";
    byId("cancel-confirm").hidden = true;
    byId("done-error").hidden = true;
    QK.translate(steps.done);
    show("done", true);
    followBooking();
  }

  // --- "Thông báo trên điện thoại này": Web Push for this booking (server/web/static/push.js) -------
  // Until check-in the subscription is the booking's (POST /api/v1/bookings/{code}/notifications,
  // kept sealed); the ticket the kiosk gives it takes it over, as an SMS opt-in. Offered while the
  // booking is booked, when the centre has Web Push and this browser can subscribe here.

  function drawPush(booking) {
    const box = byId("push-box");
    if (!box) return;
    box.hidden = booking.status !== "booked" || !QK.push.usable();
    byId("push").hidden = false;
    byId("push-error").hidden = true;
    QK.say(byId("push-hint"), "book_push_hint", {ahead: page.push.ahead});
  }

  function subscribePush() {
    const code = state.booking.code;
    const button = byId("push");
    button.disabled = true;
    byId("push-error").hidden = true;
    QK.push.subscribe(QK.url("/book/sw.js"), QK.url("/book/" + code)).then(function (subscription) {
      return QK.api("POST", "/api/v1/bookings/" + encodeURIComponent(code) + "/notifications",
                    {channel: "push", address: subscription, language: QK.lang()}, QK.lang()).then(function (result) {
        if (!result.ok) { showProblem(byId("push-error"), result); return; }
        button.hidden = true;
        QK.say(byId("push-hint"), "book_push_done", {ahead: page.push.ahead});
      }, function () { showProblem(byId("push-error"), null); });
    }, function (problem) {
      const error = byId("push-error");
      QK.say(error, problem && problem.message === "denied" ? "book_push_denied" : "book_push_failed");
      error.hidden = false;
    }).finally(function () { button.disabled = false; });
  }

  function cancel() {
    byId("cancel").hidden = true;
    byId("cancel-confirm").hidden = false;  // a second, deliberate tap
  }

  function confirmCancel() {
    QK.api("DELETE", "/api/v1/bookings/" + state.booking.code, undefined, QK.lang()).then(function (result) {
      if (result.ok) showBooking(result.data, false);
      else showProblem(byId("done-error"), result);
    }, function () { showProblem(byId("done-error"), null); });
  }

  function openBooking(code) {
    show("done", true);
    QK.api("GET", "/api/v1/bookings/" + encodeURIComponent(code), undefined, QK.lang()).then(function (result) {
      if (result.ok) showBooking(result.data, false);
      else {
        byId("cancel").hidden = byId("ics").hidden = byId("manage").hidden = true;
        byId("qr").hidden = true;
        showProblem(byId("done-error"), result);
      }
    }, function () { showProblem(byId("done-error"), null); });
  }

  // --- events ------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button || button.disabled) return;
    if (button.classList.contains("back")) back();
    else if (button.dataset.service) chooseService(button.dataset.service);
    else if (button.dataset.day) chooseDay(button.dataset.day);
    else if (button.dataset.start) chooseSlot(button.dataset.start, button.dataset.end);
    else if (button.id === "take-remote") chooseRemote();
    else if (button.id === "push") subscribePush();
    else if (button.id === "cancel") cancel();
    else if (button.id === "cancel-confirm") confirmCancel();
    else if (button.id === "lang") chooseLanguage(QK.otherLang());
  });
  byId("details").addEventListener("submit", submit);
  // the code sent is for the request as it was: a corrected name, phone or ID number needs a new one
  ["name", "phone", "id_number", "sms_code"].forEach(function (id) {
    byId(id).addEventListener("input", function () {
      const wasMarked = byId(id).getAttribute("aria-invalid") === "true";
      sayUnder(id, null);
      if (wasMarked) countMarked();
      if (id !== "sms_code" && state.pending) forgetCode();
    });
  });

  /** The alert above the button ("3 details are not right") follows the boxes still marked. */
  function countMarked() {
    const top = byId("form-error");
    if (top.hidden || top.dataset.t !== "book_check_boxes") return;
    const left = BOXES.filter(function (id) { return byId(id).getAttribute("aria-invalid") === "true"; }).length;
    if (left) QK.say(top, "book_check_boxes", {n: left});
    else top.hidden = true;
  }

  if (page.server_time) QK.setServerTime(page.server_time);
  if (chosenLanguage() === "en" && page.languages.indexOf("en") >= 0) QK.setLang("en");
  followHours();
  followSetup();
  document.addEventListener("visibilitychange", function () { if (!document.hidden) followHours(); });
  if (page.notify) QK.say(byId("notify-hint"), "book_notify_hint", {ahead: page.notify.ahead});
  drawServices();
  if (page.code) openBooking(page.code);
  else show("service", true);
}());
