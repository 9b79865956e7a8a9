"""Fixtures for the real-browser page tests: a real `queuekiosk serve` and a real Chromium.

``server``   a fresh server per test: a copy of config.yaml in a temporary folder, its own
             instance folder (SQLite database, secret key), ``--ignore-hours``; helpers to run
             the CLI against the same database, and to add users and make tokens (written from
             this process, as the CLI writes them: tests/server_db.py).
``module_server`` the same, one for a test file whose tests only open pages and change nothing on
             it (a server's start and stop cost ~0.2 s of CPU).
``browser``  headless Chromium from Debian driven by Playwright for Python; no browser download
             (never ``playwright install``): the old headless shell (``apt-get install
             chromium-headless-shell``) where it is installed, else the full browser (``chromium``).
``full_browser`` the full browser, for what the shell lacks (a service worker's notifications).
``page``     a new browser context per test, 1920x1080, Vietnamese.
``phone``    the same for a phone: 360x740, touch, Vietnamese (the ticket's tracking page);
             ``full_phone`` in the full browser.
``shot``     ``shot(page, "name")`` saves a screenshot into $QK_SCREENSHOTS when that is set.

Without Chromium or Playwright the tests are skipped, except under CI (CI=true), where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import ports
import pytest
import requests
import server_db
import server_fork
import server_logs
from faked_clock import on_a_working_morning

REPO = Path(__file__).resolve().parents[2]
# The old headless shell renders the pages for about a third of the CPU the full browser's headless
# mode takes (tests/pages/test_kiosk_page.py: Chromium's CPU 46.7 s -> 17.7 s; docs/performance.md,
# "Test suite"), and the page tests are the suite's largest CPU user. QK_CHROMIUM names one for all.
FULL_CHROMIUM = os.environ.get("QK_CHROMIUM", "/usr/bin/chromium")
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM = os.environ.get("QK_CHROMIUM") or (HEADLESS_SHELL if Path(HEADLESS_SHELL).exists() else FULL_CHROMIUM)
# Playwright adds ~40 switches of its own (no extensions, component updates, back/forward cache...).
# Further flags were measured on 2026-12-07 and none kept, all within the noise (the CPU of a cgroup
# holding pytest, the server and Chromium; load 4-16): 20 kiosk + display loads, each in a new context,
# took 14.7-16.9 s with these three flags and 14.0-17.9 s adding any one of --disable-features=
# AudioServiceOutOfProcess (or PaintHolding,Translate,OptimizationHints,MediaRouter,...),
# --renderer-process-limit=1 --process-per-site, --disable-site-isolation-trials, --no-zygote
# --in-process-gpu, --js-flags=--jitless, --disable-v8-idle-tasks, --disable-threaded-animation,
# --num-raster-threads=1, --disable-renderer-accessibility. test_kiosk/display/book_page.py took
# 103 and 114 s with these three, 105 and 118 s with most of those added. What costs is each new
# context's renderer starting and the page's own work.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT = 30.0
CLERK_PASSWORD = "quay-mot-2026"


def _queuekiosk_command() -> list[str]:
    beside = Path(sys.executable).parent / "queuekiosk"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("queuekiosk")
    if found:
        return [found]
    pytest.fail("the `queuekiosk` command is not installed (pip install -e .)")


@dataclass
class Server:
    url: str
    config: Path
    env: dict
    log: Path
    process: subprocess.Popen
    zygote: server_fork.Zygote
    http: requests.Session = field(default_factory=requests.Session)

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `queuekiosk ARGS --config <this server's config>` on the same instance; its stdout.
        Forked from a process that has imported the commands (tests/server_fork.py, ``Zygote.run``)."""
        done = self.zygote.run([*_queuekiosk_command(), *args, "--config", str(self.config)], self.env, None, stdin, 60)
        if done.returncode != 0:
            raise AssertionError(f"queuekiosk {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    @property
    def database_url(self) -> str:
        return server_db.database_url(self.env, self.config.parent)

    def add_user(self, name: str, password: str, role: str, counter: int | None = None) -> None:
        server_db.add_user(self.database_url, name, password, role, counter)

    def add_clerk(self, name: str = "clerk1", counter: int = 1, password: str = CLERK_PASSWORD) -> str:
        self.add_user(name, password, "clerk", counter)
        return password

    def token(self, role: str, counter: int | None = None) -> str:
        return server_db.create_token(self.database_url, role, counter)

    def counter_token(self, counter: int = 1) -> str:
        return self.token("counter", counter)

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Accept-Language": "vi", **kwargs.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url + "/api/v1" + path, headers=headers, timeout=10, **kwargs)

    def add_service(self, token: str, code: str, name: str, start: int) -> None:
        """A new service saved through /admin's API (numbers ``start`` to ``start`` + 98), no counter ticked for it."""
        body = {"code": code, "name": {"vi": name}, "numbers": {"start": start, "end": start + 98}}
        added = self.api("POST", "/admin/services", token=token, json=body)
        assert added.status_code == 201, added.text

    def waiting(self, service: str) -> int:
        queue = self.api("GET", "/queue").json()
        return next(s["waiting"] for s in queue["services"] if s["code"] == service)


@pytest.fixture
def server(tmp_path, sqlite_template, server_zygote):
    """A fresh `queuekiosk serve` on a free port, its database a copy of the migrated template,
    stopped after the test."""
    yield from _served(tmp_path, sqlite_template, server_zygote)


@pytest.fixture(scope="module")
def module_server(tmp_path_factory, sqlite_template, server_zygote):
    """``server``, one for the test file: for tests that open its pages and change nothing on it
    (no ticket, account, token or setup another test of the file would see)."""
    yield from _served(tmp_path_factory.mktemp("module-server"), sqlite_template, server_zygote)


def _served(tmp_path, sqlite_template, server_zygote, extra_env: dict | None = None):
    config = tmp_path / "config.yaml"
    shutil.copyfile(REPO / "config.yaml", config)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QUEUEKIOSK_CONFIG", "QUEUEKIOSK_DATABASE_URL", "QUEUEKIOSK_MESSAGE_QUEUE")
    }
    env["QUEUEKIOSK_INSTANCE"] = str(tmp_path / "instance")
    env.update(extra_env or {})
    server_db.seed(sqlite_template, server_db.database_url(env, tmp_path))
    port = ports.free_port()
    log = tmp_path / "serve.log"
    server_logs.watch(log)
    args = ["serve", "--config", str(config), "--port", str(port), "--ignore-hours"]
    if server_zygote.preloadable(args, env):  # forked from a process that imported the server (tests/server_fork.py)
        process = server_zygote.spawn(args, env, tmp_path, log)
    else:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [*_queuekiosk_command(), *args], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
            )
    running = Server(f"http://127.0.0.1:{port}", config, env, log, process, server_zygote)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server stopped at start-up ({process.returncode}):\n{log.read_text()}")
            try:  # (nothing asked before the port accepts: a refused request costs 100 times a connect)
                answered = ports.accepts(port) and requests.get(running.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:  # not listening yet, or slow to answer on a loaded machine
                answered = False
            if answered:
                if process.poll() is None and ports.belongs_to(process.pid, port):
                    break
                pytest.fail(  # a port clash (tests/ports.py): another process answered
                    f"port clash: /healthz answered on port {port}, but not from this queuekiosk serve "
                    f"(its exit code: {process.poll()}):\n{log.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /healthz within {START_TIMEOUT:.0f} s:\n{log.read_text()}")
            time.sleep(0.02)
        yield running
    finally:
        running.http.close()
        process.kill()  # the test is over: no need to wait for a clean shutdown (0.3-0.7 s)
        process.wait(10)


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must install it: apt-get install chromium; pip install playwright)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        yield playwright


def _launch(playwright, executable: str):
    if not Path(executable).exists():
        _unavailable(f"no Chromium at {executable}")
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser(_playwright):
    chromium = _launch(_playwright, CHROMIUM)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def full_browser(_playwright, browser):
    if CHROMIUM == FULL_CHROMIUM:
        yield browser
        return
    chromium = _launch(_playwright, FULL_CHROMIUM)
    yield chromium
    chromium.close()


def _tab(browser, **context_options):
    """A tab in a new context that records JavaScript errors; the caller closes the context."""
    context = browser.new_context(locale="vi-VN", **context_options)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    return context, tab, errors


@pytest.fixture
def new_tab(browser):
    """``new_tab(**context options)`` -> a tab in a context of its own (own cookies, own size); JS errors fail."""
    made = []

    def make(**options):
        context, tab, errors = _tab(browser, **options)
        made.append((context, errors))
        return tab

    yield make
    for context, errors in made:
        context.close()
        assert not errors, f"JavaScript errors on a page: {errors}"


@pytest.fixture
def page(browser):
    context, tab, errors = _tab(browser, viewport={"width": 1920, "height": 1080})
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _phone(browser):
    context, tab, errors = _tab(
        browser, viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser):
    yield from _phone(browser)


@pytest.fixture
def full_phone(full_browser):
    yield from _phone(full_browser)


@pytest.fixture
def shot():
    """``shot(page, name)``: a PNG in $QK_SCREENSHOTS (e.g. /tmp/qk-shots) when set; else nothing."""
    folder = os.environ.get("QK_SCREENSHOTS")

    def take(tab, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(Path(folder) / f"{name}.png"))

    return take


# --- servers with a config of the test's own ------------------------------------------------


def _live_server_class():
    """tests/api's LiveServer (a conftest is not importable by name from here)."""
    path = Path(__file__).resolve().parents[1] / "api" / "conftest.py"
    spec = importlib.util.spec_from_file_location("queuekiosk_tests_api_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LiveServer


LiveServer = _live_server_class()


@pytest.fixture
def start_server(tmp_path_factory, sqlite_template, server_zygote):
    """``start_server(config=None, ignore_hours=True, env=None)`` -> a started LiveServer, stopped after the test."""
    yield from _starting(tmp_path_factory, sqlite_template, server_zygote)


def _starting(tmp_path_factory, sqlite_template, zygote, clock_env: dict | None = None):
    servers = []

    def start(config: dict | None = None, ignore_hours: bool = True, env: dict | None = None):
        server = LiveServer(
            tmp_path_factory.mktemp("page-server"),
            config,
            ("--ignore-hours",) if ignore_hours else (),
            {**(clock_env or {}), **(env or {})},
        )
        server.database_template = sqlite_template
        server.zygote = zygote
        servers.append(server)
        return server.start()

    yield start
    for server in reversed(servers):
        server.stop(graceful=False)


# --- servers on the session's working morning, forked ---------------------------------------


@pytest.fixture(scope="session")
def morning_clock(tmp_path_factory, server_zygote):
    """``(env, zygote)`` for servers whose clock reads 09:00 on the next working day when the session
    first asks for it, and runs on (one clock file, ``on_a_working_morning``): forks of the session's
    zygote under libfaketime (tests/server_fork.py), as are their commands. For tests that only need
    their server's day to stay one day (and not 09:00 to the minute); a test that needs its own moment
    takes a ``FakedClock`` (tests/faked_clock.py)."""
    env = on_a_working_morning(tmp_path_factory.mktemp("morning-clock"))
    return env, server_zygote


@pytest.fixture
def server_on_a_working_morning(tmp_path, sqlite_template, morning_clock):
    """``server`` with its clock on the session's working morning (``morning_clock``; libfaketime,
    tests/faked_clock.py): for a test that issues or serves and then reads today's figures, numbers
    or report, which on the real clock sees the day change between the two when it runs across the
    site's midnight (17:00 UTC). The clock read 09:00 when the session first asked and has run on
    since (some minutes past nine by a worker's last test): a test depends on the day, not the minute.
    A fork of the zygote under libfaketime, and so are its ``cli`` commands (tests/server_fork.py).
    The pages correct the browser's clock by the server's (QK.now)."""
    env, zygote = morning_clock
    yield from _served(tmp_path, sqlite_template, zygote, env)


@pytest.fixture
def start_server_on_a_working_morning(tmp_path_factory, sqlite_template, morning_clock):
    """``start_server``, its servers on the session's working morning (``server_on_a_working_morning``)."""
    env, zygote = morning_clock
    yield from _starting(tmp_path_factory, sqlite_template, zygote, env)
