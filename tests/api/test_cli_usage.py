"""click's own usage errors (a missing option, an unknown one, no such command, a value it cannot
read) are said as every message of the command line: Vietnamese first, then English, from the
catalogs (a value refused named in click's own words), with click's usage line, its hint and exit
code 2 kept; the "Error: " click puts before them is the command line's language ("Lỗi: ", or
"Error: " for a terminal asked to speak English), as before our own refusals. Real subprocesses
(forked from one that imported the commands: tests/server_fork.py);
nothing runs, so no configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


@pytest.fixture
def run(tmp_path, server_zygote):
    """``run(*args)``: ``queuekiosk <args>`` in the test's empty folder, its stdin empty."""

    def command(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}  # ($QUEUEKIOSK_TOKEN too)
        return server_zygote.run([QUEUEKIOSK, *args], env, tmp_path, None, 60)

    return command


@pytest.mark.parametrize(
    "args, usage, said",
    [
        (
            ["keypad", "--server", "http://127.0.0.1:8000", "--counter", "1"],
            "queuekiosk keypad",
            ["Lỗi: Thiếu tuỳ chọn --token", "Missing option '--token'."],
        ),
        (
            ["user", "list", "--cofnig", "x.yaml"],
            "queuekiosk user list",
            [
                "Lỗi: Không có tuỳ chọn --cofnig; có phải là --config?",
                "No such option '--cofnig'; did you mean --config?",
            ],
        ),
        (["usr", "list"], "queuekiosk", ["Lỗi: Không có lệnh “usr”", "No such command 'usr'."]),
        (
            ["user", "add", "lan"],
            "queuekiosk user add",
            [
                "Lỗi: Thiếu tuỳ chọn --role; phải là một trong: admin, supervisor, clerk, province",
                "Missing option '--role'; must be one of: admin, supervisor, clerk, province",
            ],
        ),
        (
            ["user", "lst"],
            "queuekiosk user",
            ["Lỗi: Không có lệnh “lst”; có phải là list?", "No such command 'lst'; did you mean list?"],
        ),
        (
            ["user", "add", "--role", "clerk"],
            "queuekiosk user add",
            ["Lỗi: Thiếu đối số NAME", "Missing argument 'NAME'."],
        ),
        (
            ["token", "create", "--role", "counter", "--counter", "0"],
            "queuekiosk token create",
            [
                "Lỗi: Giá trị của --counter không hợp lệ; phải là số từ 1 trở lên",
                "Invalid value for '--counter': 0 is not in the range x>=1.",
            ],
        ),
        (
            ["site", "compare", "--from", "2026-13-01", "--to", "2026-12-31"],
            "queuekiosk site compare",
            [
                "Lỗi: Giá trị của --from không hợp lệ; phải là ngày dạng YYYY-MM-DD",
                "Invalid value for '--from': '2026-13-01' does not match the format '%Y-%m-%d'.",
            ],
        ),
        (  # the command's own refusal of a value, already in both languages, named like click's
            ["site", "compare", "--from", "2026-12-06", "--to", "2026-12-01"],
            "queuekiosk site compare",
            [
                "Lỗi: Giá trị của --to không hợp lệ: phải sau thời điểm bắt đầu",
                "Invalid value for '--to': must come after the start",
            ],
        ),
        (
            ["user", "list", "extra"],
            "queuekiosk user list",
            ["Lỗi: Thừa đối số: extra", "Got unexpected extra arguments (extra)"],
        ),
    ],
)
def test_a_usage_error_is_said_in_vietnamese_then_english(run, tmp_path, args, usage, said):
    result = run(*args)
    assert result.returncode == 2, result.stderr
    shown = [line for line in result.stderr.splitlines() if line.strip()]
    assert shown[0].startswith(f"Usage: {usage} "), shown
    assert shown[1] == f"Try '{usage} --help' for help.", shown
    assert shown[2:] == said, shown
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == [], "nothing is made by a command that did not run"


def test_a_wrong_choice_names_the_choices_in_vietnamese_and_the_value_in_english(run):
    result = run("token", "create", "--role", "cashier")
    assert result.returncode == 2
    error = next(i for i, line in enumerate(result.stderr.splitlines()) if line.startswith("Lỗi: "))
    vi, en = result.stderr.splitlines()[error : error + 2]
    assert vi == (
        "Lỗi: Giá trị của --role không hợp lệ; phải là một trong: admin, supervisor, counter, kiosk, display, "
        "rating, integration, province"
    )
    assert en.startswith("Invalid value for '--role': 'cashier' is not one of 'admin', 'supervisor'"), en


def test_help_is_still_help(run):
    """A group named alone shows its help, as before (click's own way, exit code 2), with no error line."""
    result = run("user")
    assert result.returncode == 2 and "Usage: queuekiosk user" in result.stderr + result.stdout
    assert "Error" not in result.stderr and "Lỗi" not in result.stderr and "Lệnh viết chưa đúng" not in result.stderr


def test_the_error_prefix_follows_the_command_lines_language(run):
    """The keypad client run without a terminal refuses (exit code 1): "Lỗi: " before the Vietnamese line
    by default, click's "Error: " with --lang en; a usage error of that English terminal too, even one
    click meets before it reads --lang (an unknown option)."""
    args = ["keypad", "--server", "http://127.0.0.1:9", "--token", "qk_none", "--counter", "1"]
    said = [
        "chương trình bàn phím quầy đọc phím từ cửa sổ dòng lệnh (terminal): hãy chạy nó trong đó",
        "the keypad client reads keys from a terminal; run it in one",
    ]
    refused = run(*args)  # (its stdin is empty, not a terminal)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines() == [f"Lỗi: {said[0]}", said[1]]

    refused = run(*args, "--lang", "en")
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.splitlines() == [f"Error: {said[0]}", said[1]]

    wrong = run("keypad", "--lang", "en", *args[:-1], "0")
    assert wrong.returncode == 2, wrong.stderr
    assert wrong.stderr.splitlines()[-2] == "Error: Giá trị của --counter không hợp lệ; phải là số từ 1 trở lên"
    assert "Lỗi" not in wrong.stderr and "Traceback" not in wrong.stderr + refused.stderr

    # an unknown option is refused while click reads the line, before --lang is: English all the same,
    # wherever --lang en is on the line
    for line in (["keypad", "--lang", "en", "--bogus"], ["keypad", "--bogus", "--lang=en"]):
        unknown = run(*line)
        assert unknown.returncode == 2, unknown.stderr
        assert "Error: Không có tuỳ chọn --bogus" in unknown.stderr.splitlines(), unknown.stderr
        assert "Lỗi" not in unknown.stderr, unknown.stderr
    assert "Lỗi: Không có tuỳ chọn --bogus" in run("keypad", "--bogus").stderr.splitlines()
