"""Call -> `ticket.called` latency at 200 connected Socket.IO clients (p50/p99), and the
server's resident memory with 1,000 connected clients.

    python bench/bench_realtime.py [--clients 200] [--processes 4] [--calls 40] [--memory-clients 1000]

The listening clients (python-socketio, websocket transport, subscribed to the lobby
display) run in --processes separate processes, so that decoding 200 clients' messages in
one Python process does not become the thing measured. A call is made over HTTP and timed
from just before the request until each client's handler runs (time.perf_counter is the
system-wide monotonic clock, so the processes' readings compare).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402
import socketio  # noqa: E402

from common import percentile, queuekiosk_server, rss_kib, token  # noqa: E402


class Listener:
    def __init__(self, base: str):
        self.client = socketio.Client(reconnection=False)
        self.subscribed = gevent.event.Event()
        self.arrivals: dict[str, float] = {}
        self.client.on("state", lambda _data: self.subscribed.set())
        self.client.on("ticket.called", self._called)
        self.base = base

    def _called(self, data):
        self.arrivals[data["ticket"]["id"]] = time.perf_counter()

    def connect(self):
        self.client.connect(self.base, transports=["websocket"], wait_timeout=30)
        self.client.emit("subscribe", {"display": "lobby"})


def connect_all(base: str, count: int) -> list[Listener]:
    listeners = [Listener(base) for _ in range(count)]
    for start in range(0, count, 50):  # in waves, so the server's accept queue is not flooded
        batch = listeners[start:start + 50]
        gevent.joinall([gevent.spawn(listener.connect) for listener in batch], raise_error=True)
        for listener in batch:
            if not listener.subscribed.wait(30):
                raise RuntimeError("a client got no state snapshot")
    return listeners


def listen(base: str, count: int, done_file: str) -> None:
    """A child process: connect ``count`` clients, say ready, report arrivals when told."""
    listeners = connect_all(base, count)
    print("ready", flush=True)
    while not os.path.exists(done_file):
        gevent.sleep(0.05)
    arrivals: dict[str, list[float]] = {}
    for listener in listeners:
        for ticket_id, at in listener.arrivals.items():
            arrivals.setdefault(ticket_id, []).append(at)
    print(json.dumps(arrivals), flush=True)


def call_latency(base: str, http: requests.Session, clients: int, processes: int, calls: int, tmp: Path):
    done = tmp / f"done-{processes}"
    children = [subprocess.Popen([sys.executable, __file__, "--listen", base, str(clients // processes), str(done)],
                                 stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a listening process failed")
    started, http_ms = {}, []
    for _ in range(calls):
        t0 = time.perf_counter()
        response = http.post(f"{base}/api/v1/counters/1/next")
        http_ms.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        started[response.json()["id"]] = t0
        gevent.sleep(0.15)  # let every client hear it before the next call
    done.write_text("")
    latencies, heard = [], 0
    for child in children:
        arrivals = json.loads(child.stdout.readline())
        child.wait(10)
        for ticket_id, times in arrivals.items():
            latencies += [(at - started[ticket_id]) * 1000 for at in times]
            heard += len(times)
    missed = calls * (clients // processes) * processes - heard
    print(f"call -> ticket.called at {clients} clients in {processes} process(es), {calls} calls: "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms, missed {missed} (the HTTP call itself: median "
          f"{statistics.median(http_ms):.1f} ms)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--memory-clients", type=int, default=1000)
    args = parser.parse_args()

    # memory on a server of its own: clients that came and went would leave a fragmented heap
    with queuekiosk_server() as (base, proc, tmp):
        gevent.sleep(1)
        idle_rss = rss_kib(proc.pid)
        listeners = connect_all(base, args.memory_clients)
        gevent.sleep(1)
        rss = rss_kib(proc.pid)
        print(f"server RSS: {idle_rss / 1024:.0f} MB idle, {rss / 1024:.0f} MB with {len(listeners)} "
              f"connected clients ({(rss - idle_rss) / len(listeners):.0f} KB per client)")

    for processes in args.processes:
        with queuekiosk_server() as (base, proc, tmp):
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token(tmp, 'admin')}"
            for _ in range(args.calls + 2):
                http.post(f"{base}/api/v1/tickets", json={"service": "HT"}).raise_for_status()
            call_latency(base, http, args.clients, processes, args.calls, tmp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        listen(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
