"""Running core actions at once, each in its own thread and connection (SQLite and PostgreSQL), for the
bookings' tests of what happens when several clients act on the same places together; the header of the
bookings' table in the reports."""

from __future__ import annotations

import threading

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.db import create_db_engine, session_factory

# the bookings' table of /reports and of its files, in Vietnamese: its header
BOOKING_REPORT_HEADER = [
    "Dịch vụ",
    "Lịch hẹn đã đặt",
    "Số lấy từ xa",
    "Đã đến (xác nhận)",
    "Không đến",
    "Số từ xa hết hạn",
    "Đã hủy",
    "Trong đó trung tâm hủy",
]


def at_once(url, site, attempts) -> list:
    """Run each ``attempt(session)`` in its own thread and connection, all released together; what each gave."""
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def client(i):
        engine = create_db_engine(url)
        try:
            barrier.wait(timeout=30)
            with session_factory(engine).begin() as session:
                results[i] = attempts[i](session)
        except q.QueueError as error:
            results[i] = error.code
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[i] = repr(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a client never finished (a lock that never returns?)"
    return results
