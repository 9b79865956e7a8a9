/* The lobby display: live through Socket.IO only (no polling), made to run for months.
 *
 * On every (re)connect, and when the server says `config.changed`, it subscribes to its display
 * and draws the `state` snapshot whole, then follows the events. It draws the counter rows, the
 * waiting list, ticker and slides from its page data (display/web.py display_page_data), and
 * again, without a reload, when a snapshot brings different page data (a new setup).
 *
 * Read from 8 m: the key text (counter names, latest calls, waiting list) is --key-text high
 * (docs/display-and-voice.md); the screen shows one language at a time, in turn, rather than
 * English in small type below; a name wraps between words and is made smaller only if one of
 * its words is wider than its box; services that do not fit are shown a page at a time.
 * Calls are spoken one after another, each heard in full; when they pile up they are said
 * shorter (the chime once, the short form, no repetition), so each starts soon after its press.
 *
 * Nothing grows with time: the history is cut to its size, the audio queue is bounded, each
 * timer is kept in one variable and cleared before it is set again, and the same few
 * elements (one <audio>, one <img>, one <video>) are reused.
 */
(function () {
  "use strict";

  let page = QK.page();
  const offline = document.getElementById("offline");
  const problem = document.getElementById("problem");
  const historyList = document.getElementById("history");
  const callout = document.getElementById("callout");
  const voice = document.getElementById("voice");
  const soundOff = document.getElementById("sound-off");

  const rowsNode = document.getElementById("rows");
  const waitingList = document.getElementById("waiting-list");
  const waitingPages = document.getElementById("waiting-pages");

  const current = {};   // counter number -> the ticket it holds (called, or being served), or null: nobody there
  const states = {};    // counter number -> "open", "paused" or "closed"
  const waiting = {};   // service code -> {waiting, priority}
  let history = [];     // latest calls, newest first: those shown and a few more (a call withdrawn leaves room)
  const HISTORY_KEPT = 10;  // as many as the snapshot brings (server/web/realtime.py)
  let fresh = null;     // the call heard last (amber), until the next one: kept when another line leaves
  let nextNumbers = []; // a counter-top display: its counter's next waiting numbers
  const flashTimers = {};
  let calloutTimer = null;
  let calloutCall = null;  // the call the big callout shows: {ticket (id), counter}

  QK.clock(document.getElementById("clock-time"), document.getElementById("clock-date"), page.timezone);

  // --- layout: landscape TV or portrait screen ------------------------------------------------
  const portraitQuery = window.matchMedia("(orientation: portrait)");
  const columnsOf = {landscape: 1, portrait: 1};  // columns of counter rows in each layout
  function applyLayout() {
    const layout = page.layout === "auto" ? (portraitQuery.matches ? "portrait" : "landscape") : page.layout;
    document.body.dataset.layout = layout;
    document.body.classList.toggle("narrow-rows", columnsOf[layout] > 1);  // the badge goes into the name's line
    fitAll();
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
    const state = states[counter] || "open";
    const num = node.querySelector(".num");
    num.textContent = ticket ? ticket.display : "—";
    num.classList.toggle("empty", !ticket);
    // a paused or closed counter says so where its number would be: nobody is served there now
    num.hidden = state !== "open";
    const label = node.querySelector(".state");
    label.hidden = state === "open";
    if (state !== "open") QK.say(label, state === "closed" ? "display_closed" : "display_paused");
    node.classList.toggle("paused", state === "paused");
    node.classList.toggle("closed", state === "closed");
    fitCounterName(node.querySelector(".name"));  // the state's label may leave the name less room
    if (page.mode === "counter") drawCounterTop();
  }

  // --- a counter-top display: the counter's number, large, and its next numbers -----------------
  const counterTop = document.getElementById("counter-top");
  function drawCounterTop() {
    const counter = page.counters[0];
    if (!counter) return;
    const ticket = current[counter.number];
    const state = states[counter.number] || "open";
    const num = document.getElementById("ct-number");
    num.textContent = ticket ? ticket.display : "—";
    num.hidden = state !== "open";
    const label = document.getElementById("ct-state");
    label.hidden = state === "open";
    if (state !== "open") QK.say(label, state === "closed" ? "display_closed" : "display_paused");
    counterTop.dataset.state = state;
    const next = document.getElementById("ct-next");
    next.replaceChildren.apply(next, nextNumbers.map(function (ticket) { return QK.el("li", "", ticket.display); }));
  }

  // its next numbers come with the snapshot: asked for again (at most every 0.3 s) when the queue moves
  let refreshTimer = null;
  function refreshNextSoon() {
    if (page.mode !== "counter" || refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; subscribe(); }, 300);
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
    // a booked citizen called at the slot time, ahead of walk-ins: the lobby sees why (docs/bookings.md)
    const booked = document.getElementById("callout-booked");
    booked.hidden = !ticket.origin;
    if (ticket.origin) QK.setBi(booked, ticket.origin === "remote" ? "display_remote" : "display_booked");
    QK.setBi(document.getElementById("callout-counter"), "display_callout_counter", {counter: counter});
    calloutCall = {ticket: ticket.id, counter: counter};
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

  // whether a name is wider than its box, or has more lines than its box shows (a line's stacked marks
  // may stand a little above or below its line: that is no overflow)
  function overflows(node) {
    const line = parseFloat(getComputedStyle(node).lineHeight);
    return node.scrollWidth > node.clientWidth + 1 || Math.round(node.scrollHeight / line) * line > node.clientHeight + 1;
  }

  // a name wraps between its words; only when a word is wider than the box, or the lines taller
  // than it, is the type made smaller (never below 60 % of the key size), so no word is cut
  function fitName(node) {
    node.style.fontSize = "";
    const full = parseFloat(getComputedStyle(node).fontSize);
    let size = full;
    while (overflows(node) && size > full * 0.6) {
      size = Math.max(size * 0.92, full * 0.6);
      node.style.fontSize = size + "px";
    }
  }

  // a counter's name: made smaller as any name; when it still has no room, it ends after the last whole
  // word that fits, with "…" (its row's title keeps the whole name), so no line or letter is cut in half
  const graphemes = window.Intl && Intl.Segmenter ? new Intl.Segmenter("vi", {granularity: "grapheme"}) : null;
  function fitCounterName(node) {
    const whole = node.dataset.full;
    node.textContent = whole;
    fitName(node);
    if (!overflows(node)) return;
    const words = whole.split(/\s+/);
    let kept = words.length;
    while (kept > 1 && overflows(node)) {
      kept -= 1;
      node.textContent = words.slice(0, kept).join(" ").replace(/[\s,;:.\-–—]+$/, "") + "…";
    }
    if (!overflows(node)) return;
    // one word wider than the row even at the smallest size: it ends after a whole letter
    const letters = graphemes ? Array.from(graphemes.segment(words[0]), function (s) { return s.segment; })
                              : Array.from(words[0]);
    while (letters.length > 1 && overflows(node)) {
      letters.pop();
      node.textContent = letters.join("") + "…";
    }
  }

  // the services that fit in the list at once form a page; several pages are shown in turn
  let waitingPage = 0;
  let waitingPageCount = 1;
  let waitingTimer = null;

  function showWaitingPage(index) {
    waitingPage = index % waitingPageCount;
    waitingList.querySelectorAll("li").forEach(function (item) {
      item.hidden = Number(item.dataset.page) !== waitingPage;
    });
    waitingPages.hidden = waitingPageCount < 2;
    waitingPages.textContent = (waitingPage + 1) + "/" + waitingPageCount;
  }

  function fitWaiting() {
    clearTimeout(waitingTimer);
    const items = Array.from(waitingList.querySelectorAll("li"));
    items.forEach(function (item) { item.hidden = false; });
    items.forEach(function (item) { fitName(item.querySelector(".name")); });
    const room = waitingList.clientHeight;
    let pageIndex = 0;
    let used = 0;
    items.forEach(function (item) {
      const height = item.getBoundingClientRect().height;
      if (used > 0 && used + height > room + 1) { pageIndex += 1; used = 0; }
      item.dataset.page = pageIndex;
      used += height;
    });
    waitingPageCount = pageIndex + 1;
    showWaitingPage(waitingPageCount > 1 ? waitingPage : 0);
    if (waitingPageCount > 1) {
      waitingTimer = setTimeout(function turn() {
        showWaitingPage(waitingPage + 1);
        waitingTimer = setTimeout(turn, page.waiting_page_seconds * 1000);
      }, page.waiting_page_seconds * 1000);
    }
  }

  function fitAll() {
    rowsNode.querySelectorAll(".counter-row .name").forEach(fitCounterName);
    fitWaiting();
    fitHistory();
    fitTicker();
  }

  // --- one language at a time, in turn (each at full size), when the centre has English ---------
  let languageTimer = null;
  function showLanguage(lang) {
    clearTimeout(languageTimer);
    if (page.languages.indexOf(lang) < 0) lang = "vi";  // English turned off meanwhile: Vietnamese only
    const turned = lang !== QK.lang();
    QK.setLang(lang);
    if (turned) fitAll();  // (the same language: its texts and their fit are those buildPage just made)
    if (page.languages.indexOf("en") >= 0 && page.languages.length > 1) {
      const next = lang === "vi" ? "en" : "vi";
      languageTimer = setTimeout(function () { showLanguage(next); }, page.language_seconds[lang] * 1000);
    }
  }

  // --- drawing the page from its data (at start, and again for a new setup) -------------------------
  function gridOf(count, perColumn) {
    const columns = Math.max(1, Math.ceil(count / perColumn));
    return [columns, Math.max(1, Math.ceil(count / columns))];
  }

  function buildPage() {
    const body = document.body;
    body.style.setProperty("--key-text", page.key_text_vmin + "vmin");
    [["landscape", 6], ["portrait", 8]].forEach(function (pair) {  // counter rows per column
      const grid = gridOf(page.counters.length, pair[1]);
      body.style.setProperty("--cols-" + pair[0], grid[0]);
      body.style.setProperty("--rows-" + pair[0], grid[1]);
      columnsOf[pair[0]] = grid[0];
    });
    document.getElementById("site-name").textContent = page.site_name;
    // the screen's name and ticker in English while it shows English, where the setup gives them
    QK.sayName(document.getElementById("screen-name"), {vi: page.name || "", en: page.name_en});
    body.dataset.mode = page.mode;
    body.dataset.languages = page.languages.join(" ");  // the setup's languages it is drawn with (tests wait on it)
    counterTop.hidden = page.mode !== "counter";
    if (page.mode === "counter" && page.counters.length) {
      document.getElementById("ct-badge").textContent = page.counters[0].number;
      document.getElementById("ct-name").textContent = page.counters[0].name;
    }

    rowsNode.replaceChildren.apply(rowsNode, page.counters.map(function (counter) {
      const node = QK.el("div", "counter-row");
      node.dataset.counter = counter.number;
      const badge = QK.el("div", "badge", counter.number);
      badge.setAttribute("aria-hidden", "true");
      const num = QK.el("div", "num empty", "—");
      const state = QK.el("div", "state");
      state.hidden = true;
      const name = QK.el("div", "name", counter.name);
      name.title = counter.label;  // the whole name, also when the row shows it shortened
      name.dataset.full = counter.name;
      name.dataset.number = counter.number;  // the badge, in a row too narrow for it beside the name
      node.append(badge, name, num, state);
      return node;
    }));
    page.counters.forEach(function (counter) {
      if (!(counter.number in states)) states[counter.number] = "open";
    });

    waitingList.replaceChildren.apply(waitingList, page.services.map(function (service) {
      const item = QK.el("li");
      item.dataset.service = service.code;
      item.append(QK.sayName(QK.el("span", "name"), {vi: service.vi, en: service.en}), QK.el("span", "count", "0"));
      return item;
    }));

    const tickerNode = document.getElementById("ticker");
    tickerNode.hidden = !page.ticker;
    QK.sayName(document.getElementById("ticker-text"), {vi: page.ticker || "", en: page.ticker_en});

    body.classList.toggle("has-slides", page.slides.length > 0);
    document.getElementById("media").hidden = page.slides.length === 0;
    slideIndex = -1;
    nextSlide();
    applyLayout();
  }

  function drawHistory() {
    const items = history.slice(0, page.history_size).map(function (call, index) {
      const item = QK.el("li", index === 0 && call === fresh ? "fresh" : "");
      const number = QK.el("span", "number", call.display);
      if (call.recall) number.appendChild(QK.say(QK.el("span", "again"), "display_recall"));
      item.appendChild(number);
      item.appendChild(QK.say(QK.el("span", "where"), "display_to_counter", {counter: call.called_by}));
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

  // --- voice: every call heard soon after its press, even when calls pile up -------------------
  // The player joins pieces the server makes (sounds/web.py, /api/v1/announcements/forms/):
  // a burst of calls starts with the chime, once; a call with nobody waiting behind it is said
  // in full, and again (voice.repeat times) while still nobody waits; a call with others
  // waiting behind it is said once in its short form ("một nghìn không trăm linh một quầy một").
  // So the k-th of calls pressed together starts about 1.2 + 3.1 (k - 1) s after the press:
  // within 20 s of the press up to 6 at once (docs/display-and-voice.md).
  const SENTENCE_GAP_MS = 900;  // between a sentence and its repetition (as sounds/voice.py)
  const queue = [];       // calls still to be spoken: {ticket (id), number, counter}
  let speaking = null;    // the piece being spoken: {url, call, form}, or a gap before a repetition
  let inBurst = false;    // a piece was spoken just now: no chime before the next call
  let repeatsLeft = 0;    // repetitions still owed to the call said last, if nobody waits
  let lastCall = null;
  let watchdog = null;    // moves on if a piece never ends (a stalled file)
  let gapTimer = null;
  let blocked = false;    // the browser refused to play without a tap (autoplay policy)

  function formUrl(form, call) {
    const query = "display=" + encodeURIComponent(page.display) +
      (call ? "&number=" + call.number + "&counter=" + call.counter : "");
    return QK.url("/api/v1/announcements/forms/" + form + ".wav?" + query);
  }

  function nextPiece() {
    if (!inBurst && page.voice.chime && queue.length) return {url: formUrl("chime"), call: null, form: "chime"};
    if (queue.length) {
      const call = queue.shift();
      const form = queue.length ? "short" : "once";
      lastCall = call;
      repeatsLeft = form === "once" ? page.voice.repeat - 1 : 0;
      return {url: formUrl(form, call), call: call, form: form};
    }
    if (repeatsLeft > 0) {
      repeatsLeft -= 1;
      return {url: formUrl("once", lastCall), call: lastCall, form: "repeat"};
    }
    return null;
  }

  function finishSpeaking() {
    clearTimeout(watchdog);
    watchdog = null;
    const was = speaking;
    speaking = null;
    if (was && was.form !== "chime" && !queue.length && repeatsLeft > 0) {  // a pause, then the repetition
      speaking = {gap: true};
      gapTimer = setTimeout(function () { speaking = null; speakNext(); }, SENTENCE_GAP_MS);
      return;
    }
    speakNext();
  }

  function speakNext() {
    if (speaking || blocked) return;
    const piece = nextPiece();
    if (!piece) { inBurst = false; return; }
    inBurst = true;
    speaking = piece;
    voice.src = piece.url;
    clearTimeout(watchdog);
    watchdog = setTimeout(finishSpeaking, 120000);  // longer than any piece
    const started = voice.play();
    if (started && started.catch) {
      started.catch(function (error) {
        if (error && error.name === "NotAllowedError") {  // no tap yet: wait for one, keep the call
          if (piece.call && piece.form !== "repeat") queue.unshift(piece.call);
          speaking = null;
          inBurst = false;
          clearTimeout(watchdog);
          blocked = true;
          soundOff.hidden = false;
        }
      });
    }
  }

  function dropQueued(ended) {
    for (let at = queue.length - 1; at >= 0; at -= 1) if (ended(queue[at])) queue.splice(at, 1);
  }

  function speak(event) {
    if (!event.announcement || !event.announcement.audio_url) return;  // no audio: the call is shown only
    // a counter's new call ends its call before (a "next" tells the screens only the new call): only the newest is said
    dropQueued(function (call) { return call.counter === event.counter; });
    queue.push({ticket: event.ticket.id, number: event.ticket.number, counter: event.counter});
    while (queue.length > page.audio_queue_max) queue.shift();  // after a burst, the newest calls matter
    if (speaking && speaking.gap) {  // a call waits: no repetition of the one before
      clearTimeout(gapTimer);
      speaking = null;
    }
    repeatsLeft = 0;
    speakNext();
  }

  /** The counter is done with these calls: they are not said (again) to a lobby where nobody is to go there
   *  now; a sentence already playing ends by itself. */
  function forget(ended) {
    dropQueued(ended);
    if (!lastCall || !ended(lastCall)) return;
    repeatsLeft = 0;
    if (speaking && speaking.gap) {  // the pause before its repetition: go on with the next call, if any
      clearTimeout(gapTimer);
      speaking = null;
      speakNext();
    }
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
  {
    slideVideo.addEventListener("ended", nextSlide);
    slideVideo.addEventListener("error", function () { clearTimeout(slideTimer); slideTimer = setTimeout(nextSlide, 2000); });
  }

  // --- ticker: moves only when it is longer than the screen ----------------------------------------
  const ticker = document.getElementById("ticker");
  function fitTicker() {
    if (ticker.hidden) return;
    ticker.classList.remove("moving");
    const text = ticker.querySelector(".ticker-text");
    if (text.scrollWidth > ticker.clientWidth) {
      ticker.style.setProperty("--ticker-seconds", Math.max(10, (text.scrollWidth + ticker.clientWidth) / 120) + "s");
      ticker.classList.add("moving");
    }
  }

  // --- the server's snapshot and events ------------------------------------------------------------
  function onState(snapshot) {
    if (snapshot.page && QK.canonical(snapshot.page) !== QK.canonical(page)) {  // a new setup: draw it, no reload
      page = snapshot.page;
      buildPage();
      showLanguage(QK.lang());  // its languages: English in turn again, or no more
    }
    if (snapshot.server_time) QK.setServerTime(snapshot.server_time);
    // a counter of this screen that the snapshot does not list is out of use: closed
    page.counters.forEach(function (counter) { current[counter.number] = null; states[counter.number] = "closed"; });
    (snapshot.counters || []).forEach(function (counter) {
      current[counter.number] = counter.ticket || null;  // a call finished, missed or transferred: "—"
      states[counter.number] = counter.state === "paused" || counter.state === "closed" ? counter.state : "open";
    });
    Object.keys(waiting).forEach(function (code) { delete waiting[code]; });
    Object.assign(waiting, snapshot.waiting || {});
    history = (snapshot.history || []).slice(0, HISTORY_KEPT);
    // still the newest call (a refill after withdrawals): it stays amber
    const newest = history[0];
    fresh = fresh && newest && newest.id === fresh.id && newest.called_by === fresh.called_by && !!newest.recall === !!fresh.recall ? newest : null;
    nextNumbers = snapshot.next || [];
    page.counters.forEach(function (counter) { drawCounter(counter.number); });
    drawHistory();
    drawWaiting();
    drawRetired(snapshot.retired);
    problem.hidden = true;
    QK.setLive("live");
  }

  /** A site merged into another serves nobody: the screen says so, and where to go instead. */
  function drawRetired(retired) {
    const notice = document.getElementById("retired");
    notice.hidden = !retired;
    document.body.classList.toggle("is-retired", !!retired);
    if (!retired) return;
    const text = document.getElementById("retired-text");
    if (retired.moved_to) QK.say(text, retired.moved_to_address ? "display_retired_moved_at" : "display_retired_moved", {site: retired.moved_to, address: retired.moved_to_address});
    else QK.say(text, "display_retired_text");
  }

  function onCall(recall) {
    return function (event) {
      const counter = event.counter;
      current[counter] = event.ticket;
      states[counter] = "open";
      drawCounter(counter);
      if (event.waiting) {  // a call carries the new waiting counts (no separate queue.changed)
        Object.assign(waiting, event.waiting);
        drawWaiting();
      }
      flash(counter);
      if (page.mode === "counter") {  // the number is already shown large: it blinks where it is
        counterTop.classList.remove("flash");
        void counterTop.offsetWidth;
        counterTop.classList.add("flash");
        refreshNextSoon();
      } else {
        showCallout(event.ticket, counter);
      }
      fresh = Object.assign({}, event.ticket, {called_by: counter, recall: recall});
      history.unshift(fresh);
      history = history.slice(0, HISTORY_KEPT);
      drawHistory();
      speak(event);
    };
  }

  /** The counter is done with its number (finished, a no-show, transferred): its row shows nobody there,
   *  so a latecomer does not read that the counter still waits for them. The history keeps a call answered
   *  (finished, a no-show, served and then sent on); a number sent back to wait before it was served
   *  (transferred, requeued when its counter closed) takes its ``withdrawn_calls`` latest calls (those at
   *  this counter since) off the history: nobody is to go there for it, and its next call is new. */
  function onEnded(event) {
    const counter = event.counter;
    if (current[counter] && current[counter].id === event.ticket.id) current[counter] = null;
    drawCounter(counter);
    endCalls(function (call) { return call.ticket === event.ticket.id && call.counter === counter; });
    let withdrawn = event.withdrawn_calls || 0;
    const shown = history.length;
    history = history.filter(function (call) {
      if (withdrawn === 0 || call.id !== event.ticket.id) return true;
      withdrawn -= 1;
      return false;
    });
    if (history.length === shown) return;
    drawHistory();
    // fewer lines than a screen loaded now shows: the snapshot brings the older calls
    if (shown >= page.history_size && history.length < page.history_size) refillSoon();
  }

  let refillTimer = null;
  function refillSoon() {  // (a close that sends back several numbers: one snapshot)
    if (refillTimer) return;
    refillTimer = setTimeout(function () { refillTimer = null; subscribe(); }, 300);
  }

  /** Calls nobody is to answer any more: off the big callout, not said (again). */
  function endCalls(ended) {
    if (calloutCall && ended(calloutCall)) {
      clearTimeout(calloutTimer);
      callout.hidden = true;
      calloutCall = null;
    }
    forget(ended);
  }

  // reconnection with back-off: 1 s, then doubling up to 10 s, with jitter, for ever
  const socket = io({reconnectionDelay: 1000, reconnectionDelayMax: 10000, randomizationFactor: 0.5});
  QK.watchConnection(socket, offline);

  function subscribe() {
    socket.emit("subscribe", {display: page.display}, function (answer) {
      if (answer && answer.error) {
        problem.textContent = answer.error.message;
        problem.hidden = false;
      }
    });
  }
  socket.on("connect", subscribe);
  socket.on("config.changed", subscribe);  // a saved setup change: the new snapshot brings it
  socket.on("resync", subscribe);  // events may have been lost (a message-queue outage): take a fresh state
  socket.on("state", onState);
  socket.on("ticket.called", onCall(false));
  socket.on("ticket.recalled", onCall(true));
  ["ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.requeued"].forEach(function (kind) {
    socket.on(kind, onEnded);
  });
  socket.on("queue.changed", function (event) {
    Object.assign(waiting, event.waiting || {});
    drawWaiting();
    refreshNextSoon();
  });
  socket.on("counter.changed", function (event) {
    if (event.state) states[event.counter] = event.state === "paused" || event.state === "closed" ? event.state : "open";
    if (states[event.counter] !== "open") {  // it holds nobody: resumed, it shows "—"
      current[event.counter] = null;
      // closed with its number requeued (a supervisor's close, a clerk disabled): its call is not answered here
      endCalls(function (call) { return call.counter === event.counter; });
    }
    drawCounter(event.counter);
  });

  window.addEventListener("resize", fitAll);
  buildPage();
  showLanguage("vi");

  // for people and tests looking at the page with developer tools
  window.QKDisplay = {
    queued: function () { return queue.slice(); },
    speaking: function () { return speaking && speaking.url; },
    showLanguage: showLanguage,
    showWaitingPage: showWaitingPage,
    waitingPages: function () { return waitingPageCount; },
  };
})();
