"""A webhook receiver for tests (and an SMS gateway or Zalo API stand-in): a real HTTP server on
127.0.0.1 that records every POST (and GET)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    event: str
    delivery: str
    signature: str
    body: bytes
    path: str = ""
    headers: object = None  # the request headers (an email.message.Message: case-insensitive)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """An integrator's endpoint: records every POST; answers ``answers`` in turn (then 200); a
    status of "hang" holds the answer until ``release()`` (a receiver slower than the timeout)."""

    def __init__(self):
        self.received: list[Received] = []
        self.answers: list = []
        self.reply = b""  # the body of every answer
        self._changed = threading.Condition()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.received.append(
                        Received(
                            self.headers["X-Queuekiosk-Event"],
                            self.headers["X-Queuekiosk-Delivery"],
                            self.headers["X-Queuekiosk-Signature"],
                            body,
                            self.path,
                            self.headers,
                        )
                    )  # case-insensitive
                    answer = receiver.answers.pop(0) if receiver.answers else 200
                    receiver._changed.notify_all()
                if answer == "hang":
                    receiver._released.wait(60)
                    answer = 200
                reply = receiver.reply
                self.send_response(answer)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/queue"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self._released.set()

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(
                    f"the receiver got {len(self.received)} of {count} deliveries: {[r.event for r in self.received]}"
                )
            return list(self.received)

    def stays_at(self, count: int, seconds: float = 2.0) -> None:
        time.sleep(seconds)
        assert len(self.received) == count, [r.json for r in self.received[count:]]

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()
