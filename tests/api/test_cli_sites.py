"""The command line with several sites: `site add/list`, `token create` and `user add` with --site,
`simulate --site`; against a real running server, which serves a site added by the command.
"""

from __future__ import annotations

import time

import pytest
from api_helpers import assert_error
from ops_helpers import bearer


@pytest.fixture
def server(live_server):
    return live_server()


def test_a_site_added_by_the_command_is_served_by_the_running_server(server):
    added = server.cli(
        "site", "add", "xa-tan-phu", "--name", "Xã Tân Phú", "--timezone", "Asia/Bangkok", "--open", "07:00"
    )
    assert "/s/xa-tan-phu/" in added.stderr
    listed = server.cli("site", "list").stdout.splitlines()
    assert any(line.startswith("xa-tan-phu\tAsia/Bangkok\t07:00-") and "Xã Tân Phú" in line for line in listed)
    assert len(listed) == 2

    refused = server.cli("site", "add", "xa-tan-phu", "--name", "again", check=False)
    assert refused.returncode != 0 and "xa-tan-phu" in refused.stderr and "no site was added" in refused.stderr
    refused = server.cli("site", "add", "Xa Tan Phu", "--name", "bad id", check=False)
    assert refused.returncode != 0 and "“id”" in refused.stderr
    # said in Vietnamese, then in English, as every message of the command line
    assert "phải gồm 1–32 chữ cái thường" in refused.stderr and "1-32 lower-case letters" in refused.stderr

    http = server.session()
    deadline = time.monotonic() + 5  # the server notices the new site within a second
    answer = http.post("/api/v1/sites/xa-tan-phu/tickets", json={"service": "HT"})
    while answer.status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = http.post("/api/v1/sites/xa-tan-phu/tickets", json={"service": "HT"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["number"] == 1001


def test_tokens_and_users_belong_to_the_site_the_command_names(server):
    server.cli("site", "add", "xa-tan-phu", "--name", "Xã Tân Phú")
    there = bearer(
        server,
        server.cli("token", "create", "--role", "counter", "--counter", "1", "--site", "xa-tan-phu").stdout.strip(),
    )
    first = bearer(server, server.cli("token", "create", "--role", "counter", "--counter", "1").stdout.strip())
    issue_at = server.session()
    for prefix in ("/api/v1", "/api/v1/sites/xa-tan-phu"):
        assert issue_at.post(f"{prefix}/tickets", json={"service": "HT"}).status_code == 201

    assert there.post("/api/v1/sites/xa-tan-phu/counters/1/next").status_code == 200
    assert_error(there.post("/api/v1/counters/1/next"), 403, "forbidden_site")
    # without --site a counter token is the first site's
    assert first.post("/api/v1/counters/1/next").status_code == 200
    assert_error(first.post("/api/v1/sites/xa-tan-phu/counters/2/next"), 403, "forbidden_site")

    # an admin or province token without --site is the installation's: it compares every site
    province = bearer(server, server.cli("token", "create", "--role", "province").stdout.strip())
    assert {row["site"] for row in province.get("/api/v1/reports/sites").json()["sites"]} == {"phuc-la", "xa-tan-phu"}
    refused = server.cli("token", "create", "--role", "province", "--site", "xa-tan-phu", check=False)
    assert refused.returncode != 0 and "--site" in refused.stderr
    refused = server.cli("token", "create", "--role", "display", "--site", "no-such-site", check=False)
    assert refused.returncode != 0 and "no-such-site" in refused.stderr

    server.cli(
        "user", "add", "giamsat.tanphu", "--role", "supervisor", "--site", "xa-tan-phu", input="mat-khau-tan-phu\n"
    )
    credentials = {"username": "giamsat.tanphu", "password": "mat-khau-tan-phu"}
    assert server.session().post("/api/v1/sites/xa-tan-phu/auth/login", json=credentials).status_code == 200
    assert_error(server.session().post("/api/v1/auth/login", json=credentials), 403, "forbidden_site")


def test_simulate_fills_the_site_it_names_and_only_that_one(server):
    server.cli("site", "add", "xa-tan-phu", "--name", "Xã Tân Phú")
    simulated = ["--day", "2025-03-03", "--days", "2", "--per-day", "40", "--remote-share", "0.3"]  # phones' too
    done = server.cli("simulate", "--site", "xa-tan-phu", *simulated)
    assert "simulated 2 open days" in done.stdout
    province = bearer(server, server.token("province"))
    period = "/api/v1/reports/sites?from=2025-03-03&to=2025-03-04"
    first = province.get(period).json()
    rows = {row["site"]: row for row in first["sites"]}
    assert rows["xa-tan-phu"]["issued"] > 40 and rows["xa-tan-phu"]["served"] > 0
    assert rows["xa-tan-phu"]["ratings"]["total"] > 0 and rows["xa-tan-phu"]["wait"]["p90"] is not None
    assert rows["phuc-la"]["issued"] == 0
    # the days are over: counted once, kept, and the same when asked again, and from the command line
    assert province.get(period).json() == first
    lines = server.cli("site", "compare", "--from", "2025-03-03", "--to", "2025-03-04").stdout.splitlines()
    assert lines[:2] == [  # its header: the columns' names in Vietnamese, then in English
        "Điểm\tLượt lấy số\tĐã phục vụ\tChờ trung bình (phút)\tChờ 90% (phút)\tTỷ lệ đạt mục tiêu (%)\t% hài lòng"
        "\tLịch hẹn (trừ đã hủy)\tLịch hẹn đã đến",
        "Site\tIssued\tServed\tWait, average (min)\tWait, 90th percentile (min)\tWithin target (%)\t% satisfied"
        "\tBookings (not cancelled)\tBookings checked in",
    ]
    compared = {line.split("\t")[0]: line.split("\t") for line in lines[2:]}
    assert set(compared) == {"phuc-la", "xa-tan-phu", "total"}
    tan_phu = rows["xa-tan-phu"]
    assert compared["xa-tan-phu"][1:3] == [str(tan_phu["issued"]), str(tan_phu["served"])]
    assert compared["xa-tan-phu"][3] == f"{tan_phu['wait']['avg'] / 60:.1f}"
    bookings = tan_phu["bookings"]  # (the simulated days' numbers taken from phones, and those who came)
    assert bookings["booked"] > 0 and bookings["checked_in"] > 0, bookings
    assert compared["xa-tan-phu"][7:] == [str(bookings["booked"]), str(bookings["checked_in"])]
    assert compared["phuc-la"][1:3] == ["0", "0"] and compared["total"][1] == str(tan_phu["issued"])
    refused = server.cli("simulate", "--site", "no-such-site", "--days", "1", check=False)
    assert refused.returncode != 0 and "no-such-site" in refused.stderr


def test_a_site_retired_and_reopened_by_the_command(server):
    server.cli("site", "add", "xa-cu", "--name", "Xã Phú Cũ")
    server.cli("site", "add", "xa-moi", "--name", "Xã Phú Mới")
    first = server.cli("site", "list").stdout.split("\t")[0]
    refused = server.cli("site", "retire", first, check=False)
    assert refused.returncode != 0 and "điểm đầu tiên" in refused.stderr and "first site" in refused.stderr
    assert ".;" not in refused.stderr, refused.stderr  # one sentence's full stop, not two marks

    retired = server.cli("site", "retire", "xa-cu", "--moved-to", "xa-moi")
    assert "xa-cu" in retired.stderr and "history stays in the reports" in retired.stderr
    listed = server.cli("site", "list").stdout.splitlines()
    assert any(line.startswith("xa-cu\t") and line.endswith("\tretired -> xa-moi") for line in listed), listed
    http = server.session()
    deadline = time.monotonic() + 5  # the running server follows within a second
    answer = http.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"})
    while answer.status_code != 409 and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = http.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"})
    assert "Xã Phú Mới" in assert_error(answer, 409, "site_retired_moved")["message"]
    made = server.cli("token", "create", "--role", "counter", "--counter", "1", "--site", "xa-cu", check=False)
    assert made.returncode != 0 and "no new account or device token" in made.stderr, made.stderr

    events = bearer(server, server.token("admin")).get("/api/v1/sites/xa-cu/audit").json()["events"]
    retired_event = next(e for e in events if e["kind"] == "site_retired")
    assert retired_event["by"] == "command line", retired_event  # who did it, where there is no user

    server.cli("site", "retire", "xa-cu")  # again, without naming where: where it sent them stays
    assert any(line.endswith("\tretired -> xa-moi") for line in server.cli("site", "list").stdout.splitlines())

    assert "site xa-cu reopened" in server.cli("site", "reopen", "xa-cu").stderr
    assert not any("retired" in line for line in server.cli("site", "list").stdout.splitlines())
    assert "nothing to reopen" in server.cli("site", "reopen", "xa-cu").stderr


def test_a_comparison_whose_days_run_backwards_is_refused(server):
    refused = server.cli("site", "compare", "--from", "2026-12-06", "--to", "2026-12-01", check=False)
    assert refused.returncode != 0 and "--to" in refused.stderr, refused.stderr
    assert refused.stdout == "", refused.stdout  # no table of zeros


def test_site_add_names_every_refused_field_at_once(server):
    """`site add` with a name over 120 letters and an opening time of 25:00 said only the first; the
    second came at the next try."""
    long_name = "Trung tâm Phục vụ hành chính công " * 5
    refused = server.cli("site", "add", "xa-dai", "--name", long_name, "--open", "25:00", check=False)
    assert refused.returncode == 1, refused.stderr
    said = refused.stderr
    assert "“name”: quá dài: tối đa 120 ký tự" in said and "“hours.open”: " in said, said
    assert "“name”: " in said.split("\n")[1] and "“hours.open”: " in said.split("\n")[1], said  # in English too
    assert "no site was added" in said, said
    assert len(server.cli("site", "list").stdout.splitlines()) == 1
