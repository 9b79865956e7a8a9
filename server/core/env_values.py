"""The environment's values a process reads at start, checked before anything uses them: a value
written wrong (``QUEUEKIOSK_PROXIES=yes``, ``redis//…``, a password with an unencoded ``@``) is said
in one sentence naming the variable and the form it takes (the command line and both servers, Vietnamese
then English), never a traceback, and never read as something else in silence."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")
BOOLEANS = ("QUEUEKIOSK_IGNORE_HOURS",)
AGENT_BACKOFF = "QUEUEKIOSK_AGENT_BACKOFF_SECONDS"  # the kiosk agent's waits between connects (kiosk/agent.py)


def seconds_setting(name: str, default: float, low: float, high: float) -> float:
    """A number of seconds from the environment variable ``name`` (read when a loop starts; tests set
    them short), else ``default``; a value outside ``low``-``high`` is logged and the default kept."""
    value = os.environ.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = low - 1
    if not low <= seconds <= high:
        log.error("%s is %r, not %g-%g seconds: %g s instead", name, value, low, high, default)
        return default
    return seconds


def flag(name: str) -> bool:
    """A yes-or-no variable: 1/true/yes/on, else no (a value of neither form is refused by ``mistake``)."""
    return os.environ.get(name, "").strip().lower() in TRUE


def mistake() -> tuple[str, dict] | None:
    """The first variable set wrong, as a catalog key and its parameters, else None."""
    env = os.environ
    for name in BOOLEANS:
        value = env.get(name, "").strip()
        if value.lower() not in TRUE + FALSE:
            return "cli_env_boolean", {"name": name, "value": value}
    proxies = env.get("QUEUEKIOSK_PROXIES", "").strip()
    if proxies and not proxies.isdigit():
        return "cli_env_proxies", {"value": proxies}
    pool = env.get("QUEUEKIOSK_DATABASE_POOL", "").strip()
    if pool and not (pool.isdigit() and 1 <= int(pool) <= 500):
        return "cli_env_pool", {"value": pool}
    backoff = env.get(AGENT_BACKOFF, "").strip()
    if backoff and seconds_schedule(backoff) is None:
        return "cli_env_agent_backoff", {"value": backoff}
    queue = env.get("QUEUEKIOSK_MESSAGE_QUEUE", "").strip()
    if queue and ("://" not in queue or urlsplit(queue).scheme not in ("redis", "rediss")):
        return "cli_env_message_queue", {"value": queue}
    return database_address_mistake(env.get("QUEUEKIOSK_DATABASE_URL", "").strip())


def seconds_schedule(text: str) -> tuple[float, ...] | None:
    """Waits written "0.5,1,2,5" (each from 0.1 to 3600 seconds), else None (nothing, or written wrong)."""
    try:
        waits = tuple(float(part) for part in text.split(","))
    except ValueError:
        return None
    return waits if all(0.1 <= wait <= 3600 for wait in waits) else None


def database_address_mistake(url: str) -> tuple[str, dict] | None:
    """``postgres://`` (SQLAlchemy reads postgresql:// only), or a password whose ``@`` was not URL-encoded
    (the host would be read from the password's end): said with the address's password part hidden whole."""
    scheme, _, rest = url.partition("://")
    if scheme == "postgres":
        return "cli_env_database_postgres", {"url": shown_address(url)}
    authority = rest.split("/", 1)[0]
    if authority.count("@") > 1:
        return "cli_env_database_password", {"url": shown_address(url)}
    return None


def shown_address(url: str) -> str:
    """A database address with everything between the user name and the host's "@" hidden: the last "@"
    before the path ends the password, however many it holds."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not separator or "@" not in authority:
        return url
    credentials, _, host = authority.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}{slash}{path}"
