"""Issuing and call -> display with 3 webhooks registered, beside the same server without (issue 15).

    python bench/bench_webhooks.py [--single 500] [--clients 100] [--listener-processes 2] [--calls 30]
        [--rounds 3] [--seconds 8] [--baseline REVISION]

Two fresh servers (SQLite, synchronous=FULL, the bench config of bench/common.py) run side by
side for the whole run: "none" has no webhook, "3 webhooks" has three, each wanting every event
and posting to a receiver on 127.0.0.1 (a process of its own answering 204). The rounds interleave
them (none first, then the other way round), so both see the same machine. In each round, on each:

- issuing: one raw keep-alive client issues --single tickets one after another (bench_issue's
  single_client); the server's CPU per ticket from /proc. With webhooks, the 3 deliveries of every
  ticket are posted by the same process meanwhile: what the queue pays for them.
- call -> display: --calls calls from a raw keep-alive client, each heard by --clients Socket.IO
  clients of the lobby display in --listener-processes processes (bench_realtime.call_round: the
  next call once every listener heard the last); the server's CPU per call. Before the calls the
  deliveries of the tickets issued so far are let finish, so what the calls pay is their own 6
  deliveries (the finished ticket and the called one, to 3 webhooks).
- with wrk installed, in the last round: tickets/s with 32 keep-alive clients for --seconds (last,
  as its thousands of waiting tickets would slow the calls of a later round).

The 3-webhook server's deliveries are counted at the receiver: each round says how long after
issuing stopped the last one arrived. Every figure is printed per round with its ratio to the
server without webhooks in the same round; the load average is printed beside them.

With --baseline REVISION (e.g. HEAD~1), that revision's server with the same 3 webhooks runs as a
third, measured in the same rounds (the rounds rotate the three): a change of the worker's
effect, side by side.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from bench_issue import single_client, wrk  # noqa: E402
from bench_realtime import Target, call_round, progress  # noqa: E402
from common import (  # noqa: E402
    BENCH_SECRET_KEY,
    baseline_tree,
    cpu_ms,
    free_port,
    percentile,
    queuekiosk_server,
    token,
    wait_healthy,
)

EVENTS = [
    "ticket.issued",
    "ticket.called",
    "ticket.recalled",
    "ticket.started",
    "ticket.finished",
    "ticket.no_show",
    "ticket.transferred",
    "ticket.expired",
    "rating.created",
]


def receive(port: int) -> None:
    """The receiver process: counts POSTs per server (the path's first part; HTTP/1.1 keep-alive);
    GET /<server> answers that server's count."""
    counts: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            server = self.path.split("/")[1]
            counts[server] = counts.get(server, 0) + 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            body = json.dumps({"count": counts.get(self.path.split("/")[1], 0)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def received(receiver: str) -> int:
    return requests.get(receiver, timeout=5).json()["count"]


def outbox_count(instance_tmp) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{instance_tmp / 'instance' / 'queuekiosk.db'}")
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM outbox_events")).scalar_one()
    engine.dispose()
    return count


def drained_after(receiver: str, expected: int, timeout: float = 900) -> float:
    """Seconds until the receiver has ``expected`` deliveries."""
    start = time.perf_counter()
    while received(receiver) < expected:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"only {received(receiver)} of {expected} deliveries within {timeout} s")
        time.sleep(0.05)
    return time.perf_counter() - start


class Server:
    def __init__(self, name, base, proc, tmp, receiver: str | None):
        self.name, self.base, self.proc, self.tmp = name, base, proc, tmp
        self.headers = {"Authorization": f"Bearer {token(tmp, 'admin')}"}
        self.target = Target(name.replace(" ", "-"), base, [base], [proc.pid], self.headers)
        self.rows: list[dict] = []
        self.webhooks = receiver is not None
        self.receiver = f"{receiver}/{self.target.name}" if receiver else None  # its deliveries, counted apart
        for n in range(3 if receiver else 0):
            requests.post(
                f"{base}/api/v1/admin/webhooks",
                json={"url": f"{self.receiver}/hook/{n}", "events": EVENTS},
                headers=self.headers,
                timeout=10,
            ).raise_for_status()


def one_round(server: Server, args, round_no: int) -> dict:
    progress(f"round {round_no + 1}, {server.name}: one client issuing {args.single} tickets")
    before = cpu_ms(server.proc.pid)
    started = time.perf_counter()
    single = single_client(server.base, args.single)
    row = {
        "issue_ms": single,
        "issue_cpu": (cpu_ms(server.proc.pid) - before) / args.single,
        "issue_seconds": time.perf_counter() - started,
        "load": os.getloadavg()[0],
    }
    if server.webhooks:
        row["drain"] = drained_after(server.receiver, 3 * outbox_count(server.tmp))
    calls = call_round(server.target, args, args.listener_processes, server.tmp, round_no)
    row["call_ms"], row["call_cpu"] = calls["latencies"], calls["server_cpu"][0]
    row["call_http_ms"], row["missed"] = calls["http_ms"], calls["missed"]
    if server.webhooks:
        drained_after(server.receiver, 3 * outbox_count(server.tmp))
    if args.wrk and round_no == args.rounds - 1:  # last: its thousands of tickets would slow the next calls
        row["wrk"] = wrk(server.base + "/api/v1/tickets", args.seconds)
        if server.webhooks:
            row["wrk_drain"] = drained_after(server.receiver, 3 * outbox_count(server.tmp))
    print(
        f"round {round_no + 1}, {server.name}: issuing median {statistics.median(single):.2f} ms, "
        f"p99 {percentile(single, 99):.2f} ms, server CPU {row['issue_cpu']:.2f} ms a ticket"
        + (f" (deliveries done {row['drain']:.1f} s after the last ticket)" if server.webhooks else "")
        + f"; call -> display p50 {statistics.median(row['call_ms']):.1f} ms, p99 {percentile(row['call_ms'], 99):.1f}"
        f" ms, server CPU {row['call_cpu']:.1f} ms a call, missed {row['missed']}"
        + (f"; wrk {row['wrk']['rate']:.0f} tickets/s" if "wrk" in row else "")
        + f"; load {row['load']:.1f}",
        flush=True,
    )
    server.rows.append(row)
    return row


def span(values, fmt="{:.2f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}–{fmt.format(high)}"


def report(servers: list[Server], args) -> None:
    none, others = servers[0], servers[1:]
    print(
        f"\n== {len(none.rows)} interleaved rounds; {args.single} tickets by one client, {args.calls} calls at "
        f"{args.clients} clients; 3 webhooks wanting every event against none"
    )
    figures = [
        ("issuing, median (ms)", lambda r: statistics.median(r["issue_ms"])),
        ("issuing, p99 (ms)", lambda r: percentile(r["issue_ms"], 99)),
        ("server CPU per ticket (ms)", lambda r: r["issue_cpu"]),
        ("call -> display, p50 (ms)", lambda r: statistics.median(r["call_ms"])),
        ("call -> display, p99 (ms)", lambda r: percentile(r["call_ms"], 99)),
        ("call, HTTP part median (ms)", lambda r: statistics.median(r["call_http_ms"])),
        ("server CPU per call (ms)", lambda r: r["call_cpu"]),
    ]
    if args.wrk:
        figures.append(("32 clients (wrk), tickets/s", lambda r: r["wrk"]["rate"] if "wrk" in r else None))
    for label, pick in figures:
        a = [x for x in (pick(r) for r in none.rows) if x is not None]
        print(f"  {label:30s} {none.name:>22s} {span(a):>13s}", flush=True)
        for other in others:
            b = [x for x in (pick(r) for r in other.rows) if x is not None]
            ratios = [y / x for x, y in zip(a, b) if x]
            print(f"  {'':30s} {other.name:>22s} {span(b):>13s}  ratio to none per round {span(ratios)}", flush=True)
    for other in others:
        print(
            f"  {other.name}: deliveries done after the last ticket (s): {span([r['drain'] for r in other.rows], '{:.1f}')}"
        )
    loads = [r["load"] for server in servers for r in server.rows]
    print(f"  load average (1 min) during the rounds: {span(loads, '{:.1f}')}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--listener-processes", type=int, default=2)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="wrk's run, when wrk is installed; 0: none")
    parser.add_argument("--baseline", metavar="REVISION", help="also measure this revision's server with 3 webhooks")
    args = parser.parse_args()
    args.wrk = shutil.which("wrk") is not None and args.seconds > 0
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    port = free_port()
    receiver_proc = subprocess.Popen([sys.executable, __file__, "--receive", str(port)])
    receiver = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(receiver + "/healthz")
        with ExitStack() as stack:
            env = {"QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY}
            servers = [
                Server("none", *stack.enter_context(queuekiosk_server(env)), receiver=None),
                Server("3 webhooks", *stack.enter_context(queuekiosk_server(env)), receiver=receiver),
            ]
            if args.baseline:
                tree = baseline_tree(args.baseline, Path(stack.enter_context(tempfile.TemporaryDirectory())))
                served = stack.enter_context(queuekiosk_server(env, code=tree))
                servers.append(Server(f"3 webhooks, {args.baseline}", *served, receiver=receiver))
            for round_no in range(args.rounds):
                for server in servers if round_no % 2 == 0 else servers[::-1]:
                    one_round(server, args, round_no)
            report(servers, args)
    finally:
        receiver_proc.terminate()
        receiver_proc.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--receive":
        receive(int(sys.argv[2]))
    else:
        main()
