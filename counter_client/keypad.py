"""The keypad client: a counter driven from a small USB numeric keypad (or any terminal).

``queuekiosk keypad --server URL --token T --counter N`` runs in a terminal of the counter PC
(the keypad is just a keyboard to it). It shows the counter's current number, its waiting
count and the connection, kept live over Socket.IO (``subscribe {"counter": N}``, a fresh
snapshot after every event of the counter's room), and turns keys into counter actions sent
over HTTP with the counter token.

Never twice: each key press gets its own ``Idempotency-Key``. When the answer does not come
(the server restarts, the network drops) the same request is sent again with the same key
until it is answered or ``retry_seconds`` have passed, and the server answers a key it has
already acted on with the first answer instead of acting again. A key held down (auto-repeat)
or bouncing acts once: a press of the same key within ``bounce_seconds`` of the last one is
ignored, and no key acts while an action is on its way.

Keys (docs/counter.md): digits type a number; Enter calls the next ticket, or the typed number;
+ recall, * start, / finish, - no-show, . pause or resume, Backspace erases a digit. Any key
can be bound to any action with ``--key KEY=ACTION``.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import termios
import threading
import time
import tty
import uuid
from dataclasses import dataclass, field

import requests
import socketio

from ..server.core.i18n import translate

log = logging.getLogger("queuekiosk.keypad")

ACTIONS = ("next", "recall", "start", "finish", "no-show", "pause", "transfer", "erase", "clear", "none")
DEFAULT_KEYS = {"enter": "next", "+": "recall", "*": "start", "/": "finish", "-": "no-show", ".": "pause",
                "backspace": "erase", "esc": "clear"}
KEY_NAMES = {"\r": "enter", "\n": "enter", "\x7f": "backspace", "\x08": "backspace", "\t": "tab", " ": "space",
             "\x1b": "esc"}
# the keypad's own keys in "application keypad" mode (ESC O x), should a terminal send them so
APP_KEYPAD = {"M": "enter", "k": "+", "m": "-", "j": "*", "o": "/", "n": ".", **{chr(ord("p") + d): str(d) for d in range(10)}}
MAX_DIGITS = 6
BACKOFF = (0.25, 0.5, 1, 2, 3, 5)


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


def _error_message(response) -> str | None:
    """The message of the API's error answer, if ``response`` is one."""
    try:
        data = response.json() if response is not None and response.content else None
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error.get("message") if isinstance(error, dict) else None


@dataclass
class Screen:
    """What the terminal shows."""

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
    message: str = ""
    message_kind: str = "info"
    services: dict = field(default_factory=dict)


class Keypad:
    def __init__(self, server: str, token: str, counter: int, keys: dict[str, str] | None = None,
                 language: str = "vi", retry_seconds: float = 120.0, bounce_seconds: float = 0.4,
                 out=None, timeout: float = 5.0):
        self.server = server.rstrip("/")
        self.counter = counter
        self.keys = keys or dict(DEFAULT_KEYS)
        self.language = language
        self.retry_seconds = retry_seconds
        self.bounce_seconds = bounce_seconds
        self.timeout = timeout
        self.out = out or sys.stdout
        self.screen = Screen(counter)
        self._token = token
        self._http = requests.Session()
        self._http.headers.update({"Authorization": f"Bearer {token}", "Accept-Language": language,
                                   "Accept": "application/json"})
        self._lock = threading.RLock()
        self._last_press: dict[str, float] = {}
        self._refresh: threading.Timer | None = None
        self._stop = threading.Event()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5,
                                   randomization_factor=0.3, handle_sigint=False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("state", self._on_state)
        self.sio.on("*", self._on_event)

    # --- words --------------------------------------------------------------------------------

    def t(self, key: str, **params) -> str:
        return translate(key, self.language, **params)

    # --- the live link ----------------------------------------------------------------------

    def connect_forever(self) -> None:
        """Connect in the background, retrying until the server answers; python-socketio reconnects after."""
        def run():
            delay = 0.5
            while not self._stop.is_set() and not self.sio.connected:
                try:
                    self.sio.connect(self.server, auth={"token": self._token}, wait_timeout=10)
                    return
                except socketio.exceptions.ConnectionError as error:
                    if "rejected" in str(error).lower():
                        self._say(self.t("keypad_bad_token"), "error")
                        return
                    time.sleep(delay)
                    delay = min(delay * 2, 5)
        threading.Thread(target=run, daemon=True).start()

    def _on_connect(self):
        with self._lock:
            self.screen.connected = True
        self._subscribe()
        self.draw()

    def _on_disconnect(self, *_reason):
        with self._lock:
            self.screen.connected = False
        self.draw()

    def _subscribe(self):
        def ask():
            try:
                answer = self.sio.call("subscribe", {"counter": self.counter}, timeout=10)
            except socketio.exceptions.SocketIOError:
                return
            if isinstance(answer, dict) and "error" in answer:
                self._say(answer["error"]["message"], "error")
        threading.Thread(target=ask, daemon=True).start()

    def _on_state(self, snapshot):
        if not isinstance(snapshot, dict) or snapshot.get("kind") != "counter":
            return
        with self._lock:
            if self.screen.sending:  # taken before the action's answer: wait for a fresh one
                self._schedule_refresh()
                return
            counter = snapshot["counter"]
            self.screen.counter_name = counter.get("name") or ""
            self.screen.ticket = counter.get("ticket")
            self.screen.state = counter.get("state", "open")
            self.screen.pause_reason = counter.get("pause_reason")
            self.screen.waiting = len(snapshot.get("queue") or [])
        self.draw()

    def _on_event(self, event, *_args):
        if event != "state":
            self._schedule_refresh()

    def _schedule_refresh(self):
        with self._lock:
            if self._refresh is not None:
                self._refresh.cancel()
            self._refresh = threading.Timer(0.15, self._subscribe)
            self._refresh.daemon = True
            self._refresh.start()

    # --- keys -------------------------------------------------------------------------------

    def press(self, name: str) -> None:
        """One key (a character, or enter/backspace/esc/...)."""
        now = time.monotonic()
        last = self._last_press.get(name)
        self._last_press[name] = now
        if name.isdigit() and len(name) == 1:
            with self._lock:
                if len(self.screen.typed) < MAX_DIGITS:
                    self.screen.typed += name
            self.draw()
            return
        action = self.keys.get(name)
        if action is None:
            return
        if action == "erase":
            with self._lock:
                self.screen.typed = self.screen.typed[:-1]
            self.draw()
            return
        if action == "clear":
            with self._lock:
                self.screen.typed = ""
            self.draw()
            return
        if last is not None and now - last < self.bounce_seconds:
            return  # a held key repeating, or a bounce: once is enough
        with self._lock:
            if self.screen.sending:
                return
            typed, self.screen.typed = self.screen.typed, ""
            path, body = self._request_for(action, typed)
            if path is None:
                self.draw()
                return
            self.screen.sending = action
            self.screen.retrying = False
            self.screen.message = ""
        self.draw()
        threading.Thread(target=self._send, args=(action, path, body), daemon=True).start()

    def _request_for(self, action: str, typed: str):
        if action == "next":
            return "next", ({"number": int(typed)} if typed else {})
        if action == "pause":
            return ("resume", {}) if self.screen.state == "paused" else ("pause", {})
        if action == "transfer":
            if not typed:
                self._say(self.t("keypad_transfer_needs_counter"), "error", draw=False)
                return None, None
            return "transfer", {"counter": int(typed)}
        return action, {}

    # --- sending, once ----------------------------------------------------------------------

    def _send(self, action: str, path: str, body: dict) -> None:
        key = str(uuid.uuid4())  # one per press: every retry of this press carries it
        url = f"{self.server}/api/v1/counters/{self.counter}/{path}"
        deadline = time.monotonic() + self.retry_seconds
        attempt = 0
        while True:
            try:
                response = self._http.post(url, json=body, headers={"Idempotency-Key": key}, timeout=self.timeout)
                if response.status_code < 500:
                    break
            except requests.RequestException:
                response = None
            why = _error_message(response)  # a server that answers why it did nothing (database full or busy)
            if time.monotonic() >= deadline or self._stop.is_set():
                with self._lock:
                    self.screen.sending = None
                    self.screen.retrying = False
                self._say(why or self.t("keypad_gave_up", action=self.t(f"keypad_action_{path.replace('-', '_')}")),
                          "error")
                return
            with self._lock:
                self.screen.retrying = True
                self.screen.retry_reason = why
            self.draw()
            time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
        self._answered(path, response)

    def _answered(self, path: str, response) -> None:
        data = None
        try:
            data = response.json() if response.content else None
        except ValueError:
            pass
        with self._lock:
            self.screen.sending = None
            self.screen.retrying = False
            self.screen.retry_reason = None
            if response.status_code == 204:
                self.screen.ticket = None
                self.screen.state = "open"
                self._say(self.t("keypad_nobody_waiting"), "info", draw=False)
            elif response.ok and path in ("pause", "resume"):
                self.screen.state = data.get("state", self.screen.state)
                self.screen.pause_reason = data.get("pause_reason")
                self._say(self.t(f"keypad_done_{path}"), "ok", draw=False)
            elif response.ok:
                ticket = data
                if path in ("finish", "no-show", "transfer"):
                    self.screen.ticket = None
                else:
                    self.screen.ticket = ticket
                    self.screen.state = "open"
                self._say(self.t(f"keypad_done_{path.replace('-', '_')}", number=ticket.get("display", "?")), "ok",
                          draw=False)
            else:
                self._say(_error_message(response) or self.t("keypad_refused", status=response.status_code), "error",
                          draw=False)
        self.draw()
        self._schedule_refresh()

    def _say(self, message: str, kind: str = "info", draw: bool = True) -> None:
        with self._lock:
            self.screen.message = message
            self.screen.message_kind = kind
        if draw:
            self.draw()

    # --- the terminal -----------------------------------------------------------------------

    def lines(self) -> list[str]:
        s = self.screen
        t = self.t
        title = t("keypad_title", counter=s.counter) + (f" · {s.counter_name}" if s.counter_name else "")
        link = t("keypad_connected") if s.connected else t("keypad_disconnected")
        lines = [f"{title}   [{link}]", "─" * 60]
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
        lines.append("─" * 60)
        if s.sending:
            word = t(f"keypad_action_{s.sending.replace('-', '_')}")
            lines.append(t("keypad_resending", action=word) if s.retrying else t("keypad_sending", action=word))
            if s.retrying and s.retry_reason:
                lines.append("✗ " + s.retry_reason)
        else:
            mark = {"ok": "✓ ", "error": "✗ "}.get(s.message_kind, "")
            lines.append(mark + s.message if s.message else "")
        lines.append("─" * 60)
        lines.append(" · ".join(f"{key_label(k)} {t('keypad_action_' + a.replace('-', '_'))}"
                                for k, a in self.keys.items()))
        lines.append(t("keypad_help"))
        return lines

    def draw(self) -> None:
        with self._lock:
            text = "\x1b[H\x1b[2J" + "\r\n".join(self.lines()) + "\r\n"
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):
            pass

    def run(self, fd: int | None = None) -> None:
        """Read keys from the terminal until Ctrl+C (or the input closes)."""
        fd = sys.stdin.fileno() if fd is None else fd
        saved = termios.tcgetattr(fd) if os.isatty(fd) else None
        if saved is not None:
            tty.setcbreak(fd)  # one key at a time, no echo; Ctrl+C still stops
        self.draw()
        self.connect_forever()
        try:
            for name in read_keys(fd):
                self.press(name)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            if saved is not None:
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            try:
                self.sio.disconnect()
            except Exception:  # noqa: BLE001 - going away anyway
                pass
            self.out.write("\r\n")
            self.out.flush()


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


def main(server: str, token: str, counter: int, key_specs: tuple[str, ...], language: str,
         retry_seconds: float) -> None:
    keys = parse_keymap(key_specs)
    Keypad(server, token, counter, keys, language=language, retry_seconds=retry_seconds).run()
