"""What an address others are sent to must be: a webhook's, and the one phones reach the server at."""

from __future__ import annotations

from urllib.parse import urlsplit


def web_address(text: str, base: bool = False) -> bool:
    """An absolute http(s) address with a host and a port that is one, no whitespace (a comment that
    systemd's env file kept after the value is part of it). ``base``: one that paths are joined after
    (a ticket's /t/ID), so no query or fragment either, which would swallow them."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:  # a bad port, an unclosed [ of an IPv6 address
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
        return False
    return not (base and (parts.query or parts.fragment or "?" in text or "#" in text))
