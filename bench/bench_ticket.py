"""Rendering a ticket to ESC/POS bytes: time and size, for both forms (issue 21: the usual 80 mm
compact ticket ≤ 8 KB, the long one ≤ 12 KB, render p99 ≤ 10 ms).

    python bench/bench_ticket.py [--rounds 200] [--against REV]

Three tickets: the usual one (a service of the demo centre, the demo's footer), a long one
(priority class, a long service name, a footer over two lines), and the usual one on 58 mm
paper. Each round renders the next ticket of the day (its number, the people ahead and the
wait change, as they do from one citizen to the next): "day" renders it with what the renderer
kept from the previous ticket (the centre, label, service, footer lines; the people-ahead and
wait lines are new each time and drawn afresh); "cold" renders it again with the renderer's
caches emptied (every line drawn: the first ticket after a start). The first render of each form is timed apart: it
loads the fonts. Times are the CPU time of the rendering thread (other processes on a busy
machine do not inflate it) and, for "day", wall-clock time too.

``--against REV`` renders the same tickets, round for round interleaved, with printers/ticket.py
as it was at the git revision REV (e.g. the commit before a change), and prints its row below ours.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from queuekiosk.printers import ticket as ours
from queuekiosk.printers.ticket import TicketContent

REPO = Path(__file__).resolve().parents[1]

USUAL = TicketContent(
    centre="UBND phường Phúc La - Bộ phận Một cửa",
    number="1023",
    service="Tư pháp - Hộ tịch",
    service_en="Justice - Civil status",
    issued_at="08:15  21/11/2026",
    people_ahead=7,
    eta_minutes=18,
    tracking_url="http://192.168.1.10:8000/t/AbCdEfGhIjKl",
    footer="Sự hài lòng của người dân là thước đo chất lượng phục vụ",
)
LONG = replace(
    USUAL,
    priority="Người có công với cách mạng",
    service="Lao động - Thương binh và Xã hội: trợ cấp xã hội hằng tháng",
    service_en="Labour - Invalids and Social affairs: monthly social allowance",
    footer="Sự hài lòng của người dân là thước đo chất lượng phục vụ của cơ quan hành chính nhà nước",
)
TICKETS = (("usual 80 mm", USUAL, 576), ("long 80 mm", LONG, 576), ("usual 58 mm", USUAL, 384))


def load_at(revision: str):
    """printers/ticket.py as it was at ``revision``, loaded beside ours (same package, same fonts)."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{revision}:printers/ticket.py"], capture_output=True, text=True, check=True
    ).stdout
    name = f"queuekiosk.printers._ticket_at_{revision.replace('-', '_').replace('~', '_').replace('^', '_')}"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(REPO / "printers" / "ticket.py"))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(REPO / "printers" / "ticket.py")
    module.__package__ = "queuekiosk.printers"
    sys.modules[name] = module
    exec(compile(source, f"{revision}:printers/ticket.py", "exec"), module.__dict__)
    return module


def day_ticket(content: TicketContent, i: int) -> TicketContent:
    """The ``i``-th citizen's ticket: another number, other people ahead, another wait."""
    return replace(content, number=str(int(content.number) + i), people_ahead=i % 30, eta_minutes=(i * 7) % 95)


def empty_caches(module) -> None:
    for name in ("_text_image", "_line_raster", "_logo_image", "_logo_raster"):
        cached = getattr(module, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


def measure(modules: dict, content: TicketContent, form: str, width: int, rounds: int) -> dict:
    """Interleaved: each round renders the same ticket with every module in turn."""
    results = {}
    for label, module in modules.items():
        start = time.perf_counter()
        data = module.render(content, form, width)
        results[label] = {"first": (time.perf_counter() - start) * 1000, "bytes": len(data), "sizes": []}
        results[label].update(wall=[], cpu=[], cold=[])
    for i in range(rounds):
        ticket = day_ticket(content, i)
        for label, module in modules.items():
            start, start_cpu = time.perf_counter(), time.thread_time()
            data = module.render(ticket, form, width)
            results[label]["cpu"].append((time.thread_time() - start_cpu) * 1000)
            results[label]["wall"].append((time.perf_counter() - start) * 1000)
            results[label]["sizes"].append(len(data))
            empty_caches(module)  # the cold render leaves behind this ticket's lines only
            start_cpu = time.thread_time()
            module.render(ticket, form, width)
            results[label]["cold"].append((time.thread_time() - start_cpu) * 1000)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--against", metavar="REV", help="also render with printers/ticket.py of this git revision")
    parser.add_argument("--forms", default="compact,image")
    args = parser.parse_args()
    modules = {"ours": ours}
    if args.against:
        modules[args.against] = load_at(args.against)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    header = (
        f"{'ticket':<13}{'form':<9}{'renderer':<10}{'first ms':>9}{'day cpu p50':>12}{'p99':>6}"
        f"{'wall p50':>9}{'p99':>6}{'cold cpu p50':>13}{'p99':>6}{'bytes':>8}{'day max':>9}"
    )
    print(header)
    for label, content, width in TICKETS:
        for form in args.forms.split(","):
            print(f"... {label} {form}: {args.rounds} rounds", file=sys.stderr, flush=True)
            results = measure(modules, content, form, width, args.rounds)
            for renderer, r in results.items():
                print(
                    f"{label:<13}{form:<9}{renderer:<10}{r['first']:>9.1f}"
                    f"{statistics.median(r['cpu']):>12.1f}{p99(r['cpu']):>6.1f}"
                    f"{statistics.median(r['wall']):>9.1f}{p99(r['wall']):>6.1f}"
                    f"{statistics.median(r['cold']):>13.1f}{p99(r['cold']):>6.1f}"
                    f"{r['bytes']:>8,}{max(r['sizes']):>9,}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
