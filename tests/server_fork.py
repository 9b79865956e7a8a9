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

The other ``queuekiosk`` commands the tests run (``token create``, ``user add``, ``config
import``, ``predict backtest`` ...: some 150 a suite, each about 0.6-0.8 s of CPU importing
before it does anything) come from a third zygote, which imports what ``queuekiosk`` imports
for them, the client libraries included as a command has them (``Zygote.run``, in the shape of
``subprocess.run``): again a real process running the entry point, its stdin, stdout, stderr and
exit status its own, its exit handlers run as at a process's end. A ``serve`` run that way (a
test of a config that stops it) comes from a server's zygote. A gunicorn's master comes from a
zygote that imports what that master imports, unpatched as it is (tests/gunicorn_fork.py).

A server or command on a faked clock (tests/faked_clock.py: libfaketime, an LD_PRELOAD reading the
time from the file FAKETIME_TIMESTAMP_FILE names, or from FAKETIME itself) comes from zygotes of their
own, started under libfaketime with the same settings and a clock file of theirs that reads the real
time: libfaketime looks FAKETIME and the file's name up in the environment each time its cache has run
out, so a child, its environment set to the server's at once, reads the server's own clock at its first
look at the time (the zygote never looks at the wall clock within libfaketime's cache time of a fork).
A moment ("@2026-12-07 09:00:00") starts the child's clock there at that first look, as it starts a
process of its own at its start; an offset ("+86400") reads as that offset from the real time. Such a
server used to be a process of its own, 2-3 s of CPU to start where a fork takes 0.1 s.

Under xdist the workers share the zygotes (``Zygote(shared=...)``, tests/zygote_helpers.py): each kind
is started once a run, by the first worker that needs it, and listens on a socket in a folder the
controller names; a worker's children end when it hangs up, and the zygotes when the controller ends.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import hashlib
import json
import locale
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import gunicorn_fork
import zygote_helpers


def _per_server(key: str) -> bool:
    """A variable whose value may differ between a forked server and its zygote: the server's own
    settings, read when it runs, not when its modules are imported (a message queue decides what
    ``serve`` imports: such servers have a zygote of their own), the secrets the tests' configs name
    (``${TEST_SMS_TOKEN}``: read when a message is sent), and the name of the test that pytest keeps
    in its environment, and xdist's of the worker (a run's zygotes serve every worker)."""
    return key.startswith(("QUEUEKIOSK_", "TEST_", "PYTEST_XDIST_")) or key in (
        "PYTHONUNBUFFERED",
        "PYTEST_CURRENT_TEST",
        "GUNICORN_CMD_ARGS",  # read by gunicorn's config as it starts (tests/gunicorn_fork.py)
    )


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


# the variable naming the file libfaketime reads a faked clock from (tests/faked_clock.py), and the one
# that holds the faked time itself (FAKETIME="@2026-11-23 23:59:45"): a process with either (and
# libfaketime preloaded) is on a faked clock of its own
CLOCK_FILE = "FAKETIME_TIMESTAMP_FILE"
_OWN_CLOCK = (CLOCK_FILE, "FAKETIME")
_CLOCK = "+clock"  # the zygotes under libfaketime: "serve+clock-<settings>", "commands+clock-<settings>" ...


def _on_a_faked_clock(env: dict) -> bool:
    return "faketime" in env.get("LD_PRELOAD", "") and any(env.get(key) for key in _OWN_CLOCK)


def _clock_settings(env: dict) -> dict:
    """What a process on a faked clock is started with but its clock: libfaketime preloaded, its
    settings (its cache time, the monotonic clock left alone), TZ."""
    return {
        k: v for k, v in env.items() if (k in ("LD_PRELOAD", "TZ") or k.startswith("FAKETIME")) and k not in _OWN_CLOCK
    }


# how long a zygote sleeps with nothing to wake it (a request or a child's end do): a fallback only
IDLE_SECONDS = 5.0

# the zygotes, by what they preload: ``serve`` without and with a message queue, and the other commands
SERVE, SERVE_MESSAGE_QUEUE, COMMANDS = "serve", "serve-message-queue", "commands"

# ``serve`` through ``run`` (a test of how it refuses to start) is a fork of a server's zygote. The
# clients that run until stopped are forks of the commands' zygote through ``start``: the kiosk agent,
# and the keypad client on a pseudo-terminal (tests/api/keypad_helpers.py)


class Zygote:
    """The test side: starts a zygote on first use (one for servers with a message queue, one for
    servers without, one for the other commands; each again under libfaketime for those on a faked
    clock) and asks it for servers and commands.

    ``shared`` (``shared_zygotes``, made by xdist's controller): the run's workers share one zygote of
    each kind, started by the first worker that needs it (the others wait on a lock, then connect to
    its socket), instead of each starting its own (~1.3 s of CPU a zygote). Each worker's servers and
    commands are still its own: the zygote kills them when that worker hangs up, every zygote ends
    when the controller ends them (``end_shared_zygotes``) or ends itself."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, shared: dict | None = None):
        self._idle_seconds = idle_seconds
        self._shared = shared
        self._lock = threading.Lock()
        self._env = {k: v for k, v in os.environ.items() if not _per_server(k)}
        self._envs: dict[str, dict[str, str]] = {}  # each zygote's environment
        self._channels: dict[str, zygote_helpers.Channel] = {}
        self._spawned: list[subprocess.Popen] = []  # the shared zygotes this process started
        self._added: dict[str, dict[str, str]] = {}  # what each zygote's imports set in its environment
        self._folder: Path | None = None  # the clock zygotes' own clock file
        group = zygote_helpers.cpu_group() if shared else None  # a shared zygote's children join their asker's group
        self._group = f"{group[0]}{group[1]}/cgroup.procs" if group else None

    def _kind(self, kind: str, env: dict) -> str:
        """``kind``, or for a process on a faked clock the kind of zygote under libfaketime with its settings."""
        if not _on_a_faked_clock(env):
            return kind
        settings = json.dumps(sorted(_clock_settings(env).items()))
        return f"{kind}{_CLOCK}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"

    def _zygote_env(self, kind: str, env: dict) -> dict:
        """A zygote's environment: this process's, and for one on a faked clock the clock settings of
        the first server or command asked of it, with a clock file of its own reading the real time."""
        if _CLOCK not in kind:
            return self._env
        if self._folder is None:
            if self._shared:
                self._folder = Path(self._shared["folder"])
                clock = self._folder / "clock"
                if not clock.exists():  # whole or absent, whichever worker writes it
                    fresh = self._folder / f"clock.{os.getpid()}"
                    fresh.write_text("+0\n")
                    os.replace(fresh, clock)
            else:
                self._folder = Path(tempfile.mkdtemp(prefix="qk-zygote-clock-"))
                (self._folder / "clock").write_text("+0\n")
        return {**self._env, **_clock_settings(env), CLOCK_FILE: str(self._folder / "clock")}

    def _started(self, kind: str, env: dict) -> zygote_helpers.Channel:
        channel = self._channels.get(kind)
        if channel is None or not channel.alive():
            if channel is not None:
                with contextlib.suppress(OSError):
                    channel.close()
            self._envs.setdefault(kind, self._zygote_env(kind, env))
            channel = self._shared_channel(kind) if self._shared else self._own_channel(kind)
            hello = json.loads(channel.reader.readline() or "null")
            if hello is None:
                raise RuntimeError(f"the {kind} zygote ended before it was ready")
            self._added[kind] = hello["added"]
            self._channels[kind] = channel
        return channel

    def _command(self, kind: str, *more: str) -> dict:
        return {
            "args": [sys.executable, __file__, kind, str(self._idle_seconds), *more],
            "env": {**self._envs[kind], "PYTHONUNBUFFERED": "1"},
            "text": True,
        }

    def _own_channel(self, kind: str) -> zygote_helpers.Channel:
        proc = subprocess.Popen(**self._command(kind), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return zygote_helpers.Channel(proc.stdin, proc.stdout, proc=proc)

    def _shared_channel(self, kind: str) -> zygote_helpers.Channel:
        """A connection to the run's zygote of ``kind``, started here if no worker has yet."""
        folder = Path(self._shared["folder"])
        path = folder / f"{kind}.sock"
        with open(folder / f"{kind}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one worker starts it; the others wait, then connect
            with contextlib.suppress(OSError):
                return zygote_helpers.connected(path)
            path.unlink(missing_ok=True)  # a zygote that ended
            proc = subprocess.Popen(
                **self._command(kind, str(path), str(self._shared["owner"])),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                start_new_session=True,  # not this worker's: a Ctrl+C reaches the controller, which ends it
            )
            ready = proc.stdout.readline()  # listening, imported (and its clock's cache run out)
            proc.stdout.close()
            self._spawned.append(proc)
            if not ready:
                raise RuntimeError(f"the {kind} zygote ended ({proc.wait()})")
            return zygote_helpers.connected(path)

    def _same_interpreter(self, kind: str, env: dict) -> dict:
        added = self._added[kind]
        own = _OWN_CLOCK if _CLOCK in kind else ()  # each server's clock is its own
        return {k: v for k, v in env.items() if not _per_server(k) and k not in own and added.get(k) != v}

    def _fits(self, kind: str, env: dict) -> bool:
        with self._lock:
            self._started(kind, env)
            own, zygotes = self._same_interpreter(kind, env), self._same_interpreter(kind, self._envs[kind])
        if own != zygotes and os.environ.get("QK_FORK_LOG"):  # what kept a server or command from a fork
            keys = sorted(k for k in own.keys() | zygotes.keys() if own.get(k) != zygotes.get(k))
            with open(os.environ["QK_FORK_LOG"], "a") as log:
                log.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?')}: not a fork of {kind}, for {keys}\n")
        return own == zygotes

    def preloadable(self, args, env: dict) -> bool:
        """Whether ``queuekiosk <args>`` with ``env`` may be a fork of a zygote: ``serve`` with the
        zygote's environment but for the server's own settings (and its own clock file, on a faked
        clock). ``QK_TEST_NO_FORK=1``: never (``QK_TEST_NO_FORK=commands``: servers still are, the
        other commands not)."""
        if not args or args[0] != "serve" or os.environ.get("QK_TEST_NO_FORK") not in (None, "", "commands"):
            return False
        return self._fits(self._serve_kind(env), env)

    def _serve_kind(self, env: dict) -> str:
        return self._kind(SERVE_MESSAGE_QUEUE if env.get("QUEUEKIOSK_MESSAGE_QUEUE") else SERVE, env)

    def _ask(self, kind: str, request: dict) -> int:
        if self._group:
            request = {**request, "cgroup": self._group}
        with self._lock:
            channel = self._started(kind, request["env"])
            try:
                channel.writer.write(json.dumps(request) + "\n")
                channel.writer.flush()
                answer = channel.reader.readline()
            except OSError:
                answer = ""
            channel.broken = not answer  # asked again, it is started (or connected to) anew
        if not answer:
            raise RuntimeError(f"the {kind} zygote ended ({channel.proc.poll() if channel.proc else 'shared'})")
        return json.loads(answer)["pid"]

    def spawn(self, args, env: dict, cwd: Path, log_path: Path) -> ForkedServer:
        status_path = Path(log_path).with_name(f"{Path(log_path).name}.exit-{time.monotonic_ns()}")
        request = {"args": list(args), "env": env, "cwd": str(cwd), "log": str(log_path), "status": str(status_path)}
        return ForkedServer(self._ask(self._serve_kind(env), request), status_path)

    def start(
        self, args, env: dict, cwd: Path | str, log_path: Path, terminal: str | None = None, kind: str = COMMANDS
    ) -> ForkedServer | None:
        """``queuekiosk <args>`` (a client that runs until stopped: ``kiosk-agent``, ``keypad``) as a fork
        of the commands' zygote, its stdout and stderr appended to ``log_path``, its stdin empty, its exit
        handlers run as at a process's end; None when it cannot be one (``_fits``, ``QK_TEST_NO_FORK``):
        the caller then starts it with ``subprocess.Popen``. ``terminal``: the path of a pseudo-terminal's
        slave, its stdin, stdout and stderr instead, in a session of its own, as ``subprocess.Popen``
        with ``start_new_session=True`` and the slave as its three streams (``log_path`` only names the
        file of its exit status). ``kind``: another zygote's (a gunicorn: tests/gunicorn_fork.py)."""
        args = list(args)
        kind = self._kind(kind, env)
        if not args or os.environ.get("QK_TEST_NO_FORK") or not self._fits(kind, env):
            return None
        if terminal is None:
            open(log_path, "ab").close()  # there on return, as a Popen's with its log opened for it
        status_path = Path(log_path).with_name(f"{Path(log_path).name}.exit-{time.monotonic_ns()}")
        request = {
            "args": args,
            "env": env,
            "cwd": str(cwd),
            "log": str(log_path),
            "status": str(status_path),
            "exit_handlers": True,
            **({"terminal": terminal} if terminal is not None else {}),
        }
        return ForkedServer(self._ask(kind, request), status_path)

    def run(
        self,
        command: list[str],
        env: dict,
        cwd: Path | str | None = None,
        input: str | None = None,
        timeout=None,
        kind: str | None = None,
    ) -> subprocess.CompletedProcess:
        """``subprocess.run(command, input=input, capture_output=True, text=True, env=env, cwd=cwd,
        timeout=timeout)`` for ``command`` = ``[queuekiosk, *args]``: a fork of the commands' zygote
        when it can be one (the command is not a client that runs until stopped, and ``env`` is the
        zygote's but for queuekiosk's own settings; ``serve`` is a fork of a server's zygote when
        ``preloadable``), else that very call. Without
        ``input`` the command's stdin is empty (/dev/null) rather than pytest's. ``kind``: another
        zygote's (``command`` a gunicorn: tests/gunicorn_fork.py)."""
        args = list(command[1:])
        if kind is None and args and args[0] == "serve":  # from the zygote its servers come from, as ``spawn``'s
            kind = self._serve_kind(env)
            forkable = self.preloadable(args, env)
        else:
            kind = self._kind(kind or COMMANDS, env)
            forkable = args and not os.environ.get("QK_TEST_NO_FORK") and self._fits(kind, env)
        if not forkable:
            return subprocess.run(
                command,
                input=input,
                capture_output=True,
                text=True,
                env=env,
                cwd=cwd,
                timeout=timeout,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        folder = Path(tempfile.mkdtemp(prefix="qk-command-"))
        try:
            streams = {name: folder / name for name in ("stdin", "stdout", "stderr")}
            encoding = locale.getpreferredencoding(False)  # as subprocess's text mode decodes
            streams["stdin"].write_text(input or "", encoding=encoding)
            status_path = folder / "status"
            request = {
                "args": args,
                "env": env,
                "cwd": str(cwd or os.getcwd()),
                **{name: str(path) for name, path in streams.items()},
                "status": str(status_path),
            }
            child = ForkedServer(self._ask(kind, request), status_path)
            try:
                code = child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
                raise subprocess.TimeoutExpired(command, timeout) from None

            def read(name: str) -> str:
                with open(streams[name], encoding=encoding, newline=None) as text:  # universal newlines
                    return text.read()

            return subprocess.CompletedProcess(command, code, read("stdout"), read("stderr"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        if self._folder is not None and not self._shared:
            shutil.rmtree(self._folder, ignore_errors=True)


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
    # config.yaml's checks: a fork checks a new database's config.yaml in-process (serve does it in a
    # child, so as not to keep pydantic), which saves each forked start the child's ~0.5 s
    "queuekiosk.server.core.config_schema",
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
    # what a forked server still imported before it answered (its sys.modules against the zygote's):
    # PyYAML for a new database's config.yaml, the printers, gevent's resolver for its address
    "yaml",
    "queuekiosk.printers.profiles",
    "queuekiosk.printers.file_driver",
    "gevent.resolver.thread",
    "gevent.pool",
    "encodings.idna",
    # what forked servers imported while the page and API tests used them (their sys.modules against
    # the zygote's, 18 servers of four page files): the ORM at the first write, the first start's
    # checks, the rate limits at the first limited request, the CSRF check at the first form, the
    # threadpool the database's work runs in, the tickets' printing
    "sqlalchemy.orm",
    "queuekiosk.server.core.mapped",
    "queuekiosk.server.core.installation",
    "queuekiosk.server.web.first_start",
    "gevent.threadpool",
    "limits",
    "limits.storage",
    "limits.strategies",
    "limits.errors",
    "flask_wtf.csrf",
    "escpos.capabilities",
    "queuekiosk.printers.ticket",
    "encodings.unicode_escape",
    # and the API tests' (98 servers of 16 files): PostgreSQL's driver and dialect in a server on PostgreSQL
    # (0.1 s of CPU), the Web Push keys' cryptography
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "queuekiosk.server.core.pg_writer",
    "py_vapid",
)
_MESSAGE_QUEUE_IMPORTS = ("redis", "socketio.redis_manager", "queuekiosk.server.web.resync")
# what the commands import when they run (server/commands/, server/prediction_cli.py), beyond the
# entry point; not the web app, which only serve imports
_COMMAND_IMPORTS = (
    "queuekiosk.server.core.db",
    "queuekiosk.server.core.auth",
    "queuekiosk.server.core.audit",
    "queuekiosk.server.core.models",
    "queuekiosk.server.core.sites",
    "queuekiosk.server.core.errors",
    "queuekiosk.server.core.engine",
    "queuekiosk.server.core.backup",
    "queuekiosk.server.core.setup_changes",
    "queuekiosk.server.core.reports.sites",
    "queuekiosk.server.core.prediction",
    "queuekiosk.server.core.prediction_state",
    "queuekiosk.server.core.prediction_train",
    "queuekiosk.server.core.simulate",
    "queuekiosk.printers.profiles",
    "queuekiosk.sounds.voice",
    # the commands themselves, which the entry point imports only when one runs (server/cli.py)
    "queuekiosk.server.commands.accounts",
    "queuekiosk.server.commands.database",
    "queuekiosk.server.commands.sites",
    "queuekiosk.server.commands.voice",
    "queuekiosk.server.prediction_cli",
    "alembic.command",  # a command's first use of an instance folder migrates its new database
    "alembic.config",
    "sqlite3",
    "yaml",
    # what a forked command still imported as it ran (its sys.modules against the zygote's): the ORM and
    # its mapped classes (server/core/mapped.py, made at the first session: ~0.12 s of each command's
    # ~0.2 s of CPU) and, for a command that makes a new database, config.yaml's checks (pydantic, ~0.2 s)
    "sqlalchemy.orm",
    "queuekiosk.server.core.mapped",
    "queuekiosk.server.core.config_schema",
    "queuekiosk.server.web",
    # the kiosk agent (``start``): the Socket.IO client with requests and websocket-client, the printers
    "queuekiosk.kiosk.agent",
    # PostgreSQL's driver, which each command on a PostgreSQL database (backup, restore, migrate, token create,
    # user add ...) still imported at its first connection: 66 ms of CPU a command (its sys.modules against
    # the zygote's), dozens a run of tests/api/test_backup_pg_restore.py alone (24.5 -> 22.6 s of CPU, 2 x 2
    # runs interleaved). The dialect is named as serve's list names it (imported already with the engine's)
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
)


def _preload(kind: str) -> None:
    """What ``queuekiosk serve`` imports, as it imports it: the entry point (gevent's monkey
    patching first), the client libraries left out as serve leaves them out, then the app. For
    the other commands: the entry point and what the commands import."""
    import importlib

    if kind == gunicorn_fork.KIND:  # gunicorn's master: not the entry point, which patches
        return gunicorn_fork.preload()
    from queuekiosk.server import cli

    if kind == COMMANDS:
        names = _COMMAND_IMPORTS
    else:
        names = _SERVE_IMPORTS + (_MESSAGE_QUEUE_IMPORTS if kind == SERVE_MESSAGE_QUEUE else ())
        _skip_client_libraries(cli, message_queue=kind == SERVE_MESSAGE_QUEUE)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - renamed or broken: the command imports it (or says why) itself
            pass
    if kind == COMMANDS:
        # python-escpos, imported by the kiosk agent, calls logging.basicConfig(): a handler that no
        # command has at its start (the agent's own import comes after its logging is set up, which
        # makes that call do nothing), and that would write each line a second time
        import logging

        from queuekiosk.server.core.logs import _is_bare_basic_config

        root = logging.getLogger()
        for stray in [h for h in root.handlers if _is_bare_basic_config(h)]:
            root.removeHandler(stray)
    else:
        import mimetypes

        mimetypes.init()  # the types file read once here, not at each server's first static file


def _skip_client_libraries(cli, message_queue: bool) -> None:
    if message_queue:  # serve keeps the Redis client when it has a message queue
        os.environ["QUEUEKIOSK_MESSAGE_QUEUE"] = "redis://"
    cli._skip_client_libraries()
    os.environ.pop("QUEUEKIOSK_MESSAGE_QUEUE", None)


def _child(request: dict, environ_added: dict, kind: str) -> None:
    """In the forked child: become the server or command the request describes, and never return.
    A server writes to its log; a command reads its stdin file and writes its stdout and stderr
    files, and ends as a process ends (its exit handlers run, its streams flushed)."""
    code = 1
    command = "stdout" in request  # its own stdin, stdout and stderr files (else a log, as a server's)
    exit_handlers = command or request.get("exit_handlers", False)
    if request.get("cgroup"):  # a shared zygote's child: its CPU counted with its asker's (tests/suite_cpu.py)
        zygote_helpers.join_group(request["cgroup"])
    try:
        # its environment first, before anything looks at the wall clock: on a faked clock libfaketime
        # then reads the clock file this environment names (see the top of this file)
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in environ_added.items():  # what importing set, as it would have in this process
            os.environ.setdefault(key, value)
        if kind != gunicorn_fork.KIND:  # (gunicorn's master makes no hub: its workers do, once patched)
            import gevent

            gevent.reinit()  # as gevent's own fork does
            # the loop's clock as now, not as when the zygote made its hub (the commands' zygote does, at its
            # imports) and last turned it: gevent's iwait/joinall (subprocess.run(..., timeout=...)'s
            # communicate) start their timer without updating that clock, so the first such wait in a child
            # forked longer than its timeout after the zygote's start ended at once ("espeak-ng did not finish
            # within 120 s" from a test of 10 s; /work/notes' zygclock reproduction)
            gevent.get_hub().loop.update_now()
        os.chdir(request["cwd"])
        if command:
            streams = [
                os.open(request["stdin"], os.O_RDONLY),
                os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            ]
        elif "terminal" in request:  # a session of its own, the pseudo-terminal its three streams
            os.setsid()
            streams = [os.open(request["terminal"], os.O_RDWR | os.O_NOCTTY)] * 3
        else:
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            streams = [os.open(os.devnull, os.O_RDONLY), log, log]
        for fd, stream in enumerate(streams):  # off the zygote's pipes
            os.dup2(stream, fd)
        for stream in set(streams):
            os.close(stream)
        if kind == gunicorn_fork.KIND:
            gunicorn_fork.main(request["args"])
        from queuekiosk.server.cli import main

        sys.argv = ["queuekiosk", *request["args"]]
        main(request["args"], prog_name="queuekiosk")
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:  # as Python ends on SystemExit("a sentence")
            print(done.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - reported on stderr (a server's log), as an uncaught error would be
        import traceback

        traceback.print_exc()
    finally:
        try:
            if exit_handlers:
                atexit._run_exitfuncs()  # logging's shutdown among them, as at a process's end
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


class _Link:
    """One test process's requests to a zygote (its stdin and stdout, or a connection to its socket)
    and the children forked for them that are still running."""

    def __init__(self, fd: int, send, conn=None):
        self.fd, self.send, self.conn = fd, send, conn
        self.pending = b""
        self.children: set[int] = set()


def _zygote() -> None:
    environ_before = dict(os.environ)
    kind = sys.argv[1] if len(sys.argv) > 1 else SERVE
    idle_seconds = float(sys.argv[2]) if len(sys.argv) > 2 else IDLE_SECONDS
    listen_path = sys.argv[3] if len(sys.argv) > 3 else None  # shared: its socket, and the run's process
    owner = int(sys.argv[4]) if len(sys.argv) > 4 else None
    kind, clock, settings = kind.partition(_CLOCK)
    kinds = (SERVE, SERVE_MESSAGE_QUEUE, COMMANDS, gunicorn_fork.KIND)
    if kind not in kinds or (settings and not settings.startswith("-")):
        raise SystemExit(f"server_fork.py: unknown zygote {sys.argv[1]!r} (one of {', '.join(kinds)})")
    _preload(kind)
    # what the imports made lives as long as every child, out of the collector's sight: a child's collections
    # no longer walk (and copy, page by page) the zygote's objects before the server freezes its own at its
    # start (settle_collector), as one process's do. A forked server's CPU to /healthz 0.099 -> 0.090 s
    # (2 x 12 starts each way, interleaved; within the noise of whole files). Not gunicorn's master, which
    # freezes nothing: its worker freezes what it made (tests/test_gunicorn_sends.py counts it)
    if kind != gunicorn_fork.KIND:
        gc.freeze()
    environ_added = {k: v for k, v in os.environ.items() if k not in environ_before}
    import _socket  # not gevent's: this loop blocks in select

    from gevent import monkey

    fork = monkey.get_original("os", "fork")  # no child watcher: this loop reaps with waitpid
    waitpid = monkey.get_original("os", "waitpid")
    select = monkey.get_original("select", "select")
    if clock:
        # libfaketime keeps what it last read from its clock file for FAKETIME_CACHE_DURATION seconds
        # (10 unless set), counted in whole seconds of the real clock; it reads the file again at the
        # first look at the wall clock after that, taking its name from the environment then. This
        # zygote looks at the wall clock no more: it waits in select (a timeout on the monotonic clock,
        # which libfaketime leaves alone here; gevent's sleep would look at the wall clock, and
        # time.sleep fails under libfaketime). Once that time has passed, each child's first look
        # reads the file its own environment names.
        select([], [], [], float(os.environ.get("FAKETIME_CACHE_DURATION") or 10) + 1.1)
    hello = (json.dumps({"added": environ_added}) + "\n").encode()
    links: dict[int, _Link] = {}
    listener = owner_fd = None
    if listen_path is None:  # this process's own zygote: its requests on stdin, the end of which ends it
        links[sys.stdin.fileno()] = _Link(sys.stdin.fileno(), lambda data: _write_all(1, data))
    else:
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        listener.bind(listen_path)
        listener.listen(64)
        with contextlib.suppress(OSError, AttributeError):
            owner_fd = os.pidfd_open(owner)  # readable once the run's process has ended
        group = zygote_helpers.cpu_group()  # out of the starting worker's group: each child joins its asker's
        if group and "/queuekiosk-tests-" in group[1]:
            zygote_helpers.join_group(f"{group[0]}/cgroup.procs")
    _write_all(1, hello)
    if listener is not None:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # its starter reads no more
    status_paths: dict[int, tuple[str, _Link]] = {}

    def reap() -> None:
        while status_paths:
            try:
                pid, status = waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            path, link = status_paths.pop(pid)
            link.children.discard(pid)
            with open(path + ".tmp", "w") as out:
                out.write(str(code))
            os.replace(path + ".tmp", path)  # whole or absent

    def hang_up(link: _Link) -> None:  # its test process is over (or was killed): none of its children outlives it
        for pid in link.children:
            os.kill(pid, signal.SIGKILL)
        del links[link.fd]
        if link.conn is not None:
            link.conn.close()

    # woken by a request or a child's end (SIGCHLD through a wakeup pipe), not by a timer: a loop
    # polling every 10 ms cost each idle zygote ~0.9 % of a core, ~10 % for a suite's dozen
    child_ended, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    set_handler = monkey.get_original("signal", "signal")  # gevent's would leave SIGCHLD to its loop
    signal.set_wakeup_fd(wakeup)
    set_handler(signal.SIGCHLD, lambda signum, frame: None)
    running = True
    while running:
        watched = [child_ended, *links, *(fd for fd in (listener and listener.fileno(), owner_fd) if fd)]
        readable, _, _ = select(watched, [], [], idle_seconds)
        if child_ended in readable:
            os.read(child_ended, 4096)
        reap()
        if owner is not None and (owner_fd in readable or (owner_fd is None and not _alive(owner))):
            break  # the run is over, whatever its end
        if listener is not None and listener.fileno() in readable:
            conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, listener._accept()[0])
            links[conn.fileno()] = _Link(conn.fileno(), conn.sendall, conn)
            with contextlib.suppress(OSError):
                conn.sendall(hello)
        for link in [links[fd] for fd in readable if fd in links]:
            chunk = os.read(link.fd, 65536)
            if not chunk:
                hang_up(link)
                if listener is None:  # this process's own zygote ends with its test process
                    running = False
                continue
            link.pending += chunk
            while running and b"\n" in link.pending:
                line, link.pending = link.pending.split(b"\n", 1)
                request = json.loads(line)
                if request.get("quit"):  # the run's end (end_shared_zygotes)
                    running = False
                    break
                sys.stdout.flush()
                pid = fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)  # the child's signals are its own again, as before the loop
                    set_handler(signal.SIGCHLD, signal.SIG_DFL)
                    for fd in (child_ended, wakeup, owner_fd, *(fd for fd in links if fd > 2)):
                        if fd is not None:
                            os.close(fd)
                    if listener is not None:
                        listener.close()
                    _child(request, environ_added, kind)
                status_paths[pid] = (request["status"], link)
                link.children.add(pid)
                try:
                    link.send((json.dumps({"pid": pid}) + "\n").encode())
                except OSError:
                    hang_up(link)
                    break
    for link in list(links.values()):
        hang_up(link)
    deadline = time.monotonic() + 5  # each end said (a child stuck in the kernel is not waited for)
    while status_paths and time.monotonic() < deadline:
        if select([child_ended], [], [], deadline - time.monotonic())[0]:
            os.read(child_ended, 4096)
        reap()
    if listen_path is not None:
        with contextlib.suppress(OSError):
            os.unlink(listen_path)
    sys.stderr.flush()
    os._exit(0)  # at once: nothing of its own to clean up, and the interpreter's teardown of all it imported
    # took 0.1-0.5 s more


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


if __name__ == "__main__":
    _zygote()
