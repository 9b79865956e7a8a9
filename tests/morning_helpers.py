"""The site's date on a server on the session's working morning (``server_on_a_working_morning``,
``start_server_on_a_working_morning``: tests/pages/conftest.py), for a test that books a day or a time
of that day: such a server is a fork of the zygote under the session's clock, where a ``FakedClock`` of
the test's own made it a process of its own (about 1 s more CPU, 2-5 s more wall time a start)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from faked_clock import HCM


def morning_date(server) -> dt.date:
    """The site's date on ``server``'s clock: the real time moved on by the offset in the clock file of its
    env (tests/faked_clock.py, ``on_a_working_morning``)."""
    offset = float(Path(server.env["FAKETIME_TIMESTAMP_FILE"]).read_text())
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)).astimezone(HCM).date()
