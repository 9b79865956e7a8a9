"""What the keypad's terminal shows: the counter's state (``Screen``) drawn as lines of text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .keys import key_label

RULE = "─" * 60


@dataclass
class Screen:
    counter: int
    counter_name: str = ""
    connected: bool = False
    ticket: dict | None = None
    state: str = "open"
    pause_reason: str | None = None
    waiting: int | None = None
    typed: str = ""
    sending: str | None = None  # the action on its way
    retrying: bool = False
    retry_reason: str | None = None  # the server's own words when it answered but did nothing
    unconfirmed: bool = False  # a try was answered database_outcome_unknown: the press may have been done
    message: str = ""
    message_kind: str = "info"
    services: dict = field(default_factory=dict)


def screen_lines(s: Screen, keys: dict[str, str], t: Callable[..., str]) -> list[str]:
    """The screen as lines, in the words of ``t`` (a catalog's translate in the keypad's language)."""
    title = t("keypad_title", counter=s.counter) + (f" · {s.counter_name}" if s.counter_name else "")
    link = t("keypad_connected") if s.connected else t("keypad_disconnected")
    lines = [f"{title}   [{link}]", RULE]
    if s.ticket:
        status = t("keypad_status_serving") if s.ticket.get("status") == "serving" else t("keypad_status_called")
        lines.append(f"{t('keypad_current')}: {s.ticket['display']}  ({s.ticket.get('service')}, {status})")
    else:
        lines.append(f"{t('keypad_current')}: —")
    waiting = "?" if s.waiting is None else (f"{s.waiting}+" if s.waiting >= 50 else str(s.waiting))
    lines.append(f"{t('keypad_waiting')}: {waiting}")
    if s.state == "paused":
        lines.append(t("keypad_paused") + (f": {s.pause_reason}" if s.pause_reason else ""))
    lines.append(f"{t('keypad_typed')}: {s.typed}_")
    lines.append(RULE)
    if s.sending:
        word = t(f"keypad_action_{s.sending.replace('-', '_')}")
        if s.unconfirmed:  # (sent again with its key: answered as done, or done once; not the server's advice
            # to check before trying again, meant for a person, nor its "busy" of a later try)
            lines.append(t("keypad_unconfirmed_resending", action=word))
        else:
            lines.append(t("keypad_resending", action=word) if s.retrying else t("keypad_sending", action=word))
            if s.retrying and s.retry_reason:
                lines.append("✗ " + s.retry_reason)
    else:
        mark = {"ok": "✓ ", "error": "✗ "}.get(s.message_kind, "")
        lines.append(mark + s.message if s.message else "")
    lines.append(RULE)
    lines.append(" · ".join(f"{key_label(k)} {t('keypad_action_' + a.replace('-', '_'))}" for k, a in keys.items()))
    lines.append(t("keypad_help"))
    return lines


def show(out, lines: list[str]) -> None:
    """The whole screen drawn again on the terminal ``out`` (cleared first)."""
    try:
        out.write("\x1b[H\x1b[2J" + "\r\n".join(lines) + "\r\n")
        out.flush()
    except (OSError, ValueError):
        pass
