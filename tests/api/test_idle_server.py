"""What an idle server holds (issue 21): the setup is plain data (server/core/config.py) and the
request bodies' models are made at their first use (server/web/api/request_model.py), so a
`queuekiosk serve` that started (on a new database, config.yaml checked in a child process, or on
its saved setup), and issued a kiosk's ticket, has not loaded pydantic. Asked of the
real process (not a fork of the tests' zygote, which imported more): pydantic's compiled core is
mapped into a process only once pydantic is imported.

Nor SQLAlchemy's ORM: the start, the background loops and /healthz read and write the tables
through Core (server/core/models.py), and the ORM classes (server/core/mapped.py) are made by the
first request that needs them. The real process says what it imported: with PYTHONPROFILEIMPORTTIME
Python writes a line for each import to its standard error (the server's log)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from api_helpers import issue


def _holds_pydantic(pid: int) -> bool:
    return "_pydantic_core" in Path(f"/proc/{pid}/maps").read_text()


def test_a_started_server_holds_no_pydantic_until_a_body_needs_its_checks(live_server, tmp_path):
    # an environment of its own: a real `serve`, not a fork of the zygote
    srv = live_server(env={"QK_TEST_REAL_PROCESS": "1"}, start=False)
    srv.start(timeout=60)  # a new database: its setup is config.yaml's, checked in a child and saved
    assert srv.zygote is None or not srv.zygote.preloadable(["serve"], srv.env), "a real process, not a fork"
    assert not _holds_pydantic(srv.proc.pid)
    srv.restart()  # a centre's every other start: the setup saved in the database, read as plain data
    http = srv.session()
    assert issue(http, "HT")["number"] == 1001
    assert not _holds_pydantic(srv.proc.pid)

    # a body out of the usual goes through the model, refused naming the field, as before
    answer = http.post("/api/v1/tickets", json={"service": "HT", "colour": "red"})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "colour", answer.text
    assert _holds_pydantic(srv.proc.pid)
    assert "Traceback" not in srv.log()


def _imported(log: str, module: str) -> bool:
    """Whether ``log`` (the standard error of a process run with PYTHONPROFILEIMPORTTIME) says ``module`` was imported."""
    return re.search(rf"^import time:.*\|\s*{re.escape(module)}$", log, re.MULTILINE) is not None


def test_a_started_server_holds_no_orm_until_a_request_needs_it(live_server, tmp_path):
    srv = live_server(env={"PYTHONPROFILEIMPORTTIME": "1"}, start=False)
    srv.start(timeout=60)  # a new database: made in a child, its setup saved through Core
    assert srv.zygote is None or not srv.zygote.preloadable(["serve"], srv.env), "a real process, not a fork"
    time.sleep(2)  # the background loops (the saved setup's poll, deliveries, printers, day end) have run
    log = srv.log()
    assert _imported(log, "sqlalchemy.engine") and _imported(log, "queuekiosk.server.core.models"), log[-2000:]
    assert not _imported(log, "sqlalchemy.orm") and not _imported(log, "queuekiosk.server.core.mapped")

    first_run = len(srv.log())
    srv.restart()  # every other start: the setup saved in the database, read through Core
    time.sleep(2)
    assert not _imported(srv.log()[first_run:], "sqlalchemy.orm")

    # what needs the ORM loads it at its first use, and works as before
    http = srv.session()
    ticket = issue(http, "HT")
    assert ticket["number"] == 1001
    clerk = srv.session()
    clerk.headers["Authorization"] = f"Bearer {srv.token('counter', 1)}"
    called = clerk.post("/api/v1/counters/1/next")
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    admin = srv.session()
    admin.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    assert admin.get("/admin").status_code == 200
    users = admin.get("/api/v1/admin/users")  # ORM objects (server/web/api/admin.py)
    assert users.status_code == 200 and isinstance(users.json(), list), users.text
    made = admin.post("/api/v1/admin/users", json={"username": "lan", "password": "mat-khau-dai", "role": "clerk"})
    assert made.status_code == 201, made.text
    assert "lan" in [user["username"] for user in admin.get("/api/v1/admin/users").json()]
    assert _imported(srv.log()[first_run:], "sqlalchemy.orm")
    assert "Traceback" not in srv.log()
