"""The tests' zygotes (tests/server_fork.py): a forked command's end is reported when it happens.

A zygote sleeps until a request or a child's SIGCHLD wakes it; its timer is only a fallback. With
that timer set to an hour, a command whose end the zygote did not hear would never be reported, and
``run`` would time out: the suite would still pass without the wakeup, each command answering up to
the timer's 5 s late, so this is where its loss shows.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import server_fork

QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


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
