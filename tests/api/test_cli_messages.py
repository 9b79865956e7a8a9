"""What the `queuekiosk` command says, as a centre's IT staff read it (issue 18): Vietnamese first,
English on the next line, from the message catalogs; `user add` run outside the centre's folder
names the configuration file it did not find (and makes nothing there); `simulate` leaves its
sim.* clerk accounts disabled. Real subprocesses (forked from one that imported the commands:
tests/server_fork.py), each with its own instance folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_user_add_outside_the_centres_folder_names_the_missing_file(tmp_path, server_zygote):
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    result = server_zygote.run(
        [QUEUEKIOSK, "user", "add", "lan", "--role", "clerk"], env, elsewhere, "mat-khau-du-dai\n", 60
    )
    assert result.returncode != 0
    said = lines(result.stderr)
    missing = str(elsewhere / "config.yaml")
    assert said[0] == (
        f"Lỗi: không có tệp cấu hình {missing}: hãy chạy lệnh trong thư mục có config.yaml, hoặc chỉ rõ "
        "tệp bằng --config TỆP hay biến QUEUEKIOSK_CONFIG; chưa làm gì cả"
    ), said
    assert said[1].startswith(f"there is no configuration file {missing}: run the command in the folder"), said
    assert "the configuration has errors" not in result.stderr and "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == [], "nothing is made in a folder that is not a centre's"


def test_messages_are_vietnamese_first_then_english(live_server):
    site = live_server(start=False)
    added = site.cli("user", "add", "an", "--role", "clerk", "--counter", "1", input="mat-khau-du-dai\n")
    # the role by its name in each language, as /admin names it
    assert lines(added.stderr)[-2:] == [
        "đã thêm tài khoản an (Nhân viên quầy) tại quầy 1",
        "added an (Clerk) at counter 1",
    ]

    refused = site.cli(
        "user", "add", "binh", "--role", "clerk", "--counter", "42", input="mat-khau-du-dai\n", check=False
    )
    assert refused.returncode != 0
    assert lines(refused.stderr)[:2] == [
        "Lỗi: cấu hình không có quầy 42",
        "there is no counter 42 in the configuration",
    ]

    disabled = site.cli("user", "disable", "an")
    assert lines(disabled.stderr)[-2:] == ["đã khóa tài khoản an", "disabled an"]

    broken = site.workdir / "broken.yaml"
    broken.write_text("site: {name: X}\n", encoding="utf-8")
    checked = site.cli("config", "import", str(broken), "--dry-run", check=False)
    assert checked.returncode != 0
    said = lines(checked.stderr)
    assert said[:2] == ["Lỗi: tệp cấu hình có lỗi; chưa làm gì cả", "the configuration has errors; nothing was done"]
    assert "broken.yaml" in checked.stderr, "then the file's problems"


def test_simulate_leaves_its_clerks_disabled_and_reports_in_vietnamese_first(live_server):
    site = live_server(start=False)
    done = site.cli("simulate", "--day", "2026-11-16", "--days", "2", "--per-day", "20", timeout=180)
    summary = lines(done.stdout)
    assert summary[0].startswith("đã mô phỏng 2 ngày làm việc (bỏ qua 0 ngày nghỉ): ")
    assert summary[1].startswith("simulated 2 open days (0 closed days skipped): ")
    day = lines(done.stderr)
    first = day.index(next(line for line in day if line.startswith("2026-11-16: ")))
    assert "lượt lấy số" in day[first] and "tickets" in day[first + 1]

    accounts = [line.split("\t") for line in lines(site.cli("user", "list").stdout)]
    simulated = [row for row in accounts if row[0].startswith("sim.")]
    assert len(simulated) >= 6
    assert {row[3] for row in simulated} == {"disabled"}, simulated
    assert "sim.* are disabled" in done.stderr

    again = site.cli("simulate", "--day", "2026-11-18", "--days", "1", "--per-day", "20", timeout=180)
    assert again.returncode == 0
    accounts = [line.split("\t") for line in lines(site.cli("user", "list").stdout)]
    assert {row[3] for row in accounts if row[0].startswith("sim.")} == {"disabled"}, "reused, still disabled"


def test_a_command_that_makes_a_new_database_says_so_once(tmp_path, server_zygote):
    """An IT person who runs `user add` without the production environment file (its
    QUEUEKIOSK_DATABASE_URL) is told a new database was made, not left wondering why the server
    does not know the account."""
    centre = tmp_path / "centre"
    centre.mkdir()
    (centre / "config.yaml").write_text(
        (Path(__file__).resolve().parents[2] / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}

    def add(name: str) -> subprocess.CompletedProcess:
        command = [QUEUEKIOSK, "user", "add", name, "--role", "clerk", "--counter", "1"]
        return server_zygote.run(command, env, centre, "mat-khau-du-dai\n", 60)

    first = add("an")
    assert first.returncode == 0, first.stderr
    made = [line for line in lines(first.stderr) if "cơ sở dữ liệu mới" in line or "new database" in line]
    assert len(made) == 2 and made[0].startswith("đã tạo cơ sở dữ liệu mới (sqlite:///"), first.stderr
    assert "QUEUEKIOSK_DATABASE_URL" in made[1], first.stderr
    second = add("binh")
    assert second.returncode == 0, second.stderr
    assert "cơ sở dữ liệu mới" not in second.stderr, "said only when the database is made"
