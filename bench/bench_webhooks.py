"""Issuing and call -> display with 3 webhooks registered, beside the same run without (issue 15).

    python bench/bench_webhooks.py [--seconds 10] [--single 1000] [--clients 200] [--calls 40] [--rounds 2]

Each round starts two fresh servers in turn (SQLite, synchronous=FULL, the bench config of
bench/common.py): one with no webhook, one with 3 webhooks wanting every event, posting to a
receiver on 127.0.0.1 (a process of its own answering 204). On each: one keep-alive client
issuing --single tickets one after another (bench_issue.single_client), call -> ticket.called
at --clients Socket.IO clients (bench_realtime.call_latency, once the deliveries of the tickets
before are done), and tickets/s with 32 keep-alive clients for --seconds (wrk,
bench_issue.wrk). With webhooks, the deliveries run during each, in the same process; the run
also says how long the last delivery came after issuing stopped.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

import requests  # noqa: E402
from bench_issue import single_client, wrk  # noqa: E402
from bench_realtime import call_latency  # noqa: E402
from common import free_port, percentile, queuekiosk_server, token, wait_healthy  # noqa: E402

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
    """The receiver process: counts POSTs; GET answers the count."""
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            count[0] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            body = json.dumps({"count": count[0]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def received(base: str) -> int:
    return requests.get(base, timeout=5).json()["count"]


def drained_after(base: str, expected: int, timeout: float = 600) -> float:
    """Seconds until the receiver has ``expected`` deliveries."""
    start = time.perf_counter()
    while received(base) < expected:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"only {received(base)} of {expected} deliveries within {timeout} s")
        time.sleep(0.05)
    return time.perf_counter() - start


def run_once(args, receiver: str | None) -> dict:
    with queuekiosk_server() as (base, proc, tmp):
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token(tmp, 'admin')}"
        if receiver:
            for n in range(3):
                http.post(
                    f"{base}/api/v1/admin/webhooks", json={"url": f"{receiver}/hook/{n}", "events": EVENTS}
                ).raise_for_status()
        single = single_client(base, args.single)
        for _ in range(args.calls + 2):
            http.post(f"{base}/api/v1/tickets", json={"service": "HT"}).raise_for_status()
        if receiver:  # the single client's deliveries done first: the calls' figures are the calls' own
            drained_after(receiver, 3 * _outbox_count(tmp))
        latency_args = argparse.Namespace(
            clients=args.clients, calls=args.calls, message_queue=None, processes=1, database_url=None
        )
        print("  ", end="")
        call_latency([(base, proc, tmp)], http, latency_args, 1, tmp)
        rate = wrk(base + "/api/v1/tickets", args.seconds)
        result = {"single": single, "rate": rate}
        if receiver:  # every event the server recorded (wrk's tickets too), 3 webhooks each
            result["deliveries"] = 3 * _outbox_count(tmp)
            result["drain"] = drained_after(receiver, result["deliveries"])
        return result


def _outbox_count(tmp) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp / 'instance' / 'queuekiosk.db'}")
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM outbox_events")).scalar_one()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--single", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    port = free_port()
    receiver_proc = subprocess.Popen([sys.executable, __file__, "--receive", str(port)])
    receiver = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(receiver)
        for round_number in range(1, args.rounds + 1):
            for label, target in (("no webhook", None), ("3 webhooks", receiver)):
                print(f"round {round_number}, {label}:")
                result = run_once(args, target)
                single, rate = result["single"], result["rate"]
                print(
                    f"   one client issuing {args.single} tickets: median {statistics.median(single):.2f} ms, "
                    f"p90 {percentile(single, 90):.2f} ms, p99 {percentile(single, 99):.2f} ms"
                )
                print(
                    f"   32 keep-alive clients (wrk, {args.seconds} s): {rate['rate']:.0f} tickets/s, "
                    f"p50 {rate['p50']}, p99 {rate['p99']}, non-2xx {rate['non_2xx']}"
                )
                if target:
                    print(
                        f"   {result['deliveries']} deliveries; the last one {result['drain']:.1f} s after "
                        f"issuing stopped"
                    )
    finally:
        receiver_proc.terminate()
        receiver_proc.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--receive":
        receive(int(sys.argv[2]))
    else:
        main()
