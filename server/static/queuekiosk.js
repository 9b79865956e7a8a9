/* Helpers shared by the queuekiosk pages (kiosk, display, clerk console).
 *
 * Every text comes from server/i18n.py: the page puts the entries it needs into
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

  QK.fmt = function (text, params) {
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return params && params[name] !== undefined && params[name] !== null ? String(params[name]) : whole;
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

  /** Replace a node's content with the Vietnamese text and the English text below it. */
  QK.setBi = function (node, key, params) {
    node.replaceChildren(QK.el("span", "vi", QK.msg(key, params, "vi")), QK.el("span", "en", QK.msg(key, params, "en")));
    return node;
  };

  /** Replace a node's content with a given Vietnamese text and, when there is one, its English. */
  QK.setPair = function (node, vi, en) {
    node.replaceChildren(QK.el("span", "vi", vi));
    if (en) node.appendChild(QK.el("span", "en", en));
    return node;
  };

  /**
   * Call the REST API. Resolves {ok, status, data} for any HTTP answer (data is the parsed JSON,
   * or null); rejects only when the server could not be reached (network down, timeout).
   */
  QK.api = function (method, url, body) {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, API_TIMEOUT_MS);
    const options = {
      method: method,
      credentials: "same-origin",
      headers: {"Accept": "application/json", "Accept-Language": "vi"},
      signal: controller.signal,
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return {ok: response.ok, status: response.status, data: data};
      });
    }).finally(function () { clearTimeout(timer); });
  };

  /** The sentence to show for a refused API call: the API's own message (it is Vietnamese). */
  QK.errorMessage = function (result) {
    if (result && result.data && result.data.error && result.data.error.message) {
      return result.data.error.message;
    }
    return QK.msg("page_unexpected", {status: result ? result.status : "?"});
  };

  // --- the clock: the site's time zone, corrected by the server's clock when a snapshot gives it
  let clockOffsetMs = 0;

  QK.setServerTime = function (iso) {
    const server = Date.parse(iso);
    if (!isNaN(server)) clockOffsetMs = server - Date.now();
  };

  QK.now = function () { return new Date(Date.now() + clockOffsetMs); };

  QK.clock = function (timeNode, dateNode, timeZone) {
    const zone = timeZone || undefined;
    const time = new Intl.DateTimeFormat("vi-VN", {hour: "2-digit", minute: "2-digit", hour12: false, timeZone: zone});
    const date = new Intl.DateTimeFormat("vi-VN", {weekday: "long", day: "2-digit", month: "2-digit", year: "numeric", timeZone: zone});
    function tick() {
      const now = QK.now();
      if (timeNode) timeNode.textContent = time.format(now);
      if (dateNode) dateNode.textContent = date.format(now);
    }
    tick();
    return setInterval(tick, 1000);
  };

  /** Show ``mark`` (the small "mất kết nối" sign) while ``socket`` is not connected. */
  QK.watchConnection = function (socket, mark) {
    mark.hidden = socket.connected;
    socket.on("connect", function () { mark.hidden = true; });
    socket.on("disconnect", function () { mark.hidden = false; QK.setLive("offline"); });
    socket.on("connect_error", function () { mark.hidden = false; QK.setLive("offline"); });
  };

  /** <body data-live="...">: "live" once a state snapshot is drawn, "offline" when the link drops
   *  (for tests and for anyone looking at the page with developer tools). */
  QK.setLive = function (value) { document.body.dataset.live = value; };

  window.QK = QK;
})();
