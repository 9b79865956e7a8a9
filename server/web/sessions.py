"""Logins on an installation with several sites: an account of one site signs in at that site only,
an account of the whole installation everywhere.

A browser keeps the login of a site's account in that site's own cookie (``session-{site}``), so
one browser may be signed in at several sites at once (a clerk of one commune centre and a clerk
of another on a shared PC) and logging in or out at one site leaves the others alone. An account
of the whole installation (the province, an installation admin, a supervisor of several sites)
signs in once for all of them, in the installation's cookie (``session``, Flask's own, as on a
single-site installation): from the comparison of sites the province opens any site's reports
still signed in. At a site, its own cookie's login comes first, then the installation's; at a retired
site, then the login of the site it was merged into, whose admins and supervisors read its reports.

The cookie is told apart by name, not by path, because a site's pages (``/s/{site}/...``), its
API (``/api/v1/sites/{site}/...``) and its Socket.IO connection (``/s/{site}/socket.io``) all use
it; the first site is the same at ``/`` and ``/s/{first}/``. Each cookie is signed apart, so a
cookie copied under another site's name is no login there. The CSRF token lives in the session
(server/web/api/csrf.py), so each login has its own. The login route writes the account's site
into the session (``site``), which says where the session is kept.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from ..core.auth import successor_of

SAVED_TO = "queuekiosk.session_site"  # environ: the site whose cookie this request's session is saved to


class SiteSessions(SecureCookieSessionInterface):
    def open_session(self, app, request_):
        if not app.secret_key:
            return None
        if "HTTP_COOKIE" not in request_.environ:  # no login to look for (a kiosk, a program with a token)
            session = self.session_class()
            session.cookie_site = None
            return session
        state = current_app.extensions["queuekiosk"]
        site_id = state.site_id
        own = self._load(app, request_, site_id)
        if "user_id" in own:  # signed in at this very site
            own.cookie_site = site_id
            return own
        shared = self._load(app, request_, None)  # the installation's login (or nobody's session)
        shared.cookie_site = None
        successor = successor_of(state.sites[site_id])
        if "user_id" not in shared and successor is not None:
            # a retired site: the login at the site it was merged into, whose staff read its reports
            # (auth.may_use_site lets it do nothing else here)
            merged = self._load(app, request_, successor)
            if "user_id" in merged:
                merged.cookie_site = successor
                return merged
        return shared

    def save_session(self, app, session, response) -> None:
        """To the cookie it came from, unless a login of this request belongs elsewhere: a site's
        account to its site's cookie, an account of the whole installation to the installation's
        (and then this site's own login, if there was one, is ended: the new login is who is here)."""
        opened = getattr(session, "cookie_site", None)
        if opened is None and not session and not session.modified:  # no login came, none to keep (most requests)
            if session.accessed:
                _vary_on_cookie(response)
            return
        target = session.get("site") if "user_id" in session else opened
        if opened is not None and target != opened:
            response.delete_cookie(
                self._name(app, opened),
                domain=self.get_cookie_domain(app),
                path=self.get_cookie_path(app),
                secure=self.get_cookie_secure(app),
                partitioned=self.get_cookie_partitioned(app),
                samesite=self.get_cookie_samesite(app),
                httponly=self.get_cookie_httponly(app),
            )
        request.environ[SAVED_TO] = target
        if not session and not session.modified:  # what Flask's own does with an empty session, sooner
            if session.accessed:
                _vary_on_cookie(response)
            return
        super().save_session(app, session, response)

    # what Flask's own save_session asks: the cookie chosen above

    def get_cookie_name(self, app) -> str:
        return self._name(app, self._saved_to())

    def get_signing_serializer(self, app):
        return self._serializer(app, self._saved_to())

    def _saved_to(self) -> str | None:
        return request.environ.get(SAVED_TO) if has_request_context() else None

    def _name(self, app, site_id: str | None) -> str:
        name = app.config["SESSION_COOKIE_NAME"]
        return name if site_id is None else f"{name}-{site_id}"

    def _serializer(self, app, site_id: str | None):
        serializer = super().get_signing_serializer(app)
        if serializer is not None and site_id is not None:  # signed apart: another cookie's login is none here
            serializer.salt = f"{self.salt}/{site_id}".encode()
        return serializer

    def _load(self, app, request_, site_id: str | None):
        value = request_.cookies.get(self._name(app, site_id))
        if value:
            try:
                max_age = int(app.permanent_session_lifetime.total_seconds())
                return self.session_class(self._serializer(app, site_id).loads(value, max_age=max_age))
            except BadSignature:
                pass
        return self.session_class()


def _vary_on_cookie(response) -> None:
    """``response.vary.add("Cookie")``, which parses and writes the header back through a HeaderSet
    even when there is none yet (the usual case): the same header."""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers["Vary"] = "Cookie"
