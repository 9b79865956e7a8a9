"""Servers on a faked clock (tests/faked_clock.py) are forks of a zygote under libfaketime
(tests/server_fork.py), each on its own clock file: what the server says the time is, in the Date
header of its answers, is its own clock's from its first answer on, whichever server came before.
"""

from __future__ import annotations

import datetime as dt
import os
from email.utils import parsedate_to_datetime

import pytest
import server_fork
from faked_clock import FakedClock, next_working_morning, on_a_working_morning

pytestmark = pytest.mark.skipif(bool(os.environ.get("QK_TEST_NO_FORK")), reason="forks turned off (QK_TEST_NO_FORK)")

SLACK = dt.timedelta(seconds=60)  # a start on a loaded machine
TICK = dt.timedelta(seconds=1)  # a clock started at a moment may read a few microseconds before it


def said_time(server) -> dt.datetime:
    answer = server.session().get("/healthz")
    assert answer.status_code == 200, answer.text
    return parsedate_to_datetime(answer.headers["Date"])


def test_servers_on_clocks_of_their_own_are_forks_each_on_its_own_time(live_server, tmp_path):
    morning = next_working_morning("09:00")
    evening = next_working_morning("16:59:45")
    first = live_server(env=FakedClock(tmp_path / "morning", morning).env())
    second = live_server(env=FakedClock(tmp_path / "evening", evening).env())  # right after the first
    third = live_server(env=on_a_working_morning(tmp_path / "offset", "11:00"))

    for server in (first, second, third):
        assert isinstance(server.proc, server_fork.ForkedServer), "a server on a faked clock is a fork"
    assert morning - TICK <= said_time(first) < morning + SLACK
    assert evening - TICK <= said_time(second) < evening + SLACK
    eleven = next_working_morning("11:00")
    assert eleven - TICK <= said_time(third) < eleven + SLACK
    assert abs(dt.datetime.now(dt.UTC) - said_time(first)) > dt.timedelta(hours=1), "not the real clock"


def test_a_forked_servers_clock_moves_when_its_file_is_set(live_server, tmp_path):
    start = next_working_morning("09:00")
    clock = FakedClock(tmp_path / "clock", start)
    server = live_server(env=clock.env())
    assert isinstance(server.proc, server_fork.ForkedServer)
    assert start - TICK <= said_time(server) < start + SLACK

    later = start + dt.timedelta(hours=3)
    clock.set(later)
    assert later - TICK <= said_time(server) < later + SLACK

    server.restart()  # a process started anew starts its clock where the file says
    assert later - TICK <= said_time(server) < later + SLACK
