"""The setup on the command line: `migrate`, `config export`, `config import [--dry-run]`, and what
every command does with a database that is new, current, or made by an older version.

Real subprocesses on the instance folder of a (mostly stopped) server.
"""

from __future__ import annotations

import sqlite3

import pytest
import server_db
import yaml

from queuekiosk.server.core.db import HEAD_REVISION


@pytest.fixture
def site(live_server):
    """A config file and instance folder; no server is started."""
    return live_server(start=False)


def database_file(site):
    return site.instance / "queuekiosk.db"


def test_export_then_import_round_trips_and_a_dry_run_changes_nothing(site):
    site.cli("migrate")
    exported = site.cli("config", "export").stdout
    data = yaml.safe_load(exported)
    assert data["site"]["id"] == "phuc-la" and len(data["services"]) == 6

    # unchanged: nothing to do
    (site.workdir / "same.yaml").write_text(exported, encoding="utf-8")
    assert "no difference" in site.cli("config", "import", str(site.workdir / "same.yaml")).stdout

    data["services"][0]["name"]["vi"] = "Hộ tịch (đã sửa)"
    data["counters"][0]["name"] = "Quầy Một"
    changed = site.workdir / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    dry = site.cli("config", "import", str(changed), "--dry-run")
    assert "+    vi: Hộ tịch (đã sửa)" in dry.stdout and "-    vi: Tư pháp - Hộ tịch" in dry.stdout, dry.stdout
    assert "+  name: Quầy Một" in dry.stdout, dry.stdout
    assert "nothing was changed" in dry.stderr
    assert site.cli("config", "export").stdout == exported, "a dry run changed the saved setup"

    done = site.cli("config", "import", str(changed))
    assert "setup version 2" in done.stderr
    assert yaml.safe_load(site.cli("config", "export").stdout) == data
    # the file the server was started with no longer matters: the saved setup is served
    server = site.start()
    with server.session() as http:
        names = {s["code"]: s["name"] for s in http.get("/api/v1/queue").json()["services"]}
        assert names["HT"] == "Hộ tịch (đã sửa)"
        # in the audit log with where it came from, and the setup before and after
        admin = {"Authorization": f"Bearer {server.token('admin')}"}
        events = http.get("/api/v1/audit", headers=admin).json()["events"]
        [imported] = [e for e in events if e["kind"] == "setup_changed"]
        assert imported["by"] == "command line", imported
        before, after = imported["detail"]["before"], imported["detail"]["after"]
        assert before["services"][0]["name"]["vi"] == "Tư pháp - Hộ tịch"
        assert after["services"][0]["name"]["vi"] == "Hộ tịch (đã sửa)"


def test_an_import_with_a_mistake_names_it_and_changes_nothing(site):
    site.cli("migrate")
    before = site.cli("config", "export").stdout
    data = yaml.safe_load(before)
    data["counters"][0]["services"] = ["XX"]
    bad = site.workdir / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = site.cli("config", "import", str(bad), check=False)
    assert result.returncode == 1
    assert "counters[0].services[0]: unknown service 'XX'" in result.stderr
    assert site.cli("config", "export").stdout == before


def test_read_only_commands_write_nothing_and_say_what_to_run(site):
    result = site.cli("token", "list", check=False)
    assert result.returncode == 1 and "queuekiosk migrate" in result.stderr
    assert not database_file(site).exists(), "token list made a database"
    site.cli("migrate")
    before = database_file(site).read_bytes()
    assert site.cli("user", "list").returncode == 0
    assert site.cli("token", "list").returncode == 0
    assert database_file(site).read_bytes() == before


def test_an_older_database_is_checked_not_migrated_until_migrate_runs(site):
    site.cli("migrate")
    with sqlite3.connect(database_file(site)) as db:  # as a database of the previous version says
        db.execute("UPDATE alembic_version SET version_num = '0006'")
    result = site.run("serve", "--config", str(site.config_path), "--port", str(site.port), timeout=30)
    assert result.returncode == 1
    assert "revision 0006" in result.stderr and "queuekiosk migrate" in result.stderr, result.stderr
    assert "cơ sở dữ liệu đang ở phiên bản 0006" in result.stderr, "said in Vietnamese first, as every refusal"
    result = site.cli("user", "add", "lan", "--role", "clerk", "--counter", "1", input="mat-khau-dai\n", check=False)
    assert result.returncode == 1 and "queuekiosk migrate" in result.stderr
    with sqlite3.connect(database_file(site)) as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (HEAD_REVISION,))  # back to the current one
    assert "already current" in site.cli("migrate").stderr


def test_an_export_of_a_live_setup_with_a_service_nobody_serves_yet_imports_again(site):
    """In /admin a service may be added before its counter (docs/configuration.md): its export is a
    backup that `config import` takes back, as it was."""
    server = site.start()
    with server.session() as http:
        http.headers["Authorization"] = f"Bearer {server.token('admin')}"
        made = http.post(
            "/api/v1/admin/services",
            json={"code": "MT", "name": {"vi": "Môi trường"}, "numbers": {"start": 7001, "end": 7999}},
        )
        assert made.status_code == 201, made.text
    server.stop()
    exported = site.cli("config", "export").stdout
    assert "MT" in exported
    backup = site.workdir / "backup.yaml"
    backup.write_text(exported, encoding="utf-8")
    again = site.cli("config", "import", str(backup), "--dry-run")
    assert "no difference" in again.stdout, (again.stdout, again.stderr)


def test_a_code_differing_only_in_capitals_is_refused_in_a_setup_file_as_in_admin(site):
    """ "ht" beside "HT" was imported (and seeded a database) while /admin refuses adding it: two services
    the kiosk, the reports and the transfers show alike. Refused naming the field, in /admin's words."""
    said = "services[6].code: “HT” already exists (a code differing only in capitals counts as taken)"
    site.cli("migrate")
    before = site.cli("config", "export").stdout
    data = yaml.safe_load(before)
    data["services"].append({"code": "ht", "name": {"vi": "Hộ tịch 2"}, "numbers": {"start": 9001, "end": 9099}})
    data["counters"][0]["services"] = [*data["counters"][0]["services"], "ht"]
    alike = site.workdir / "alike.yaml"
    alike.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for args in (("config", "import", str(alike), "--dry-run"), ("config", "import", str(alike))):
        result = site.cli(*args, check=False)
        assert result.returncode == 1 and said in result.stderr, result.stderr
    assert site.cli("config", "export").stdout == before
    # a new database is not seeded from such a config.yaml either
    database_file(site).unlink()
    site.config_path.write_text(alike.read_text(encoding="utf-8"), encoding="utf-8")
    result = site.cli("migrate", check=False)
    assert result.returncode == 1 and said in result.stderr, result.stderr


def _write_setup(site, name: str, data: dict):
    path = site.workdir / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_an_import_that_leaves_services_with_citizens_waiting_unserved_asks_for_confirm(live_server):
    """config import saved counters serving neither DC nor HT while citizens waited for both: from then on
    the kiosk refused them and the waiting were called by nobody, without a word. Now it says, per service."""
    server = live_server()
    http = server.session()
    for code in ("DC", "DC", "HT"):
        assert http.post("/api/v1/tickets", json={"service": code}).status_code == 201
    before = server.cli("config", "export").stdout
    data = yaml.safe_load(before)
    for counter in data["counters"]:
        counter["services"] = [code for code in counter.get("services", []) if code not in ("DC", "HT")]
    dropped = _write_setup(server, "dropped.yaml", data)
    refused = server.cli("config", "import", str(dropped), check=False)
    assert refused.returncode == 1, refused.stderr
    said = refused.stderr
    assert "“Địa chính - Đô thị - Xây dựng” (DC), còn 2 số đang chờ và 0 lịch hẹn" in said, said
    assert "“Tư pháp - Hộ tịch” (HT), còn 1 số đang chờ" in said, said
    assert "“Justice - Civil status” (HT), for which 1 number is waiting and 0 bookings" in said, said
    assert server.cli("config", "export").stdout == before, "nothing was saved"
    assert http.post("/api/v1/tickets", json={"service": "DC"}).status_code == 201

    server.cli("config", "import", str(dropped), "--confirm")
    served = {code for c in yaml.safe_load(server.cli("config", "export").stdout)["counters"] for code in c["services"]}
    assert not {"DC", "HT"} & served, served
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    events = [e for e in http.get("/api/v1/audit", headers=admin).json()["events"] if e["kind"] == "setup_changed"]
    assert events[0]["detail"]["left_unserved"] == {"services": ["DC", "HT"], "waiting": 4, "booked": 0}, events[0]


def test_an_export_of_a_setup_holding_a_pair_differing_in_capitals_saved_before_imports_again(site):
    """A setup saved with "ht" beside "HT" (allowed before) could no longer be exported and imported again:
    the import refused the pair it had saved itself. A pair not saved before is still refused."""
    site.cli("migrate")
    extra = {"code": "ht", "name": {"vi": "Hộ tịch 2"}, "numbers": {"start": 9001, "end": 9099}}
    server_db.add_stored_service(site.database_url, extra)
    exported = site.cli("config", "export").stdout
    assert "code: ht" in exported, exported
    again = site.cli("config", "import", str(_write_setup(site, "backup.yaml", yaml.safe_load(exported))), "--dry-run")
    assert "no difference" in again.stdout, (again.stdout, again.stderr)
    data = yaml.safe_load(exported)
    data["services"][0]["name"]["vi"] = "Hộ tịch (đã sửa)"
    site.cli("config", "import", str(_write_setup(site, "changed.yaml", data)))
    assert "Hộ tịch (đã sửa)" in site.cli("config", "export").stdout
    data["services"].append({"code": "dc", "name": {"vi": "Địa chính 2"}, "numbers": {"start": 9101, "end": 9199}})
    refused = site.cli("config", "import", str(_write_setup(site, "more.yaml", data)), check=False)
    assert refused.returncode == 1 and "“DC” already exists" in refused.stderr, refused.stderr


def test_an_import_without_a_counter_sends_the_numbers_transferred_to_it_back_to_their_queue(live_server):
    """A number sent to counter 5, which an import then leaves out: as /admin's removal does, it goes back to
    its service's queue, where counter 4 calls it (it waited for a counter gone, called by nobody all day)."""
    server = live_server()
    http = server.session()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    number = http.post("/api/v1/tickets", json={"service": "DC"}).json()
    assert http.post("/api/v1/counters/4/open", headers=admin).status_code == 200
    assert http.post("/api/v1/counters/4/next", headers=admin).json()["id"] == number["id"]
    moved = http.post("/api/v1/counters/4/transfer", headers=admin, json={"counter": 5})
    assert moved.json()["target_counter"] == 5, moved.text
    data = http.get("/api/v1/admin/setup", headers=admin).json()["setup"]  # (as an export: one command fewer)
    data["counters"] = [c for c in data["counters"] if c["number"] != 5]
    next(c for c in data["counters"] if c["number"] == 6)["services"] += ["LD", "VH"]
    server.cli("config", "import", str(_write_setup(server, "without-5.yaml", data)))

    back = http.get(f"/api/v1/tickets/{number['id']}").json()
    assert (back["target_counter"], back["waiting_ahead"]) == (None, 0), back
    assert http.post("/api/v1/counters/4/next", headers=admin).json()["id"] == number["id"]
