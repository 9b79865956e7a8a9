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

import server_fork

QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


def test_a_forked_commands_end_wakes_its_zygote(tmp_path):
    zygote = server_fork.Zygote(idle_seconds=3600)
    try:
        env = dict(os.environ)
        for command, expected_code in (([QUEUEKIOSK, "--help"], 0), ([QUEUEKIOSK, "no-such-command"], 2)):
            result = zygote.run(command, env, cwd=tmp_path, timeout=30)
            assert result.returncode == expected_code, result.stderr
        assert result.stderr.strip(), "the refusal of an unknown command says why"
        assert "usage" in zygote.run([QUEUEKIOSK, "--help"], env, cwd=tmp_path, timeout=30).stdout.lower()
        assert server_fork.COMMANDS in zygote._procs, "the commands ran as forks of the commands' zygote"
    finally:
        zygote.close()
