"""A login per site: each site of the installation keeps its own session cookie.

One browser may be signed in at several sites at once (a clerk of one commune centre and a clerk
of another on a shared PC, a supervisor who works at two), and logging in or out at one site
leaves the others' logins alone. The first site keeps Flask's cookie (``session``), at ``/`` and at
``/s/{first}/`` alike, so today's single-site installations and their devices change nothing;
any other site's cookie is ``session-{site}``, for its pages (``/s/{site}/...``), its API
(``/api/v1/sites/{site}/...``) and its Socket.IO connection (``/s/{site}/socket.io``), which is why
it is told apart by name rather than by path. Each site's cookie is also signed apart, so a
cookie of one site copied under another site's name is no login there. The CSRF token lives in
the session (server/web/api/csrf.py): each site's login has its own.
"""

from __future__ import annotations

from flask import current_app, has_request_context
from flask.sessions import SecureCookieSessionInterface


class SiteSessions(SecureCookieSessionInterface):
    def _other_site(self) -> str | None:
        """The request's site when it is not the first one (whose cookie is Flask's own)."""
        if not has_request_context():
            return None
        state = current_app.extensions["queuekiosk"]
        site_id = state.site_id
        return None if site_id == state.first_site_id else site_id

    def get_cookie_name(self, app) -> str:
        name = super().get_cookie_name(app)
        site_id = self._other_site()
        return name if site_id is None else f"{name}-{site_id}"

    def get_signing_serializer(self, app):
        serializer = super().get_signing_serializer(app)
        site_id = self._other_site()
        if serializer is not None and site_id is not None:  # signed apart: another site's cookie is no login here
            serializer.salt = f"{self.salt}/{site_id}".encode()
        return serializer
