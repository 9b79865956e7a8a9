/* Helpers shared by the queuekiosk pages (kiosk, display, clerk console).
 *
 * Every text comes from server/core/i18n.py: the page puts the entries it needs into
 * <script id="qk-messages" type="application/json">, and its own data (ids, names from
 * config.yaml) into <script id="qk-page" type="application/json">.
 * Data is put into the page with textContent only, never innerHTML.
 */
(function () {
  "use strict";

  const QK = {};
  const API_TIMEOUT_MS = 10000;

  function readJson(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  const messages = readJson("qk-messages");
  const page = readJson("qk-page");

  QK.page = function () { return page; };

  // --- many sites on one installation: a page under /s/{site}/ is that site's -------------------
  // Its API calls go to /api/v1/sites/{site}/... and its Socket.IO connection to /s/{site}/socket.io
  // (server/web/app.py SiteRouting); a page at the single-site paths is the first site's, as before.
  const siteMatch = /^\/s\/([A-Za-z0-9_-]{1,32})(\/|$)/.exec(location.pathname);
  QK.site = siteMatch ? siteMatch[1] : null;

  /** An address of the server for this page's site: "/api/v1/x" -> "/api/v1/sites/{site}/x", "/y" -> "/s/{site}/y". */
  QK.url = function (path) {
    if (!QK.site || typeof path !== "string" || path.charAt(0) !== "/" || path.charAt(1) === "/") return path;
    if (path.indexOf("/api/v1/sites/") === 0) return path;  // made already
    if (path.indexOf("/api/v1/") === 0) return "/api/v1/sites/" + QK.site + "/" + path.slice(8);
    if (path.indexOf("/s/") === 0) return path;
    return "/s/" + QK.site + path;
  };

  // every page opens its Socket.IO connection with io(options): under /s/{site}/ it goes to the site's path
  if (typeof window.io === "function") {
    const plainIo = window.io;
    window.io = function (url, options) {
      if (typeof url === "object" && url !== null) { options = url; url = undefined; }
      if (QK.site) options = Object.assign({path: "/s/" + QK.site + "/socket.io"}, options || {});
      const socket = url === undefined ? plainIo(options) : plainIo(url, options);
      let pause = 1000;
      socket.on("connect", function () { pause = 1000; });
      socket.on("connect_error", function (error) {
        const code = error && error.data && error.data.code;
        // the site removed while the page is open (server/web/live_setup.py forget_site): its connection
        // is refused, site_unknown. The page is asked for again, and the server's answer is what a new
        // visit gets: its page saying there is no such site, in Vietnamese then English, not another
        // centre's screen nor a page waiting for a connection for ever
        if (code === "site_unknown") setTimeout(function () { location.reload(); }, 1000);
        // its token or session not looked up (the database out of reach or busy): refused, and a refused
        // socket.io client does not try again by itself; asked again, less often while it lasts
        else if (typeof code === "string" && code.indexOf("database_") === 0) {
          setTimeout(function () { socket.connect(); }, pause);
          pause = Math.min(pause * 2, 10000);
        }
      });
      return socket;
    };
    Object.assign(window.io, plainIo);
  }

  /** A catalog text with its {name} fields filled from params, as server/core/i18n.py translate: a
   * field {n:one|other} says a word's form for the count n (the first for 1, the second for any other;
   * English's rule: vi.json needs none). A count there must be a number, as i18n.Count's value: any
   * other value throws (rather than showing the raw text); a field without a value stays as it is. */
  QK.fmt = function (text, params) {
    return String(text).replace(/\{(\w+)(?::([^{}|]*)\|([^{}]*))?\}/g, function (whole, name, one, other) {
      const value = params ? params[name] : undefined;
      if (value === undefined || value === null) return whole;
      if (one === undefined) return String(value);
      if (typeof value !== "number") throw new TypeError("QK.fmt: {" + name + ":…|…} needs a number, not " + value);
      return value === 1 ? one : other;
    });
  };

  /** One message in one language ("vi" unless told), with {name} fields filled from params. */
  QK.msg = function (key, params, lang) {
    const entry = messages[key];
    if (!entry) return key;
    return QK.fmt(entry[lang || "vi"] || entry.vi, params);
  };

  /** An element with an optional class and text. */
  QK.el = function (tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  /** Replace a node's content with the Vietnamese text and the English text below it (a parameter
   *  given as {vi, en} is taken in each line's language). */
  QK.setBi = function (node, key, params) {
    node.replaceChildren(QK.el("span", "vi", QK.msg(key, paramsIn(params, "vi"), "vi")),
                         QK.el("span", "en", QK.msg(key, paramsIn(params, "en"), "en")));
    return node;
  };

  /** Replace a node's content with a given Vietnamese text and, when there is one, its English. */
  QK.setPair = function (node, vi, en) {
    node.replaceChildren(QK.el("span", "vi", vi));
    if (en) node.appendChild(QK.el("span", "en", en));
    return node;
  };

  // the session's CSRF token (Flask-WTF): from <meta name="csrf-token">, or set after a login;
  // sent as X-CSRFToken with every call that changes something (server/web/api/csrf.py)
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  let csrfToken = csrfMeta ? csrfMeta.content : null;

  QK.setCsrfToken = function (token) { csrfToken = token || null; };

  /**
   * A device's token given once in the address (PAGE#token=qk_...): taken out of the address
   * and the history at once, and returned (null if there is none).
   */
  QK.tokenFromAddress = function () {
    const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
    if (token) history.replaceState(null, "", location.pathname + location.search);
    return token;
  };

  /**
   * Call the REST API. Resolves {ok, status, data, headers} for any HTTP answer (data is the parsed
   * JSON, or null; headers the answer's Headers); rejects only when the server could not be reached
   * (network down, timeout).
   * ``lang`` ("vi" unless told) is the language of the API's error messages.
   */
  QK.api = function (method, url, body, lang, headers) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, API_TIMEOUT_MS);
    const options = {
      method: method,
      credentials: "same-origin",
      headers: {"Accept": "application/json", "Accept-Language": lang || "vi"},
      signal: controller.signal,
    };
    if (csrfToken && method !== "GET" && method !== "HEAD") options.headers["X-CSRFToken"] = csrfToken;
    Object.assign(options.headers, headers || {});
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(QK.url(url), options).then(function (response) {
      return response.text().then(function (text) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return {ok: response.ok, status: response.status, data: data, headers: response.headers};
      });
    }).finally(function () { clearTimeout(timer); });
  };

  /** Keep Tab inside ``dialog`` (an open modal dialog, on a keydown): past its last control to its
   *  first, before its first to its last; from outside it, into it. */
  QK.keepTabIn = function (event, dialog) {
    if (event.key !== "Tab") return;
    const controls = Array.from(dialog.querySelectorAll("button, input, select, textarea, a[href]")).filter(function (node) {
      return !node.disabled && node.getClientRects().length > 0;  // (hidden ones have no box)
    });
    const first = controls[0];
    const last = controls[controls.length - 1];
    const at = document.activeElement;
    if (!first || !dialog.contains(at) || at === (event.shiftKey ? first : last)) {
      event.preventDefault();
      if (first) (event.shiftKey ? last : first).focus();
    }
  };

  /** A random key for an Idempotency-Key header (crypto.randomUUID needs https; this does not). */
  QK.newKey = function () {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  };

  /** The sentence to show for a refused API call: the API's own message (it is Vietnamese). */
  QK.errorMessage = function (result) {
    if (result && result.data && result.data.error && result.data.error.message) {
      return result.data.error.message;
    }
    return QK.msg("page_unexpected", {status: result ? result.status : "?"});
  };

  // --- a page in one language at a time (the kiosk): elements say which message they show ------
  //   data-t="key" [data-params='{"n": 3}']   the message in the page's language
  //   data-bi="key" [data-params=...]          the message in the page's language, the other one below
  //   data-vi="..." [data-en="..."]            a name from config.yaml (English falls back to Vietnamese)
  //   data-label="key"                         the element's aria-label
  // A parameter may itself be {"vi": ..., "en": ...}: it is taken in the language being written.
  let language = "vi";

  QK.lang = function () { return language; };
  QK.otherLang = function (lang) { return (lang || language) === "vi" ? "en" : "vi"; };

  function paramsIn(params, lang) {
    if (!params) return params;
    const out = {};
    Object.keys(params).forEach(function (name) {
      const value = params[name];
      out[name] = value && typeof value === "object" ? (value[lang] || value.vi) : value;
    });
    return out;
  }

  function paramsOf(node) {
    if (node._qkParams !== undefined) return node._qkParams;
    try { return node.dataset.params ? JSON.parse(node.dataset.params) : null; } catch (e) { return null; }
  }

  function render(node) {
    const params = paramsOf(node);
    if (node.dataset.t) {
      node.textContent = QK.msg(node.dataset.t, paramsIn(params, language), language);
    } else if (node.dataset.bi) {
      const other = QK.otherLang();
      const first = QK.el("span", "primary", QK.msg(node.dataset.bi, paramsIn(params, language), language));
      const second = QK.el("span", "secondary", QK.msg(node.dataset.bi, paramsIn(params, other), other));
      first.lang = language;
      second.lang = other;
      node.replaceChildren(first, second);
    } else if (node.dataset.vi !== undefined) {
      node.textContent = language === "en" && node.dataset.en ? node.dataset.en : node.dataset.vi;
    }
    if (node.dataset.label) node.setAttribute("aria-label", QK.msg(node.dataset.label, null, language));
    return node;
  }

  /** Write every marked element under ``root`` (default: the whole page) in the page's language. */
  QK.translate = function (root) {
    (root || document).querySelectorAll("[data-t], [data-bi], [data-vi], [data-label]").forEach(render);
  };

  /** Switch the page to ``lang`` ("vi" or "en") and rewrite every marked element. */
  const languageFollowers = [];  // drawn again at a switch, beside the translated nodes (the clock's date)

  QK.setLang = function (lang) {
    language = lang === "en" ? "en" : "vi";
    document.documentElement.lang = language;
    document.body.dataset.lang = language;
    QK.translate();
    languageFollowers.forEach(function (draw) { draw(); });
  };

  /** Make ``node`` show message ``key`` (in the page's language), now and after every switch. */
  QK.say = function (node, key, params) {
    delete node.dataset.bi; delete node.dataset.vi; delete node.dataset.en;
    node.dataset.t = key;
    node._qkParams = params || null;
    return render(node);
  };

  /** ... message ``key`` in the page's language, with the other language below it. */
  QK.sayBi = function (node, key, params) {
    delete node.dataset.t; delete node.dataset.vi; delete node.dataset.en;
    node.dataset.bi = key;
    node._qkParams = params || null;
    return render(node);
  };

  /**
   * A refused API call's ``part`` ("message", or "problem": what is wrong with its field alone) in every
   * language the answer has it in ({vi: ..., en: ...}, from the error's translations; else as it came),
   * or null when the answer has none (no JSON: a proxy's page).
   */
  QK.errorTexts = function (result, part) {
    const error = result && result.data && result.data.error;
    if (!error || !error[part || "message"]) return null;
    const texts = {};
    const translations = error.translations || {};
    Object.keys(translations).forEach(function (lang) {
      if (translations[lang] && translations[lang][part || "message"]) texts[lang] = translations[lang][part || "message"];
    });
    if (!texts.vi) texts.vi = error[part || "message"];  // (a fallback: the one language it came in)
    return texts;
  };

  /** Make ``node`` say a refused API call (as QK.errorMessage) in the page's language, now and after every switch. */
  QK.sayError = function (node, result) {
    const texts = QK.errorTexts(result);
    if (!texts) return QK.say(node, "page_unexpected", {status: result ? result.status : "?"});
    return QK.say(node, "page_said", {text: texts});
  };

  /** ... a name from config.yaml given as {vi, en}. */
  QK.sayName = function (node, names) {
    delete node.dataset.t; delete node.dataset.bi;
    node.dataset.vi = names && names.vi ? names.vi : "";
    if (names && names.en) node.dataset.en = names.en;
    else delete node.dataset.en;
    return render(node);
  };

  /** ... a fixed text that needs no translation (e.g. an API's own message). */
  QK.sayText = function (node, text) {
    delete node.dataset.t; delete node.dataset.bi; delete node.dataset.vi; delete node.dataset.en;
    node.textContent = text;
    return node;
  };

  // --- the clock: the site's time zone, corrected by the server's clock when a snapshot gives it
  let clockOffsetMs = 0;

  QK.setServerTime = function (iso) {
    const server = Date.parse(iso);
    if (!isNaN(server)) clockOffsetMs = server - Date.now();
  };

  QK.now = function () { return new Date(Date.now() + clockOffsetMs); };

  /** Seconds as "m:ss" (or "h:mm:ss"): a wait, a service time (the console, the dashboard). */
  QK.duration = function (seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "–";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  };

  /** Keep ``timeNode`` and ``dateNode`` showing the site's time; the date follows QK.lang(). */
  QK.clock = function (timeNode, dateNode, timeZone) {
    const zone = timeZone || undefined;
    const time = new Intl.DateTimeFormat("vi-VN", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone});
    const dates = {};
    function date(lang) {
      if (!dates[lang]) {
        dates[lang] = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "vi-VN",
          {weekday: "long", day: "2-digit", month: "2-digit", year: "numeric", timeZone: zone});
      }
      return dates[lang];
    }
    function tick() {
      const now = QK.now();
      if (timeNode) timeNode.textContent = time.format(now);
      if (dateNode) dateNode.textContent = date(language).format(now);
    }
    tick();
    languageFollowers.push(tick);  // the date switches with the headings, not at the next second
    return setInterval(tick, 1000);
  };

  /** The site's local date and time now: {date: "YYYY-MM-DD", time: "HH:MM:SS", day: "mon".."sun"}. */
  QK.localNow = function (timeZone) {
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: timeZone || undefined, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }).formatToParts(QK.now()).forEach(function (part) { parts[part.type] = part.value; });
    return {
      date: parts.year + "-" + parts.month + "-" + parts.day,
      time: parts.hour + ":" + parts.minute + ":" + parts.second,
      day: String(parts.weekday).slice(0, 3).toLowerCase(),
    };
  };

  /** The days' keys, Monday first, as config.yaml's hours.days and the catalogs' kiosk_day_* say them: the
   *  one list of every page (the kiosk's closed screen, /book, /admin's working days). */
  const WEEKDAYS = Object.freeze(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
  QK.WEEKDAYS = WEEKDAYS;

  /** The key of a YYYY-MM-DD day's weekday ("mon".."sun"). */
  QK.weekdayOf = function (day) { return WEEKDAYS[(new Date(day + "T00:00:00Z").getUTCDay() + 6) % 7]; };

  /** "Thứ Hai đến Thứ Bảy" for a run of ``days`` ("mon".."sun"), else "Thứ Hai, Thứ Tư, Thứ Sáu"; in
   *  ``lang`` (the kiosk's closed screen, /book; the API's refusals say them alike: engine working_days). */
  QK.daysText = function (days, lang) {
    const indexes = WEEKDAYS.map(function (day, i) { return days.indexOf(day) >= 0 ? i : -1; })
      .filter(function (i) { return i >= 0; });
    const name = function (i) { return QK.msg("kiosk_day_" + WEEKDAYS[i], null, lang); };
    const run = indexes.length >= 3 && indexes[indexes.length - 1] - indexes[0] === indexes.length - 1;
    if (run) return QK.msg("kiosk_days_range", {first: name(indexes[0]), last: name(indexes[indexes.length - 1])}, lang);
    return indexes.map(name).join(", ");
  };

  /** Milliseconds until just after the next minute turns on the server's clock: when opening hours change state. */
  QK.toNextMinute = function () { return 60000 - (QK.now().getTime() % 60000) + 250; };

  /** Whether the centre is open now by ``hours`` (a page's opening hours, kiosk/web.py opening_hours:
   * open and close "HH:MM:SS", days, holidays) in ``timeZone``, on the server's clock; always without
   * hours (a server started with --ignore-hours). */
  QK.openNow = function (hours, timeZone) {
    if (!hours) return true;
    const now = QK.localNow(timeZone);
    return hours.days.indexOf(now.day) >= 0 && hours.holidays.indexOf(now.date) < 0 &&
      hours.open <= now.time && now.time < hours.close;
  };

  /** Show ``mark`` (the small "mất kết nối" sign) while ``socket`` is not connected. */
  QK.watchConnection = function (socket, mark) {
    mark.hidden = socket.connected;
    socket.on("connect", function () { mark.hidden = true; });
    socket.on("disconnect", function () { mark.hidden = false; QK.setLive("offline"); });
    socket.on("connect_error", function () { mark.hidden = false; QK.setLive("offline"); });
  };

  // --- a saved setup change (server/web/live_setup.py): every open page shows it without a reload --

  /** JSON with sorted keys: two page data objects describe the same setup when these are equal. */
  QK.canonical = function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canonical(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  };

  /** Make ``target`` (a page's data object, kept by reference) hold what ``source`` holds. */
  QK.replaceData = function (target, source) {
    Object.keys(target).forEach(function (key) { delete target[key]; });
    return Object.assign(target, source);
  };

  /**
   * On `config.changed`: fetch the names of services and counters again (GET /api/v1/queue) into
   * ``page.services`` ({code: {vi, en, ...}}) and ``page.counters`` ({number: label}) where the
   * page has them, then call ``resubscribe`` (the new snapshot redraws the rest).
   */
  QK.followSetup = function (socket, page, resubscribe) {
    socket.on("resync", resubscribe);  // events may have been lost (a message-queue outage): a fresh state
    socket.on("config.changed", function () {
      QK.api("GET", "/api/v1/queue").then(function (answer) {
        if (!answer.ok || !answer.data) return;
        if (page.services) {
          answer.data.services.forEach(function (service) {
            page.services[service.code] = Object.assign({}, page.services[service.code],
              {vi: service.name, en: service.name_en});
          });
        }
        if (page.service_order) page.service_order = answer.data.services.map(function (s) { return s.code; });
        if (page.counters && !Array.isArray(page.counters)) {
          const kept = {};  // a counter removed from the setup is gone from the page too
          answer.data.counters.forEach(function (counter) { kept[counter.number] = true; page.counters[counter.number] = counter.name; });
          Object.keys(page.counters).forEach(function (number) { if (!kept[number]) delete page.counters[number]; });
        }
      }).catch(function () { /* unreachable now: the snapshot still comes when it is back */ })
        .finally(resubscribe);
    });
  };

  /** <body data-live="...">: "live" once a state snapshot is drawn, "offline" when the link drops
   *  (for tests and for anyone looking at the page with developer tools). */
  QK.setLive = function (value) { document.body.dataset.live = value; };

  /** A page's script in parts (docs/architecture.md, "A page"): the first of its parts (its <script
   *  data-part>) not in ``loaded``, where each part puts its <script> as its last step, or null. One not
   *  there did not arrive or failed as it ran; the parts after it build on it, so it is the one to name. */
  QK.firstPartNotLoaded = function (loaded) {
    return Array.from(document.querySelectorAll("script[data-part]")).find(function (script) {
      return (loaded || []).indexOf(script) < 0;
    }) || null;
  };

  /** ``script`` (a part QK.firstPartNotLoaded found, or the page's own file) named in the page's error
   *  box, #load-error, through the catalog ``key`` ({file}). A box inside what the page shows only once
   *  started (admin's #work) is shown there, alone. */
  QK.namePartMissing = function (key, script) {
    const box = document.getElementById("load-error");
    const holder = box.parentElement;
    if (holder.hidden) {
      holder.hidden = false;
      Array.from(holder.children).forEach(function (child) { child.hidden = child !== box; });
    }
    QK.setBi(box, key, {file: script.getAttribute("src")});
    box.hidden = false;
  };

  /** For a page's first part, which makes ``parts`` (its ``loaded``): the page's own file (its <script
   *  data-page>, after the parts, which puts itself into ``loaded`` as its last step) that never got
   *  there, because it did not arrive or failed as it ran, is named as a part would be once the window
   *  has loaded, unless the box names a part already; rather than a page with nothing on it. */
  QK.namePageIfNotRun = function (parts, key) {
    window.addEventListener("load", function () {
      const script = document.querySelector("script[data-page]");
      if (parts.loaded.indexOf(script) < 0 && document.getElementById("load-error").hidden) {
        QK.namePartMissing(key, script);
      }
    });
  };

  window.QK = QK;
})();
