"""Calls that pile up: press -> the first spoken word of each call, N counters pressing "next" together.

A fresh `queuekiosk serve` on the demo centre with 12 counters (each serving every service), its
lobby voice as shipped (the chime, the sentence twice). For N = 6 and 12 the lobby page is opened
in a real headless Chromium, N tickets are issued, then counters 1..N call "next" one right after
the other, and the page's <audio> element is watched:

- after (the page's player, display/static/display.js): the moment the page starts playing each
  call's first piece, from the press of the first "next"; measured in the browser, real playback;
- before (a strict queue of the whole announcements, what the page did before): from the same
  press, the announcements of calls 1..k-1 end to end, then call k's chime and its gap: the
  lengths of the very WAVs the server made for these calls (``audio_url`` of each call).

    .venv/bin/python bench/bench_voice_burst.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import requests
import yaml
from common import ROOT, free_port, token, wait_healthy

BOUND_SECONDS = 20
MEDIA_LOG = """
window.__media = [];
document.addEventListener("playing", (event) => {
  if (event.target.id === "voice") window.__media.push({src: event.target.currentSrc, t: performance.now()});
}, true);
"""


def wav_seconds(http: requests.Session, url: str) -> float:
    with wave.open(io.BytesIO(http.get(url, timeout=10).content)) as w:
        return w.getnframes() / w.getframerate()


def round_of(page, http: requests.Session, base: str, calls: int) -> tuple[list[float], list[float]]:
    for _ in range(calls):
        assert http.post(base + "/api/v1/tickets", json={"service": "HT"}, timeout=10).status_code == 201
    page.goto(base + "/display/lobby")
    page.wait_for_selector("body[data-live='live']")
    pressed = page.evaluate("performance.now()")
    called = []
    for counter in range(1, calls + 1):
        response = http.post(f"{base}/api/v1/counters/{counter}/next", timeout=10)
        assert response.status_code == 200, response.text
        called.append((response.json()["number"], counter))
    deadline = time.monotonic() + 5 * 60
    while True:  # the chime, then a first piece per call
        media = page.evaluate("window.__media")
        if len(media) >= calls + 1:
            break
        assert time.monotonic() < deadline, media
        time.sleep(0.2)
    firsts = {}
    for event in media:
        for number, counter in called:
            if event["src"].endswith(f"number={number}&counter={counter}"):
                firsts.setdefault((number, counter), (event["t"] - pressed) / 1000)
    after = [firsts[call] for call in called]

    # the strict queue: whole announcements end to end, each call's words after its chime
    from queuekiosk.sounds.voice import CHIME_GAP_MS

    chime = wav_seconds(http, base + "/api/v1/announcements/forms/chime.wav?display=lobby") + CHIME_GAP_MS / 1000
    before, start = [], (media[0]["t"] - pressed) / 1000  # the first audio starts when the page has it
    for number, counter in called:
        preview = http.get(
            base + "/api/v1/announcements/preview",
            timeout=10,
            params={"number": number, "counter": counter, "display": "lobby"},
        ).json()
        before.append(start + chime)
        start += wav_seconds(http, base + preview["audio_url"])
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chromium", default=os.environ.get("QK_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qk-bench-") as tmp:
        tmp = Path(tmp)
        config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
        config["counters"] = [{"number": n, "name": f"Quầy {n}", "services": "all"} for n in range(1, 13)]
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp / "instance")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queuekiosk.server.cli",
                "serve",
                "--config",
                str(tmp / "config.yaml"),
                "--port",
                str(port),
                "--ignore-hours",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(base + "/healthz")
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {token(tmp, 'admin')}"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium,
                    headless=True,
                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
                )
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.add_init_script(MEDIA_LOG)
                print(f"press -> first spoken word of each call, s (bound {BOUND_SECONDS} s)")
                for calls in (6, 12):
                    before, after = round_of(page, http, base, calls)
                    within = sum(s <= BOUND_SECONDS for s in after)
                    print(
                        f"  {calls:2} calls at once  before (strict queue): last {before[-1]:5.1f}  "
                        f"[{' '.join(f'{s:.1f}' for s in before)}]"
                    )
                    print(
                        f"  {calls:2} calls at once  after  (page's player): last {after[-1]:5.1f}  "
                        f"[{' '.join(f'{s:.1f}' for s in after)}]  within the bound: {within}/{calls}"
                    )
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
