"""A lobby display for the benchmarks: subscribed as the real one is, but reading what it hears as
cheaply as possible, since a centre's displays are TVs on other machines while here they share the
server's two cores.

python-socketio's client decoded every frame in Python (engine.io packet, JSON, the event's dispatch):
in bench_production's runs such displays took ~0.5 of the machine's two cores from the servers being
measured. This one lets websocket-client make the WebSocket (the HTTP upgrade) and send its few
frames, subscribes with the Socket.IO packets the lobby page sends, then only walks the frame headers
of what arrives (the server's frames are never masked) to answer Engine.IO's pings and count what it
heard: the payloads are skipped, not decoded."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from urllib.parse import urlsplit

import websocket

_TEXT, _CLOSE, _PING = 0x1, 0x8, 0x9


class LobbyDisplay:
    def __init__(self, base: str, timeout: float = 60):
        parts = urlsplit(base)
        url = f"ws://{parts.netloc}/socket.io/?EIO=4&transport=websocket"
        self._ws = websocket.create_connection(url, timeout=timeout)  # (its handshake reads no frame)
        self._buffer = b""
        self._pending: list[tuple[int, bytes]] = []  # frames come after the subscribe's answer
        self.frames = 0  # heard since subscribing
        self.bytes = 0
        self._expect_text("0")  # Engine.IO's open packet
        self._ws.send("40")  # Socket.IO: join the default namespace
        self._expect_text("40")
        self._ws.send("420" + json.dumps(["subscribe", {"display": "lobby"}]))
        answer = self._expect_text("430")  # the subscribe's acknowledgement
        if json.loads(answer[3:]) != [{"ok": True}]:
            raise RuntimeError(f"the lobby display could not subscribe at {base}: {answer!r}")
        self._ws.settimeout(None)
        self._thread = threading.Thread(target=self._listen, name="lobby-display", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with contextlib.suppress(OSError):  # (the server may have gone first)
            self._ws.sock.shutdown(socket.SHUT_RDWR)  # the listening thread's recv ends
        self._thread.join(timeout=10)
        self._ws.shutdown()

    def _frames(self, chunk: bytes, whole: bool = False) -> list[tuple[int, bytes]]:
        """The (opcode, payload) of each whole frame in what has arrived (a partial one is kept for
        the next chunk); the payload only of a control frame or a short one (Engine.IO's ping), or
        ``whole``."""
        data = self._buffer + chunk
        frames = []
        at, end = 0, len(data)
        while end - at >= 2:
            opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
            start = at + 2
            if length == 126:
                start, length = at + 4, int.from_bytes(data[at + 2 : at + 4], "big")
            elif length == 127:
                start, length = at + 10, int.from_bytes(data[at + 2 : at + 10], "big")
            if start + length > end:
                break
            kept = whole or length <= 8 or opcode & 0x8
            frames.append((opcode, data[start : start + length] if kept else b""))
            at = start + length
        self._buffer = data[at:]
        return frames

    def _answer(self, opcode: int, payload: bytes) -> bool:
        """Answer a ping (Engine.IO's, or the WebSocket's own); whether the frame was one."""
        if opcode == _TEXT and payload == b"2":
            self._ws.send("3")
        elif opcode == _PING:
            self._ws.pong(payload)
        elif opcode == _CLOSE:
            raise ConnectionError("the server closed the lobby display's connection")
        else:
            return False
        return True

    def _expect_text(self, prefix: str) -> str:
        """The next text frame that begins with ``prefix`` (the handshake's packets), past pings and
        the events sent before it (the display's first state comes before the subscribe's answer)."""
        frames, self._pending = self._pending, []  # (those after an earlier packet of the handshake)
        while True:
            if not frames:
                chunk = self._ws.sock.recv(65536)
                if not chunk:
                    raise RuntimeError("the server closed the lobby display's connection while subscribing")
                frames = self._frames(chunk, whole=True)
            for index, (opcode, payload) in enumerate(frames):
                if self._answer(opcode, payload):
                    continue
                text = payload.decode()
                if text.startswith(prefix):
                    self._pending = frames[index + 1 :]
                    return text
                if not text.startswith("42"):
                    raise RuntimeError(f"the lobby display expected {prefix!r}, heard {text[:80]!r}")
            frames = []

    def _listen(self) -> None:
        sock = self._ws.sock
        try:
            frames, self._pending = self._pending, []
            while True:
                for opcode, payload in frames:
                    self.frames += 1
                    self._answer(opcode, payload)
                chunk = sock.recv(65536)
                if not chunk:
                    return
                self.bytes += len(chunk)
                frames = self._frames(chunk)
        except (OSError, websocket.WebSocketException):  # closed by close() or by the server: the run ends
            return
