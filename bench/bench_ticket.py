"""Rendering a ticket to ESC/POS bytes: time and size, for both forms (SPEC: ≤ 20 ms, ≤ 12 KB).

    python bench/bench_ticket.py [--rounds 200]

Three tickets: the usual one (a service of the demo centre, the demo's footer), a long one
(priority class, a long service name, a footer over two lines), and the usual one on 58 mm
paper. The first render of each form is timed apart: it loads the fonts. Besides wall-clock
time it prints the CPU time of the rendering thread, which other processes on a busy machine
do not inflate.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from queuekiosk.printers.ticket import TicketContent, render

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


def measure(content: TicketContent, form: str, width: int, rounds: int):
    start = time.perf_counter()
    data = render(content, form, width)
    first = (time.perf_counter() - start) * 1000
    wall, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.thread_time()
        render(content, form, width)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    wall.sort()
    cpu.sort()
    return (
        first,
        statistics.median(wall),
        wall[int(len(wall) * 0.99) - 1],
        statistics.median(cpu),
        cpu[int(len(cpu) * 0.99) - 1],
        len(data),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"{'ticket':<14}{'form':<9}{'first ms':>9}{'p50 ms':>8}{'p99 ms':>8}{'cpu p50':>8}{'cpu p99':>8}{'bytes':>8}")
    for label, content, width in (("usual 80 mm", USUAL, 576), ("long 80 mm", LONG, 576), ("usual 58 mm", USUAL, 384)):
        for form in ("compact", "image"):
            first, p50, p99, cpu50, cpu99, size = measure(content, form, width, args.rounds)
            print(f"{label:<14}{form:<9}{first:>9.1f}{p50:>8.1f}{p99:>8.1f}{cpu50:>8.1f}{cpu99:>8.1f}{size:>8,}")


if __name__ == "__main__":
    main()
