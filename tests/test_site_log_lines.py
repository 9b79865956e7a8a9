"""Lines written by greenlets that serve the whole process, in a process serving several sites: the
group writer's (SQLite's, PostgreSQL's) and the live clients' teller's name the sites of the work they
were handed (a request's, a site's loop's), and none for the installation's own work. Real databases,
the real writers, the real AppState and logging; the lines as they reach standard error.
"""

from __future__ import annotations

import contextvars

import gevent
import pytest
from gevent.queue import SimpleQueue
from sqlalchemy.orm import Session

from queuekiosk.server.core import logs, sites
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.writer import group_writer
from queuekiosk.server.web import realtime
from queuekiosk.server.web.app import AppState


@pytest.fixture
def two_sites(tmp_path, config, monkeypatch):
    """``two_sites(url)`` -> an AppState of two sites (the first and "xa-mot") on the database at ``url``,
    with its group writer, whose lines name them as create_app sets it up."""
    engines = []

    def make(url: str) -> AppState:
        engine = create_db_engine(url)
        engines.append(engine)
        first = prepare_database(engine, config, tmp_path / "instance")
        with Session(engine) as session:
            other = sites.create_site(session, "xa-mot", "Xã Một")
            session.commit()
        monkeypatch.setattr(logs._context, "site", None)  # (logging is the process's: put back after the test)
        monkeypatch.setattr(logs._context, "current_site", None)
        logs.configure_logging(first.id)
        state = AppState(None, tmp_path / "instance", engine, {first.id: first, other.id: other})
        state.writer = group_writer(engine)
        logs.name_sites_by(state.logged_site)
        return state

    yield make
    for engine in engines:
        engine.dispose()


def lines(capsys, text: str) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if text in line]


def breaks_the_batch(conn, _site):
    """An action after which the batch's transaction is gone (as a full disk leaves it): nothing of the
    batch is committed, and the writer says so."""
    conn.exec_driver_sql("ROLLBACK")
    raise RuntimeError("the transaction is gone")


@pytest.mark.parametrize("database", ["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
def test_a_failed_batch_names_its_callers_sites(database, request, two_sites, capsys):
    state = two_sites(request.getfixturevalue(f"migrated_{database}_url"))

    def write(site_id: str | None) -> None:
        def submit():
            try:
                state.write(breaks_the_batch)
            except RuntimeError:
                pass

        if site_id is None:  # the installation's own work (the delivery worker's, say)
            submit()
        else:
            with state.at(site_id):  # a site's loop, or a request at its address
                submit()

    for callers in (["xa-mot", None], [None], ["xa-mot", "phuc-la"]):
        gevent.joinall([gevent.spawn(write, caller) for caller in callers], raise_error=True)
    said = lines(capsys, "actions was not committed")
    assert len(said) == 3, said
    assert "writer [xa-mot]: a batch of 2 actions" in said[0], said
    assert "writer: a batch of 1 actions" in said[1], said
    assert "writer [phuc-la,xa-mot]: a batch of 2 actions" in said[2], said


def test_the_tellers_failure_names_the_site_of_what_it_told(two_sites, migrated_sqlite_url, capsys):
    state = two_sites(migrated_sqlite_url)

    def tell():
        raise RuntimeError("a client went away")

    pending = SimpleQueue()
    teller = gevent.spawn(realtime._tell_in_order, pending)
    with state.at("xa-mot"):
        pending.put((contextvars.copy_context(), tell, ()))
    pending.put((contextvars.copy_context(), tell, ()))  # the installation's own
    gevent.sleep(0.1)
    teller.kill()
    said = lines(capsys, "could not tell the live clients")
    assert len(said) == 2, said
    assert "realtime [xa-mot]: could not tell" in said[0], said
    assert "realtime: could not tell" in said[1], said
