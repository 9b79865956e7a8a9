"""``queuekiosk serve`` processes forked from one that has already imported the server.

A test server's start used to be mostly Python importing Flask, SQLAlchemy, Socket.IO, pydantic
and the app (about 1 s of the 1.5-3 s before /healthz answers, some 200 times a suite). Here one
process per test session (the "zygote", this file run as a script) imports them once, as
``queuekiosk`` itself does (gevent's monkey patching first), and forks a child per server. The
child sets the server's environment, working folder and log file and then runs the very
``queuekiosk serve`` command of the entry point: the same code, a real process on a real port.

Servers with a message queue come from a second zygote, which keeps the Redis client as serve
does for them. Servers that need what a fork cannot give start as an ordinary process
(``preloadable``): another interpreter environment, such as faketime's LD_PRELOAD.

``ForkedServer`` is the test's handle on such a child, with the part of ``subprocess.Popen`` the
fixtures use (pid, poll, wait, terminate, kill, send_signal, returncode). The child is the
zygote's, so its exit status comes back through a file the zygote writes when it reaps it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def _per_server(key: str) -> bool:
    """A variable whose value may differ between a forked server and its zygote: the server's own
    settings, read when it runs, not when its modules are imported (a message queue decides what
    ``serve`` imports: such servers have a zygote of their own), and the name of the test that
    pytest keeps in its environment."""
    return key.startswith("QUEUEKIOSK_") or key in ("PYTHONUNBUFFERED", "PYTEST_CURRENT_TEST")


class ForkedServer:
    """A forked ``queuekiosk serve``, looked after like a ``subprocess.Popen``."""

    def __init__(self, pid: int, status_path: Path):
        self.pid = pid
        self.returncode: int | None = None
        self._status_path = status_path

    def poll(self) -> int | None:
        if self.returncode is None and self._status_path.exists():
            self.returncode = int(self._status_path.read_text())
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"queuekiosk serve (pid {self.pid})", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:  # exited; the zygote is about to say how
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The test side: starts a zygote on first use (one for servers with a message queue, one for
    servers without) and asks it for servers."""

    def __init__(self):
        self._lock = threading.Lock()
        self._env = {k: v for k, v in os.environ.items() if not _per_server(k)}
        self._procs: dict[bool, subprocess.Popen] = {}
        self._added: dict[str, str] = {}  # what the zygotes' imports set in their environment

    def _started(self, message_queue: bool) -> subprocess.Popen:
        proc = self._procs.get(message_queue)
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen(
                [sys.executable, __file__, *(["--message-queue"] if message_queue else [])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**self._env, "PYTHONUNBUFFERED": "1"},
            )
            self._added = json.loads(proc.stdout.readline() or "null")["added"]
            self._procs[message_queue] = proc
        return proc

    def _same_interpreter(self, env: dict) -> dict:
        return {k: v for k, v in env.items() if not _per_server(k) and self._added.get(k) != v}

    def preloadable(self, args, env: dict) -> bool:
        """Whether ``queuekiosk <args>`` with ``env`` may be a fork of a zygote: ``serve`` with the
        zygote's environment but for the server's own settings. ``QK_TEST_NO_FORK=1``: never."""
        if not args or args[0] != "serve" or os.environ.get("QK_TEST_NO_FORK"):
            return False
        with self._lock:
            self._started(bool(env.get("QUEUEKIOSK_MESSAGE_QUEUE")))
            return self._same_interpreter(env) == self._same_interpreter(self._env)

    def spawn(self, args, env: dict, cwd: Path, log_path: Path) -> ForkedServer:
        status_path = Path(log_path).with_name(f"{Path(log_path).name}.exit-{time.monotonic_ns()}")
        request = {"args": list(args), "env": env, "cwd": str(cwd), "log": str(log_path), "status": str(status_path)}
        with self._lock:
            zygote = self._started(bool(env.get("QUEUEKIOSK_MESSAGE_QUEUE")))
            zygote.stdin.write(json.dumps(request) + "\n")
            zygote.stdin.flush()
            answer = zygote.stdout.readline()
        if not answer:
            raise RuntimeError(f"the server zygote ended ({zygote.poll()})")
        return ForkedServer(json.loads(answer)["pid"], status_path)

    def close(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.stdin.close()  # a zygote ends at the end of its input
                proc.wait(10)


# --- the zygote -------------------------------------------------------------------------------

# what a started ``queuekiosk serve`` has imported (without a message queue); a module missing
# from here is imported by the server itself, as before, only slower
_SERVE_IMPORTS = (
    "queuekiosk.server.web.app",
    "queuekiosk.server.web.realtime",
    "queuekiosk.server.web.printing",
    "queuekiosk.server.web.api",
    "queuekiosk.server.web.errors",
    "queuekiosk.server.web.delivery",
    "queuekiosk.server.web.housekeeping",
    "queuekiosk.server.web.live_setup",
    "queuekiosk.server.web.supervisor",
    "queuekiosk.server.web.admin_page",
    "queuekiosk.server.web.book_page",
    "queuekiosk.server.wsgi_server",
    "queuekiosk.server.core.reports",
    "queuekiosk.server.core.exports",
    "queuekiosk.counter_client.web",
    "queuekiosk.counter_client.rating",
    "queuekiosk.display.web",
    "queuekiosk.home",
    "queuekiosk.kiosk.web",
    "queuekiosk.sounds.web",
    "queuekiosk.sounds.announce",
    "sqlite3",
    "engineio.async_drivers.gevent",
    "simple_websocket",
)
_MESSAGE_QUEUE_IMPORTS = ("redis", "socketio.redis_manager", "queuekiosk.server.web.resync")


def _preload(message_queue: bool) -> None:
    """What ``queuekiosk serve`` imports, as it imports it: the entry point (gevent's monkey
    patching first), the client libraries left out as serve leaves them out, then the app."""
    import importlib

    from queuekiosk.server import cli

    if message_queue:  # serve keeps the Redis client when it has a message queue
        os.environ["QUEUEKIOSK_MESSAGE_QUEUE"] = "redis://"
    cli._skip_client_libraries()
    os.environ.pop("QUEUEKIOSK_MESSAGE_QUEUE", None)
    for name in _SERVE_IMPORTS + (_MESSAGE_QUEUE_IMPORTS if message_queue else ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - renamed or broken: the server imports it (or says why) itself
            pass


def _child(request: dict, environ_added: dict) -> None:
    """In the forked child: become the server the request describes, and never return."""
    code = 1
    try:
        import gevent

        gevent.reinit()  # as gevent's own fork does
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)  # off the zygote's pipes
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in environ_added.items():  # what importing set, as it would have in this process
            os.environ.setdefault(key, value)
        from queuekiosk.server.cli import main

        sys.argv = ["queuekiosk", *request["args"]]
        main(request["args"], prog_name="queuekiosk")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported in the server's log, as an uncaught error would be
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _zygote() -> None:
    environ_before = dict(os.environ)
    _preload("--message-queue" in sys.argv)
    environ_added = {k: v for k, v in os.environ.items() if k not in environ_before}
    sys.stdout.write(json.dumps({"added": environ_added}) + "\n")
    sys.stdout.flush()
    from gevent import monkey

    fork = monkey.get_original("os", "fork")  # no child watcher: this loop reaps with waitpid
    waitpid = monkey.get_original("os", "waitpid")
    select = monkey.get_original("select", "select")
    status_paths: dict[int, str] = {}

    def reap() -> None:
        while status_paths:
            try:
                pid, status = waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            path = status_paths.pop(pid)
            with open(path + ".tmp", "w") as out:
                out.write(str(code))
            os.replace(path + ".tmp", path)  # whole or absent

    stdin = sys.stdin.fileno()
    pending = b""
    while True:
        readable, _, _ = select([stdin], [], [], 0.01)
        reap()
        if not readable:
            continue
        chunk = os.read(stdin, 65536)
        if not chunk:  # the test session is over (or was killed): no server outlives it
            for pid in status_paths:
                os.kill(pid, signal.SIGKILL)
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            sys.stdout.flush()
            pid = fork()
            if pid == 0:
                _child(request, environ_added)
            status_paths[pid] = request["status"]
            sys.stdout.write(json.dumps({"pid": pid}) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    _zygote()
