"""A device's ``--server`` address (the kiosk agent, the keypad): the server's, or one of its sites'."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from .i18n import LANGUAGES, translate

SITE_PATH = re.compile(r"(?P<base>.*?)(?:/s/(?P<site>[A-Za-z0-9_-]+))?/?")


def say(key: str, **params) -> str:
    """The catalogs' sentence, Vietnamese first, then English (what the IT person reads in a journal). A
    server's refusal given as a parameter (``{"message", "translations": {language: {"message"}}}``) is
    said in each sentence's language."""
    return " / ".join(
        translate(key, language, **{name: _said_in(value, language) for name, value in params.items()})
        for language in LANGUAGES
    )


def _said_in(value, language: str):
    if not isinstance(value, dict):
        return value
    return ((value.get("translations") or {}).get(language) or {}).get("message") or value.get("message")


def socketio_address(server: str) -> tuple[str, str, str | None]:
    """The server's address, its Socket.IO path and the site: ``http://h:8000/s/xa-a`` -> ``("http://h:8000",
    "/s/xa-a/socket.io", "xa-a")``, a site's connection as its pages open it (python-socketio keeps only the
    scheme and host of the address it is given: a site's path was dropped, and the first site served).
    ValueError, said in both languages, for anything after the site's id (a page's address pasted) or
    another path."""
    parts = urlsplit(server)
    path = SITE_PATH.fullmatch(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or path["base"] or parts.query or parts.fragment:
        raise ValueError(say("device_bad_server", server=server))
    site = path["site"]
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), (f"/s/{site}" if site else "") + "/socket.io", site
