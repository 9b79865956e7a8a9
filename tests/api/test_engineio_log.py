"""What python-engineio says in the server's log about requests for Engine.IO sessions it does not hold."""

from __future__ import annotations

import json

import requests


def test_an_unknown_session_is_an_error_after_a_late_request_for_a_closed_one(live_server):
    """A late request for a session closed here a moment before (a removed site's page) is no error; a
    request for a session never held here (nginx not sticky) still is, after it. python-engineio logs
    both through one once-per-process key: lowering the first to INFO used the key up, and the real
    error that followed was never written."""
    srv = live_server()
    opened = requests.get(f"{srv.url}/socket.io/?EIO=4&transport=polling", timeout=5)
    sid = json.loads(opened.text[1:])["sid"]
    closed = requests.post(f"{srv.url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="1", timeout=5)
    assert closed.status_code == 200, closed.text
    before = len(srv.log())
    late = requests.get(f"{srv.url}/socket.io/?EIO=4&transport=polling&sid={sid}", timeout=5)
    assert late.status_code == 400
    unknown = requests.get(f"{srv.url}/socket.io/?EIO=4&transport=polling&sid=nosuchsid", timeout=5)
    assert unknown.status_code == 400
    log = srv.wait_log("Invalid session nosuchsid", 5, after=before)
    said = [line for line in log.splitlines() if " ERROR " in line]
    assert len(said) == 1 and "Invalid session nosuchsid" in said[0], log
