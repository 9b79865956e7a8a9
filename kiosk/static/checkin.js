/* The kiosk's "Tôi đã đặt lịch / I have a booking" step (kiosk/templates/kiosk/page.html; docs/bookings.md).
 *
 * A citizen holds the booking's QR code (its manage link, on the phone) or the front of the chip ID
 * card (CCCD) to the kiosk's barcode scanner, or types the booking code, or the card's 12-digit number
 * (a kiosk without a scanner, a phone gone flat), on the on-screen keys. A USB
 * scanner types like a keyboard, fast, ending with Enter: on the check-in screen the code field takes
 * it; on any other screen a burst of keys (each within SCAN_GAP_MS of the one before) ending with
 * Enter is taken as a scan as well, so nobody has to find the button first. The answer is a ticket,
 * printed and shown like any other, marked as booked. An ID card with no booking today takes a
 * walk-in number instead: the citizen chooses the service, and the card still holds one number a day.
 * Runs after kiosk.js and uses its screens (window.QKKiosk).
 */
(function () {
  "use strict";

  const kiosk = window.QKKiosk;
  const page = QK.page();
  const input = document.getElementById("checkin-code");
  const keys = document.getElementById("checkin-keys");
  // every digit (a CCCD number has 0s and 1s), then the letters of booking codes (no I or O:
  // server/core/bookings/views.py)
  const KEYS = "1234567890ABCDEFGHJKLMNPQRSTUVWXYZ";
  const ID_NUMBER = /^[0-9]{12}$/;  // a CCCD's number typed: checked in as the card's scan would be
  // a booking code: 8 of its letters and digits (server/core/bookings/views.py CODE_ALPHABET: no 0, 1, I, O)
  const BOOKING_CODE = /^[ABCDEFGHJKLMNPQRSTUVWXYZ2-9]{8}$/i;
  const SCAN_GAP_MS = 80;  // a scanner types faster than this between keys (usually under 20 ms), a person slower
  const SCAN_MIN = 8;  // the shortest burst taken as a scan: a booking code
  // a walk-in number for the card then (a scanned card booked for another day is told which day; one
  // booked today at another centre of the installation, which centre, and whether its time has passed)
  const NO_BOOKING = ["booking_not_found_for_card", "card_holds_number", "card_booked_other_day",
    "booked_other_site", "booked_other_site_passed"];
  let burst = "";
  let lastKeyAt = 0;

  function send(request) {
    if (kiosk.state.busy) return;
    request.kiosk = page.kiosk;
    const token = kiosk.deviceToken();
    kiosk.setBusy(true);
    QK.api("POST", "/api/v1/check-in", request, QK.lang(), token ? {Authorization: "Bearer " + token} : {})
      .then(function (answer) {
        kiosk.setBusy(false);
        input.value = "";
        const error = (answer.data && answer.data.error) || {};
        if (answer.ok) kiosk.showTicket(answer.data);
        else if (NO_BOOKING.indexOf(error.code) >= 0 && !request.service && !request.code) numberForCard(request, answer);
        else kiosk.refused(answer, request.service);
      }, function () {
        kiosk.setBusy(false);
        kiosk.showProblem("kiosk_error_title", "page_network_error");
      });
  }

  /** What was scanned or typed: the card's QR text has fields split by "|"; twelve digits are the
   *  card's number; a booking code, or the manage link of the booking's QR code (the server reads the
   *  code from it), is a code. Digits that are no booking code (too few or too many, a 0 or 1), or
   *  twelve characters with digits among them, are a card's number mistyped: sent as one, so that the
   *  citizen hears what /book says ("Số căn cước công dân phải gồm đúng 12 chữ số"), not "code not found". */
  function requestFor(text) {
    if (text.indexOf("|") >= 0) return {cccd_qr: text.trim()};
    const typed = text.replace(/\s/g, "");
    if (ID_NUMBER.test(typed)) return {id_number: typed};
    const idLike = /^[0-9]+$/.test(typed) || (typed.length === 12 && /[0-9]/.test(typed) && typed.indexOf("/") < 0);
    return idLike && !BOOKING_CODE.test(typed) ? {id_number: typed} : {code: typed};
  }

  /** No booking today for this card (or number): the citizen chooses a service, and the number is the
   *  card's. The note above the services says so, or which number the card holds already, or (a card
   *  scanned: its holder is here) the centre of the installation it is booked at today and when, or the
   *  day and time of their booking. A typed number can be anyone's (Decree 13/2023: where a person will
   *  be is theirs to tell): it is told neither, the same whether booked elsewhere or not, only to scan
   *  the card or the booking's QR code, or to see the link or SMS. An unpaired kiosk (no device token) is
   *  answered so for a scanned card too (docs/bookings.md): it says only what holds either way, no booking
   *  here today, go to the other centre if booked there (a scan would tell no more). */
  function numberForCard(card, answer) {
    kiosk.body.dataset.card = "true";
    const note = document.querySelector("#screen-services .card-note");
    if (answer.data.error.code !== "booking_not_found_for_card") QK.sayError(note, answer);
    else if (!kiosk.deviceToken()) QK.say(note, "kiosk_unpaired_choose_service");
    else QK.say(note, card.id_number ? "kiosk_id_choose_service" : "kiosk_card_choose_service");
    kiosk.state.takeFor = function (service, priority) {  // after the same priority step as any walk-in
      const request = Object.assign({}, card, {service: service});
      if (priority) request.priority = priority;
      send(request);
    };
    kiosk.showStart();
  }

  function open() {
    input.value = "";
    kiosk.showScreen("checkin");
    input.focus();
  }

  keys.replaceChildren.apply(keys, KEYS.split("").map(function (letter) {
    const key = QK.el("button", "key", letter);
    key.type = "button";
    key.dataset.key = letter;
    return key;
  }).concat([(function () {
    const erase = QK.say(QK.el("button", "key wide"), "kiosk_checkin_erase");
    erase.type = "button";
    erase.dataset.erase = "";
    return erase;
  }())]));

  document.getElementById("screens").addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button || button.disabled || kiosk.state.busy || Date.now() < kiosk.state.armedUntil) return;
    if (button.classList.contains("checkin-open")) open();
    else if (button.dataset.key) input.value += button.dataset.key;
    else if (button.dataset.erase !== undefined) input.value = input.value.slice(0, -1);
    kiosk.touch();
  });

  document.getElementById("checkin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if (input.value.trim()) send(requestFor(input.value));
  });

  document.addEventListener("keydown", function (event) {
    if (event.target === input) return;  // the code field takes the scan; its Enter submits the form
    const now = Date.now();
    if (now - lastKeyAt > SCAN_GAP_MS) burst = "";
    lastKeyAt = now;
    if (event.key === "Enter") {
      const scanned = burst;
      burst = "";
      if (scanned.length >= SCAN_MIN) {
        event.preventDefault();
        send(requestFor(scanned));
      }
    } else if (event.key.length === 1) {
      burst += event.key;
    }
  });
}());
