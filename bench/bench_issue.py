"""Tickets per second through the HTTP API (32 keep-alive clients, wrk) beside a bare Flask
endpoint on the same gevent server, with a duplicate/gap check; and the median latency of one
keep-alive client issuing tickets one after another.

    python bench/bench_issue.py [--seconds 10] [--single 2000] [--database-url URL]
        [--processes N --message-queue redis://127.0.0.1:6379/9]

With --processes N (PostgreSQL only), N server processes share the database and the message
queue, and the 32 clients are spread over them (one wrk each), as behind nginx.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from common import (
    add_server_options,
    bare_server,
    check_server_options,
    describe_servers,
    percentile,
    queuekiosk_servers,
)
from sqlalchemy import create_engine, text

LUA = str(Path(__file__).with_name("issue.lua"))


def wrk(url: str, seconds: int, connections: int = 32) -> dict:
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", LUA, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_errors = re.search(r"Socket errors: (.*)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return {
        "rate": rate,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": sock_errors.group(1) if sock_errors else "none",
        "p50": p50,
        "p99": p99,
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
    total = sum(r[2] for r in rows)
    duplicates = sum(r[2] - r[3] for r in rows)
    gaps = sum((r[5] - r[4] + 1) - r[3] for r in rows)
    return total, duplicates, gaps


def single_client(base: str, count: int) -> list[float]:
    session = requests.Session()
    services = ["HT", "CT", "DC", "LD", "VH", "TK"]
    latencies = []
    for i in range(count):
        t0 = time.perf_counter()
        response = session.post(f"{base}/api/v1/tickets", json={"service": services[i % 6]})
        latencies.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 201, response.text
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--single", type=int, default=2000)
    add_server_options(parser)
    args = parser.parse_args()
    check_server_options(parser, args)

    with bare_server() as bare:
        wrk(bare + "/api/v1/tickets", 2)  # warm up
        bare_result = wrk(bare + "/api/v1/tickets", args.seconds)
        bare_single = single_client(bare, args.single)

    with queuekiosk_servers(args) as servers:
        base, _proc, tmp = servers[0]
        url = args.database_url or f"sqlite:///{tmp / 'instance' / 'queuekiosk.db'}"
        single = single_client(base, args.single)
        with ThreadPoolExecutor(len(servers)) as pool:  # 32 clients in all, spread over the processes
            parts = list(pool.map(lambda s: wrk(s[0] + "/api/v1/tickets", args.seconds, 32 // len(servers)), servers))
        result = {**parts[0], "rate": sum(p["rate"] for p in parts), "non_2xx": sum(p["non_2xx"] for p in parts)}
        total, duplicates, gaps = check_numbers(url.replace("postgresql://", "postgresql+psycopg://"))

    print(f"servers: {describe_servers(args)}")
    print(
        f"bare Flask endpoint, 32 keep-alive clients: {bare_result['rate']:.0f} req/s "
        f"(p50 {bare_result['p50']}, p99 {bare_result['p99']})"
    )
    print(
        f"queuekiosk POST /api/v1/tickets, 32 keep-alive clients, {args.processes} process(es): "
        f"{result['rate']:.0f} tickets/s "
        f"(p50 {result['p50']}, p99 {result['p99']}), non-2xx {result['non_2xx']}, "
        f"socket errors {result['socket_errors']}"
    )
    print(f"  tickets in database {total}, duplicates {duplicates}, gaps {gaps}")
    print(
        f"one keep-alive client, {args.single} tickets one after another: median {statistics.median(single):.2f} ms, "
        f"p90 {percentile(single, 90):.2f} ms, p99 {percentile(single, 99):.2f} ms "
        f"(bare endpoint median {statistics.median(bare_single):.2f} ms)"
    )


if __name__ == "__main__":
    main()
