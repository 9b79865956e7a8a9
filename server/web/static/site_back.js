/* The "no such site" page (errors/page.html, 404 site_unknown) of a page left open: a kiosk, a lobby
 * display, a counter's screen whose site was removed. Every few seconds it asks its own address again
 * (the small JSON answer: Accept application/json); once the answer is no longer site_unknown (the
 * admin added the site again under its id), the page is loaded again and works as before, with nobody
 * at the screen to reload it. A server that does not answer (restarting, 5xx) is asked again later.
 */
(function () {
  "use strict";

  const EVERY_MS = 3000;

  function ask() {
    fetch(location.href, {headers: {Accept: "application/json"}, cache: "no-store", credentials: "same-origin"})
      .then(function (answer) {
        if (answer.status >= 500) return false;
        if (answer.status !== 404) return true;
        return answer.json().then(function (body) {
          return ((body && body.error) || {}).code !== "site_unknown";
        }, function () { return true; });
      })
      .then(function (back) {
        if (back) location.reload();
        else setTimeout(ask, EVERY_MS);
      }, function () { setTimeout(ask, EVERY_MS); });
  }

  setTimeout(ask, EVERY_MS);
})();
