"""Security headers on every response: no framing, no sniffing, scripts only from this server."""

from __future__ import annotations

# Scripts only from our own files (the pages have no inline script and no inline handlers).
# Inline style attributes are allowed: the display sets its grid through CSS variables.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",  # the API and Socket.IO (same origin, ws: included)
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # a tracking page's URL is the ticket's key: never send it elsewhere
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def install_security_headers(app) -> None:
    """On every response, Flask's and Socket.IO's (answered before Flask sees the request) alike,
    through a WSGI wrapper of the app; a header a response sets itself is kept. Call it after
    Socket.IO is bound to the app. (An ``after_request`` hook as well would only repeat the work:
    each of its ``setdefault`` calls scans the headers, on every request.)"""
    app.wsgi_app = _with_security_headers(app.wsgi_app)


_NAMES = frozenset(name.lower() for name in HEADERS)
_ALL = list(HEADERS.items())


def _with_security_headers(wsgi_app):
    def app_with_headers(environ, start_response):
        def start_with_headers(status, headers, exc_info=None):
            for name, _ in headers:
                if name.lower() in _NAMES:  # the response set one itself (rare): keep it
                    present = {name.lower() for name, _ in headers}
                    headers = [*headers, *((name, value) for name, value in _ALL if name.lower() not in present)]
                    break
            else:
                headers = [*headers, *_ALL]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return wsgi_app(environ, start_with_headers)

    return app_with_headers
