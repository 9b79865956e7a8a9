"""A report file being made does not hold up the rest of its process (provtester, finding 1).

A PDF of a year by day (313 working days: some 5 s of fpdf2 on the test machine) is asked for;
while it is being made, a kiosk issues a number, a clerk calls it and /healthz is asked, and each is
answered before the PDF has arrived: an order, not a time. Made on the gevent loop, as it was, each
of them waited for the whole file. At most two files are made at once on a process: a third is
refused with a 503 that says so in Vietnamese and English, and once the two have come, files are
made again. Under `queuekiosk serve` and under gunicorn's gevent worker (deploy/gunicorn.conf.py).
A process's first Excel file and PDF import their libraries on the loop, none in the pool's thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests
from api_helpers import assert_error, start_gunicorn, stop_gunicorn
from conftest import QUEUEKIOSK
from ports import free_port
from report_file_helpers import A_YEAR, SUMMARY, Download

FIRST_FILES = Path(__file__).resolve().parent.parent / "report_files_first.py"


def assert_answered_while_made(base: str, admin: dict, counter: dict) -> Download:
    """A year's PDF asked for; a number issued and called, and /healthz, each answered while it is
    still being made. Returns the download under way."""
    pdf = Download(base, admin, A_YEAR)
    time.sleep(0.5)  # the request read and its figures counted: the file is being made
    assert not pdf.done.is_set(), "the PDF came before anything else was asked: the check would say nothing"
    http = requests.Session()
    issued = http.post(base + "/api/v1/tickets", json={"service": "HT"}, timeout=60)
    assert issued.status_code == 201, issued.text
    called = http.post(base + "/api/v1/counters/1/next", headers=counter, timeout=60)
    assert called.status_code == 200, called.text
    assert called.json()["number"] == issued.json()["number"]
    assert http.get(base + "/healthz", timeout=60).status_code == 200
    assert not pdf.done.is_set(), "the kiosk, the clerk and /healthz were answered only once the PDF was made"
    return pdf


def assert_pdf(answer: requests.Response) -> None:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-") and answer.content.rstrip().endswith(b"%%EOF")


def test_a_clerk_is_answered_while_a_long_pdf_is_made_and_a_third_file_at_once_is_refused(live_server):
    server = live_server()
    base = server.url
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    first = assert_answered_while_made(base, supervisor, {"Authorization": f"Bearer {server.token('counter', 1)}"})

    second = Download(base, supervisor, A_YEAR)
    time.sleep(0.5)
    third = requests.get(base + SUMMARY, headers={**supervisor, "Accept-Language": "en"}, params=A_YEAR, timeout=120)
    assert not first.done.is_set() and not second.done.is_set(), "the two files were made before the third was asked"
    assert third.status_code == 503, (third.status_code, third.headers["Content-Type"])  # (not a PDF's bytes)
    error = assert_error(third, 503, "report_files_busy")
    assert third.headers["Retry-After"] == "10"
    assert error["message"].startswith("The server is already making 2 other report files"), error
    assert error["translations"]["vi"]["message"].startswith("Máy chủ đang tạo 2 tệp báo cáo khác"), error

    assert_pdf(first.result())
    assert_pdf(second.result())
    again = requests.get(base + SUMMARY, headers=supervisor, params={**A_YEAR, "format": "csv"}, timeout=60)
    assert again.status_code == 200, again.text  # the two counted as made: files are made again
    assert "Traceback" not in server.log()


def test_under_gunicorn_a_clerk_is_answered_while_a_long_pdf_is_made(tmp_path, sqlite_template, server_zygote):
    port = free_port()
    proc, env = start_gunicorn(tmp_path, port, template=sqlite_template, zygote=server_zygote)
    log_path = tmp_path / "gunicorn.log"
    try:
        made = server_zygote.run(  # a fork of the commands' zygote: the same entry point, ~0.6 s of CPU less
            [QUEUEKIOSK, "token", "create", "--role", "admin", "--config", str(tmp_path / "config.yaml")], env, tmp_path
        )
        assert made.returncode == 0, made.stderr
        admin = {"Authorization": f"Bearer {made.stdout.strip()}"}
        pdf = assert_answered_while_made(f"http://127.0.0.1:{port}", admin, admin)
        assert_pdf(pdf.result())
    finally:
        stop_gunicorn(proc)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()


def test_a_process_s_first_files_import_their_library_on_the_loop_not_in_the_pool_s_thread(live_server, tmp_path):
    """tests/report_files_first.py makes a process's first Excel file and PDF (of a real report's
    figures) while the loop imports some of the same library: each file is made, and nothing is imported
    off the loop meanwhile. Before, the file's thread imported openpyxl or fpdf2 while the loop did, and
    one of them met the other's half-made module ("cannot import name ... from partially initialized
    module"): the Excel file in 19 of 20 runs, the PDF in 16 of 16, and every run imported in the thread."""
    server = live_server()
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    report = requests.get(server.url + SUMMARY, headers=supervisor, params={"period": "2025-11"}, timeout=60)
    assert report.status_code == 200, report.text
    (tmp_path / "report.json").write_text(report.text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(FIRST_FILES), str(tmp_path / "report.json")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    off_loop = outcome.pop("imported off the loop")
    assert outcome == {"xlsx": "PK\x03\x04", "pdf": "%PDF"}, outcome
    assert off_loop == [], f"{len(off_loop)} modules imported off the loop, first {off_loop[:20]}"
