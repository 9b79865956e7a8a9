"""Call -> `ticket.called` at 200 connected Socket.IO clients, beside a bare Socket.IO emit route
(bench/bare_socketio.py) in the same run, and the server's resident memory idle and with 1,000
connected clients beside the bare app's.

    python bench/bench_realtime.py [--clients 200] [--listener-processes 4] [--calls 40] [--rounds 3]
        [--memory-clients 1000] [--processes N --database-url URL --message-queue redis://127.0.0.1:6379/9]
        [--baseline REVISION [REVISION ...]]

Both servers are started once; the rounds interleave them (bare then queuekiosk, then the other
way round), each round with listeners connected afresh. What each figure is:

- The HTTP part: a call (`POST /api/v1/counters/1/next`, admin token) from a raw keep-alive HTTP
  client (one socket, the request written whole, the answer read by its Content-Length): from
  before the request is written until its answer is read.
- call -> display: from the same moment until each listening client's `ticket.called` handler
  runs (time.perf_counter is the system-wide monotonic clock, so the processes' readings compare).
- The listeners' own limit is kept out of the server's: the listening clients (python-socketio,
  websocket transport, subscribed to the lobby display) run in --listener-processes processes,
  and each process says when all of its clients have heard a call; the next call is made only
  then (at most 5 s later), so calls never come faster than the listeners take them. A client
  that never hears a call is "missed"; the time until the last process has heard it is shown as
  "all heard" (the listeners' pace, not the server's).
- Server CPU per call: the server process's user + system time (/proc) over the round's calls,
  divided by the calls (the 200 clients' frames included).
- What the listeners were sent, so that the comparison stays even: the Socket.IO packets a client
  heard per call and the size of the `ticket.called` packet (bare's has the same fields as the one
  queuekiosk sends a display; each server writes its JSON its own way).

With --baseline REVISION ... (e.g. HEAD~3; SQLite, one process; or a directory laid out as common.baseline_tree
lays a revision, e.g. a copy of a working tree), each revision's server runs beside the others and is
measured in each round as well (each round in turn forwards and backwards): a change's
effect, side by side, each figure also as a ratio to bare and queuekiosk's to the revision's.

With --processes N (PostgreSQL), N queuekiosk servers share the database and the message queue,
each on its own port; the calls go to the first, the clients are spread over the others, so every
event they hear has crossed the message queue (the bare reference stays one process). Each run
then also shows when the display's message is on the Redis channel and how many messages a call
publishes. --memory-clients 0 skips the memory figures (servers of their own, on SQLite).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import atexit  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import socketio  # noqa: E402
from common import (  # noqa: E402
    BENCH_SECRET_KEY,
    add_server_options,
    bare_server,
    baseline_tree,
    check_server_options,
    cpu_ms,
    describe_servers,
    percentile,
    queuekiosk_server,
    queuekiosk_servers,
    rss_kib,
    token,
)

HEARD_TIMEOUT = 5.0  # seconds a call waits for every listening process before the next call


_children: list[subprocess.Popen] = []


@atexit.register
def _stop_children() -> None:
    """Listening processes left by a run that failed (they would wait for their done file for ever)."""
    for child in _children:
        if child.poll() is None:
            child.kill()


def spawn_listeners(args: list[str]) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, __file__, "--listen", *args], stdout=subprocess.PIPE, text=True)
    _children.append(child)
    return child


def progress(message: str) -> None:
    print(f"  .. {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class RawClient:
    """One keep-alive HTTP/1.1 connection: a request written in one send, the answer read by its
    Content-Length; nothing else in the way (python-requests costs about 1 ms a call)."""

    def __init__(self, base: str, headers: dict[str, str]):
        host, _, port = base.removeprefix("http://").partition(":")
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = int(self.file.readline().split()[1])
        length = 0
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, self.file.read(length)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


class Listener:
    def __init__(self, base: str, heard=None):
        self.client = socketio.Client(reconnection=False)
        self.subscribed = gevent.event.Event()
        self.answered = gevent.event.Event()  # the subscribe's ack: heard before the calls' packets are counted
        self.arrivals: dict[str, float] = {}
        self.heard = heard
        self.client.on("state", lambda _data: self.subscribed.set())
        self.client.on("ticket.called", self._called)
        self.client.eio.on("message", self._message)  # each Socket.IO packet's size, then python-socketio's handling
        self.base = base
        self.packets = 0  # Socket.IO packets heard since the last reset (a call's events and anything else)
        self.called_bytes: list[int] = []  # the UTF-8 size of each ticket.called packet

    def _message(self, data):
        self.packets += 1
        if isinstance(data, str) and data.startswith('2["ticket.called"'):
            self.called_bytes.append(len(data.encode()))
        self.client._handle_eio_message(data)

    def _called(self, data):
        ticket_id = data["ticket"]["id"]
        self.arrivals[ticket_id] = time.perf_counter()
        if self.heard is not None:
            self.heard(ticket_id)

    def connect(self):
        self.client.connect(self.base, transports=["websocket"], wait_timeout=30)
        # with a callback, as display.js asks for the answer: engine.io's writer then sends the ack last,
        # instead of keeping the state snapshot (the last packet it sent, ~12 KB) until the next ping
        self.client.emit("subscribe", {"display": "lobby"}, callback=lambda *_answer: self.answered.set())


def connect_all(bases: list[str], count: int, first: int = 0, heard=None) -> list[Listener]:
    """``count`` clients; client ``first + i`` connects to ``bases[(first + i) % len(bases)]``."""
    listeners = [Listener(bases[(first + i) % len(bases)], heard) for i in range(count)]
    for start in range(0, count, 50):  # in waves, so the server's accept queue is not flooded
        batch = listeners[start : start + 50]
        gevent.joinall([gevent.spawn(listener.connect) for listener in batch], raise_error=True)
        for listener in batch:
            if not listener.subscribed.wait(30) or not listener.answered.wait(30):
                raise RuntimeError("a client got no state snapshot, or no answer to its subscribe")
    return listeners


def listen(bases: list[str], first: int, count: int, done_file: str) -> None:
    """A child process: connect ``count`` clients, say ready, say "heard ID" once all of them have
    heard a call, report arrivals (per server) when told."""
    counts: dict[str, int] = {}

    def heard(ticket_id):
        counts[ticket_id] = counts.get(ticket_id, 0) + 1
        if counts[ticket_id] == count:
            print(f"heard {ticket_id}", flush=True)

    listeners = connect_all(bases, count, first, heard)
    for listener in listeners:  # the packets of the calls only
        listener.packets = 0
    print("ready", flush=True)
    cpu_at_ready = time.process_time()
    while not os.path.exists(done_file):
        gevent.sleep(0.05)
    arrivals: dict[str, dict[str, list[float]]] = {}
    for listener in listeners:
        for ticket_id, at in listener.arrivals.items():
            arrivals.setdefault(listener.base, {}).setdefault(ticket_id, []).append(at)
    sizes = [size for listener in listeners for size in listener.called_bytes]
    print(
        "report "
        + json.dumps(
            {
                "cpu_ms": (time.process_time() - cpu_at_ready) * 1000,
                "arrivals": arrivals,
                "packets": sum(listener.packets for listener in listeners),
                "called_bytes": statistics.median(sizes) if sizes else 0,
            }
        ),
        flush=True,
    )


def watch_channel(message_queue: str, seen: dict[str, float], traffic: list[int]) -> gevent.Greenlet:
    """Note when each call's `ticket.called` for the lobby display is published on Redis, and
    count every message on the channel and its bytes into ``traffic``."""
    import redis

    from queuekiosk.server.web.message_queue import batch_messages, channel_of, every_process_pattern

    pubsub = redis.Redis.from_url(message_queue).pubsub(ignore_subscribe_messages=True)
    # (named by the address's Redis database: each process's batches on a channel of its own under it)
    pubsub.subscribe(channel_of(message_queue))
    pubsub.psubscribe(every_process_pattern(message_queue))
    pubsub.get_message(timeout=5)  # the subscription is confirmed

    def run():
        for message in pubsub.listen():
            at = time.perf_counter()
            traffic[0] += 1
            traffic[1] += len(message["data"])
            for data in batch_messages(message["data"]) or _json_message(message["data"]):
                rooms = data.get("room")
                rooms = [rooms] if isinstance(rooms, str) else rooms or []
                if data.get("event") == "ticket.called" and any(room.endswith(":display:lobby") for room in rooms):
                    seen.setdefault(data["data"][0]["ticket"]["id"], at)

    return gevent.spawn(run)


def _json_message(data: bytes) -> list[dict]:
    """A message of python-socketio's own form (a bare server's), if it is JSON."""
    try:
        message = json.loads(data)
    except ValueError:
        return []
    return [message] if isinstance(message, dict) else []


def summary(values: list[float]) -> str:
    if not values:
        return "nothing heard"
    return (
        f"p50 {statistics.median(values):.1f} ms, p90 {percentile(values, 90):.1f} ms, "
        f"p99 {percentile(values, 99):.1f} ms"
    )


def median_ms(values) -> str:
    return f"{statistics.median(values):.1f} ms" if values else "-"


def bare_socketio_server():
    """bench/bare_socketio.py: the bare Socket.IO emit route."""
    return bare_server("bare_socketio.py", stderr=subprocess.DEVNULL)


class Target:
    """A server under test: where calls go, where clients connect, the processes to measure."""

    def __init__(self, name, caller_base, client_bases, pids, headers, message_queue=None):
        self.name, self.caller_base, self.client_bases = name, caller_base, client_bases
        self.pids, self.headers, self.message_queue = pids, headers, message_queue
        self.rows: list[dict] = []


def call_round(target: Target, args, processes: int, tmp: Path, round_no: int) -> dict:
    bases = target.client_bases
    per_process = args.clients // processes
    clients = per_process * processes
    done = tmp / f"done-{target.name}-{round_no}"
    progress(f"round {round_no + 1}, {target.name}: connecting {clients} clients in {processes} process(es)")
    children = [
        spawn_listeners([",".join(bases), str(i * per_process), str(per_process), str(done)]) for i in range(processes)
    ]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a listening process failed")
    heard: dict[str, list] = {}
    reports: list[dict] = []

    def read(child):
        for line in child.stdout:
            kind, _, rest = line.strip().partition(" ")
            if kind == "heard":
                heard.setdefault(rest, [0, gevent.event.Event(), None])
                entry = heard[rest]
                entry[0] += 1
                if entry[0] == processes:
                    entry[2] = time.perf_counter()
                    entry[1].set()
            elif kind == "report":
                reports.append(json.loads(rest))

    readers = [gevent.spawn(read, child) for child in children]
    on_redis: dict[str, float] = {}
    traffic = [0, 0]
    watcher = watch_channel(target.message_queue, on_redis, traffic) if target.message_queue else None
    http = RawClient(target.caller_base, target.headers)
    progress(f"round {round_no + 1}, {target.name}: {args.calls} calls")
    cpu_before = [cpu_ms(pid) for pid in target.pids]
    started, http_ms, all_heard = {}, [], []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        status, body = http.post("/api/v1/counters/1/next")
        http_ms.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"{target.name}: a call answered {status}: {body[:200]!r}")
        ticket_id = json.loads(body)["id"]
        started[ticket_id] = t0
        entry = heard.setdefault(ticket_id, [0, gevent.event.Event(), None])
        if entry[1].wait(HEARD_TIMEOUT):
            all_heard.append((entry[2] - t0) * 1000)
        gevent.sleep(0.01)
    server_cpu = [(cpu_ms(pid) - before) / args.calls for pid, before in zip(target.pids, cpu_before)]
    http.close()
    done.write_text("")
    if watcher is not None:
        watcher.kill()
    gevent.joinall(readers, timeout=30)
    for child in children:
        child.wait(10)
    latencies, per_call, listener_cpu, foreign = [], {}, 0.0, 0
    packets = sum(report["packets"] for report in reports)
    called_bytes = statistics.median([report["called_bytes"] for report in reports]) if reports else 0
    for report in reports:
        listener_cpu += report["cpu_ms"] / args.calls
        for arrivals in report["arrivals"].values():
            for ticket_id, times in arrivals.items():
                if ticket_id not in started:  # another server's call on the same Redis channel
                    foreign += len(times)
                    continue
                ms = [(at - started[ticket_id]) * 1000 for at in times]
                latencies += ms
                per_call.setdefault(ticket_id, []).extend(ms)
    row = {
        "latencies": latencies,
        "http_ms": http_ms,
        "server_cpu": server_cpu,
        "listener_cpu": listener_cpu,
        "missed": clients * args.calls - len(latencies),
        "first": [min(v) for v in per_call.values()],
        "all_heard": all_heard,
        "on_redis": [(on_redis[t] - started[t]) * 1000 for t in started if t in on_redis],
        "traffic": traffic,
        "foreign": foreign,
        "clients": clients,
        "packets_per_call": packets / clients / args.calls,
        "called_bytes": called_bytes,
        "load": os.getloadavg()[0],
    }
    print(
        f"round {round_no + 1}, {target.name}: call -> ticket.called {summary(latencies)}; HTTP part median "
        f"{median_ms(http_ms)} (p90 {percentile(http_ms, 90):.1f} ms); server CPU per call "
        + ", ".join(f"{ms:.1f} ms" for ms in server_cpu)
        + f"; first client {median_ms(row['first'])}, all heard {median_ms(all_heard)}; missed {row['missed']}"
        + f"; a client heard {row['packets_per_call']:.2f} packets a call, ticket.called {row['called_bytes']:.0f} bytes"
        + (f"; on Redis {median_ms(row['on_redis'])}" if target.message_queue else "")
        + f"; load {row['load']:.1f}",
        flush=True,
    )
    target.rows.append(row)
    return row


def report(targets: list[Target], args, processes: int) -> None:
    bare, ours, *baselines = targets
    print(
        f"\n== call at {ours.rows[0]['clients']} clients, {processes} listening process(es), "
        f"{args.calls} calls x {len(ours.rows)} rounds, interleaved; {describe_servers(args)} against bare "
        "Flask-SocketIO (bench/bare_socketio.py)"
    )

    def span(values, fmt="{:.1f}"):
        return f"{fmt.format(min(values))}–{fmt.format(max(values))}" if len(values) > 1 else fmt.format(values[0])

    for label, pick in (
        ("HTTP part, median ms", lambda r: statistics.median(r["http_ms"])),
        ("server CPU per call, ms", lambda r: r["server_cpu"][0]),
        ("call -> display p50, ms", lambda r: statistics.median(r["latencies"])),
        ("call -> display p99, ms", lambda r: percentile(r["latencies"], 99)),
        ("first client, median ms", lambda r: statistics.median(r["first"])),
        ("all heard (listeners' pace), median ms", lambda r: statistics.median(r["all_heard"] or [0])),
        ("listening processes' CPU per call, ms", lambda r: r["listener_cpu"]),
        ("missed events", lambda r: r["missed"]),
        ("packets a client heard per call", lambda r: r["packets_per_call"]),
        ("ticket.called packet, bytes", lambda r: r["called_bytes"]),
    ):
        b = [pick(r) for r in bare.rows]
        o = [pick(r) for r in ours.rows]
        ratios = [x / y for x, y in zip(o, b) if y]
        print(
            f"  {label:40s} queuekiosk {span(o):>13s}  bare {span(b):>13s}"
            + (f"  ratio per round {span(ratios, '{:.2f}')}" if ratios and "missed" not in label else "")
        )
        for before in baselines:
            p = [pick(r) for r in before.rows]
            to_bare = [x / y for x, y in zip(p, b) if y]
            to_before = [x / y for x, y in zip(o, p) if y]
            print(
                f"  {'':40s} {before.name:>10s} {span(p):>13s}"
                + (
                    f"  ratio to bare {span(to_bare, '{:.2f}')}; queuekiosk / {before.name} {span(to_before, '{:.2f}')}"
                    if to_bare and to_before and "missed" not in label
                    else ""
                )
            )
    if len(ours.pids) > 1:
        print(
            "  CPU per call of each queuekiosk server: "
            + "; ".join(", ".join(f"{ms:.1f}" for ms in r["server_cpu"]) for r in ours.rows)
        )
    if ours.message_queue:
        print(
            "  on Redis per call: "
            + "; ".join(
                f"{r['traffic'][0] / args.calls:.1f} messages, {r['traffic'][1] / args.calls / 1024:.1f} KB"
                for r in ours.rows
            )
        )
    loads = [r["load"] for target in targets for r in target.rows]
    print(f"  load average (1 min) during the rounds: {span(loads)}")


def memory(args, tmp: Path) -> None:
    """Idle and with ``args.memory_clients`` connected clients (in 4 listening processes), queuekiosk and
    the bare app, each a server of its own (clients that came and went would leave a fragmented heap)."""
    figures = {}
    processes = 4
    per_process = args.memory_clients // processes
    for name, server in (("queuekiosk", queuekiosk_server), ("bare", bare_socketio_server)):
        progress(f"memory: starting {name}")
        with server() as started:
            base, proc = started[0], started[1]
            gevent.sleep(2)
            idle = rss_kib(proc.pid)
            progress(f"memory: {name} idle {idle / 1024:.0f} MB, connecting {per_process * processes} clients")
            done = tmp / f"done-memory-{name}"
            children = []
            for i in range(processes):  # one process after the other: 1,000 at once time out on 2 cores
                children.append(spawn_listeners([base, str(i * per_process), str(per_process), str(done)]))
                if children[-1].stdout.readline().strip() != "ready":
                    raise RuntimeError("a listening process failed")
            gevent.sleep(2)
            figures[name] = (idle, rss_kib(proc.pid), per_process * processes)
            done.write_text("")
            for child in children:
                child.communicate(timeout=60)
    (qi, qc, n), (bi, bc, _) = figures["queuekiosk"], figures["bare"]
    print(
        f"server RSS: queuekiosk {qi / 1024:.0f} MB idle, {qc / 1024:.0f} MB with {n} connected clients "
        f"({(qc - qi) / n:.0f} KB per client); bare Flask-SocketIO {bi / 1024:.0f} MB idle, {bc / 1024:.0f} MB "
        f"({(bc - bi) / n:.0f} KB per client); load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--listener-processes", type=int, nargs="+", default=[4])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="0: the memory figures only")
    parser.add_argument("--memory-clients", type=int, default=1000, help="0: no memory figure")
    parser.add_argument(
        "--baseline", metavar="REVISION", nargs="+", default=[], help="also measure these revisions' servers each round"
    )
    add_server_options(parser)
    args = parser.parse_args()
    check_server_options(parser, args)
    if args.baseline and (args.processes > 1 or args.database_url):
        parser.error("--baseline is for one process on SQLite")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    if args.memory_clients:
        with tempfile.TemporaryDirectory(prefix="qk-bench-memory-") as tmp:
            memory(args, Path(tmp))

    for processes in args.listener_processes if args.rounds else ():
        progress(f"starting queuekiosk ({describe_servers(args)}) and the bare app")
        with contextlib.ExitStack() as stack:
            servers = stack.enter_context(queuekiosk_servers(args))
            bare_base, bare_proc = stack.enter_context(bare_socketio_server())
            base, _proc, tmp = servers[0]
            headers = {"Authorization": f"Bearer {token(tmp, 'admin', database_url=args.database_url)}"}
            issue_tickets(base, headers, args.calls * args.rounds + 2)
            client_servers = servers[1:] or servers[:1]
            ours = Target(
                "queuekiosk",
                base,
                [b for b, _p, _t in client_servers],
                [p.pid for _b, p, _t in servers],
                headers,
                args.message_queue,
            )
            bare = Target("bare", bare_base, [bare_base], [bare_proc.pid], {})
            targets = [bare, ours]
            for revision in args.baseline:
                progress(f"starting {revision}'s server beside them")
                tree, name = Path(revision), Path(revision).name[:10]
                if not (tree / "pkg" / "queuekiosk").is_dir():  # else a tree laid out as baseline_tree lays one
                    tree = baseline_tree(revision, Path(stack.enter_context(tempfile.TemporaryDirectory())))
                    name = revision[:10] if "/" not in revision else f"baseline{len(targets) - 1}"
                before_base, before_proc, before_tmp = stack.enter_context(
                    queuekiosk_server({"QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY}, code=tree)
                )
                before_headers = {"Authorization": f"Bearer {token(before_tmp, 'admin', code=tree)}"}
                issue_tickets(before_base, before_headers, args.calls * args.rounds + 2)
                targets.append(Target(name, before_base, [before_base], [before_proc.pid], before_headers))
            for round_no in range(args.rounds):
                for target in targets if round_no % 2 == 0 else targets[::-1]:
                    call_round(target, args, processes, tmp, round_no)
            report(targets, args, processes)


def issue_tickets(base: str, headers: dict, count: int) -> None:
    progress(f"issuing {count} tickets on {base}")
    issuer = RawClient(base, headers)
    for _ in range(count):
        status, body = issuer.post("/api/v1/tickets", b'{"service": "HT"}')
        if status != 201:
            raise RuntimeError(f"issuing answered {status}: {body[:200]!r}")
    issuer.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        listen(sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        main()
