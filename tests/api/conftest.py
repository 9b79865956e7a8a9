"""Fixtures for the API tests: the REAL server, driven from outside.

Every server here is a ``queuekiosk serve`` subprocess with its own instance folder (its
own SQLite file, first a copy of the session's migrated template, and secret key), a config
file written to a temporary folder, and a free port. Tests talk to it over HTTP (a keep-alive ``requests`` session) and Socket.IO
(python-socketio's client). Tokens and users are written into the server's database from the
test process with the server's own functions (tests/server_db.py), as `queuekiosk token
create` / `user add` would write them, unless the server was made with ``accounts_by_cli=True``
(tests of those commands and of what they record). No mocks.

Fixtures
--------
``config_variant()``   a fresh, deep copy of the repo's config.yaml as a dict, to change and start
``live_server``        factory: ``live_server(config=None, flags=("--ignore-hours",), env=None, start=True,
                       accounts_by_cli=False)``
                       -> a started ``LiveServer`` (.url, .config_path, .env, .instance, .token(role,
                       counter=None), .kiosk_token(kiosk), .tokens(*specs), .add_user(name, password, role, counter=None),
                       .cli(*args), .session(language=None), .stop(), .restart(), .log());
                       config: a dict (written to a tmp config.yaml), a path, or None for the repo's;
                       the server stops at the end of the test
``module_live_server`` the same factory, the servers live until the end of the module
``server``             the repo's config.yaml with --ignore-hours, one per test module
``http``               a keep-alive session bound to ``server`` (relative URLs: ``http.get("/healthz")``)
``redis_server``       a redis-server of the test's own on a free port (tests/redis_server.py: .url, .proc,
                       .kill(), .start()); ``redis_url`` its URL. Never the
                       machine's shared 6379: tests run in parallel (pytest-xdist), and Redis pub/sub
                       channels are shared across its numbered databases
``sio_client``         factory: ``sio_client(srv=None, auth=None, headers=None, on_connect=None, **client_kwargs)``
                       -> a connected ``SioClient`` collecting every event it receives
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ports
import pytest
import requests
import server_db
import server_fork
import server_logs
import yaml
from redis_server import RedisServer

from queuekiosk.kiosk.socketio_client import InOrderClient

REPO = Path(__file__).resolve().parents[2]
REPO_CONFIG = REPO / "config.yaml"
_VENV_BIN = Path(sys.executable).parent
QUEUEKIOSK = str(_VENV_BIN / "queuekiosk") if (_VENV_BIN / "queuekiosk").exists() else shutil.which("queuekiosk")

# variables of the developer's shell that would make a test server share state with something else
_LEAKY_ENV = (
    "QUEUEKIOSK_CONFIG",
    "QUEUEKIOSK_DATABASE_URL",
    "QUEUEKIOSK_MESSAGE_QUEUE",
    "QUEUEKIOSK_SECRET_KEY",
    "QUEUEKIOSK_INSTANCE",
    "QUEUEKIOSK_PERSON_KEY",
)

START_TIMEOUT = 30.0


class ApiSession(requests.Session):
    """A keep-alive session; a URL starting with "/" is taken relative to the server. A connection
    the server ended without an answer says in its message whether the server still runs and its
    log's last line (``server_state``): the one line of a failure that CI's summary always shows."""

    def __init__(self, base_url: str, language: str | None = None, server_state=None):
        super().__init__()
        self.base_url = base_url
        self.server_state = server_state
        if language:
            self.headers["Accept-Language"] = language

    def request(self, method, url, *args, **kwargs):
        if isinstance(url, str) and url.startswith("/"):
            url = self.base_url + url
        kwargs.setdefault("timeout", 15)
        try:
            return super().request(method, url, *args, **kwargs)
        except requests.ConnectionError as error:
            if self.server_state is None:
                raise
            said = f"{error} ({self.server_state()})"
            raise type(error)(said, request=error.request, response=error.response) from error


class LiveServer:
    """One ``queuekiosk serve`` process with its own config file and instance folder."""

    def __init__(
        self,
        workdir: Path,
        config: dict | str | Path | None = None,
        flags=("--ignore-hours",),
        env: dict | None = None,
        accounts_by_cli: bool = False,
    ):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.instance = self.workdir / "instance"
        self.config_path = self.workdir / "config.yaml"
        if config is None:
            config = REPO_CONFIG
        if isinstance(config, dict):
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's where there is one: faster
            text = yaml.dump(config, Dumper=dumper, allow_unicode=True, sort_keys=False)
            self.config_path.write_text(text, encoding="utf-8")
        else:
            self.config_path.write_text(Path(config).read_text(encoding="utf-8"), encoding="utf-8")
        self.flags = list(flags)
        self.port = ports.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
        # one person key for every test server, as for every process of an installation: servers of one
        # test may share a database with their own instance folders (a server refuses another key)
        self.env.update(
            {
                "QUEUEKIOSK_INSTANCE": str(self.instance),
                "QUEUEKIOSK_PERSON_KEY": server_db.TEST_PERSON_KEY,
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env.update(env or {})
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self._tokens: dict[tuple, str] = {}
        self._sessions: list[ApiSession] = []
        self.accounts_by_cli = accounts_by_cli
        self._database_made = False  # by a first start
        self.database_template: Path | None = None  # the first SQLite file (server_db.seed)
        self.zygote: server_fork.Zygote | None = None  # forks the server when it can (tests/server_fork.py)

    # --- process -------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> LiveServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if self.database_template and not self._database_made and not self.env.get("QUEUEKIOSK_DATABASE_URL"):
            server_db.seed(self.database_template, self.database_url)
        args = ["serve", "--config", str(self.config_path), "--port", str(self.port), *self.flags]
        server_logs.watch(self.log_path)
        if self.zygote is not None and self.zygote.preloadable(args, self.env):
            self.proc = self.zygote.spawn(args, self.env, self.workdir, self.log_path)
        else:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [QUEUEKIOSK, *args], env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
                )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"queuekiosk serve exited with {self.proc.returncode}; the end of its log:\n{self.log()[-3000:]}"
                )
            try:  # (nothing asked before the port accepts: a refused request costs 100 times a connect)
                answered = (
                    ports.accepts(self.port) and requests.get(self.url + "/healthz", timeout=1).status_code == 200
                )
            except requests.RequestException:
                answered = False
            if answered:
                self._check_own_answer()
                self._database_made = True
                return self
            time.sleep(0.02)
        processes = _process_tree(self.proc.pid)  # what it was doing (a child it waits for, say), before it stops
        self.stop()
        raise RuntimeError(
            f"queuekiosk serve did not answer /healthz within {timeout} s; its processes:\n{processes}\n"
            f"the end of its log:\n{self.log()[-3000:]}"
        )

    def _check_own_answer(self) -> None:
        """/healthz answered on this server's port: that it was this server, still running, and not
        another process on the same port (a port clash, which would look like a server that answers and
        then refuses: tests/ports.py)."""
        if self.proc.poll() is None and ports.belongs_to(self.proc.pid, self.port):
            return
        exited = self.proc.poll()
        why = f"it exited with {exited}" if exited is not None else "it runs, but another process listens there"
        self.stop()
        raise RuntimeError(
            f"port clash: /healthz answered on port {self.port}, but not from this queuekiosk serve ({why});"
            f" the end of its log:\n{self.log()[-3000:]}"
        )

    def stop(self, timeout: float = 10, graceful: bool = True) -> None:
        """SIGTERM and wait for the server's own shutdown; ``graceful=False``: SIGKILL, once the test
        is over and nothing depends on how it ends (a clean shutdown takes 0.3-0.7 s)."""
        for session in self._sessions:
            session.close()
        if self.proc is None or self.proc.poll() is not None:
            return
        if not graceful:
            self.proc.kill()
            self.proc.wait(timeout)
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self) -> LiveServer:
        """Stop and start again on the same port, config and instance folder (same database)."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_log(self, said: str, seconds: float = 15, after: int = 0) -> str:
        """The server's log once it holds ``said`` (what a loop or worker says after its writes commit, or
        after some tries), at most ``seconds``; ``after``: only what was written after that many characters
        of it (``len(log())`` at some point), which is what it returns then."""
        deadline = time.monotonic() + seconds
        while said not in (log := self.log()[after:]):
            assert time.monotonic() < deadline, f"the server did not say {said!r} within {seconds} s:\n{log[-3000:]}"
            time.sleep(0.1)
        return log

    def state(self) -> str:
        """Whether the server runs, or how it ended, and its log's last line."""
        if self.proc is None:
            return "queuekiosk serve not started"
        code = self.proc.poll()
        how = "runs" if code is None else f"exited with {code}"
        last = next((line for line in reversed(self.log().splitlines()) if line.strip()), "")
        return f"queuekiosk serve pid {self.proc.pid} {how}; its log's last line: {last[-300:]!r}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # --- clients ---------------------------------------------------------------------------

    def session(self, language: str | None = None) -> ApiSession:
        session = ApiSession(self.url, language, self.state)
        self._sessions.append(session)
        return session

    def run(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """``queuekiosk <args>`` with this server's environment, in its folder: a process forked from
        one that has imported the commands when it can be (tests/server_fork.py, ``Zygote.run``)."""
        if self.zygote is not None:
            return self.zygote.run([QUEUEKIOSK, *args], self.env, self.workdir, input, timeout)
        return subprocess.run(
            [QUEUEKIOSK, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
            timeout=timeout,
        )

    def cli(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """``queuekiosk <args> --config <this server's config>`` with this server's environment."""
        result = self.run(*args, "--config", str(self.config_path), input=input, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"queuekiosk {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    @property
    def database_url(self) -> str:
        return server_db.database_url(self.env, self.workdir)

    def _accounts_in_process(self) -> bool:
        """Once the server has made its database, unless this server's test is about the commands."""
        return self._database_made and not self.accounts_by_cli

    def _new_token(self, role: str, counter: int | None = None, kiosk: str | None = None) -> str:
        if self._accounts_in_process():
            return server_db.create_token(self.database_url, role, counter, kiosk)
        args = ["token", "create", "--role", role]
        if counter is not None:
            args += ["--counter", str(counter)]
        if kiosk is not None:
            args += ["--kiosk", kiosk]
        value = self.cli(*args).stdout.strip()
        assert value, "token create printed nothing"
        return value

    def token(self, role: str, counter: int | None = None, fresh: bool = False) -> str:
        """A bearer token for ``role`` (and ``counter``), cached per role and counter unless ``fresh``."""
        key = (role, counter)
        if fresh:
            return self._new_token(role, counter)
        if key not in self._tokens:
            self._tokens[key] = self._new_token(role, counter)
        return self._tokens[key]

    def kiosk_token(self, kiosk: str = "kiosk-1") -> str:
        """A kiosk token bound to ``kiosk`` (``token create --role kiosk --kiosk``): a kiosk agent's."""
        key = ("kiosk", kiosk)
        if key not in self._tokens:
            self._tokens[key] = self._new_token("kiosk", kiosk=kiosk)
        return self._tokens[key]

    def tokens(self, *specs: tuple[str, int | None]) -> dict[tuple, str]:
        """Several tokens at once: ``tokens(("admin", None), ("counter", 1))`` (CLI processes run in parallel)."""
        missing = [s for s in specs if s not in self._tokens]
        workers = 1 if self._accounts_in_process() else 4
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for spec, value in zip(missing, pool.map(lambda s: self.token(*s, fresh=True), missing)):
                self._tokens[spec] = value
        return {s: self._tokens[s] for s in specs}

    def add_user(
        self, name: str, password: str, role: str, counter: int | None = None, check: bool = True
    ) -> subprocess.CompletedProcess | None:
        """A user as ``queuekiosk user add NAME --role ROLE [--counter N]`` adds it. Through that
        command (its result returned, ``check`` applied) before the first start or with
        ``accounts_by_cli``; else written in this process, where a refusal raises ValueError."""
        if self._accounts_in_process():
            server_db.add_user(self.database_url, name, password, role, counter)
            return None
        args = ["user", "add", name, "--role", role]
        if counter is not None:
            args += ["--counter", str(counter)]
        return self.cli(*args, input=password + "\n", check=check)

    def __repr__(self):
        return f"<LiveServer {self.url} {self.workdir}>"


class ServerFactory:
    def __init__(
        self,
        tmp_path_factory,
        label: str,
        database_template: Path | None = None,
        zygote: server_fork.Zygote | None = None,
    ):
        self._tmp = tmp_path_factory
        self._label = label
        self._database_template = database_template
        self._zygote = zygote
        self.servers: list[LiveServer] = []

    def __call__(
        self,
        config: dict | str | Path | None = None,
        flags=("--ignore-hours",),
        env: dict | None = None,
        start: bool = True,
        accounts_by_cli: bool = False,
    ) -> LiveServer:
        server = LiveServer(self._tmp.mktemp(self._label), config, flags, env, accounts_by_cli)
        server.database_template = self._database_template
        server.zygote = self._zygote
        self.servers.append(server)
        return server.start() if start else server

    def stop_all(self):
        """At the end of the test (or module): tests of a clean shutdown stop their server themselves."""
        for server in reversed(self.servers):
            server.stop(graceful=False)


@pytest.fixture(scope="session")
def config_variant():
    """``config_variant()`` -> the repo's config.yaml as a fresh dict, to change before starting a server."""
    data = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    return lambda: copy.deepcopy(data)


@pytest.fixture
def live_server(tmp_path_factory, sqlite_template, server_zygote):
    factory = ServerFactory(tmp_path_factory, "qk-server", sqlite_template, server_zygote)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def module_live_server(tmp_path_factory, sqlite_template, server_zygote):
    factory = ServerFactory(tmp_path_factory, "qk-module-server", sqlite_template, server_zygote)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def server(module_live_server) -> LiveServer:
    """The repo's config.yaml with --ignore-hours; shared by the tests of one module."""
    return module_live_server()


@pytest.fixture
def http(server) -> ApiSession:
    session = server.session()
    yield session
    session.close()


@pytest.fixture
def redis_server(tmp_path) -> RedisServer:
    """A redis-server of this test only, that the test may kill, start again, stop (SIGSTOP) and continue.
    Not the machine's 6379: the suite runs on several workers (pytest.ini), and a Socket.IO message
    queue's channel is one for every numbered database."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.proc.send_signal(signal.SIGCONT)  # a test that failed while it was stopped
    server.kill()


@pytest.fixture
def redis_url(redis_server) -> str:
    """The URL of ``redis_server``."""
    return redis_server.url


# --- Socket.IO ------------------------------------------------------------------------------


class SioClient:
    """A python-socketio client that keeps every event it receives, in order, thread-safely."""

    made: list[SioClient] = []  # every client of the running test, closed at its end (_close_sio_clients)

    def __init__(self, url: str, **client_kwargs):
        client_kwargs.setdefault("reconnection_delay", 0.2)
        client_kwargs.setdefault("reconnection_delay_max", 1)
        client_kwargs.setdefault("randomization_factor", 0)
        client_kwargs.setdefault("handle_sigint", False)
        self.url = url
        self.sio = InOrderClient(**client_kwargs)
        self.events: list[tuple[str, object]] = []
        self.connects = 0
        self.disconnects = 0
        self.on_connect: list = []  # callbacks(client) run in the client's thread at every (re)connect
        self.hooks: list = []  # callbacks(event, data) run in the client's thread the moment an event arrives
        self._cond = threading.Condition()
        self.sio.on("*", self._on_event)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        SioClient.made.append(self)

    def _on_event(self, event, *args):
        data = args[0] if len(args) == 1 else (args or None)
        for hook in self.hooks:
            hook(event, data)
        with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def _on_connect(self):
        with self._cond:
            self.connects += 1
            self._cond.notify_all()
        for callback in self.on_connect:
            callback(self)

    def _on_disconnect(self, *_reason):
        with self._cond:
            self.disconnects += 1
            self._cond.notify_all()

    def connect(self, auth=None, headers=None, transports=None, wait_timeout: float = 5):
        # transports=None: long-polling first, then the upgrade to WebSocket, as a browser does.
        # (WebSocket alone works too, but python-socketio's client then needs 3 s to disconnect:
        # websocket-client's close() waits for a close frame its own read thread has consumed.)
        self.sio.connect(
            self.url,
            headers=headers or {},
            auth=auth,
            transports=list(transports) if transports else None,
            wait_timeout=wait_timeout,
        )
        return self

    def close(self):
        # shutdown(), not disconnect(): a client whose server is gone is reconnecting, and only
        # shutdown() ends that loop (else it tries every second for the rest of the run, in a thread
        # that also draws from the random module under other tests' hypothesis strategies).
        try:
            self.sio.shutdown()
        except Exception:  # noqa: BLE001 - already gone
            pass

    # --- talking ---------------------------------------------------------------------------

    def subscribe(self, data, timeout: float = 15):
        """Emit ``subscribe`` and return the server's acknowledgement (within 15 s: a CI run's loaded host once
        took over 5 s for a display's first one, through nginx and TLS; no test times it)."""
        return self.sio.call("subscribe", data, timeout=timeout)

    # --- what arrived ----------------------------------------------------------------------

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def received(self, name: str | None = None, since: int = 0) -> list:
        with self._cond:
            return [data for event, data in self.events[since:] if name is None or event == name]

    def names(self, since: int = 0) -> list[str]:
        with self._cond:
            return [event for event, _ in self.events[since:]]

    def wait_for(self, event_name: str, predicate=None, timeout: float = 5, since: int = 0):
        """The first ``event_name`` event (from index ``since``) whose data satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event, data in self.events[since:]:
                    if event == event_name and (predicate is None or predicate(data)):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no {event_name!r} event matching within {timeout} s; "
                        f"received: {[e for e, _ in self.events[since:]]}"
                    )
                self._cond.wait(remaining)

    def wait_connects(self, count: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.connects < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the client connected {self.connects} times, expected {count}")
                self._cond.wait(remaining)

    def assert_silent(self, since: int, prefixes=("ticket.", "queue.", "counter."), duration: float = 0.5):
        """Nothing whose name starts with one of ``prefixes`` arrives within ``duration`` seconds."""
        time.sleep(duration)
        unexpected = [(e, d) for e, d in self.events[since:] if e.startswith(tuple(prefixes))]
        assert not unexpected, f"events were pushed for an action that did not happen: {unexpected}"


@pytest.fixture(autouse=True)
def _close_sio_clients():
    """Every Socket.IO client a test made is closed when it ends, whatever it forgot."""
    yield
    while SioClient.made:
        SioClient.made.pop().close()


@pytest.fixture
def sio_client(request, live_server):
    """``sio_client(srv=None, auth=None, headers=None, on_connect=None, **kw)`` -> a connected SioClient.

    ``srv`` defaults to the module's ``server``. Depends on ``live_server`` so that clients
    disconnect before any server of the test stops.
    """
    clients: list[SioClient] = []

    def connect(srv: LiveServer | None = None, auth=None, headers=None, on_connect=None, **client_kwargs) -> SioClient:
        srv = srv or request.getfixturevalue("server")
        client = SioClient(srv.url, **client_kwargs)
        if on_connect is not None:  # e.g. subscribe again after every reconnect
            client.on_connect.append(on_connect)
        clients.append(client)
        return client.connect(auth=auth, headers=headers)

    yield connect
    for client in clients:
        client.close()


def _process_tree(pid: int, depth: int = 0) -> str:
    """``pid`` and its children, each with its state, what it waits in (wchan) and its command line."""
    try:
        proc = Path(f"/proc/{pid}")
        state = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = proc.joinpath("wchan").read_text()
        command = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:300]
        children = proc.joinpath("task", str(pid), "children").read_text().split()
    except OSError:
        return f"{'  ' * depth}{pid}: gone"
    lines = [f"{'  ' * depth}{pid} {state} in {wchan or '-'}: {command}"]
    return "\n".join(lines + [_process_tree(int(child), depth + 1) for child in children])
