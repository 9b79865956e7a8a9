"""The PostgreSQL group-commit writer's tests (server/core/pg_writer.py): callers asking it at the same
moment, and the numbers their tickets got."""

from __future__ import annotations

import collections

import gevent
import pytest
from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.errors import QueueError

T = m.Ticket.__table__


def numbers_by_service(queue) -> dict[str, list[int]]:
    """Each service's ticket numbers in the database, in order."""
    with queue.engine.connect() as conn:
        rows = conn.execute(select(T.c.service_id, T.c.number)).all()
    found = collections.defaultdict(list)
    for service_id, number in rows:
        found[queue.site.service_codes[service_id]].append(number)
    return {code: sorted(numbers) for code, numbers in found.items()}


def issue_then_refuse(conn, site, service, **kwargs):
    """Issuing's action refused once it took its number: nothing of it may stay (the number is the next one's)."""
    q.issue(conn, site, service, **kwargs)
    raise QueueError("closed", open="08:00", close="17:00")


def together(writer, site, jobs: list, limit: float = 30) -> list:
    """Each ``(action, args)`` asked for at the same moment (one batch); each caller's result or error.
    A caller still unanswered after ``limit`` seconds fails the test, naming its job.

    The limit is a ``gevent.Timeout``, which reads the clock as it starts. ``gevent.joinall(timeout=)``
    measures from the clock of gevent's loop as the loop last read it: in a pytest process that had
    not entered the loop for longer than the limit since it last woke on a timer or a socket (an
    earlier test's gevent, then other tests), joinall returned at its first turn of the loop, and the
    callers not yet answered read as None (the None of the whole-suite runs of 2026-12-04; reproduced
    with a 31 s pause before this file and a few greenlets left running, as earlier tests leave them)."""

    def one(action, args):
        try:
            return writer.submit(action, site, args, {"check_hours": False})
        except Exception as error:  # noqa: BLE001 - the test looks at what each caller got
            return error

    greenlets = [gevent.spawn(one, action, args) for action, args in jobs]
    with gevent.Timeout(limit, False):
        gevent.joinall(greenlets, raise_error=True)
    unanswered = [
        f"#{index} {getattr(action, '__name__', action)}{tuple(args)}"
        for index, (greenlet, (action, args)) in enumerate(zip(greenlets, jobs, strict=True))
        if not greenlet.ready()
    ]
    if unanswered:
        gevent.killall(greenlets)
        pytest.fail(f"{len(unanswered)} of {len(jobs)} callers had no answer within {limit} s: {', '.join(unanswered)}")
    return [g.value for g in greenlets]
