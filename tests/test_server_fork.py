"""The tests' zygotes (tests/server_fork.py): a forked command's end is reported when it happens, and
the zygotes a run's workers share end what each worker forked with it.

A zygote sleeps until a request or a child's SIGCHLD wakes it; its timer is only a fallback. With
that timer set to an hour, a command whose end the zygote did not hear would never be reported, and
``run`` would time out: the suite would still pass without the wakeup, each command answering up to
the timer's 5 s late, so this is where its loss shows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import server_fork
import zygote_helpers
from ports import free_port
from server_db import TEST_PERSON_KEY, seed

QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")
REPO = Path(__file__).resolve().parent.parent


def test_a_forked_commands_end_wakes_its_zygote(tmp_path, monkeypatch):
    if os.environ.get("QK_TEST_NO_FORK"):
        pytest.skip("forks turned off (QK_TEST_NO_FORK)")
    # a command that is not forked would be run by subprocess.run (the zygote itself is started by Popen)
    monkeypatch.setattr(server_fork.subprocess, "run", lambda *_a, **_k: pytest.fail("run without a fork"))
    zygote = server_fork.Zygote(idle_seconds=3600)
    try:
        env = dict(os.environ)
        helped = zygote.run([QUEUEKIOSK, "--help"], env, cwd=tmp_path, timeout=30)
        assert helped.returncode == 0 and "usage" in helped.stdout.lower(), helped.stderr
        refused = zygote.run([QUEUEKIOSK, "no-such-command"], env, cwd=tmp_path, timeout=30)
        assert refused.returncode == 2 and "no-such-command" in refused.stderr, "the refusal says which command"
    finally:
        zygote.close()


def _serve_env(tmp_path: Path, name: str, template: Path) -> tuple[Path, dict]:
    """A server's folder, its database a copy of the migrated ``template`` (not a first start's child)."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    seed(template, f"sqlite:///{folder / 'instance' / 'queuekiosk.db'}")
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    return folder, {
        **base,
        "QUEUEKIOSK_CONFIG": str(folder / "config.yaml"),
        "QUEUEKIOSK_IGNORE_HOURS": "1",
        "QUEUEKIOSK_INSTANCE": str(folder / "instance"),
        "QUEUEKIOSK_PERSON_KEY": TEST_PERSON_KEY,
    }


def _answers(port: int, server) -> bool:
    """Whether the server answers /healthz, once it has started (it has 60 s to)."""
    for _ in range(600):
        assert server.poll() is None, f"the server ended ({server.returncode})"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.1)
    return False


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _zygotes_in(folder: str) -> list[int]:
    """The processes whose command line names ``folder``: the zygotes listening there, and their children."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if folder in entry.joinpath("cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
    return found


def test_workers_share_a_zygote_and_each_ones_servers_end_with_it(tmp_path, sqlite_template):
    """Under xdist the workers share one zygote of each kind (conftest.py's pytest_configure_node): a
    worker's servers end when it hangs up (its session's end, or a crash), the other's run on, and the
    zygote ends, killing the rest, when the run's process does, however it ends."""
    if os.environ.get("QK_TEST_NO_FORK"):
        pytest.skip("forks turned off (QK_TEST_NO_FORK)")
    run = subprocess.Popen(["sleep", "600"])  # stands for xdist's controller
    shared = zygote_helpers.shared_zygotes(run.pid)
    workers = [server_fork.Zygote(shared=shared) for _ in range(2)]
    try:
        servers = []
        for worker, name in zip(workers, ("first", "second")):
            folder, env = _serve_env(tmp_path, name, sqlite_template)
            port = free_port()
            assert worker.preloadable(["serve"], env)
            server = worker.spawn(["serve", "--port", str(port)], env, folder, folder / "serve.log")
            assert _answers(port, server), (folder / "serve.log").read_text()
            servers.append((server, port))
        (zygote,) = {_parent(server.pid) for server, _ in servers}  # one for both
        assert zygote in _zygotes_in(shared["folder"])

        workers[0].close()  # the first worker's end
        assert servers[0][0].wait(10) == -signal.SIGKILL
        assert _answers(servers[1][1], servers[1][0]), "the other worker's server runs on"

        run.kill()  # the run's end, without a word to the zygote
        run.wait()
        assert servers[1][0].wait(10) == -signal.SIGKILL
        for _ in range(100):
            if not Path(f"/proc/{zygote}").exists() or Path(f"/proc/{zygote}/stat").read_text().split()[2] == "Z":
                break
            time.sleep(0.1)
        else:
            pytest.fail("the zygote outlived the run")
    finally:
        run.kill()
        for worker in workers:
            worker.close()
        zygote_helpers.end_shared_zygotes(shared)
