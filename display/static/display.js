/* The lobby display: live through Socket.IO only (no polling), made to run for months.
 *
 * On every (re)connect it subscribes to its display and draws the `state` snapshot whole,
 * then follows the events. Counter rows and service lines are in the HTML; this fills them in.
 * Calls are spoken one after another from `announcement.audio_url`: a new call waits until
 * the one being spoken has ended (the `ended` event), so each is heard in full.
 *
 * Nothing grows with time: the history is cut to its size, the audio queue is bounded, each
 * timer is kept in one variable and cleared before it is set again, and the same few
 * elements (one <audio>, one <img>, one <video>) are reused.
 */
(function () {
  "use strict";

  const page = QK.page();
  const offline = document.getElementById("offline");
  const problem = document.getElementById("problem");
  const historyList = document.getElementById("history");
  const callout = document.getElementById("callout");
  const voice = document.getElementById("voice");
  const soundOff = document.getElementById("sound-off");

  const current = {};   // counter number -> the ticket it called last today, or null
  const paused = {};    // counter number -> true while paused
  const waiting = {};   // service code -> {waiting, priority}
  let history = [];     // latest calls, newest first
  const flashTimers = {};
  let calloutTimer = null;

  QK.clock(document.getElementById("clock-time"), document.getElementById("clock-date"), page.timezone);

  // --- layout: landscape TV or portrait screen ------------------------------------------------
  const portraitQuery = window.matchMedia("(orientation: portrait)");
  function applyLayout() {
    const layout = page.layout === "auto" ? (portraitQuery.matches ? "portrait" : "landscape") : page.layout;
    document.body.dataset.layout = layout;
    fitHistory();
    fitTicker();
  }
  portraitQuery.addEventListener("change", applyLayout);

  // --- counters, history, waiting ------------------------------------------------------------------
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

  function showCallout(ticket, counter) {
    document.getElementById("callout-number").textContent = ticket.display;
    QK.setBi(document.getElementById("callout-counter"), "display_callout_counter", {counter: counter});
    callout.hidden = false;
    callout.style.animation = "none";
    void callout.offsetWidth;
    callout.style.animation = "";
    clearTimeout(calloutTimer);
    calloutTimer = setTimeout(function () { callout.hidden = true; }, page.highlight_seconds * 1000);
  }

  // only whole lines: a call that does not fit is left out rather than cut in half
  function fitHistory() {
    const bottom = historyList.getBoundingClientRect().bottom;
    historyList.querySelectorAll("li").forEach(function (item) {
      item.classList.remove("cut");
      if (item.getBoundingClientRect().bottom > bottom + 1) item.classList.add("cut");
    });
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
    fitHistory();
  }

  function drawWaiting() {
    document.querySelectorAll(".waiting-list li[data-service]").forEach(function (item) {
      const entry = waiting[item.dataset.service];
      item.querySelector(".count").textContent = entry ? entry.waiting : 0;
    });
  }

  // --- voice: one announcement at a time, in the order the calls came ------------------------
  const queue = [];       // audio URLs still to be spoken
  let speaking = null;    // the URL being spoken
  let watchdog = null;    // moves on if an announcement never ends (a stalled file)
  let blocked = false;    // the browser refused to play without a tap (autoplay policy)

  function finishSpeaking() {
    clearTimeout(watchdog);
    watchdog = null;
    speaking = null;
    speakNext();
  }

  function speakNext() {
    if (speaking || blocked || !queue.length) return;
    speaking = queue.shift();
    voice.src = speaking;
    clearTimeout(watchdog);
    watchdog = setTimeout(finishSpeaking, 120000);  // longer than any announcement
    const started = voice.play();
    if (started && started.catch) {
      started.catch(function (error) {
        if (error && error.name === "NotAllowedError") {  // no tap yet: wait for one, keep the call
          queue.unshift(speaking);
          speaking = null;
          clearTimeout(watchdog);
          blocked = true;
          soundOff.hidden = false;
        }
      });
    }
  }

  function speak(url) {
    if (!url) return;  // no audio (e.g. espeak-ng missing for a custom phrase): the call is shown only
    queue.push(url);
    while (queue.length > page.audio_queue_max) queue.shift();  // after a burst, the newest calls matter
    speakNext();
  }

  voice.addEventListener("ended", finishSpeaking);
  voice.addEventListener("error", finishSpeaking);
  voice.addEventListener("loadedmetadata", function () {
    if (isFinite(voice.duration) && speaking) {  // a tighter watchdog once the length is known
      clearTimeout(watchdog);
      watchdog = setTimeout(finishSpeaking, (voice.duration + 10) * 1000);
    }
  });
  soundOff.addEventListener("click", function () {
    blocked = false;
    soundOff.hidden = true;
    speakNext();
  });

  // --- slides: images for slide_seconds, videos to their end ---------------------------------------
  const slideImage = document.getElementById("slide-image");
  const slideVideo = document.getElementById("slide-video");
  let slideIndex = -1;
  let slideTimer = null;

  function nextSlide() {
    clearTimeout(slideTimer);
    if (!page.slides.length) return;
    slideIndex = (slideIndex + 1) % page.slides.length;
    const slide = page.slides[slideIndex];
    if (slide.kind === "video") {
      slideImage.hidden = true;
      slideVideo.hidden = false;
      slideVideo.loop = page.slides.length === 1;
      if (slideVideo.getAttribute("src") !== slide.url) slideVideo.src = slide.url;
      slideVideo.currentTime = 0;
      const playing = slideVideo.play();
      if (playing && playing.catch) playing.catch(function () { slideTimer = setTimeout(nextSlide, 2000); });
    } else {
      slideVideo.pause();
      slideVideo.hidden = true;
      slideImage.hidden = false;
      if (slideImage.getAttribute("src") !== slide.url) slideImage.src = slide.url;
      if (page.slides.length > 1) slideTimer = setTimeout(nextSlide, page.slide_seconds * 1000);
    }
  }
  if (slideVideo) {
    slideVideo.addEventListener("ended", nextSlide);
    slideVideo.addEventListener("error", function () { clearTimeout(slideTimer); slideTimer = setTimeout(nextSlide, 2000); });
  }

  // --- ticker: moves only when it is longer than the screen ----------------------------------------
  const ticker = document.getElementById("ticker");
  function fitTicker() {
    if (!ticker) return;
    ticker.classList.remove("moving");
    const text = ticker.querySelector(".ticker-text");
    if (text.scrollWidth > ticker.clientWidth) {
      ticker.style.setProperty("--ticker-seconds", Math.max(10, (text.scrollWidth + ticker.clientWidth) / 120) + "s");
      ticker.classList.add("moving");
    }
  }

  // --- the server's snapshot and events ------------------------------------------------------------
  function canonical(value) {  // JSON with sorted keys: the page and the snapshot order keys differently
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canonical(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  function sameConfig(snapshotDisplay) {
    return !snapshotDisplay || canonical(snapshotDisplay) === canonical(page.config);
  }

  function onState(snapshot) {
    if (!sameConfig(snapshot.display)) {  // config.yaml changed and the server restarted: new page
      window.location.reload();
      return;
    }
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    page.counters.forEach(function (number) { current[number] = null; paused[number] = false; });
    (snapshot.counters || []).forEach(function (counter) {
      current[counter.number] = counter.ticket || counter.last_call;  // a finished call stays shown
      paused[counter.number] = counter.state === "paused";
    });
    Object.keys(waiting).forEach(function (code) { delete waiting[code]; });
    Object.assign(waiting, snapshot.waiting || {});
    history = (snapshot.history || []).slice(0, page.history_size);
    page.counters.forEach(drawCounter);
    drawHistory(null);
    drawWaiting();
    problem.hidden = true;
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
      showCallout(event.ticket, counter);
      history.unshift(Object.assign({}, event.ticket, {called_by: counter, recall: recall}));
      history = history.slice(0, page.history_size);
      drawHistory(event.ticket.id);
      speak(event.announcement && event.announcement.audio_url);
    };
  }

  // reconnection with back-off: 1 s, then doubling up to 10 s, with jitter, for ever
  const socket = io({reconnectionDelay: 1000, reconnectionDelayMax: 10000, randomizationFactor: 0.5});
  QK.watchConnection(socket, offline);

  socket.on("connect", function () {
    socket.emit("subscribe", {display: page.display}, function (answer) {
      if (answer && answer.error) {
        problem.textContent = answer.error.message;
        problem.hidden = false;
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

  window.addEventListener("resize", function () { fitHistory(); fitTicker(); });
  applyLayout();
  nextSlide();

  // for people and tests looking at the page with developer tools
  window.QKDisplay = {
    queued: function () { return queue.slice(); },
    speaking: function () { return speaking; },
  };
})();
