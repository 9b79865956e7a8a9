"""A gunicorn forked from its zygote (tests/gunicorn_fork.py) starts as the deployment's does: its master
with nothing patched, no gevent hub and nothing of the server imported (gunicorn, gevent and the config's
worker class only), and so its worker until its own start, which patches and then loads the app. A zygote
that imported the server (its modules then imported unpatched, --preload's order) or patched the standard
library (a master on gevent's loop) fails here; the tests of gunicorn's behaviour would still pass."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import gunicorn_fork
import pytest
import server_fork
from ports import free_port

REPO = Path(__file__).resolve().parents[1]

# deploy/gunicorn.conf.py's settings, and hooks that say what the master and the worker hold
HOOKS = """
import json, os, sys
from gevent import monkey
from gevent._hub_local import get_hub_if_exists

exec(compile(open({config!r}).read(), {config!r}, "exec"))


def _seen(where):
    server = [name for name in ("flask", "sqlalchemy", "queuekiosk.server.web") if name in sys.modules]
    seen = dict(where=where, pid=os.getpid(), patched=monkey.is_module_patched("socket"), server=server)
    with open({seen!r}, "a") as out:
        out.write(json.dumps(dict(seen, hub=get_hub_if_exists() is not None)) + "\\n")


def when_ready(arbiter):
    _seen("master")


def post_fork(arbiter, worker):
    _seen("worker, before its start")


def post_worker_init(worker):
    _seen("worker, its app loaded")
"""


def test_a_forked_gunicorns_master_holds_only_what_its_own_process_would(tmp_path, server_zygote):
    if os.environ.get("QK_TEST_NO_FORK"):
        pytest.skip("forks turned off (QK_TEST_NO_FORK)")
    seen_path = tmp_path / "seen.jsonl"
    config = tmp_path / "gunicorn.conf.py"
    config.write_text(HOOKS.format(config=str(REPO / "deploy" / "gunicorn.conf.py"), seen=str(seen_path)))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    env["QUEUEKIOSK_BIND"] = f"127.0.0.1:{port}"
    # an app in the test's own folder, found there as by a gunicorn started in it (no --chdir)
    (tmp_path / "folder_app.py").write_text(
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'']\n"
    )
    command = [gunicorn_fork.GUNICORN, "--config", config, "folder_app:app"]
    log = tmp_path / "gunicorn.log"
    proc = gunicorn_fork.start(server_zygote, command, env, tmp_path, log)
    try:
        assert isinstance(proc, server_fork.ForkedServer), "not a fork of the gunicorn zygote"
        deadline = time.monotonic() + 60
        while len(seen := seen_path.read_text().splitlines() if seen_path.exists() else []) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        socket.create_connection(("127.0.0.1", port), timeout=10).close()  # a real master on a real port
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    master, before, loaded = map(json.loads, seen)
    assert master == {"where": "master", "pid": proc.pid, "patched": False, "server": [], "hub": False}
    assert before["pid"] != proc.pid and not before["patched"] and before["server"] == [], before
    assert loaded["pid"] == before["pid"] and loaded["patched"], loaded  # gunicorn's gevent worker patched
    assert code == 0 and "Traceback" not in log.read_text(), log.read_text()
