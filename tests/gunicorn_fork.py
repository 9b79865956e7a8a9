"""gunicorn with deploy/gunicorn.conf.py started as a fork of a zygote (tests/server_fork.py) that has
imported what gunicorn's master imports.

A gunicorn of the tests was a process of its own, some 35 a suite. Its master imports gunicorn, gevent
and server/gunicorn_worker.py (which the config names) and forks its worker; the worker patches the
standard library (gunicorn's gevent worker, at its start) and only then imports the server. Here the
master's part comes from a zygote: one that imports what the master imports, unpatched as the master
is, and forks a child that runs gunicorn's own entry point (``gunicorn.app.wsgiapp.run``) with the
test's arguments, environment, folder and log: a real master forking real workers on a real port, its
signals (HUP, TERM, QUIT, INT), exit status and log its own. The worker's patching and its imports of the
server stay where gunicorn has them, after its fork: a zygote that had imported the server would have
done it unpatched (--preload's order, not the deployment's) or would have patched the master.

A gunicorn that needs what a fork cannot give (another interpreter environment) is still a process of its
own, as a server is (``Zygote._fits``); so is every one with ``QK_TEST_NO_FORK`` set, or without a zygote.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KIND = "gunicorn"  # the zygote's kind (tests/server_fork.py)
GUNICORN = Path(sys.executable).parent / "gunicorn"

# what gunicorn's master has imported when it forks its worker (its sys.modules, deploy/gunicorn.conf.py's
# imports among them): its entry point, the arbiter and its logger, the config's worker class with gevent
_MASTER_IMPORTS = (
    "gunicorn.app.wsgiapp",
    "gunicorn.glogging",
    "queuekiosk.server.gunicorn_worker",
)


def preload() -> None:
    """In the zygote: what the master imports, and nothing patched (gevent's worker patches at its start)."""
    import importlib

    for name in _MASTER_IMPORTS:
        importlib.import_module(name)


def main(args: list[str]) -> None:
    """In the zygote's child: the ``gunicorn`` command with ``args``, as its script runs it."""
    sys.argv = [str(GUNICORN), *args]
    sys.path[0] = str(GUNICORN.parent)  # the script's folder, not the zygote's (gunicorn adds its --chdir)
    import threading
    import traceback

    from gunicorn import config, util
    from gunicorn.app.wsgiapp import run

    config.Chdir.default = util.getcwd()  # (read when gunicorn was imported: the zygote's folder, not the test's)
    try:
        sys.exit(run())
    finally:  # the first step of the interpreter's end, which a fork ends without (os._exit): the worker's
        # patched threads' end. (Not the whole end: a quick stop's greenlet that woke later still, in the
        # interpreter's finalization, printed its SystemExit; test_gunicorn_sends keeps a process of its own.)
        try:
            threading._shutdown()
        except BaseException:  # (said as the interpreter says an error of its end)
            print("Exception ignored in: <module 'threading'>", file=sys.stderr)
            traceback.print_exc()


def start(zygote, command: list, env: dict, cwd: Path | str, log_path: Path):
    """``subprocess.Popen(command, env=env, cwd=cwd)``, its output in ``log_path`` (written anew), for
    ``command`` = ``[GUNICORN, *args]``: a fork of ``zygote``'s gunicorn zygote when it can be one, else
    that very call. A ``ForkedServer`` or a ``subprocess.Popen``, signalled and waited for alike."""
    Path(log_path).write_bytes(b"")
    if zygote is not None:
        forked = zygote.start([str(arg) for arg in command[1:]], env, cwd, log_path, kind=KIND)
        if forked is not None:
            return forked
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def run(zygote, command: list, env: dict, cwd: Path | str, timeout: float) -> subprocess.CompletedProcess:
    """``subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)``
    (``command`` as ``start``'s): a fork of ``zygote``'s gunicorn zygote when it can be one."""
    command = [str(arg) for arg in command]
    if zygote is not None:
        return zygote.run(command, env, cwd, None, timeout, kind=KIND)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
