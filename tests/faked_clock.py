"""A server's wall clock set by the test: libfaketime (Debian's faketime package) reads the time
from a file the test rewrites, so a test can put the server at 09:00 on a working day and move
it on to 09:30, whatever the real time is (a test on the real clock fails near local midnight).

    clock = FakedClock(tmp_path / "clock", next_working_morning())
    srv = live_server(config, env=clock.env())
    clock.set(clock.start + dt.timedelta(minutes=30))   # the server's clock jumps, then runs on

A test that only needs its server's day to stay one day (it issues or serves, then reads today's
report, numbers or figures) takes ``on_a_working_morning(folder)``, the env of servers whose clock
reads 09:00 on the next working day and runs on: one clock for every process given it (a second
server, a restart, a command), where a ``FakedClock`` starts each process's clock at its own start.

The monotonic clock is left alone, so gevent's timers keep real time. The server reads the file
again at most two seconds after it changed (FAKETIME_CACHE_DURATION=1); ``set`` waits until then.
Servers and commands on such a clock are forks of a zygote under libfaketime (tests/server_fork.py):
each reads its own clock file from its first look at the time.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

# Debian keeps it under the machine's multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu, ...)
LIBFAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), Path("/usr/lib/faketime/libfaketime.so.1"))
HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # the demo config's site.timezone


def next_working_morning(at: str = "09:00", zone: ZoneInfo = HCM) -> dt.datetime:
    """``at`` local time on the next Monday to Friday after today that is not one of the repo
    config.yaml's holidays (an aware datetime): in the future, so that cookies the server sets do
    not look expired to a browser on the real clock."""
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text("utf-8"))
    holidays = {str(day) for day in config["site"]["hours"].get("holidays", [])}
    day = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    while day.weekday() >= 5 or day.isoformat() in holidays:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time.fromisoformat(at), zone)


# libfaketime's settings of every process on a faked clock but the clock itself (tests/api/test_day_end.py's
# moments too). The monotonic clock is left alone: gevent's timers keep real time. The "monotonic fix"
# libfaketime turns on by itself on glibc, which its README warns makes pthread_cond_timedwait return too
# early or too late, is off: Python's GIL waits on one, so a second thread crawled (a report file made in
# gevent's pool, server/web/report_files.py: 10-18 s where it takes 2-3 s with the fix off, or with no
# libfaketime), and every thread waiting for the GIL or for a task of gevent's threadpool (the server's
# database work) waited in a busy loop: a server on a faked clock spent ~26 ms of CPU a ticket issued, ~2 ms
# with the fix off, as on the real clock. The waits still last what they should, the wall clock is faked.
LIBFAKETIME_SETTINGS = {
    "LD_PRELOAD": str(LIBFAKETIME),
    "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    "TZ": "UTC",
}


def clock_file_env(path: Path) -> dict:
    """The env of a process whose wall clock libfaketime reads from the file ``path``."""
    return {**LIBFAKETIME_SETTINGS, "FAKETIME_TIMESTAMP_FILE": str(path), "FAKETIME_CACHE_DURATION": "1"}


class FakedClock:
    def __init__(self, path: Path, start: dt.datetime):
        if not LIBFAKETIME.exists():
            pytest.fail("needs libfaketime: apt-get install faketime")
        self.path = Path(path)
        self.start = start
        self._write(start)

    def env(self) -> dict:
        return clock_file_env(self.path)

    def set(self, moment: dt.datetime) -> None:
        """The server's clock jumps to ``moment`` (and runs on from there) within about a second."""
        self._write(moment)
        # libfaketime reads the file again at the first clock call of a whole second more than one past
        # its last read (`last + 1 < now`, in whole seconds): up to 2 s after a change
        time.sleep(2.2)

    def _write(self, moment: dt.datetime) -> None:
        utc = moment.astimezone(dt.UTC)
        # whole or not at all: libfaketime reading a file half written would take another time
        partial = self.path.with_name(self.path.name + ".new")
        partial.write_text(utc.strftime("@%Y-%m-%d %H:%M:%S") + "\n")
        os.replace(partial, self.path)


def on_a_working_morning(folder: Path, at: str = "09:00") -> dict:
    """The env of servers whose clock reads ``at`` on the next working day (``next_working_morning``) now
    and runs on, its file in ``folder``: what a test issues, serves and reports stays on that one day
    whenever it runs (on the real clock, a test that crosses the site's midnight, 17:00 UTC, sees its
    waiting tickets expire and its numbers start again at the first). The file holds an offset from the
    real time, not a moment: every process given this env (a second server, a restarted one, a command)
    reads the same time, where a moment would start each process's clock anew at its own start. Such a
    server is a fork of a zygote under libfaketime (tests/server_fork.py), as is a ``FakedClock``'s."""
    if not LIBFAKETIME.exists():
        pytest.fail("needs libfaketime: apt-get install faketime")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "clock"
    offset = (next_working_morning(at) - dt.datetime.now(dt.UTC)).total_seconds()
    partial = path.with_name(path.name + ".new")
    partial.write_text(f"{offset:+.3f}\n")
    os.replace(partial, path)
    return clock_file_env(path)


def faked_now(env: dict) -> dt.datetime:
    """The time a process given ``env`` (``on_a_working_morning``'s) reads now, as naive UTC (how the
    database keeps times): for a row the test writes itself, on the real clock, at the servers' time."""
    offset = float(Path(env["FAKETIME_TIMESTAMP_FILE"]).read_text())
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).replace(tzinfo=None)


def faketime_env(local_start: str) -> dict:
    """A server whose wall clock starts at ``local_start`` in Ho Chi Minh City and runs on, and whose
    day ends half a second after midnight rather than 5 s (docs/configuration.md)."""
    assert LIBFAKETIME.exists() or shutil.which("faketime"), "needs libfaketime: apt-get install faketime"
    start = dt.datetime.fromisoformat(local_start).replace(tzinfo=HCM).astimezone(dt.UTC)
    return {
        **LIBFAKETIME_SETTINGS,  # (the monotonic clock and its waits left alone)
        "FAKETIME": start.strftime("@%Y-%m-%d %H:%M:%S"),
        "QUEUEKIOSK_DAY_END_SECONDS": "0.5",
    }
