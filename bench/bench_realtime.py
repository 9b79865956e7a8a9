"""Call -> `ticket.called` latency at 200 connected Socket.IO clients (p50/p90/p99), and the
server's resident memory with 1,000 connected clients.

    python bench/bench_realtime.py [--clients 200] [--listener-processes 1 4] [--calls 40]
        [--memory-clients 1000] [--processes N --database-url URL --message-queue redis://127.0.0.1:6379/9]

The listening clients (python-socketio, websocket transport, subscribed to the lobby
display) run in --listener-processes separate processes, so that decoding 200 clients'
messages in one Python process does not become the thing measured. A call is made over HTTP
and timed from just before the request until each client's handler runs (time.perf_counter
is the system-wide monotonic clock, so the processes' readings compare).

With --processes N (PostgreSQL), N servers share the database and the message queue, each on
its own port. The calls go to the first, and the clients are spread evenly over the others, so
every event they hear has crossed the message queue. Each run also shows where a call's time
goes: the HTTP call itself, when the display's message is on the Redis channel (and how many
messages a call publishes), when the first and the last client hear it, and the CPU time each
server and the listening processes spend per call. --memory-clients 0 skips the memory
figure (a server of its own, on SQLite).
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
from common import (  # noqa: E402
    add_server_options,
    check_server_options,
    cpu_ms,
    describe_servers,
    percentile,
    queuekiosk_server,
    queuekiosk_servers,
    rss_kib,
    token,
)

CHANNEL = "flask-socketio"  # Flask-SocketIO's default message-queue channel


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


def connect_all(bases: list[str], count: int, first: int = 0) -> list[Listener]:
    """``count`` clients; client ``first + i`` connects to ``bases[(first + i) % len(bases)]``."""
    listeners = [Listener(bases[(first + i) % len(bases)]) for i in range(count)]
    for start in range(0, count, 50):  # in waves, so the server's accept queue is not flooded
        batch = listeners[start : start + 50]
        gevent.joinall([gevent.spawn(listener.connect) for listener in batch], raise_error=True)
        for listener in batch:
            if not listener.subscribed.wait(30):
                raise RuntimeError("a client got no state snapshot")
    return listeners


def listen(bases: list[str], first: int, count: int, done_file: str) -> None:
    """A child process: connect ``count`` clients, say ready, report arrivals (per server) when told."""
    listeners = connect_all(bases, count, first)
    print("ready", flush=True)
    cpu_at_ready = time.process_time()
    while not os.path.exists(done_file):
        gevent.sleep(0.05)
    arrivals: dict[str, dict[str, list[float]]] = {}
    for listener in listeners:
        for ticket_id, at in listener.arrivals.items():
            arrivals.setdefault(listener.base, {}).setdefault(ticket_id, []).append(at)
    print(json.dumps({"cpu_ms": (time.process_time() - cpu_at_ready) * 1000, "arrivals": arrivals}), flush=True)


def watch_channel(message_queue: str, seen: dict[str, float], traffic: list[int]) -> gevent.Greenlet:
    """Note when each call's `ticket.called` for the lobby display is published on Redis, and
    count every message on the channel and its bytes into ``traffic``."""
    import redis

    pubsub = redis.Redis.from_url(message_queue).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    pubsub.get_message(timeout=5)  # the subscription is confirmed

    def run():
        for message in pubsub.listen():
            at = time.perf_counter()
            traffic[0] += 1
            traffic[1] += len(message["data"])
            data = json.loads(message["data"])
            if data.get("event") == "ticket.called" and str(data.get("room")).endswith(":display:lobby"):
                seen.setdefault(data["data"][0]["ticket"]["id"], at)

    return gevent.spawn(run)


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):.1f} ms, p90 {percentile(values, 90):.1f} ms, "
        f"p99 {percentile(values, 99):.1f} ms"
    )


def call_latency(servers, http: requests.Session, args, processes: int, tmp: Path):
    """Calls on the first server; clients on the others (on the first when it is alone)."""
    caller, targets = servers[0], servers[1:] or servers[:1]
    bases = [base for base, _proc, _tmp in targets]
    per_process = args.clients // processes
    clients = per_process * processes
    done = tmp / f"done-{processes}"
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--listen", ",".join(bases), str(i * per_process), str(per_process), str(done)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a listening process failed")
    on_redis: dict[str, float] = {}
    traffic = [0, 0]
    watcher = watch_channel(args.message_queue, on_redis, traffic) if args.message_queue else None
    cpu_before = [cpu_ms(proc.pid) for _base, proc, _tmp in servers]
    started, http_ms = {}, []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        response = http.post(f"{caller[0]}/api/v1/counters/1/next")
        http_ms.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        started[response.json()["id"]] = t0
        gevent.sleep(0.15)  # let every client hear it before the next call
    server_cpu = [(cpu_ms(proc.pid) - before) / args.calls for (_b, proc, _t), before in zip(servers, cpu_before)]
    done.write_text("")
    if watcher is not None:
        watcher.kill()
    latencies, per_server, per_call, listener_cpu, foreign = [], {base: [] for base in bases}, {}, 0.0, 0
    for child in children:
        report = json.loads(child.stdout.readline())
        child.wait(10)
        listener_cpu += report["cpu_ms"] / args.calls
        for base, arrivals in report["arrivals"].items():
            for ticket_id, times in arrivals.items():
                if ticket_id not in started:  # another server's call on the same Redis channel
                    foreign += len(times)
                    continue
                ms = [(at - started[ticket_id]) * 1000 for at in times]
                latencies += ms
                per_server[base] += ms
                per_call.setdefault(ticket_id, []).extend(ms)

    def ms_of(values):
        return f"{statistics.median(values):.1f} ms" if values else "-"

    print(
        f"{describe_servers(args)}: call -> ticket.called at {clients} clients in {processes} listening "
        f"process(es), calls on server 1, clients on server(s) "
        f"{', '.join(str(servers.index(t) + 1) for t in targets)}, {args.calls} calls: {summary(latencies)}, "
        f"max {max(latencies):.1f} ms, missed {clients * args.calls - len(latencies)}"
        + (f", {foreign} events of other servers' calls ignored" if foreign else "")
    )
    print(
        f"  per call, median: the HTTP call {ms_of(http_ms)}; message on Redis "
        f"{ms_of([(on_redis[t] - started[t]) * 1000 for t in started if t in on_redis])}; first client "
        f"{ms_of([min(v) for v in per_call.values()])}; last client {ms_of([max(v) for v in per_call.values()])}"
    )
    if len(bases) > 1:
        print(
            "  by server: "
            + "; ".join(
                f"server {servers.index(t) + 1}: {summary(per_server[t[0]])}, {len(per_server[t[0]])} heard"
                for t in targets
            )
        )
    print(
        "  CPU per call: "
        + ", ".join(f"server {i + 1} {ms:.1f} ms" for i, ms in enumerate(server_cpu))
        + f"; the {processes} listening process(es) {listener_cpu:.1f} ms"
        + (
            f"; on Redis {traffic[0] / args.calls:.1f} messages, {traffic[1] / args.calls / 1024:.1f} KB"
            if args.message_queue
            else ""
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--listener-processes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--memory-clients", type=int, default=1000, help="0: no memory figure")
    add_server_options(parser)
    args = parser.parse_args()
    check_server_options(parser, args)

    # memory on a server of its own: clients that came and went would leave a fragmented heap
    if args.memory_clients:
        with queuekiosk_server() as (base, proc, tmp):
            gevent.sleep(1)
            idle_rss = rss_kib(proc.pid)
            listeners = connect_all([base], args.memory_clients)
            gevent.sleep(1)
            rss = rss_kib(proc.pid)
            print(
                f"server RSS: {idle_rss / 1024:.0f} MB idle, {rss / 1024:.0f} MB with {len(listeners)} "
                f"connected clients ({(rss - idle_rss) / len(listeners):.0f} KB per client)"
            )

    for processes in args.listener_processes:
        with queuekiosk_servers(args) as servers:
            base, _proc, tmp = servers[0]
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token(tmp, 'admin', database_url=args.database_url)}"
            for _ in range(args.calls + 2):
                http.post(f"{base}/api/v1/tickets", json={"service": "HT"}).raise_for_status()
            call_latency(servers, http, args, processes, tmp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        listen(sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
