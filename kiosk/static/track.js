/* The tracking page on a citizen's phone: one ticket, live through Socket.IO only.
 * On every (re)connect it subscribes to its ticket and redraws from the `state` snapshot,
 * then follows the ticket.* events of that ticket's room. Everything is written with
 * textContent (QK.setBi / QK.setPair), never innerHTML. */
(function () {
  "use strict";

  const page = QK.page();
  const body = document.body;
  const offline = document.getElementById("offline");
  const problem = document.getElementById("problem");
  const call = document.getElementById("call");
  const status = document.getElementById("status");
  const where = document.getElementById("where");
  const facts = document.getElementById("facts");

  let ticket = page.ticket;  // what the server rendered; every snapshot and event replaces it

  function setOptionalBi(node, key, params) {
    node.hidden = !key;
    if (key) QK.setBi(node, key, params);
    else node.replaceChildren();
  }

  function draw() {
    const names = page.services[ticket.service] || {vi: ticket.service};
    document.getElementById("number").textContent = ticket.display;
    QK.setPair(document.getElementById("service"), names.vi, names.en);
    body.dataset.status = ticket.status;
    document.title = ticket.display + " — " + QK.msg("track_title");

    // a remote number ends cancelled by its citizen or lapsed (not checked in by its deadline), as the
    // page and each snapshot tell it (ended_by); one checked in and still waiting when the day ended
    // expired as any number does; "no longer holds" only when how it ended is not known
    const remoteEnded = ticket.status === "expired" && ticket.origin === "remote" && ticket.ended_by !== "checked_in";
    const statusKey = remoteEnded
      ? ({cancelled: "track_status_remote_cancelled", lapsed: "track_status_remote_lapsed"}[ticket.ended_by] ||
         "track_status_remote_ended")
      : "track_status_" + ticket.status;
    if (QK.msg(statusKey) !== statusKey) QK.setBi(status, statusKey);
    else status.textContent = ticket.status;

    // a number that no longer holds (cancelled, lapsed, its day ended) is struck through under a plain
    // "Số đã hủy": nobody shows it at a counter as if it were valid
    const ended = ticket.status === "expired" ? (ticket.ended_by === "cancelled" ? "cancelled" : "expired") : null;
    if (ended) body.dataset.void = ended;
    else delete body.dataset.void;
    setOptionalBi(document.getElementById("void"), ended && "track_void_" + ended);

    setOptionalBi(call, ticket.status === "called" ? "track_go_to_counter" : null, {counter: ticket.counter});
    if (ticket.status === "serving" && ticket.counter) setOptionalBi(where, "track_at_counter", {counter: ticket.counter});
    else if (ticket.status === "waiting" && ticket.target_counter) {
      setOptionalBi(where, "track_for_counter", {counter: ticket.target_counter});
    } else if (ticket.status === "remote" && ticket.deadline) {  // a remote number: come and check in by then
      setOptionalBi(where, "track_remote_where", {deadline: ticket.deadline});
    } else setOptionalBi(where, null);

    facts.hidden = ticket.status !== "waiting";
    if (ticket.status === "waiting") {
      QK.setBi(document.getElementById("ahead"), "page_people_ahead", {n: ticket.waiting_ahead});
      const eta = document.getElementById("eta");
      const range = ticket.eta_range || [ticket.eta_minutes, ticket.eta_minutes];  // [low, high] minutes
      if (ticket.eta_minutes === null && ticket.target_counter) {  // sent to a counter that is not open
        QK.setBi(eta, "track_eta_counter_closed", {counter: ticket.target_counter});
      } else if (ticket.eta_minutes === null) QK.setBi(eta, "track_eta_no_counter");  // no open counter serves it
      else if (range[0] < range[1]) QK.setBi(eta, "track_eta_range", {low: range[0], high: range[1]});
      else if (ticket.eta_minutes) QK.setBi(eta, "track_eta", {n: ticket.eta_minutes});
      else QK.setBi(eta, "track_eta_now");
    }
  }

  function flashCall() {
    call.classList.remove("flash");
    void call.offsetWidth;  // restart the animation on a recall
    call.classList.add("flash");
  }

  function isMine(view) {
    return view && view.id === page.ticket.id;
  }

  function onState(snapshot) {
    if (!snapshot || !isMine(snapshot.ticket)) return;
    ticket = Object.assign({}, ticket, snapshot.ticket);
    draw();
    QK.setLive("live");
  }

  function onEvent(kind) {
    return function (event) {
      if (!event || !isMine(event.ticket)) return;
      const next = Object.assign({}, ticket, event.ticket);
      if (!next.counter && event.counter && (kind === "called" || kind === "recalled")) next.counter = event.counter;
      if (kind === "expired" && next.origin === "remote") {
        // the event does not say how a remote number ended (ended_by): a fresh snapshot does
        subscribe();
        return;
      }
      const moved = next.service !== ticket.service;
      ticket = next;
      draw();
      if (kind === "called" || kind === "recalled") flashCall();
      if (moved) subscribe();  // transferred to another service: follow that queue's moves
    };
  }

  // Someone of its queue called, a counter opened, paused or closed: the people ahead and the wait
  // change. The server sends the queue's moves, not each ticket's wait (that would be one message
  // per waiting phone); the page asks for its own, after a short random delay so that the phones
  // of a queue do not all ask at the same instant, and once for a burst of moves.
  let refreshing = null;

  function queueMoved(event) {
    // a remote number follows its queue too: its check-in at the kiosk moves the queue
    if ((ticket.status !== "waiting" && ticket.status !== "remote") || refreshing) return;
    if (event && event.waiting && !(ticket.service in event.waiting)) return;
    refreshing = setTimeout(function () {
      fetch(QK.url("/api/v1/tickets/" + encodeURIComponent(page.ticket.id)), {headers: {"Accept": "application/json"}})
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (view) {
          refreshing = null;
          if (isMine(view) && view.status === "expired" && view.origin === "remote") subscribe();  // how it ended
          else if (isMine(view) && (view.status === ticket.status || ticket.status === "remote")) {
            ticket = Object.assign({}, ticket, view);
            draw();
          }
        })
        .catch(function () { refreshing = null; });  // offline: the next move or reconnect redraws it
    }, 200 + Math.random() * 1300);
  }

  const socket = io({reconnectionDelayMax: 5000});
  QK.watchConnection(socket, offline);

  function subscribe() {
    socket.emit("subscribe", {ticket: page.ticket.id}, function (answer) {
      if (answer && answer.error) {
        problem.textContent = answer.error.message;
        problem.hidden = false;
      } else {
        problem.hidden = true;
      }
    });
  }

  socket.on("connect", subscribe);
  socket.on("state", onState);
  QK.followSetup(socket, page, subscribe);  // a renamed service shows at once
  ["called", "recalled", "started", "finished", "no_show", "transferred", "requeued", "expired"].forEach(function (kind) {
    socket.on("ticket." + kind, onEvent(kind));
  });
  socket.on("queue.changed", queueMoved);
  socket.on("counter.changed", queueMoved);
  // a remote number cancelled (on another tab) or lapsed (not checked in by its deadline): its snapshot says how
  socket.on("booking.cancelled", subscribe);
  socket.on("booking.lapsed", subscribe);
  // a phone asleep misses events: coming back to the page (phone unlocked, tab shown) asks for a fresh snapshot
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && socket.connected) subscribe();
  });

  draw();
})();
