"""The wait predictor wired into issuing (issue 17): whatever the queue does, the promised wait is an
ordered, never negative range holding its point, null only while no open counter serves the
service, and "called right away" (0, [0, 0]) when nobody is ahead and a counter is free; without a
trained predictor the usual formula answers as a range of one value; the printed ticket says the
range."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ImageChops
from printer_sim import decode
from sqlalchemy import select
from wait_history import MIN, clerk_ids, local, write_days

from queuekiosk.printers import ticket as layout
from queuekiosk.printers.content import TicketContent
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory
from queuekiosk.server.core.i18n import translate
from queuekiosk.server.core.prediction import Predictor
from queuekiosk.server.core.prediction_train import read_events, train

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yaml"
HISTORY = [dt.date(2026, 11, 2) + dt.timedelta(days=i) for i in range(8)]
TODAY = dt.date(2026, 11, 12)
T, C = m.Ticket.__table__, m.Counter.__table__


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    """A database file with 8 days of counter 4 (DC): a quick clerk (4 min a citizen) and, on three days
    of the first six, a slow one (16 min); the model trained on it."""
    folder = tmp_path_factory.mktemp("wait-history")
    engine = create_db_engine(f"sqlite:///{folder / 'centre.db'}")
    site = prepare_database(engine, load_config(CONFIG_PATH), folder / "instance")
    clerks = clerk_ids(engine, "nhanh", "cham")
    write_days(
        engine, site, HISTORY, lambda day: (clerks["cham"], 16.0) if day.day in (3, 5, 7) else (clerks["nhanh"], 4.0)
    )
    with engine.connect() as conn:
        model = train(site, read_events(conn, site))
    engine.dispose()
    return folder / "centre.db", model


@pytest.fixture
def fresh(centre, tmp_path):
    """``with fresh() as (engine, site, predictor)``: a copy of the centre for one example."""
    template, model = centre

    @contextlib.contextmanager
    def make():
        path = tmp_path / "live.db"
        shutil.copy(template, path)
        engine = create_db_engine(f"sqlite:///{path}")
        try:
            site = prepare_database(engine, load_config(CONFIG_PATH), tmp_path / "instance")
            yield engine, site, Predictor(site, model)
        finally:
            engine.dispose()
            path.unlink()

    return make


@pytest.fixture
def live(fresh):
    with fresh() as made:
        yield made


def _run(engine, action, *args, **kwargs):
    """One engine command in its own transaction; a refused one changes nothing and gives None."""
    try:
        with session_factory(engine).begin() as session:
            return action(session, *args, **kwargs)
    except q.QueueError:
        return None


def _called_at_once(conn, site, ticket_id: int) -> bool:
    """From the database: an open counter of the ticket's service holds nobody, and nobody else it
    serves is waiting (the ticket is then called at the counter's next press)."""
    mine = conn.execute(select(T).where(T.c.id == ticket_id)).one()
    held = {row.counter_id for row in conn.execute(select(T.c.counter_id).where(T.c.status.in_(("called", "serving"))))}
    waiting = conn.execute(
        select(T.c.service_id, T.c.target_counter_id).where(
            T.c.status == "waiting", T.c.id != ticket_id, T.c.business_day == mine.business_day
        )
    ).all()
    for row in conn.execute(select(C).where(C.c.state == "open")):
        services = set(site.counter_service_ids[row.number])
        if (
            mine.service_id in services
            and row.id not in held
            and not any(
                w.target_counter_id == row.id or (w.target_counter_id is None and w.service_id in services)
                for w in waiting
            )
        ):
            return True
    return False


def _check(view: dict, open_serving: bool) -> None:
    eta, eta_range = view["eta_minutes"], view["eta_range"]
    if not open_serving:
        assert eta is None and eta_range is None, view  # the kiosk says no counter is open
        return
    low, high = eta_range
    assert 0 <= low <= eta <= high, view


steps = st.lists(
    st.tuples(
        st.sampled_from(["issue", "issue", "issue", "next", "next", "finish", "pause", "resume", "close"]),
        st.sampled_from(["DC", "HT", "CT"]),
        st.booleans(),
        st.sampled_from([1, 2, 3, 4]),
        st.floats(0, 12),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_promised_range_is_ordered_never_negative_and_zero_when_a_free_counter_calls_at_once(fresh, steps):
    with fresh() as live:
        _play(*live, steps)


def _play(engine, site, predictor, steps) -> None:
    now = local(TODAY, 8)
    clerk = q.Actor(user_id=1)
    for kind, service, priority, counter, minutes in steps:
        now += minutes * MIN
        if kind == "issue":
            outcome = _run(
                engine,
                q.issue,
                site,
                service,
                priority="elderly" if priority else None,
                now=now,
                check_hours=False,
                estimator=predictor,
            )
            view = outcome.ticket
            with engine.connect() as conn:
                row = conn.execute(select(T).where(T.c.public_id == view["id"])).one()
                serving = [
                    c
                    for c in conn.execute(select(C).where(C.c.state == "open"))
                    if row.service_id in site.counter_service_ids[c.number]
                ]
                _check(view, bool(serving))
                if serving and _called_at_once(conn, site, row.id):
                    assert view["eta_minutes"] == 0 and view["eta_range"] == [0, 0], view
                if serving and view["waiting_ahead"] > 0:
                    assert view["eta_range"][1] > 0, view  # someone is ahead: never "right away"
        elif kind == "next":
            _run(engine, q.call_next, site, counter, clerk, now=now)
        elif kind == "finish":
            _run(engine, q.finish, site, counter, clerk, now=now)
        elif kind == "pause":
            _run(engine, q.pause, site, counter, reason="Nghỉ giải lao", actor=clerk, now=now)
        elif kind == "resume":
            _run(engine, q.resume, site, counter, clerk, now=now)
        else:
            _run(engine, q.close_counter, site, counter, clerk, now=now)
    # every waiting ticket, followed on a phone: the same invariants from where it stands now
    with session_factory(engine)() as session:
        for public_id in session.scalars(select(T.c.public_id).where(T.c.status == "waiting")):
            view = q.ticket_status(session, site, public_id, predictor)
            open_serving = any(
                c.state == "open" and site.service_ids[view["service"]] in site.counter_service_ids[c.number]
                for c in session.execute(select(C))
            )
            _check(view, open_serving)


def test_without_a_trained_predictor_the_formula_answers_as_a_range_of_one_value(live):
    engine, site, _predictor = live
    now = local(TODAY, 9)
    _run(engine, q.call_next, site, 4, q.Actor(user_id=1), now=now)  # counter 4 opens, nobody waiting
    first = _run(engine, q.issue, site, "DC", now=now + MIN, check_hours=False).ticket
    assert (first["eta_minutes"], first["eta_range"]) == (0, [0, 0])
    second = _run(engine, q.issue, site, "DC", now=now + 2 * MIN, check_hours=False).ticket
    assert second["eta_minutes"] > 0 and second["eta_range"] == [second["eta_minutes"]] * 2
    closed = _run(engine, q.issue, site, "LD", now=now + 3 * MIN, check_hours=False).ticket
    assert closed["eta_minutes"] is None and closed["eta_range"] is None


def test_the_slow_clerk_at_the_counter_makes_the_promise_longer_than_the_formula(live):
    """The formula's average is the service's recent pace (the quick clerk's days came last); the
    predictor knows who is at the counter."""
    engine, site, predictor = live
    now = local(TODAY, 9)
    slow = q.Actor(user_id=clerk_ids(engine, "cham")["cham"])
    for i in range(4):
        _run(engine, q.issue, site, "DC", now=now + i * MIN, check_hours=False, estimator=predictor)
    _run(engine, q.call_next, site, 4, slow, now=now + 5 * MIN)
    ours = _run(engine, q.issue, site, "DC", now=now + 6 * MIN, check_hours=False, estimator=predictor).ticket
    with engine.connect() as conn:
        formula = q.estimate_minutes(conn, site, site.service_ids["DC"], 3)
    low, high = ours["eta_range"]
    assert ours["waiting_ahead"] == 3 and low <= ours["eta_minutes"] <= high
    assert low > formula and ours["eta_minutes"] > formula + 10, (ours, formula)


# --- the printed ticket ---------------------------------------------------------------------------

TICKET = TicketContent(
    centre="UBND phường Phúc La",
    number="3005",
    service="Địa chính - Đô thị - Xây dựng",
    issued_at="09:06  12/11/2026",
    people_ahead=3,
    tracking_url="http://192.0.2.1:8000/t/abc",
    eta_minutes=14,
    eta_range=[10, 20],
)


def _drawn(text: str, width: int = 576):
    return layout._text_image(text, layout._scaled(width)(22), width)


def _holds_image(paper, wanted, width: int = 576) -> bool:
    """The paper shows the line ``wanted``, centred as the printer centres a line's raster (whole bytes)."""
    wanted = wanted.convert("L")
    x = (width - -(-wanted.width // 8) * 8) // 2
    return any(
        not ImageChops.difference(sheet.crop((x, y, x + wanted.width, y + wanted.height)), wanted).getbbox()
        for sheet in paper.sheets(width)
        for y in range(sheet.height - wanted.height + 1)
    )


def test_the_printed_ticket_says_the_range_and_the_formula_s_single_value_as_before():
    assert layout.eta_line(14, [10, 20]) == "Thời gian chờ dự kiến: khoảng 10–20 phút"
    assert layout.eta_line(14, [10, 20], "en") == "Estimated wait: about 10–20 min"
    assert layout.eta_line(12, [12, 12]) == translate("kiosk_eta", n=12)
    assert layout.eta_line(12, None) == translate("kiosk_eta", n=12)  # a job stored before eta_range
    assert layout.eta_line(0, [0, 0]) == translate("kiosk_eta_now")
    paper = decode(layout.render(TICKET, "compact"))  # the ESC/POS bytes the printer gets
    assert _holds_image(paper, _drawn("Thời gian chờ dự kiến: khoảng 10–20 phút"))
    assert not _holds_image(paper, _drawn(translate("kiosk_eta", n=14)))
    old = decode(layout.render(replace(TICKET, eta_range=None), "compact"))
    assert _holds_image(old, _drawn(translate("kiosk_eta", n=14)))
    assert TicketContent.from_json(TICKET.to_json()) == TICKET  # a print job keeps the range
