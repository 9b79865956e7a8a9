"""The keypad's live link: the counter's room over Socket.IO (``subscribe {"counter": N}``).

It connects in the background and reconnects by itself; after every event of the room it asks
for a fresh snapshot (a ``state`` event), once the events of a burst have come in. ``--server`` may
name a site (``http://host:8000/s/SITE``): the link opens ``/s/SITE/socket.io`` as that site's pages
do. A token the server refuses (its ``connect_error`` says ``bad_token``: wrong or revoked, or of
another site) is said on the screen, and the link stops trying. Its client is the kiosk agent's
(kiosk/socketio_client.py): it keeps its connection through a long poll of many packets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import socketio

from ..kiosk.socketio_client import InOrderClient
from ..server.core.site_address import socketio_address

REFRESH_AFTER_SECONDS = 0.15  # the events of one action come together: one snapshot after them
# a keypad that gave up on a press the server could not confirm asks for the counter's state this long,
# this often, before it tells the clerk to check the current number
REFRESH_NOW_SECONDS = 5.0
REFRESH_AGAIN_SECONDS = 0.5
REFUSED_TOKEN = {"bad_token", "unauthorized", "forbidden_site", "forbidden_role", "site_retired_account"}


class LiveLink:
    def __init__(
        self,
        server: str,
        token: str,
        counter: int,
        *,
        on_link: Callable[[bool], None],
        on_snapshot: Callable[[dict], None],
        on_error: Callable[[str], None],
        on_token_refused: Callable[[], None],
    ):
        self.server = server
        self.address, self.path, _site = socketio_address(server)
        self.counter = counter
        self._refused = threading.Event()  # the server refused the token: no more tries
        self._token = token
        self._on_link = on_link
        self._on_snapshot = on_snapshot
        self._on_error = on_error
        self._on_token_refused = on_token_refused
        self._lock = threading.Lock()
        self._refresh: threading.Timer | None = None
        self._handled = threading.Event()  # a counter's snapshot was handled (refresh_now)
        self.sio = InOrderClient(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=5,
            randomization_factor=0.3,
            handle_sigint=False,
        )
        self.sio.on("connect", self._connected)
        self.sio.on("connect_error", self._connect_error)
        self.sio.on("disconnect", lambda *_reason: self._on_link(False))
        self.sio.on("state", self._state)
        self.sio.on("*", lambda event, *_args: self.refresh_soon() if event != "state" else None)

    def connect_forever(self, stop: threading.Event) -> None:
        """Connect in the background, retrying until the server answers; python-socketio reconnects after."""

        def run():
            delay = 0.5
            while not stop.is_set() and not self.sio.connected and not self._refused.is_set():
                try:
                    self.sio.connect(
                        self.address, socketio_path=self.path, auth={"token": self._token}, wait_timeout=10
                    )
                    return
                except socketio.exceptions.ConnectionError:
                    if self._refused.is_set():
                        return
                    time.sleep(delay)
                    delay = min(delay * 2, 5)

        threading.Thread(target=run, daemon=True).start()

    def refresh_soon(self) -> None:
        """Ask for a fresh snapshot shortly (later calls within that time make it one)."""
        with self._lock:
            if self._refresh is not None:
                self._refresh.cancel()
            self._refresh = threading.Timer(REFRESH_AFTER_SECONDS, self._subscribe)
            self._refresh.daemon = True
            self._refresh.start()

    def refresh_now(self, seconds: float = REFRESH_NOW_SECONDS) -> bool:
        """Ask for a fresh snapshot and wait until it is handled, asking again while the server cannot give
        it (not connected, its database out of reach) for up to ``seconds``: True once it was, else False."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._handled.clear()
            try:
                answer = self.sio.call("subscribe", {"counter": self.counter}, timeout=left)
            except socketio.exceptions.SocketIOError:
                answer = None
            if isinstance(answer, dict) and "error" not in answer:
                # (its state event came first, but each event is handled in a thread of its own)
                return self._handled.wait(max(deadline - time.monotonic(), 0))
            time.sleep(min(REFRESH_AGAIN_SECONDS, max(deadline - time.monotonic(), 0)))
        return False

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - going away anyway
            pass

    def _connect_error(self, data=None):
        """The server's refusal (``{"message", "data": {"code", ...}}``): a refused token is said once, and
        python-socketio's own reconnection (after a revocation) stops with it."""
        refusal = data.get("data") if isinstance(data, dict) else None
        code = refusal.get("code") if isinstance(refusal, dict) else None
        if code in REFUSED_TOKEN and not self._refused.is_set():
            self._refused.set()
            self.sio.reconnection = False  # none started again
            self.sio.reconnection_attempts = 1  # the one under way ends after this try
            self._on_token_refused()

    def _connected(self):
        self._on_link(True)
        self._subscribe()

    def _subscribe(self):
        def ask():
            try:
                answer = self.sio.call("subscribe", {"counter": self.counter}, timeout=10)
            except socketio.exceptions.SocketIOError:
                return
            if isinstance(answer, dict) and "error" in answer:
                self._on_error(answer["error"]["message"])

        threading.Thread(target=ask, daemon=True).start()

    def _state(self, snapshot):
        if isinstance(snapshot, dict) and snapshot.get("kind") == "counter":
            self._on_snapshot(snapshot)
            self._handled.set()
