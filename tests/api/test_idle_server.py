"""What an idle server holds (issue 21): the setup is plain data (server/core/config.py) and the
request bodies' models are made at their first use (server/web/api/request_model.py), so a
`queuekiosk serve` that started (on a new database, config.yaml checked in a child process, or on
its saved setup), and issued a kiosk's ticket, has not loaded pydantic. Asked of the
real process (not a fork of the tests' zygote, which imported more): pydantic's compiled core is
mapped into a process only once pydantic is imported.

Nor SQLAlchemy's ORM: the start, the background loops and /healthz read and write the tables
through Core (server/core/models.py), and the ORM classes (server/core/mapped.py) are made by the
first request that needs them. The real process says what it imported: with PYTHONPROFILEIMPORTTIME
Python writes a line for each import to its standard error (the server's log).

Nor what only some requests use (issue 21, an idle serve under 60 MB): Flask-WTF and WTForms (the CSRF
check of a session's writes, server/web/api/csrf.py), smtplib (an e-mail notice), ``wave`` (an
announcement's audio), pyttsx3 (its worker process runs it). Each is loaded by its first use, and the
CSRF check then refuses a session's write without the session's token as before. Nor what the Socket.IO
libraries import for what a server never runs (server/web/socketio_imports.py): Werkzeug's development
server (http.server with it), debugger (multiprocessing with it) and reloader, Flask-SocketIO's test
client (pdb with it), python-socketio's and python-engineio's clients and asyncio servers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from api_helpers import issue, print_jobs
from sqlalchemy import create_engine

from queuekiosk.server.core.db import schema_revision


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


def test_a_kiosk_agent_s_hello_and_print_reports_load_no_pydantic(live_server, config_variant, sio_client):
    """A kiosk PC that prints through the kiosk agent (kiosk/agent.py) connects at its every start and
    reports each ticket printed: its usual payloads are checked without the models
    (server/web/socket_payloads.py); an unusual one goes through them, refused naming the field."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]
    srv = live_server(config, env={"QK_TEST_REAL_PROCESS": "1"}, start=False)
    srv.start(timeout=60)
    assert srv.zygote is None or not srv.zygote.preloadable(["serve"], srv.env), "a real process, not a fork"
    agent = sio_client(srv, auth={"token": srv.kiosk_token()})
    hello = agent.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": [7, "1-20261206-abc"]}, timeout=5)
    assert hello.get("printer") == "kiosk-1", hello
    http = srv.session()
    ticket = issue(http, "HT", kiosk="kiosk-1")
    [job] = print_jobs(http, ticket["id"])
    assert agent.sio.call("print.done", {"job": job["id"], "printed": False, "error": "hết giấy"}, timeout=5) == {
        "ok": True
    }
    assert agent.sio.call("print.done", {"job": job["id"], "printed": True}, timeout=5) == {"ok": True}
    assert print_jobs(http, ticket["id"])[0]["status"] == "printed"
    assert not _holds_pydantic(srv.proc.pid)

    refused = agent.sio.call("print.done", {"job": str(job["id"]), "printed": True}, timeout=5)["error"]
    assert refused["field"] == "job", refused
    assert _holds_pydantic(srv.proc.pid)


def _imported(log: str, module: str) -> bool:
    """Whether ``log`` (the standard error of a process run with PYTHONPROFILEIMPORTTIME) says ``module`` was imported."""
    return re.search(rf"^import time:.*\|\s*{re.escape(module)}$", log, re.MULTILINE) is not None


def test_a_started_server_holds_no_orm_until_a_request_needs_it(live_server, tmp_path):
    srv = live_server(env={"PYTHONPROFILEIMPORTTIME": "1"}, start=False)
    srv.database_template = None  # an empty database, not the tests' migrated copy
    srv.start(timeout=60)  # a new database: made and given its setup by a child (server/web/first_start.py)
    assert srv.zygote is None or not srv.zygote.preloadable(["serve"], srv.env), "a real process, not a fork"
    time.sleep(2)  # the background loops (the saved setup's poll, deliveries, printers, day end) have run
    log = srv.log()
    assert _imported(log, "sqlalchemy.engine") and _imported(log, "queuekiosk.server.core.models"), log[-2000:]
    assert not _imported(log, "sqlalchemy.orm") and not _imported(log, "queuekiosk.server.core.mapped")

    assert not any(_imported(log, module) for module in LAZY), [m for m in LAZY if _imported(log, m)]
    assert not _imported(log, "alembic")  # a new database is made by a child (server/web/first_start.py)

    first_run = len(srv.log())
    srv.restart()  # every other start: the setup saved in the database, read through Core
    time.sleep(2)
    assert not _imported(srv.log()[first_run:], "sqlalchemy.orm")
    assert not any(_imported(srv.log()[first_run:], module) for module in LAZY)

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
    assert _imported(srv.log()[first_run:], "queuekiosk.server.core.field_labels")  # the page's labels
    setup = admin.get("/api/v1/admin/site")  # the setup's changes (server/core/setup_changes.py) load now
    assert setup.status_code == 200 and setup.json()["version"] >= 1, setup.text
    assert _imported(srv.log()[first_run:], "queuekiosk.server.core.setup_changes")
    key = srv.session().get("/api/v1/push/key")  # what a page subscribes to Web Push with
    assert key.status_code == 200 and len(key.json()["public_key"]) > 80, key.text
    assert _imported(srv.log()[first_run:], "queuekiosk.server.core.vapid")
    users = admin.get("/api/v1/admin/users")  # ORM objects (server/web/api/admin.py)
    assert users.status_code == 200 and isinstance(users.json(), list), users.text
    made = admin.post("/api/v1/admin/users", json={"username": "lan", "password": "mat-khau-dai", "role": "clerk"})
    assert made.status_code == 201, made.text
    assert "lan" in [user["username"] for user in admin.get("/api/v1/admin/users").json()]
    assert _imported(srv.log()[first_run:], "sqlalchemy.orm")
    # a kiosk, a counter and an admin on bearer tokens need no CSRF check
    assert not _imported(srv.log()[first_run:], "flask_wtf")

    # a clerk's browser session: its writes carry the session's token, a forged one is refused
    browser = srv.session()
    login = browser.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dai", "counter": 1})
    assert login.status_code == 200, login.text
    assert _imported(srv.log()[first_run:], "flask_wtf.csrf")
    issue(http, "HT")
    forged = browser.post("/api/v1/counters/1/next")  # the cookie alone, as another site's page would send it
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed", forged.text
    wrong = browser.post("/api/v1/counters/1/next", headers={"X-CSRFToken": login.json()["csrf_token"][:-2] + "xx"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "csrf_failed", wrong.text
    token = {"X-CSRFToken": login.json()["csrf_token"]}
    assert browser.post("/api/v1/counters/1/next", headers=token).status_code == 200
    # the same session token; each answer signs it with the second it signs in (payload.time.signature)
    signed_now, signed_at_login = browser.get("/api/v1/auth/me").json()["csrf_token"], login.json()["csrf_token"]
    assert signed_now.split(".")[0] == signed_at_login.split(".")[0]
    # the counter console's page carries the token in its <meta>
    page = browser.get("/counter")
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert page.status_code == 200 and meta, page.text[:500]
    assert meta[1].split(".")[0] == signed_at_login.split(".")[0]
    assert browser.post("/api/v1/auth/logout").status_code == 403  # logging out is a write too
    # the page's own token is good for the session's writes
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRFToken": meta[1]}).status_code == 204
    # an account turned off closes the counters only it worked at (server/core/staffing.py, loaded now)
    login = browser.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dai", "counter": 1})
    assert login.status_code == 200, login.text
    off = admin.patch("/api/v1/admin/users/lan", json={"active": False})
    assert off.status_code == 200, off.text
    assert _imported(srv.log()[first_run:], "queuekiosk.server.core.staffing")
    assert "Traceback" not in srv.log()


def test_a_new_databases_refused_config_is_said_and_nothing_starts(live_server, config_variant):
    """The child that makes a new database (server/web/first_start.py) refuses config.yaml as the
    server did: the same message, nothing started, and a corrected file starts the centre."""
    config = config_variant()
    config["services"][0]["numbers"] = {"start": 10, "end": 5}
    srv = live_server(config, start=False)
    srv.database_template = None
    done = srv.run("serve", "--config", str(srv.config_path), "--port", str(srv.port), timeout=60)
    assert done.returncode == 1, done
    assert (
        "nothing was started" in done.stderr
        and "services[0].numbers.end: end (5) must not be below start (10)" in done.stderr
    )
    assert "Traceback" not in done.stderr
    engine = create_engine(srv.database_url)
    try:  # refused before anything was written: no schema half-made
        assert schema_revision(engine) is None
    finally:
        engine.dispose()
    srv.config_path.write_text(
        (Path(__file__).parents[2] / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    srv.start(timeout=60)
    assert issue(srv.session(), "HT")["number"] == 1001


def test_the_first_start_child_finds_the_end_of_the_address_as_it_starts(monkeypatch):
    """The database's address reaches the child on a pipe whose write end the server has closed when
    the child starts, under gevent too: gevent's os.close (gevent >= 25.8.1, patched in every server)
    defers closing a pipe to its loop's next turn, which may never come while the server waits for
    the child (whole-suite runs: a gunicorn worker starting on a new database held both ends, its
    child waiting for the end of the pipe). What the child reads, looked at as it is started."""
    import os
    import subprocess
    from types import SimpleNamespace

    import gevent
    import gevent.os
    from sqlalchemy.engine import make_url

    from queuekiosk.server.web import first_start

    if not hasattr(gevent.os, "close"):
        pytest.skip("this gevent does not patch os.close")
    gevent.get_hub()  # a server's hub: gevent's close defers a pipe's
    monkeypatch.setattr(os, "close", gevent.os.close)  # as gevent.monkey.patch_all() in a server
    read = []

    def run(command, stdin, **_kwargs):
        os.set_blocking(stdin, False)
        read.append(os.read(stdin, 4096))
        try:
            read.append(os.read(stdin, 4096))  # b"": the end of the pipe
        except BlockingIOError:
            read.append("a write end still open")
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(first_start.subprocess, "run", run)
    url = "postgresql://queuekiosk:secret@127.0.0.1:5432/queuekiosk"
    first_start.prepare_apart(SimpleNamespace(url=make_url(url)), Path("config.yaml"), Path("instance"))
    gevent.sleep(0)  # (the loop's turn: gevent's deferred closes done)
    assert read == [url.encode() + b"\n", b""]


# loaded by the first request that needs them, not by the start (server/web/api/csrf.py,
# server/core/notification_channels.py, sounds/wav.py, sounds/tts.py); of queuekiosk's own: an account's
# leaving its counters (server/web/api/admin.py), TLS and VAPID (a notice, a webhook, a page's push key),
# the fields' labels (/admin, a refusal naming a field), the setup's changes (/admin's API)
LAZY = (
    "flask_wtf",
    "wtforms",
    "smtplib",
    "wave",
    "pyttsx3",
    "queuekiosk.server.core.staffing",
    "queuekiosk.server.core.tls",
    "queuekiosk.server.core.vapid",
    "queuekiosk.server.core.field_labels",
    "queuekiosk.server.core.setup_changes",
    "werkzeug.serving",
    "http.server",
    "werkzeug.debug",
    "werkzeug._reloader",
    "multiprocessing",
    "flask_socketio.test_client",
    "pdb",
    "socketio.client",
    "socketio.async_server",
    "engineio.client",
    "requests",  # engine.io's client imports it and websocket-client
    "websocket",
    "engineio.async_server",
)


def test_the_csrf_settings_are_those_flask_wtf_sets():
    """init_csrf sets what CSRFProtect.init_app sets (without importing Flask-WTF), but the token's
    time limit: a session's token is good while the session lasts."""
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    from queuekiosk.server.web.api import bp
    from queuekiosk.server.web.api.csrf import init_csrf

    theirs, ours = Flask("theirs"), Flask("ours")
    CSRFProtect(theirs)
    init_csrf(ours, bp)
    wtf = {key: value for key, value in theirs.config.items() if key.startswith("WTF_")}
    assert {key: value for key, value in ours.config.items() if key.startswith("WTF_")} == {
        **wtf,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    assert set(theirs.jinja_env.globals) - set(ours.jinja_env.globals) == set()
    with ours.test_request_context("/"):
        context = {}
        for processor in ours.template_context_processors[None]:
            context.update(processor())
        assert {"csrf_token", "csrf_meta_tag"} <= context.keys()
