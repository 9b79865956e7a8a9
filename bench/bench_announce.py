"""Call -> announcement audio ready to play (SPEC: p99 <= 100 ms), with and without a warm cache.

A fresh `queuekiosk serve` on the demo centre (its lobby voice: chime, the sentence twice).
One python-socketio client listens on the lobby display, as the display page does. Each
sample runs from just before `POST /api/v1/counters/1/next` (or `/recall`) until the
client has the `ticket.called` (or `ticket.recalled`) event AND has downloaded the whole WAV
of its `announcement.audio_url`: the moment the page could start playing.

- cold: every call is a new number, so its announcement is made (clips joined, WAV written)
  when its `audio_url` is fetched (in the call's request before issue 21's change, 3d85cde);
- warm: the same call is announced again (a recall), so the WAV is in the cache.

    .venv/bin/python bench/bench_announce.py [--calls 300]
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time
import wave

import requests
import socketio
from common import percentile, queuekiosk_server, token


class Listener:
    def __init__(self, base: str):
        self.client = socketio.Client(reconnection=False)
        self.events: dict[str, list] = {"ticket.called": [], "ticket.recalled": []}
        self.cond = threading.Condition()
        for name in self.events:
            self.client.on(name, self._handler(name))
        self.client.connect(base, transports=["websocket"])
        self.client.call("subscribe", {"display": "lobby"})

    def _handler(self, name):
        def handle(data):
            with self.cond:
                self.events[name].append(data)
                self.cond.notify_all()

        return handle

    def wait(self, name: str, count: int, timeout: float = 10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.events[name]) < count:
                if not self.cond.wait(deadline - time.monotonic()):
                    raise RuntimeError(f"no {name} event within {timeout} s")
            return self.events[name][count - 1]


def run(base: str, http: requests.Session, listener: Listener, calls: int) -> dict:
    audio = requests.Session()
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    seconds = []
    for _ in range(calls):  # a ticket per call
        assert http.post(base + "/api/v1/tickets", json={"service": "HT"}).status_code == 201
    for i in range(calls):
        for kind, action, event in (("cold", "next", "ticket.called"), ("warm", "recall", "ticket.recalled")):
            start = time.perf_counter()
            response = http.post(f"{base}/api/v1/counters/1/{action}")
            assert response.status_code == 200, response.text
            data = listener.wait(event, i + 1)
            url = data["announcement"]["audio_url"]
            assert url, data["announcement"]
            wav_bytes = audio.get(base + url).content
            results[kind].append((time.perf_counter() - start) * 1000)
            if kind == "cold":
                with wave.open(io.BytesIO(wav_bytes)) as w:
                    seconds.append(w.getnframes() / w.getframerate())
    return {"results": results, "audio_seconds": statistics.median(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with queuekiosk_server() as (base, _proc, tmp):
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token(tmp, 'admin')}"
        listener = Listener(base)
        try:
            out = run(base, http, listener, args.calls)
        finally:
            listener.client.disconnect()
    print(f"calls: {args.calls} cold + {args.calls} warm; announcement length (median) {out['audio_seconds']:.1f} s")
    for kind, values in out["results"].items():
        print(
            f"  {kind:5}  call -> audio downloaded: p50 {percentile(values, 50):6.1f} ms   "
            f"p90 {percentile(values, 90):6.1f} ms   p99 {percentile(values, 99):6.1f} ms   "
            f"max {max(values):6.1f} ms"
        )


if __name__ == "__main__":
    main()
