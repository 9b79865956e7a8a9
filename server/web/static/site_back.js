/* The "no such site" page (errors/page.html, 404 site_unknown) of a page left open: a kiosk, a lobby
 * display, a counter's screen whose site was removed. It asks its own address again (the small JSON
 * answer: Accept application/json), after 3 s, then less and less often, up to once a minute (a
 * mistyped address left open costs the server little). The page is loaded again only when the answer
 * is a page (2xx, 3xx) or a JSON refusal other than site_unknown (the admin added the site again under
 * its id): it then works as before, with nobody at the screen to reload it. Anything else (the server
 * restarting, a 5xx, a proxy's HTML error page, no network) is asked again later, never loaded in its
 * place.
 */
(function () {
  "use strict";

  const FIRST_MS = 3000;
  const MOST_MS = 60000;
  let wait = FIRST_MS;

  function back(answer) {
    if (answer.ok) return Promise.resolve(true);  // (a redirect is followed: its end decides)
    if (!(answer.headers.get("Content-Type") || "").includes("application/json")) return Promise.resolve(false);
    return answer.json().then(function (body) {
      const code = ((body && body.error) || {}).code;
      return Boolean(code) && code !== "site_unknown" && answer.status < 500 && answer.status !== 429;
    }, function () { return false; });
  }

  function later() {
    setTimeout(ask, wait);
    wait = Math.min(wait * 2, MOST_MS);
  }

  function ask() {
    fetch(location.href, {headers: {Accept: "application/json"}, cache: "no-store", credentials: "same-origin"})
      .then(back)
      .then(function (again) {
        if (again) location.reload();
        else later();
      }, later);
  }

  later();
})();
