"""Security headers on every response: no framing, no sniffing, scripts only from this server."""

from __future__ import annotations

# Scripts only from our own files (the pages have no inline script and no inline handlers).
# Inline style attributes are allowed: the display sets its grid through CSS variables.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",          # the API and Socket.IO (same origin, ws: included)
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # a tracking page's URL is the ticket's key: never send it elsewhere
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def install_security_headers(app) -> None:
    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
