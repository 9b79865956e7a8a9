"""The keypad's keys: names of what a terminal sends, the key map (``--key KEY=ACTION``), and
reading keys one at a time from the terminal."""

from __future__ import annotations

import os
import select
import termios
import tty
from contextlib import contextmanager

ACTIONS = ("next", "recall", "start", "finish", "no-show", "pause", "transfer", "erase", "clear", "none")
DEFAULT_KEYS = {
    "enter": "next",
    "+": "recall",
    "*": "start",
    "/": "finish",
    "-": "no-show",
    ".": "pause",
    "backspace": "erase",
    "esc": "clear",
}
KEY_NAMES = {
    "\r": "enter",
    "\n": "enter",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\t": "tab",
    " ": "space",
    "\x1b": "esc",
}
# the keypad's own keys in "application keypad" mode (ESC O x), should a terminal send them so
APP_KEYPAD = {
    "M": "enter",
    "k": "+",
    "m": "-",
    "j": "*",
    "o": "/",
    "n": ".",
    **{chr(ord("p") + d): str(d) for d in range(10)},
}


def parse_keymap(specs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """The default key map changed by ``KEY=ACTION`` entries (``none`` unbinds a key)."""
    keys = dict(DEFAULT_KEYS)
    for spec in specs:
        key, sep, action = spec.partition("=")
        key, action = key.strip(), action.strip().lower()
        if not sep or not key or action not in ACTIONS:
            raise ValueError(f"{spec!r}: write KEY=ACTION with ACTION one of {', '.join(ACTIONS)}")
        name = key.lower() if len(key) > 1 else key
        if len(name) > 1 and name not in KEY_NAMES.values():
            raise ValueError(f"{spec!r}: a key is one character or one of enter, backspace, tab, space, esc")
        if name.isdigit():
            raise ValueError(f"{spec!r}: digits type numbers and cannot be bound")
        if action == "none":
            keys.pop(name, None)
        else:
            keys[name] = action
    return keys


def key_label(name: str) -> str:
    return {"enter": "Enter", "backspace": "⌫", "esc": "Esc", "tab": "Tab", "space": "Space"}.get(name, name)


@contextmanager
def one_key_at_a_time(fd: int):
    """The terminal on ``fd`` gives each key at once, without echo (Ctrl+C still stops); restored after."""
    saved = termios.tcgetattr(fd) if os.isatty(fd) else None
    if saved is not None:
        tty.setcbreak(fd)
    try:
        yield
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_keys(fd: int):
    """Key names from a terminal: characters, enter/backspace/tab/space/esc; escape sequences are
    read whole (the keypad's application mode is understood, other keys such as arrows are skipped)."""
    pending = b""
    while True:
        readable, _, _ = select.select([fd], [], [], None)
        if not readable:
            continue
        chunk = os.read(fd, 64)
        if not chunk:
            return
        pending += chunk
        text = pending.decode("utf-8", errors="ignore")
        pending = b""
        i = 0
        while i < len(text):
            char = text[i]
            if char == "\x1b":
                if i + 1 >= len(text):  # a lone Esc (a sequence would have come in one read)
                    yield "esc"
                    i += 1
                    continue
                if text[i + 1] == "O" and i + 2 < len(text):  # application keypad: ESC O x
                    name = APP_KEYPAD.get(text[i + 2])
                    if name:
                        yield name
                    i += 3
                    continue
                if text[i + 1] == "[":  # CSI: arrows, F-keys, ... skipped
                    j = i + 2
                    while j < len(text) and not ("@" <= text[j] <= "~"):
                        j += 1
                    i = j + 1
                    continue
                yield "esc"
                i += 1
                continue
            yield KEY_NAMES.get(char, char)
            i += 1
