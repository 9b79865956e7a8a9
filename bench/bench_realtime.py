"""Call -> `ticket.called` latency at 200 connected Socket.IO clients (p50/p99), and the
server's resident memory with 1,000 connected clients.

    python bench/bench_realtime.py [--clients 200] [--calls 50] [--memory-clients 1000]

All clients run in this one process under gevent (websocket transport), subscribed to the
lobby display; a call is made over HTTP and timed from just before the request until each
client's handler runs, so the figure includes this process's own dispatch of 200 messages.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

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
        gevent.joinall([gevent.spawn(l.connect) for l in batch], raise_error=True)
        for l in batch:
            if not l.subscribed.wait(30):
                raise RuntimeError("a client got no state snapshot")
    return listeners


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--memory-clients", type=int, default=1000)
    args = parser.parse_args()

    with queuekiosk_server() as (base, proc, tmp):
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token(tmp, 'admin')}"
        for _ in range(args.calls):
            http.post(f"{base}/api/v1/tickets", json={"service": "HT"}).raise_for_status()
        idle_rss = rss_kib(proc.pid)

        listeners = connect_all(base, args.clients)
        latencies, missed = [], 0
        for _ in range(args.calls):
            t0 = time.perf_counter()
            response = http.post(f"{base}/api/v1/counters/1/next")
            response.raise_for_status()
            ticket_id = response.json()["id"]
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and sum(ticket_id in l.arrivals for l in listeners) < len(listeners):
                gevent.sleep(0.002)
            for l in listeners:
                if ticket_id in l.arrivals:
                    latencies.append((l.arrivals[ticket_id] - t0) * 1000)
                else:
                    missed += 1
            gevent.sleep(0.05)
        print(f"call -> ticket.called at {args.clients} clients, {args.calls} calls: "
              f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
              f"max {max(latencies):.1f} ms, missed {missed}")

        more = connect_all(base, args.memory_clients - args.clients)
        http.post(f"{base}/api/v1/counters/1/next").raise_for_status()
        gevent.sleep(1)
        rss = rss_kib(proc.pid)
        print(f"server RSS: {idle_rss / 1024:.0f} MB idle, {rss / 1024:.0f} MB with "
              f"{len(listeners) + len(more)} connected clients "
              f"({(rss - idle_rss) / (len(listeners) + len(more)):.0f} KB per client)")
        for l in listeners + more:
            l.client.disconnect()


if __name__ == "__main__":
    main()
