/* The lobby display: live through Socket.IO only (no polling).
 * On every (re)connect it subscribes to its display and draws the `state` snapshot, then
 * follows the events. Counter rows and service lines are in the HTML; this fills them in. */
(function () {
  "use strict";

  const page = QK.page();
  const offline = document.getElementById("offline");
  const problem = document.getElementById("problem");
  const historyList = document.getElementById("history");

  const current = {};   // counter number -> the ticket it called last today, or null
  const paused = {};    // counter number -> true while paused
  const waiting = {};   // service code -> {waiting, priority}
  let history = [];     // latest calls, newest first
  const flashTimers = {};

  QK.clock(document.getElementById("clock-time"), document.getElementById("clock-date"), page.timezone);

  function row(counter) {
    return document.querySelector('.counter-row[data-counter="' + Number(counter) + '"]');
  }

  function drawCounter(counter) {
    const node = row(counter);
    if (!node) return;
    const ticket = current[counter];
    const num = node.querySelector(".num");
    num.textContent = ticket ? ticket.display : "—";
    num.classList.toggle("empty", !ticket);
    node.querySelector(".state").hidden = !paused[counter];
    node.classList.toggle("paused", !!paused[counter]);
  }

  function flash(counter) {
    const node = row(counter);
    if (!node) return;
    node.classList.remove("flash");
    void node.offsetWidth;  // restart the animation when a number is called again
    node.classList.add("flash");
    clearTimeout(flashTimers[counter]);
    flashTimers[counter] = setTimeout(function () { node.classList.remove("flash"); }, page.highlight_seconds * 1000);
  }

  function drawHistory(freshId) {
    const items = history.slice(0, page.history_size).map(function (call, index) {
      const item = QK.el("li", index === 0 && call.id === freshId ? "fresh" : "");
      const number = QK.el("span", "number", call.display);
      if (call.recall) number.appendChild(QK.el("span", "again", QK.msg("display_recall")));
      item.appendChild(number);
      item.appendChild(QK.el("span", "where", QK.msg("display_to_counter", {counter: call.called_by})));
      return item;
    });
    historyList.replaceChildren.apply(historyList, items);
  }

  function drawWaiting() {
    document.querySelectorAll(".waiting-list li[data-service]").forEach(function (item) {
      const entry = waiting[item.dataset.service];
      item.querySelector(".count").textContent = entry ? entry.waiting : 0;
    });
  }

  function onState(snapshot) {
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    page.counters.forEach(function (number) { current[number] = null; paused[number] = false; });
    (snapshot.counters || []).forEach(function (counter) {
      current[counter.number] = counter.ticket || counter.last_call;  // a finished call stays shown
      paused[counter.number] = counter.state === "paused";
    });
    Object.assign(waiting, snapshot.waiting || {});
    history = snapshot.history || [];
    page.counters.forEach(drawCounter);
    drawHistory(null);
    drawWaiting();
    QK.setLive("live");
  }

  function onCall(recall) {
    return function (event) {
      const counter = event.counter;
      current[counter] = event.ticket;
      paused[counter] = false;
      drawCounter(counter);
      if (event.waiting) {  // a call carries the new waiting counts (no separate queue.changed)
        Object.assign(waiting, event.waiting);
        drawWaiting();
      }
      flash(counter);
      history.unshift(Object.assign({}, event.ticket, {called_by: counter, recall: recall}));
      history = history.slice(0, page.history_size);
      drawHistory(event.ticket.id);
    };
  }

  const socket = io({reconnectionDelayMax: 5000});
  QK.watchConnection(socket, offline);

  socket.on("connect", function () {
    socket.emit("subscribe", {display: page.display}, function (answer) {
      if (answer && answer.error) {
        problem.textContent = answer.error.message;
        problem.hidden = false;
      } else {
        problem.hidden = true;
      }
    });
  });
  socket.on("state", onState);
  socket.on("ticket.called", onCall(false));
  socket.on("ticket.recalled", onCall(true));
  socket.on("queue.changed", function (event) {
    Object.assign(waiting, event.waiting || {});
    drawWaiting();
  });
  socket.on("counter.changed", function (event) {
    paused[event.counter] = event.state === "paused";
    drawCounter(event.counter);
  });
})();
