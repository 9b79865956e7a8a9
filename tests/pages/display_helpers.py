"""The lobby display's page tests (tests/pages/test_display_*.py): a server of the test's own that can be
restarted on the same port, the display opened with its <audio> element's events recorded, and waits
for what the page shows and plays."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ports
import requests
import server_db
import yaml

REPO = Path(__file__).resolve().parents[2]


def queuekiosk_command() -> list[str]:
    """The installed command, beside this Python or on the PATH."""
    beside = Path(sys.executable).parent / "queuekiosk"
    return [str(beside)] if beside.exists() else [shutil.which("queuekiosk") or "queuekiosk"]


MEDIA_LOG = """
window.__media = [];
// "playing" is logged once per play(): Chromium fires it again when a loaded machine makes the
// piece stall ("waiting") and go on, which is the same piece heard once, logged as "resumed"
let started = false;
for (const type of ["play", "playing", "waiting", "ended", "error"]) {
  document.addEventListener(type, (event) => {
    const node = event.target;
    if (!node || node.id !== "voice") return;
    let kind = type;
    if (type === "play") started = true;
    if (type === "playing") { kind = started ? "playing" : "resumed"; started = false; }
    window.__media.push({type: kind, src: node.currentSrc || node.src, t: performance.now()});
    console.debug("qk-media");  // wakes a test waiting for the next event (wait_media)
  }, true);
}
window.__loads = (window.__loads || 0) + 1;
// count live timers, to see that none pile up over time
window.__timers = new Set();
const realSet = window.setTimeout, realClear = window.clearTimeout;
window.setTimeout = function (fn, ms, ...args) {
  const id = realSet(function () { window.__timers.delete(id); typeof fn === "function" && fn(...args); }, ms);
  window.__timers.add(id);
  return id;
};
window.clearTimeout = function (id) { window.__timers.delete(id); return realClear(id); };
"""


class DisplayServer:
    """`queuekiosk serve` on a config of this test's own, which can be restarted on the same port.
    Its database starts as a copy of the migrated template; the process is forked from the session's
    zygote when it can be (tests/server_fork.py)."""

    def __init__(self, folder: Path, config: dict, template: Path | None = None, zygote=None, env: dict | None = None):
        self.template = template
        self.zygote = zygote
        self.folder = folder
        self.config = folder / "config.yaml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        self.port = ports.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("QUEUEKIOSK_CONFIG", "QUEUEKIOSK_DATABASE_URL", "QUEUEKIOSK_MESSAGE_QUEUE")
        }
        self.env["QUEUEKIOSK_INSTANCE"] = str(folder / "instance")
        # e.g. a faked working morning (tests/faked_clock.py): forked only from a zygote under that clock
        self.env.update(env or {})
        self.process = None
        self.http = requests.Session()
        self._admin = None

    @property
    def database_url(self) -> str:
        return server_db.database_url(self.env, self.folder)

    def start(self):
        if self.template is not None:
            server_db.seed(self.template, self.database_url)  # only before the first start
        args = ["serve", "--config", str(self.config), "--port", str(self.port), "--ignore-hours"]
        if self.zygote is not None and self.zygote.preloadable(args, self.env):
            self.process = self.zygote.spawn(args, self.env, self.folder, self.folder / "serve.log")
        else:
            with open(self.folder / "serve.log", "ab") as log:
                self.process = subprocess.Popen(
                    [*queuekiosk_command(), *args], cwd=self.folder, env=self.env, stdout=log, stderr=subprocess.STDOUT
                )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.folder / "serve.log").read_text()
            try:
                answered = requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:  # not listening yet, or slow to answer on a loaded machine
                answered = False
            if answered:
                assert self.process.poll() is None and ports.belongs_to(self.process.pid, self.port), (
                    f"port clash: /healthz answered on port {self.port}, but not from this queuekiosk serve "
                    f"(its exit code: {self.process.poll()}):\n" + (self.folder / "serve.log").read_text()
                )
                return self
            time.sleep(0.02)
        raise AssertionError("the server did not start:\n" + (self.folder / "serve.log").read_text())

    def stop(self, graceful: bool = True):
        if self.process and self.process.poll() is None and not graceful:
            self.process.kill()  # the test is over: nothing waits for a clean shutdown
            self.process.wait(10)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def admin(self) -> dict:
        if self._admin is None:  # as `token create --role admin` writes it (tests/server_db.py)
            self._admin = {"Authorization": f"Bearer {server_db.create_token(self.database_url, 'admin')}"}
        return self._admin

    def issue(self, service: str) -> dict:
        response = self.http.post(self.url + "/api/v1/tickets", json={"service": service}, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def call(self, counter: int, action: str = "next") -> dict:
        response = self.http.post(f"{self.url}/api/v1/counters/{counter}/{action}", headers=self.admin(), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


# A shorter sentence than the demo's, from the same shipped clips (about 3 s where the demo's takes 5.5 s),
# for the tests about which calls are said and in what order: not for those about how long the sentence
# is or how soon each call is heard (those keep the demo's sentence).
SHORT_PHRASE = "Số {number} quầy {counter}"


def open_display(page, server, path="/display/lobby"):
    """``path`` of ``server`` open in ``page``, live, its media events recorded (MEDIA_LOG)."""
    page.add_init_script(MEDIA_LOG)
    page.goto(server.url + path)
    page.wait_for_selector("body[data-live='live']")


def media_events(page) -> list[dict]:
    """The <audio> element's events so far (MEDIA_LOG)."""
    return page.evaluate("window.__media")


def is_media_line(message) -> bool:
    return message.text == "qk-media"


def wait_media(page, predicate, timeout: float = 30) -> list[dict]:
    """The media events once ``predicate`` holds for them: read again at each new event (the console
    line MEDIA_LOG writes), not every 0.1 s (asking the page ten times a second cost the machine about
    0.04 s of CPU a second, 3-4 s over this file's waits for spoken calls)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    heard = []  # a line that comes while the events are being read: read them again at once

    def hear(message):
        if is_media_line(message):
            heard.append(message)

    page.on("console", hear)
    try:
        while True:
            seen = len(heard)
            events = media_events(page)
            if predicate(events):
                return events
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"media events: {events}")
            if len(heard) == seen:
                try:
                    page.wait_for_event("console", predicate=is_media_line, timeout=left * 1000)
                except PlaywrightTimeout:
                    pass  # read once more, then fail
    finally:
        page.remove_listener("console", hear)


def expect(target):
    """Playwright's expect, imported late: without Playwright the browser fixture skips (or fails under CI)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def expect_number(page, counter: int, number: str, timeout: float = 5000) -> None:
    """Wait until the counter's row shows ``number`` (a locator wait: the page's CSP forbids eval)."""
    expect(page.locator(f'.counter-row[data-counter="{counter}"] .num')).to_have_text(number, timeout=timeout)


def display_on_a_working_morning(tmp_path, config: dict, sqlite_template, morning_clock):
    """A started DisplayServer on ``config`` at 09:00 on a working day, stopped after the test: its calls and
    histories are one day's whatever the hour (the site's midnight: 17:00 UTC). A fork under the session's
    faked clock (``morning_clock``, tests/pages/conftest.py)."""
    morning, zygote = morning_clock
    server = DisplayServer(tmp_path, config, sqlite_template, zygote, morning).start()
    server.admin()  # made now, not inside a timing
    yield server
    server.stop(graceful=False)
    server.http.close()


def demo_centre(tmp_path, sqlite_template, morning_clock):
    """The ``centre`` fixture: a started DisplayServer, stopped after the test, on the demo with three
    displays: the lobby, the upstairs zone (counters 4 and 5) and the counter-top screen of counter 1;
    each says a call once, without the chime, in the shorter sentence (which calls each says is checked
    here, not how long they take)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    short = {"language": "vi", "repeat": 1, "chime": False, "phrase": SHORT_PHRASE}
    config["displays"][0]["voice"] = short
    config["displays"] += [
        {"id": "zone", "name": "Tầng 2", "mode": "zone", "counters": [4, 5], "voice": short},
        {"id": "quay-1", "mode": "counter", "counter": 1, "voice": short},
    ]
    yield from display_on_a_working_morning(tmp_path, config, sqlite_template, morning_clock)
