"""Running core actions at once, each in its own thread and connection (SQLite and PostgreSQL), for the
bookings' tests of what happens when several clients act on the same places together; the header of the
bookings' table in the reports; the booking centre of the core's booking tests (its setup, its Monday and
Tuesday, a citizen's ID card, a fresh copy of its database for each hypothesis run, a wrong SMS code)."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import threading
from pathlib import Path

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.db import create_db_engine, session_factory

MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # Monday 09:00 in Ho Chi Minh City (UTC+7)
MONDAY = dt.date(2026, 11, 23)
TUESDAY = dt.date(2026, 11, 24)
KEY = b"test person key"
MIN = dt.timedelta(minutes=1)

# the QR text of a citizen's ID card (CCCD), as a kiosk's scanner reads it
CARD = "001099012345|123456789|Nguyễn Văn An|01011990|Nam|Số 1 phố Phúc La, Hà Đông, Hà Nội|15082021"

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


def booking_config(config_data: dict, **booking) -> dict:
    """``config_data`` with HT and CT taking bookings (``booking``: other settings) and 25/11/2026 a holiday."""
    data = dict(config_data)
    settings_ = {"slot_minutes": 30, "per_slot": 2, "days_ahead": 6, "grace_minutes": 10, **booking}
    data["services"] = [{**s, "booking": settings_} if s["code"] in ("HT", "CT") else s for s in data["services"]]
    data["site"] = {**data["site"], "hours": {**data["site"]["hours"], "holidays": ["2026-11-25"]}}
    return data


@functools.cache
def _engine_at(path: Path):
    return create_db_engine(f"sqlite:///{path}")


def on_a_fresh_copy(template: Path, name: str):
    """An engine on a fresh copy of ``template`` named ``name`` beside it: one engine for all of a
    test's examples (SQLAlchemy compiles a statement once per engine); each machine's teardown
    disposed of the last example's connections."""
    copy = template.with_name(name)
    for suffix in ("-wal", "-shm"):
        copy.with_name(copy.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(template, copy)
    return _engine_at(copy)


def another_code(code: str) -> str:
    """An SMS code of six digits other than ``code``: a wrong one typed."""
    return f"{(int(code) + 1) % 10**6:06d}"
