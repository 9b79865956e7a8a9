"""Against a real server and the real command line: a counter session ended by ``queuekiosk user
password`` or ``user disable`` (another process than the server) is heard by the dashboard within the
bound the other processes' changes travel in (``counter.signed_out``, as for a change made in /admin),
once for each counter it was at, at the site it was at: its "Chưa mở (cán bộ … đã đăng nhập)" line and
who is signed in at an open counter follow without a reload. The waits below are bounds for a slow
machine, not timings: the event comes from the server's periodic look at the events.
"""

from __future__ import annotations

import secrets

import pytest
from api_helpers import PASSWORD, log_in
from faked_clock import on_a_working_morning
from ops_helpers import dashboards
from signed_in_helpers import FAR, signed_in, two_sites_signed_in

BOUND = 30  # seconds: far more than the server's look takes, on a machine shared by many tests


def heard_signed_out(dashboard, counter: int, since: int) -> None:
    dashboard.wait_for("counter.signed_out", lambda data: data == {"counter": counter}, timeout=BOUND, since=since)


def test_a_session_ended_on_the_command_line_is_heard_by_the_dashboard(live_server, tmp_path):
    """An admin signed in at closed counter 3 whose password is changed with ``user password``, and one of
    two clerks at counter 2 disabled with ``user disable`` (the counter stays open: a colleague is there):
    the dashboard hears each sign-out, and then names nobody, or the colleague, there."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    for name, role, counter in (("quantri", "admin", None), ("hoa", "clerk", 2), ("binh", "clerk", 2)):
        srv.add_user(name, PASSWORD, role, counter)
    log_in(srv, "quantri", counter=3)
    log_in(srv, "hoa")
    log_in(srv, "binh")
    with dashboards(srv, srv.token("admin"), None) as (dashboard,):
        assert signed_in(dashboard) == {2: ["hoa", "binh"], 3: ["quantri"]}
        for command, counter, left in (
            (("user", "password", "quantri"), 3, []),
            (("user", "disable", "hoa"), 2, ["binh"]),
        ):
            mark = dashboard.mark()
            srv.cli(*command, input="another-" + PASSWORD + "\n")
            heard_signed_out(dashboard, counter, mark)
            mark = dashboard.mark()
            assert dashboard.subscribe({"dashboard": True}) == {"ok": True}  # a fresh snapshot
            assert signed_in(dashboard, mark).get(counter, []) == left, command


def test_each_site_hears_where_the_account_was_signed_in(live_server, tmp_path):
    """Two sites, an installation admin signed in at counter 3 here and counter 2 at the far site, a
    clerk at counter 1 of each: the admin's password changed on the command line, each site's dashboard
    hears its own counter, and no other (the clerks stay)."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    http, admin = two_sites_signed_in(srv)
    with dashboards(srv, srv.token("admin"), None, FAR) as (here, far):
        assert signed_in(here) == {1: ["cb-dau"], 3: ["qt-chung"]}
        assert signed_in(far) == {1: ["cb-xa"], 2: ["qt-chung"]}
        marks = here.mark(), far.mark()
        srv.cli("user", "password", "qt-chung", input="another-" + PASSWORD + "\n")
        heard_signed_out(here, 3, marks[0])
        heard_signed_out(far, 2, marks[1])
        for dashboard, since, told, counters in (
            (here, marks[0], 3, {1: ["cb-dau"]}),
            (far, marks[1], 2, {1: ["cb-xa"]}),
        ):
            heard = [data["counter"] for event, data in dashboard.events[since:] if event == "counter.signed_out"]
            assert heard == [told]
            mark = dashboard.mark()
            assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
            assert signed_in(dashboard, mark) == counters


@pytest.mark.postgres
def test_every_process_tells_its_own_dashboards_once(live_server, tmp_path, redis_url, migrated_pg_url):
    """Two server processes on one PostgreSQL database and one Redis message queue, a dashboard on each:
    a password changed on the command line is heard once by each (each process tells its own clients),
    as is a second change after it."""
    env = {
        **on_a_working_morning(tmp_path),
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    a = live_server(env=env)
    b = live_server(env=env)
    for name, counter in (("quantri", 3), ("phoquan", 5)):
        a.add_user(name, PASSWORD, "admin")
        log_in(a, name, counter=counter)
    with dashboards(a, a.token("admin"), None) as (on_a,), dashboards(b, b.token("admin"), None) as (on_b,):
        marks = on_a.mark(), on_b.mark()
        for name, counter in (("quantri", 3), ("phoquan", 5)):
            a.cli("user", "password", name, input="another-" + PASSWORD + "\n")
            for dashboard, since in zip((on_a, on_b), marks):
                heard_signed_out(dashboard, counter, since)
        for dashboard, since in zip((on_a, on_b), marks):
            heard = [data["counter"] for event, data in dashboard.events[since:] if event == "counter.signed_out"]
            assert heard == [3, 5]
