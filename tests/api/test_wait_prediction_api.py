"""The wait predictor through the real server (issue 17): trained at start on the database's history,
it gives a new ticket a range that holds its point, and where the history says so (the slow clerk
is at the counter today, the formula's average is the quick clerk's) a longer wait than the formula."""

from __future__ import annotations

import pytest
from api_helpers import issue
from wait_history import PASSWORD, centre_with_history, wait_until_trained

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.db import create_db_engine, open_database


@pytest.fixture
def trained(live_server):
    server = live_server(start=False)
    centre_with_history(server.database_url, server.database_template, server.config_path, server.instance)
    server.start()
    health = wait_until_trained(server.url)
    assert health["wait_prediction"]["trained_days"] >= 8
    return server


def _formula(server, service: str, ahead: int) -> int:
    """What the usual formula promises now, computed from the database as the engine does."""
    engine = create_db_engine(server.database_url)
    try:
        site = open_database(engine)
        with engine.connect() as conn:
            return q.estimate_minutes(conn, site, site.service_ids[service], ahead)
    finally:
        engine.dispose()


def test_a_ticket_gets_a_range_holding_its_point_and_the_slow_clerk_s_pace(trained):
    http = trained.session()
    clerk = trained.session()
    login = clerk.post("/api/v1/auth/login", json={"username": "cham", "password": PASSWORD})
    assert login.status_code == 200, login.text
    clerk.headers["X-CSRFToken"] = login.json()["csrf_token"]

    for _ in range(4):
        issue(http, "DC")
    called = clerk.post("/api/v1/counters/4/next")  # the slow clerk opens counter 4 and calls the first
    assert called.status_code == 200, called.text
    ours = issue(http, "DC")
    assert ours["waiting_ahead"] == 3
    low, high = ours["eta_range"]
    assert 0 <= low <= ours["eta_minutes"] <= high and low < high, ours
    formula = _formula(trained, "DC", 3)  # the service's recent average: the quick clerk's days came last
    assert low > formula and ours["eta_minutes"] > formula + 10, (ours, formula)

    # the phone's view of the same ticket: the same kind of answer, from where it stands now
    status = http.get(f"/api/v1/tickets/{ours['id']}").json()
    low, high = status["eta_range"]
    assert status["waiting_ahead"] == 3 and 0 <= low <= status["eta_minutes"] <= high
    # a service no open counter serves: no promise, as before
    closed = issue(http, "LD")
    assert closed["eta_minutes"] is None and closed["eta_range"] is None
