"""What an idle server holds (issue 21): the setup is plain data (server/core/config.py) and the
request bodies' models are made at their first use (server/web/api/request_model.py), so a
`queuekiosk serve` that started (on a new database, config.yaml checked in a child process, or on
its saved setup), and issued a kiosk's ticket, has not loaded pydantic. Asked of the
real process (not a fork of the tests' zygote, which imported more): pydantic's compiled core is
mapped into a process only once pydantic is imported."""

from __future__ import annotations

from pathlib import Path

from api_helpers import issue


def _holds_pydantic(pid: int) -> bool:
    return "_pydantic_core" in Path(f"/proc/{pid}/maps").read_text()


def test_a_started_server_holds_no_pydantic_until_a_body_needs_its_checks(live_server, tmp_path):
    # an environment of its own: a real `serve`, not a fork of the zygote
    srv = live_server(env={"PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}, start=False)
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
