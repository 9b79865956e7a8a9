/* The dashboard's "Lịch hẹn hôm nay": today's bookings and remote numbers, by slot, with who came
 * (docs/bookings.md). Read from GET /api/v1/bookings once the supervisor is signed in, and again
 * every minute while the dashboard is open. */
(function () {
  "use strict";

  const work = document.getElementById("work");
  const table = document.getElementById("bookings");
  const none = document.getElementById("no-bookings");
  const REFRESH_MS = 60000;
  const STATUS = {booked: "dash_booking_waiting", checked_in: "dash_booking_here", cancelled: "dash_booking_cancelled",
                  lapsed: "dash_booking_lapsed"};
  let timer = null;

  function draw(bookings) {
    const body = QK.el("tbody");
    bookings.forEach(function (b) {
      const tr = QK.el("tr", "booking " + b.status);
      tr.dataset.code = b.code;
      tr.appendChild(QK.el("th", null, b.kind === "remote" ? QK.msg("dash_booking_remote") : b.start + "–" + b.end));
      tr.appendChild(QK.el("td", "service", b.service));
      tr.appendChild(QK.el("td", "name", b.name));
      tr.appendChild(QK.el("td", "status", QK.msg(STATUS[b.status], {number: b.number})));
      body.appendChild(tr);
    });
    table.replaceChildren(body);
    none.hidden = bookings.length > 0;
  }

  function load() {
    QK.api("GET", "/api/v1/bookings").then(function (answer) {
      if (answer.ok) draw(answer.data.bookings);
    }, function () { /* the dashboard says itself when the server is out of reach */ });
  }

  function follow() {  // the supervisor signed in (or out): start (or stop) reading
    clearInterval(timer);
    if (!work.hidden) {
      load();
      timer = setInterval(load, REFRESH_MS);
    }
  }

  new MutationObserver(follow).observe(work, {attributes: true, attributeFilter: ["hidden"]});
  follow();
}());
