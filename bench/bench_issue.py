"""Tickets per second through the HTTP API (32 keep-alive clients, wrk) beside a bare Flask
endpoint on the same gevent server, with the server CPU each request costs, a duplicate/gap
check, the cost of a 404, and the median latency of one raw keep-alive client issuing tickets
one after another.

    python bench/bench_issue.py [--rounds 3] [--seconds 10] [--single 2000] [--database-url URL]
        [--processes N --message-queue redis://127.0.0.1:6379/9] [--baseline REVISION]

Both servers run side by side for the whole run, and each round measures the bare endpoint and
then ours, so that a change in the shared machine's load falls on both figures of a round alike;
every figure is printed as min–max over the rounds beside the bare endpoint's of the same rounds,
with the ratio of each round (ours / bare). Server CPU is the server processes' user + system
time during the measurement (10 ms resolution) divided by the requests answered.

With --baseline REVISION (e.g. HEAD~3; SQLite, one process), that revision's server runs beside
the others and is measured in each round as well (32 clients and the single client): a change's
effect, side by side.

With --processes N (PostgreSQL only), N server processes share the database and the message
queue, and the 32 clients are spread over them (one wrk each), as behind nginx.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from common import (
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
)
from sqlalchemy import create_engine, text

LUA = str(Path(__file__).with_name("issue.lua"))
CLIENTS = 32


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wrk(url: str, seconds: int, connections: int = CLIENTS, script: str | None = LUA) -> dict:
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    out = subprocess.run(
        [*command, *(["-s", script] if script else []), url], capture_output=True, text=True, check=True
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock_errors.group(1) if sock_errors else "none",
        "p50": re.search(r"50%\s+([\d.]+\w+)", out).group(1),
        "p99": re.search(r"99%\s+([\d.]+\w+)", out).group(1),
    }


def measured(pids: list[int], urls: list[str], seconds: int, script: str | None = LUA) -> dict:
    """wrk against ``urls`` at once (the 32 clients spread over them), with the server CPU per request."""
    before = sum(cpu_ms(pid) for pid in pids)
    with ThreadPoolExecutor(len(urls)) as pool:
        parts = list(pool.map(lambda u: wrk(u, seconds, CLIENTS // len(urls), script), urls))
    cpu = sum(cpu_ms(pid) for pid in pids) - before
    requests = sum(p["requests"] for p in parts)
    return {
        **parts[0],
        "rate": sum(p["rate"] for p in parts),
        "requests": requests,
        "non_2xx": sum(p["non_2xx"] for p in parts),
        "cpu_ms": cpu / max(requests, 1),
    }


def check_numbers(database_url: str) -> tuple[int, int, int]:
    """(tickets, duplicates, gaps) over every service and day."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT origin_service_id, business_day, count(*), count(DISTINCT number), min(number), max(number) "
                "FROM tickets GROUP BY origin_service_id, business_day"
            )
        ).all()
    engine.dispose()
    total = sum(r[2] for r in rows)
    duplicates = sum(r[2] - r[3] for r in rows)
    gaps = sum((r[5] - r[4] + 1) - r[3] for r in rows)
    return total, duplicates, gaps


def single_client(base: str, count: int) -> list[float]:
    """Latencies (ms) of one raw keep-alive HTTP/1.1 client (http.client: no session layer of
    its own to measure) issuing ``count`` tickets one after another."""
    address = urlsplit(base)
    conn = http.client.HTTPConnection(address.hostname, address.port)
    services = ["HT", "CT", "DC", "LD", "VH", "TK"]
    headers = {"Content-Type": "application/json"}
    latencies = []
    for i in range(count):
        body = json.dumps({"service": services[i % 6]})
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/tickets", body, headers)
        response = conn.getresponse()
        payload = response.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        assert response.status == 201, payload
    conn.close()
    return latencies


def span(values, fmt: str = "{:.0f}") -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)}–{fmt.format(high)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--not-found-seconds", type=int, default=3, help="wrk on a 404 each round (0: none)")
    parser.add_argument("--single", type=int, default=2000, help="tickets of the single client each round")
    parser.add_argument("--baseline", metavar="REVISION", help="also measure this revision's server each round")
    add_server_options(parser)
    args = parser.parse_args()
    check_server_options(parser, args)
    if args.baseline and (args.processes > 1 or args.database_url):
        parser.error("--baseline is for one process on SQLite")

    rounds = []
    step(f"starting the bare endpoint and {args.processes} queuekiosk process(es)")
    with contextlib.ExitStack() as stack:
        bare, bare_proc = stack.enter_context(bare_server())
        servers = stack.enter_context(queuekiosk_servers(args))
        before = None
        if args.baseline:
            step(f"starting {args.baseline}'s server beside them")
            tree = baseline_tree(args.baseline, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            before, before_proc, _ = stack.enter_context(
                queuekiosk_server({"QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY}, code=tree)
            )
        ours = [base for base, _proc, _tmp in servers]
        pids = [proc.pid for _base, proc, _tmp in servers]
        tmp = servers[0][2]
        url = args.database_url or f"sqlite:///{tmp / 'instance' / 'queuekiosk.db'}"
        step("warming up both (2 s each)")
        wrk(bare + "/api/v1/tickets", 2)
        measured(pids, [o + "/api/v1/tickets" for o in ours], 2)
        if before:
            wrk(before + "/api/v1/tickets", 2)
        for n in range(1, args.rounds + 1):
            result = {}
            step(f"round {n}/{args.rounds}: bare endpoint, {CLIENTS} clients, {args.seconds} s")
            result["bare"] = measured([bare_proc.pid], [bare + "/api/v1/tickets"], args.seconds)
            step(f"round {n}/{args.rounds}: POST /api/v1/tickets, {CLIENTS} clients, {args.seconds} s")
            result["ours"] = measured(pids, [o + "/api/v1/tickets" for o in ours], args.seconds)
            if before:
                step(f"round {n}/{args.rounds}: {args.baseline}'s POST /api/v1/tickets, {args.seconds} s")
                result["before"] = measured([before_proc.pid], [before + "/api/v1/tickets"], args.seconds)
            if args.not_found_seconds:
                step(f"round {n}/{args.rounds}: a 404 on both, {args.not_found_seconds} s each")
                result["bare_404"] = measured([bare_proc.pid], [bare + "/no-such-page"], args.not_found_seconds, None)
                result["ours_404"] = measured(pids, [o + "/no-such-page" for o in ours], args.not_found_seconds, None)
            if args.single:
                step(f"round {n}/{args.rounds}: one keep-alive client, {args.single} requests on each")
                result["bare_single"] = statistics.median(single_client(bare, args.single))
                single = single_client(ours[0], args.single)
                result["single"] = statistics.median(single)
                result["single_p99"] = percentile(single, 99)
                if before:
                    single = single_client(before, args.single)
                    result["before_single"] = statistics.median(single)
                    result["before_single_p99"] = percentile(single, 99)
            rounds.append(result)
            step(
                f"round {n}: {result['ours']['rate']:.0f} tickets/s, {result['ours']['cpu_ms']:.2f} ms CPU each; "
                f"bare {result['bare']['rate']:.0f} req/s, {result['bare']['cpu_ms']:.2f} ms"
            )
        step("checking the numbers issued (duplicates, gaps)")
        total, duplicates, gaps = check_numbers(url.replace("postgresql://", "postgresql+psycopg://"))

    def each(key, field):
        return [r[key][field] for r in rounds]

    def ratio(key, ref, field):
        return [r[key][field] / r[ref][field] for r in rounds]

    print(f"servers: {describe_servers(args)}; {args.rounds} rounds interleaved; load: {os.getloadavg()[0]:.2f}")
    print(
        f"bare Flask endpoint, {CLIENTS} keep-alive clients: {span(each('bare', 'rate'))} req/s, "
        f"server CPU {span(each('bare', 'cpu_ms'), '{:.3f}')} ms per request"
    )
    print(
        f"queuekiosk POST /api/v1/tickets, {CLIENTS} keep-alive clients, {args.processes} process(es): "
        f"{span(each('ours', 'rate'))} tickets/s ({span(ratio('ours', 'bare', 'rate'), '{:.2f}')}× bare), "
        f"server CPU {span(each('ours', 'cpu_ms'), '{:.3f}')} ms per ticket "
        f"({span(ratio('ours', 'bare', 'cpu_ms'), '{:.2f}')}× bare); "
        f"p50 {', '.join(each('ours', 'p50'))}, p99 {', '.join(each('ours', 'p99'))}; "
        f"non-2xx {sum(each('ours', 'non_2xx'))}, socket errors {', '.join(set(each('ours', 'socket_errors')))}"
    )
    print(f"  tickets in database {total}, duplicates {duplicates}, gaps {gaps}")
    if args.baseline:
        print(
            f"{args.baseline} POST /api/v1/tickets, same rounds: {span(each('before', 'rate'))} tickets/s "
            f"({span(ratio('before', 'bare', 'rate'), '{:.2f}')}× bare), "
            f"server CPU {span(each('before', 'cpu_ms'), '{:.3f}')} ms per ticket "
            f"({span(ratio('before', 'bare', 'cpu_ms'), '{:.2f}')}× bare); now / then CPU per ticket "
            f"{span(ratio('ours', 'before', 'cpu_ms'), '{:.2f}')}"
        )
    if args.not_found_seconds:
        print(
            f"a 404: queuekiosk {span(each('ours_404', 'cpu_ms'), '{:.3f}')} ms CPU, "
            f"bare {span(each('bare_404', 'cpu_ms'), '{:.3f}')} ms "
            f"({span(ratio('ours_404', 'bare_404', 'cpu_ms'), '{:.2f}')}×)"
        )
    if args.single:
        print(
            f"one raw keep-alive client, {args.single} tickets one after another: median "
            f"{span([r['single'] for r in rounds], '{:.2f}')} ms, p99 {span([r['single_p99'] for r in rounds], '{:.2f}')} ms "
            f"(bare endpoint median {span([r['bare_single'] for r in rounds], '{:.2f}')} ms)"
        )
        if args.baseline:
            print(
                f"  {args.baseline}'s server, same rounds: median "
                f"{span([r['before_single'] for r in rounds], '{:.2f}')} ms, "
                f"p99 {span([r['before_single_p99'] for r in rounds], '{:.2f}')} ms; now / then median "
                f"{span([r['single'] / r['before_single'] for r in rounds], '{:.2f}')}"
            )


if __name__ == "__main__":
    main()
