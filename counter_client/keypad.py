"""The keypad client: a counter driven from a small USB numeric keypad (or any terminal).

``queuekiosk keypad --server URL --token T --counter N`` runs in a terminal of the counter PC
(the keypad is just a keyboard to it). It shows the counter's current number, its waiting
count and the connection, kept live over Socket.IO (live.py), and turns keys (keys.py) into
counter actions sent over HTTP with the counter token (sender.py); screen.py draws the terminal.
This module is the keypad itself: what a key does, and what the screen says after.

Never twice: each key press gets its own ``Idempotency-Key``, kept across its retries
(sender.py). A key held down (auto-repeat) or bouncing acts once: a press of the same key
within ``bounce_seconds`` of the last one is ignored, and no key acts while an action is on its way.

Keys (docs/counter.md): digits type a number; Enter calls the next ticket, or the typed number;
+ recall, * start, / finish, - no-show, . pause or resume, Backspace erases a digit. Any key
can be bound to any action with ``--key KEY=ACTION``.
"""

from __future__ import annotations

import sys
import threading
import time

from ..server.core.i18n import translate
from .keys import DEFAULT_KEYS, one_key_at_a_time, parse_keymap, read_keys
from .live import LiveLink
from .screen import Screen, screen_lines, show
from .sender import ActionSender, GaveUp, error_message

MAX_DIGITS = 6


class Keypad:
    def __init__(
        self,
        server: str,
        token: str,
        counter: int,
        keys: dict[str, str] | None = None,
        language: str = "vi",
        retry_seconds: float = 120.0,
        bounce_seconds: float = 0.4,
        out=None,
        timeout: float = 5.0,
    ):
        self.server = server.rstrip("/")
        self.counter = counter
        self.keys = keys or dict(DEFAULT_KEYS)
        self.language = language
        self.bounce_seconds = bounce_seconds
        self.out = out or sys.stdout
        self.screen = Screen(counter)
        self._lock = threading.RLock()  # the screen: changed by keys, the live link and the sender
        self._last_press: dict[str, float] = {}
        self._stop = threading.Event()
        self.sender = ActionSender(self.server, token, counter, language, retry_seconds, timeout, self._stop)
        self.live = LiveLink(
            self.server,
            token,
            counter,
            on_link=self._on_link,
            on_snapshot=self._on_snapshot,
            on_error=lambda message: self._say(message, "error"),
            on_token_refused=lambda: self._say(self.t("keypad_bad_token"), "error"),
        )

    def t(self, key: str, **params) -> str:
        return translate(key, self.language, **params)

    # --- the live link ----------------------------------------------------------------------

    def _on_link(self, connected: bool) -> None:
        with self._lock:
            self.screen.connected = connected
        self.draw()

    def _on_snapshot(self, snapshot: dict) -> None:
        with self._lock:
            if self.screen.sending:  # taken before the action's answer: wait for a fresh one
                self.live.refresh_soon()
                return
            counter = snapshot["counter"]
            self.screen.counter_name = counter.get("name") or ""
            self.screen.ticket = counter.get("ticket")
            self.screen.state = counter.get("state", "open")
            self.screen.pause_reason = counter.get("pause_reason")
            self.screen.waiting = len(snapshot.get("queue") or [])
        self.draw()

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
        if action in ("erase", "clear"):
            with self._lock:
                self.screen.typed = self.screen.typed[:-1] if action == "erase" else ""
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
            self.screen.retrying = self.screen.unconfirmed = False
            self.screen.message = ""
        self.draw()
        threading.Thread(target=self._send, args=(path, body), daemon=True).start()

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

    # --- an action and its answer -------------------------------------------------------------

    def _send(self, path: str, body: dict) -> None:
        with self._lock:
            held = self.screen.ticket
        # "next" over a number called and never started ends it as the site's policy says
        # (policy.unstarted_at_next): the clerk is told which, after the answer
        unstarted = held if path == "next" and held and held.get("status") == "called" else None
        try:
            response = self.sender.send(path, body, on_retry=self._retrying)
        except GaveUp as gave_up:
            with self._lock:
                self.screen.sending = None
                self.screen.retrying = self.screen.unconfirmed = False
            action = self.t(f"keypad_action_{path.replace('-', '_')}")
            if gave_up.unconfirmed:  # (a later try's "busy" says nothing of the first); the press may have been
                # done with no event of it sent (the server's writer raised): the counter's state is asked
                # first, so that the screen's number is the server's when the clerk is told to check it
                fresh = self.live.refresh_now()
                said = self.t("keypad_unconfirmed_gave_up" if fresh else "keypad_unconfirmed_not_fresh", action=action)
            else:
                said = gave_up.why or self.t("keypad_gave_up", action=action)
            self._say(said, "error")
            return
        self._answered(path, response)
        if unstarted and response.status_code in (200, 204):
            self._tell_unstarted(unstarted, response)

    def _tell_unstarted(self, ticket: dict, response) -> None:
        """The answer says how "next" ended ``ticket`` (Unstarted-Ended); a replayed answer does not:
        then the ticket is asked."""
        status = unstarted_ended(response, ticket) or self.sender.ticket_status(ticket["id"])
        key = {"no_show": "keypad_unstarted_no_show", "done": "keypad_unstarted_served"}.get(status)
        if key:
            with self._lock:
                said = self.screen.message
            self._say(
                f"{said} · {self.t(key, number=ticket.get('display', '?'))}"
                if said
                else self.t(key, number=ticket.get("display", "?"))
            )

    def _retrying(self, why: str | None, unconfirmed: bool) -> None:
        with self._lock:
            self.screen.retrying = True
            self.screen.retry_reason = why
            self.screen.unconfirmed = unconfirmed
        self.draw()

    def _answered(self, path: str, response) -> None:
        data = None
        try:
            data = response.json() if response.content else None
        except ValueError:
            pass
        with self._lock:
            self.screen.sending = None
            self.screen.retrying = self.screen.unconfirmed = False
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
                self._say(
                    self.t(f"keypad_done_{path.replace('-', '_')}", number=ticket.get("display", "?")), "ok", draw=False
                )
            else:
                self._say(
                    error_message(response) or self.t("keypad_refused", status=response.status_code),
                    "error",
                    draw=False,
                )
        self.draw()
        self.live.refresh_soon()

    def _say(self, message: str, kind: str = "info", draw: bool = True) -> None:
        with self._lock:
            self.screen.message = message
            self.screen.message_kind = kind
        if draw:
            self.draw()

    # --- the terminal -----------------------------------------------------------------------

    def draw(self) -> None:
        with self._lock:
            lines = screen_lines(self.screen, self.keys, self.t)
        show(self.out, lines)

    def run(self, fd: int | None = None) -> None:
        """Read keys from the terminal until Ctrl+C (or the input closes)."""
        fd = sys.stdin.fileno() if fd is None else fd
        try:
            with one_key_at_a_time(fd):
                self.draw()
                self.live.connect_forever(self._stop)
                for name in read_keys(fd):
                    self.press(name)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            self.live.close()
            self.out.write("\r\n")
            self.out.flush()


def main(
    server: str, token: str, counter: int, key_specs: tuple[str, ...], language: str, retry_seconds: float
) -> None:
    keys = parse_keymap(key_specs)
    Keypad(server, token, counter, keys, language=language, retry_seconds=retry_seconds).run()


def unstarted_ended(response, ticket: dict) -> str | None:
    """The status "next" left ``ticket`` in, from the answer's ``Unstarted-Ended: no_show; ticket=ID``."""
    status, _, rest = response.headers.get("Unstarted-Ended", "").partition(";")
    return status.strip() if rest.strip() == f"ticket={ticket['id']}" else None
