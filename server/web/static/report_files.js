/* The report files of /reports (CSV, CSV in the Vietnamese Excel form, XLSX, PDF): their links, made
 * for a report's address, and their download. One implementation for the site's report (reports.js)
 * and the sites' comparison (reports_sites.js): QK.reportFiles.
 *
 * A file is fetched by the page and saved from it, not opened by the browser. A refused file (503
 * report_files_busy while two are being made on the process, 422 a period it cannot cover, 401/403 a
 * login gone or a role changed) would otherwise be the API's JSON in the browser's window (or a failed
 * download). Here it is the API's sentence in the page's language, with the period and figures still on
 * the page, and the same link tapped again asks again. A link opened in a new tab or saved with the
 * browser's menu is the browser's own, as before.
 */
(function () {
  "use strict";

  const FORMATS = ["csv", "csv-vn", "xlsx", "pdf"];  // the links' ids: a prefix and these

  // a refused answer said in ``node``: a login that ended in the page's words (the API's sentence names
  // its Authorization header), any other as the API says it
  function sayRefused(node, result) {
    if (result.status === 401) QK.say(node, "sup_signed_out");
    else QK.sayError(node, result);
  }

  function fileName(disposition) {
    const m = /filename="([^"]+)"/.exec(disposition || "");
    return m ? m[1] : "";
  }

  function download(event, said) {
    const link = event.currentTarget;
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return;  // (one at a time per link: a second tap waits)
    link.setAttribute("aria-busy", "true");
    said.hidden = true;
    fetch(link.href, {credentials: "same-origin", headers: {"Accept-Language": QK.lang()}}).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          let data = null;
          try { data = JSON.parse(text); } catch (e) { data = null; }
          sayRefused(said, {ok: false, status: response.status, data: data});
          said.hidden = false;
        });
      }
      return response.blob().then(function (blob) {
        const save = QK.el("a");
        save.href = URL.createObjectURL(blob);
        save.download = fileName(response.headers.get("Content-Disposition"));
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(save.href); }, 60000);  // (the browser has it by then)
      });
    }).catch(function () {
      QK.say(said, "page_network_error");
      said.hidden = false;
    }).finally(function () { link.removeAttribute("aria-busy"); });
  }

  QK.reportFiles = {
    sayRefused: sayRefused,

    /** The links #{prefix}csv, #{prefix}csv-vn, #{prefix}xlsx and #{prefix}pdf download their file when
     *  tapped, a refusal said in ``said`` (the section's own message). */
    wire: function (prefix, said) {
      FORMATS.forEach(function (format) {
        document.getElementById(prefix + format).addEventListener("click", function (event) { download(event, said); });
      });
    },

    /** Point those links at the report of ``path`` ("/api/v1/reports/...") asked with ``params``
     *  (URLSearchParams), each with its format, for this page's site (QK.url). */
    point: function (prefix, path, params) {
      FORMATS.forEach(function (format) {
        const file = new URLSearchParams(params);
        file.set("format", format);
        document.getElementById(prefix + format).href = QK.url(path + "?" + file.toString());
      });
    },
  };
})();
