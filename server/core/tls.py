"""One TLS client context per process for what the server sends out: webhooks (server/web/delivery.py)
and the notification channels (server/core/notification_channels.py: SMS gateways, Zalo, Web Push over HTTPS;
e-mail over SMTP).

``http.client.HTTPSConnection`` without a context, ``urllib.request.urlopen`` without one and
``ssl.create_default_context()`` each make a new context, which reads the system's CA certificates
again: ~20 ms of CPU, nearly all of an attempt to a receiver that is down, when it was made per
connection (~6 % of a fuzzed server's CPU, its webhooks failing and retried; bench/bench_tls_context.py). Python's ssl documentation has a context hold what
outlives one connection (settings, certificates) and be shared by many; the contexts here are made
exactly as those calls make theirs, so certificates are checked as before: the system's CA
certificates (or what the operator's ``ssl._create_default_https_context`` says), the host name
checked, ALPN ``http/1.1`` and TLS 1.3 post-handshake authentication as ``http.client`` sets them.

A context is made again after ``REFRESH_SECONDS``, so CA certificates updated on the machine are
used within that time, without a restart. No connection is kept here: a context made before a fork
(gunicorn's ``--preload``) serves the child's own connections.
"""

from __future__ import annotations

import ssl
import time

REFRESH_SECONDS = 3600.0

_made: dict[str, tuple[float, ssl.SSLContext]] = {}


def _https() -> ssl.SSLContext:
    """The context ``http.client.HTTPSConnection(host)`` makes for itself (Python 3.11-3.13)."""
    context = ssl._create_default_https_context()  # ssl.create_default_context() unless the operator said otherwise
    context.set_alpn_protocols(["http/1.1"])
    if context.post_handshake_auth is not None:
        context.post_handshake_auth = True
    return context


_MAKERS = {"https": _https, "smtp": ssl.create_default_context}


def context(kind: str) -> ssl.SSLContext:
    """This process's client context for ``kind`` ("https" or "smtp"), made at its first use."""
    now = time.monotonic()
    made = _made.get(kind)
    if made is None or now - made[0] >= REFRESH_SECONDS:
        made = _made[kind] = (now, _MAKERS[kind]())
    return made[1]


def https_context() -> ssl.SSLContext:
    return context("https")


def smtp_context() -> ssl.SSLContext:
    return context("smtp")


_opener: list = [None, None]  # the context, and the opener made with it


def https_opener():
    """A ``urllib.request`` opener as ``urlopen``'s own (its handlers, proxies from the environment),
    its HTTPS connections made with ``https_context()``."""
    import urllib.request

    shared = https_context()
    if _opener[0] is not shared:  # the first use, or a context made again
        _opener[:] = [shared, urllib.request.build_opener(urllib.request.HTTPSHandler(context=shared))]
    return _opener[1]
