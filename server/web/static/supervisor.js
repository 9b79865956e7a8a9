/* The supervisors' pages (/reports, /dashboard): who is logged in, the login form, logout.
 *
 * QK.supervisor(onReady) asks /api/v1/auth/me; an admin or supervisor goes on to onReady(me),
 * anyone else sees why not, and nobody logged in gets the login form (POST /api/v1/auth/login).
 */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  QK.supervisor = function (onReady) {
    const form = $("login");
    const work = $("work");
    const who = $("who");
    const forbidden = $("forbidden");

    function show(me) {
      if (me.csrf_token) QK.setCsrfToken(me.csrf_token);
      form.hidden = true;
      who.hidden = false;
      // the role by its name in the page's language ("Giám sát", "Supervisor"), following /admin's switch
      const role = {vi: QK.msg("admin_role_" + me.role, null, "vi"), en: QK.msg("admin_role_" + me.role, null, "en")};
      QK.say($("who-user"), "sup_who", {name: me.full_name || me.name, role: role});
      if (me.role !== "admin" && me.role !== "supervisor" && me.role !== "province") {  // province: reads only
        QK.say(forbidden, "sup_forbidden", {user: me.name, role: role});
        forbidden.hidden = false;
        work.hidden = true;
        return;
      }
      forbidden.hidden = true;
      QK.me = me;  // who it is, for the parts of a page only some roles may ask for (reports_sites.js)
      work.hidden = false;
      onReady(me);
    }

    function ask() {
      form.hidden = false;
      work.hidden = true;
      who.hidden = true;
      $("username").focus();
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const error = $("login-error");
      error.hidden = true;
      $("login-button").disabled = true;
      // (to watch or report: not at the account's counter, if it has one)
      QK.api("POST", "/api/v1/auth/login", {username: $("username").value, password: $("password").value, at_counter: false})
        .then(function (answer) {
          $("login-button").disabled = false;
          if (!answer.ok) {
            error.textContent = QK.errorMessage(answer);
            error.hidden = false;
            return;
          }
          $("password").value = "";
          show({name: answer.data.user, full_name: answer.data.full_name, role: answer.data.role,
                site: answer.data.site, csrf_token: answer.data.csrf_token});
        }, function () {
          $("login-button").disabled = false;
          error.textContent = QK.msg("page_network_error");
          error.hidden = false;
        });
    });

    $("logout").addEventListener("click", function () {
      QK.api("POST", "/api/v1/auth/logout").then(function () { window.location.reload(); });
    });

    QK.api("GET", "/api/v1/auth/me").then(function (answer) {
      if (answer.ok) show(answer.data);
      else ask();
    }, ask);
  };

  /** 1234.5 -> "1.234,5" (Vietnamese grouping, decimal comma). */
  QK.number = function (value, decimals) {
    if (value === null || value === undefined) return "–";
    return Number(value).toLocaleString("vi-VN", {minimumFractionDigits: decimals || 0,
                                                   maximumFractionDigits: decimals || 0});
  };
})();
