"""Reports from a small history built by hand with a fixed clock, against figures worked out by hand.

The history (Asia/Ho_Chi_Minh, UTC+7; HT's target wait is 15 min, CT's 10 min), on Friday 20/11/2026:

    T1 HT issued 08:00, called 08:10 at counter 1 (clerk an), start 08:11, finish 08:16   wait 600, service 300
    T2 HT issued 08:05, called 08:16 at counter 1 (an), no start, finish 08:20            wait 660, service 240
    T3 CT issued 08:06, called 08:07 at counter 3 (binh), recalled 08:09, no-show 08:10  wait 60
    T4 HT issued 09:00, called 09:20 at counter 2 (chi), transferred to CT 09:25,
          called again 09:30 at counter 3 (binh), start 09:31, finish 09:41               wait 1200, service 600
    T5 CT issued 16:50, never called
    T6 HT issued 23:30, called 23:40 at counter 1 (an), finish 23:50                       wait 600, service 600
  and on Saturday 21/11:
    T7 HT issued 00:30, called 00:50 at counter 1 (an), no-show 00:55                     wait 1200

Ratings: T1 very satisfied, T2 satisfied (counter 1), T4 unsatisfied (counter 3).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import exports, periods, reports
from queuekiosk.server.core.auth import add_user

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 23, 3, 0)  # the reports are read on Monday morning (UTC)


def at(day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    """A local time of November 2026 as the naive UTC the engine keeps."""
    local = dt.datetime(2026, 11, day, hour, minute, second, tzinfo=ZONE)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _centre(tmp_path_factory, template, name):
    """A fresh SQLite centre of config.yaml (on a copy of the migrated ``template``) with the clerks an
    (counter 1), binh (3) and chi (2): (engine, site, run(action, ...) in a transaction,
    issue(service, when) -> ticket id, the clerks)."""
    from queuekiosk.server.core.config import load_config
    from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

    config = load_config(REPO / "config.yaml")
    tmp = tmp_path_factory.mktemp(name)
    shutil.copyfile(template, tmp / "reports.db")
    engine = create_db_engine(f"sqlite:///{tmp / 'reports.db'}")
    site = prepare_database(engine, config, tmp)
    Session = session_factory(engine)

    def run(action, *args, **kwargs):
        with Session.begin() as session:
            return action(session, site, *args, **kwargs)

    with Session.begin() as session:
        added = {
            name: add_user(session, name, "mat-khau-dai", "clerk", counter)
            for name, counter in (("an", 1), ("binh", 3), ("chi", 2))
        }
        session.flush()
        clerks = [q.Actor(user_id=added[n].id) for n in ("an", "binh", "chi")]

    def issue(service, when):
        return run(q.issue, service, now=when, check_hours=False).ticket["id"]

    return engine, site, run, issue, clerks


@pytest.fixture(scope="module")
def history(tmp_path_factory, sqlite_template):
    engine, site, run, issue, (an, binh, chi) = _centre(tmp_path_factory, sqlite_template, "reports")

    t1 = issue("HT", at(20, 8, 0))
    t2 = issue("HT", at(20, 8, 5))
    issue("CT", at(20, 8, 6))
    run(q.call_next, 3, actor=binh, now=at(20, 8, 7))  # T3
    run(q.recall, 3, actor=binh, now=at(20, 8, 9))
    run(q.no_show, 3, actor=binh, now=at(20, 8, 10))
    assert run(q.call_next, 1, actor=an, now=at(20, 8, 10)).ticket["id"] == t1
    run(q.start, 1, actor=an, now=at(20, 8, 11))
    run(q.finish, 1, actor=an, now=at(20, 8, 16))
    run(q.rate, t1, 1, "very_satisfied", now=at(20, 8, 16, 30))
    assert run(q.call_next, 1, actor=an, now=at(20, 8, 16)).ticket["id"] == t2
    run(q.finish, 1, actor=an, now=at(20, 8, 20))
    run(q.rate, t2, 1, "satisfied", now=at(20, 8, 20, 10))
    t4 = issue("HT", at(20, 9, 0))
    assert run(q.call_next, 2, actor=chi, now=at(20, 9, 20)).ticket["id"] == t4
    run(q.transfer, 2, actor=chi, now=at(20, 9, 25), service="CT")
    assert run(q.call_next, 3, actor=binh, now=at(20, 9, 30)).ticket["id"] == t4
    run(q.start, 3, actor=binh, now=at(20, 9, 31))
    run(q.finish, 3, actor=binh, now=at(20, 9, 41))
    run(q.rate, t4, 3, "unsatisfied", ["long_wait"], now=at(20, 9, 41, 30))
    issue("CT", at(20, 16, 50))  # T5, never called
    issue("HT", at(20, 23, 30))  # T6
    run(q.call_next, 1, actor=an, now=at(20, 23, 40))  # not counter 2: it serves CT too, and T5 waits there
    run(q.finish, 1, actor=an, now=at(20, 23, 50))
    issue("HT", at(21, 0, 30))  # T7, the next business day
    run(q.call_next, 1, actor=an, now=at(21, 0, 50))
    run(q.no_show, 1, actor=an, now=at(21, 0, 55))
    yield engine, site
    engine.dispose()


def report(history, key=None, group_by="service", start=None, end=None):
    engine, site = history
    period = periods.named_period(key, ZONE) if key else periods.range_period(start, end, ZONE)
    with engine.connect() as conn:
        return reports.summary(conn, site, period, group_by, now=NOW)


def row(result, key):
    return next(r for r in result["rows"] if r["key"] == key)


def test_the_day_in_total(history):
    total = report(history, "2026-11-20")["total"]
    assert (total["issued"], total["called"], total["not_called"]) == (6, 5, 1)
    assert total["wait"] == {"count": 5, "avg": 624.0, "median": 600.0, "p90": 984.0, "max": 1200.0}
    assert (total["target_met"], total["target_met_pct"]) == (4, 80.0)
    assert (total["early"], total["on_time"], total["late"]) == (1, 3, 1)
    assert (total["served"], total["no_show"], total["no_show_rate"], total["transferred"]) == (4, 1, 20.0, 1)
    assert total["service_time"] == {"count": 4, "avg": 435.0, "median": 450.0, "p90": 600.0, "max": 600.0}
    assert total["ratings"] == {
        "very_satisfied": 1,
        "satisfied": 1,
        "unsatisfied": 1,
        "total": 3,
        "satisfied_pct": 66.7,
    }


def test_by_service_the_wait_belongs_to_the_chosen_service_and_the_service_to_the_last_one(history):
    result = report(history, "2026-11-20", "service")
    assert [r["key"] for r in result["rows"]] == ["HT", "CT", "DC", "LD", "VH", "TK"]
    ht, ct, dc = row(result, "HT"), row(result, "CT"), row(result, "DC")
    assert (ht["issued"], ht["called"], ht["transferred"], ht["served"], ht["no_show"]) == (4, 4, 1, 3, 0)
    assert ht["wait"] == {"count": 4, "avg": 765.0, "median": 630.0, "p90": 1038.0, "max": 1200.0}
    assert (ht["target_met"], ht["target_met_pct"]) == (3, 75.0)
    assert ht["service_time"]["avg"] == 380.0 and ht["service_time"]["median"] == 300.0
    assert (ht["ratings"]["total"], ht["ratings"]["satisfied_pct"]) == (2, 100.0)
    assert (ct["issued"], ct["called"], ct["not_called"], ct["served"], ct["no_show"]) == (2, 1, 1, 1, 1)
    assert ct["no_show_rate"] == 100.0 and ct["wait"]["max"] == 60.0
    assert ct["service_time"] == {"count": 1, "avg": 600.0, "median": 600.0, "p90": 600.0, "max": 600.0}
    assert (ct["ratings"]["unsatisfied"], ct["ratings"]["satisfied_pct"]) == (1, 0.0)
    assert dc["issued"] == 0 and dc["wait"]["avg"] is None and dc["ratings"]["satisfied_pct"] is None
    assert result["total"]["issued"] == sum(r["issued"] for r in result["rows"])


def test_by_counter_and_by_clerk_each_step_goes_to_who_did_it(history):
    by_counter = report(history, "2026-11-20", "counter")
    rows = {r["label"]: r for r in by_counter["rows"]}
    c1, c2, c3 = rows["Quầy 1 - Hộ tịch"], rows["Quầy 2 - Hộ tịch, Chứng thực"], rows["Quầy 3 - Chứng thực"]
    assert c1["issued"] is None and by_counter["total"]["issued"] == 6
    assert (c1["called"], c1["served"], c1["wait"]["avg"], c1["service_time"]["avg"]) == (3, 3, 620.0, 380.0)
    assert (c1["ratings"]["total"], c1["ratings"]["satisfied_pct"]) == (2, 100.0)
    assert (c2["called"], c2["transferred"], c2["served"], c2["late"]) == (1, 1, 0, 1)
    assert c2["wait"] == {"count": 1, "avg": 1200.0, "median": 1200.0, "p90": 1200.0, "max": 1200.0}
    assert c2["service_time"]["count"] == 0 and c2["target_met_pct"] == 0.0
    # counter 3 called T3 first and T4 after its transfer: two calls, one wait (T4's wait was counter 2's call)
    assert (c3["called"], c3["wait"]["count"], c3["no_show"], c3["no_show_rate"], c3["served"]) == (2, 1, 1, 50.0, 1)
    assert c3["service_time"]["max"] == 600.0 and c3["ratings"]["unsatisfied"] == 1
    assert sum(r["served"] for r in by_counter["rows"]) == by_counter["total"]["served"]

    by_clerk = report(history, "2026-11-20", "clerk")
    assert [r["label"] for r in by_clerk["rows"]] == ["an", "binh", "chi"]
    an, binh, chi = by_clerk["rows"]
    assert (an["called"], an["served"], an["ratings"]["total"]) == (3, 3, 2)
    assert (binh["called"], binh["no_show"], binh["served"], binh["ratings"]["unsatisfied"]) == (2, 1, 1, 1)
    assert (chi["called"], chi["transferred"], chi["served"]) == (1, 1, 0)


def test_by_clerk_a_handover_at_one_counter_splits_the_steps(tmp_path_factory, sqlite_template):
    """an calls two HT numbers at counter 1 and hands over to binh, who finishes one and marks the
    other absent: the calls and waits are an's, the service and the no-show binh's."""
    engine, site, run, issue, (an, binh, _chi) = _centre(tmp_path_factory, sqlite_template, "handover")
    first, second = issue("HT", at(20, 8, 0)), issue("HT", at(20, 8, 1))
    assert run(q.call_next, 1, actor=an, now=at(20, 8, 5)).ticket["id"] == first  # wait 300
    run(q.start, 1, actor=an, now=at(20, 8, 5))
    assert run(q.call_next, 1, actor=binh, now=at(20, 8, 9)).ticket["id"] == second  # finishes the first: 240
    run(q.no_show, 1, actor=binh, now=at(20, 8, 12))
    result = report((engine, site), "2026-11-20", "clerk")
    rows = {r["label"]: r for r in result["rows"]}
    assert (rows["an"]["called"], rows["an"]["wait"]["avg"], rows["an"]["served"]) == (1, 300.0, 0)
    assert (rows["binh"]["called"], rows["binh"]["wait"]["avg"]) == (1, 480.0)
    assert (rows["binh"]["served"], rows["binh"]["service_time"]["avg"], rows["binh"]["no_show"]) == (1, 240.0, 1)
    engine.dispose()


def test_by_day_and_hour_use_the_local_time_of_issue(history):
    by_hour = report(history, "2026-11-20", "hour")
    keys = [r["key"] for r in by_hour["rows"]]
    assert keys == [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 23]  # opening hours, and 23:00 that had a ticket
    assert row(by_hour, 8)["issued"] == 3 and row(by_hour, 8)["label"] == "08:00–09:00"
    assert row(by_hour, 9)["late"] == 1 and row(by_hour, 16)["not_called"] == 1
    assert row(by_hour, 23)["served"] == 1 and row(by_hour, 7)["issued"] == 0

    week = report(history, "2026-W47", "day")
    days = {r["key"]: r for r in week["rows"]}
    assert list(days) == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    assert days["2026-11-20"]["issued"] == 6 and days["2026-11-21"]["issued"] == 1  # 00:30 local is Saturday
    assert days["2026-11-21"]["label"] == "21/11/2026" and days["2026-11-19"]["issued"] == 0


def test_a_period_across_midnight(history):
    result = report(history, group_by="hour", start="2026-11-20T22:00", end="2026-11-21T02:00")
    assert result["period"]["label"] == "Từ 22:00 20/11/2026 đến 02:00 21/11/2026"
    assert [r["key"] for r in result["rows"]] == [22, 23, 0, 1]  # in the order of the night
    assert [r["issued"] for r in result["rows"]] == [0, 1, 1, 0]
    total = result["total"]
    assert (total["issued"], total["served"], total["no_show"]) == (2, 1, 1)
    assert total["wait"]["avg"] == 900.0 and (total["target_met"], total["late"]) == (1, 1)
    by_day = report(history, group_by="day", start="2026-11-20T22:00", end="2026-11-21T02:00")
    assert [(r["key"], r["issued"]) for r in by_day["rows"]] == [("2026-11-20", 1), ("2026-11-21", 1)]
    # and a day's report ends at local midnight, not at UTC midnight (07:00 local)
    assert report(history, "2026-11-21")["total"]["issued"] == 1


@pytest.mark.parametrize("key", ["2026-11-19", "2026-10", "2025-Q4"])
def test_an_empty_period(history, key):
    result = report(history, key, "service")
    total = result["total"]
    assert total["issued"] == 0 and total["wait"] == {"count": 0, "avg": None, "median": None, "p90": None, "max": None}
    assert total["target_met_pct"] is None and total["ratings"]["satisfied_pct"] is None
    assert len(result["rows"]) == 6 and all(r["issued"] == 0 for r in result["rows"])
    engine, site = history
    with engine.connect() as conn:
        daily = reports.daily_summary(conn, site, periods.named_period(key, ZONE), now=NOW)
        peaks = reports.peak_hours(conn, site, periods.named_period(key, ZONE), now=NOW)
    assert daily["received"] == 0 and daily["peak"] is None and "0 lượt" in daily["text"]
    assert peaks["days_with_tickets"] == 0 and all(h["arrivals"] == 0 for h in peaks["hours"])
    for fmt in (exports.to_csv, exports.to_xlsx):
        assert fmt(result) and fmt(daily) and fmt(peaks)


def test_peak_hours(history):
    engine, site = history
    with engine.connect() as conn:
        peaks = reports.peak_hours(conn, site, periods.named_period("2026-11-20", ZONE), now=NOW)
    hours = {h["hour"]: h for h in peaks["hours"]}
    assert peaks["days_with_tickets"] == 1
    assert (hours[8]["arrivals"], hours[8]["arrivals_per_day"]) == (3, 3.0)
    assert hours[8]["waiting_avg"] == 0.4  # 600 + 660 + 60 s of waiting in that hour / 3600
    assert hours[8]["waiting_max"] == 3  # 08:06-08:07: T1, T2 and T3 all waited
    assert (hours[9]["waiting_avg"], hours[9]["waiting_max"], hours[9]["wait_avg"]) == (0.3, 1, 1200.0)
    assert hours[23]["waiting_max"] == 2  # T5, never called, still counts as waiting until midnight
    assert peaks["peak"]["hour"] == 8


def test_the_daily_summary(history):
    engine, site = history
    with engine.connect() as conn:
        daily = reports.daily_summary(conn, site, periods.named_period("2026-11-20", ZONE), now=NOW)
    assert (daily["received"], daily["served"], daily["served_pct"], daily["no_show"]) == (6, 4, 66.7, 1)
    assert (daily["early"], daily["on_time"], daily["late"], daily["target_met_pct"]) == (1, 3, 1, 80.0)
    assert daily["ratings"]["satisfied_pct"] == 66.7
    text = daily["text"]
    assert text.startswith("Ngày 20/11/2026, UBND phường Phúc La - Bộ phận Một cửa tiếp nhận 6 lượt")
    assert "đã phục vụ 4 lượt (66,7%)" in text and "10,4 phút" in text and "tỷ lệ hài lòng 66,7%" in text
    assert "1 lượt được gọi trước hạn, 3 lượt đúng hạn, 1 lượt trễ hạn" in text  # called, as early counts
    assert "4 were served (66.7%), 1 was absent when called and 1 was transferred." in daily["text_en"]
    assert "; 1 citizen was called early, 3 on time" in daily["text_en"] and "3 ratings, " in daily["text_en"]
    assert text.endswith("Giờ cao điểm: 08:00–09:00 (3 lượt lấy số).")
    assert daily["text_en"].startswith("20/11/2026, UBND phường Phúc La - Bộ phận Một cửa received 6 citizens")


def test_exports_hold_the_numbers_of_the_report(history):
    result = report(history, "2026-11-20", "service")
    lines = list(csv.reader(io.StringIO(exports.to_csv(result).decode("utf-8-sig"))))
    assert lines[0] == ["Báo cáo tình hình phục vụ theo dịch vụ"]
    assert ["Kỳ báo cáo", "Ngày 20/11/2026"] in lines
    header = lines.index(next(line for line in lines if line and line[0] == "Dịch vụ"))
    table = [dict(zip(lines[header], line)) for line in lines[header + 1 :]]
    ht = table[0]
    assert ht["Dịch vụ"] == "Tư pháp - Hộ tịch" and ht["Lượt lấy số"] == "4"
    assert float(ht["Chờ trung bình (phút)"]) == round(765.0 / 60, 2)
    assert float(ht["Tỷ lệ đạt mục tiêu (%)"]) == 75.0 and ht["% hài lòng"] == "100"
    assert table[-1]["Dịch vụ"] == "Tổng cộng" and table[-1]["Lượt lấy số"] == "6"

    sheet = load_workbook(io.BytesIO(exports.to_xlsx(result))).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[0][0] == "Báo cáo tình hình phục vụ theo dịch vụ"
    assert ["Kỳ báo cáo", "Ngày 20/11/2026"] == values[2][:2]
    header = next(i for i, line in enumerate(values) if line[0] == "Dịch vụ")
    columns = values[header]
    ht = dict(zip(columns, values[header + 1]))
    assert ht["Chờ trung bình (phút)"] == pytest.approx(765.0 / 60)
    assert ht["Chờ 90% (phút)"] == pytest.approx(1038.0 / 60)
    total = dict(zip(columns, values[header + 7]))
    assert total["Dịch vụ"] == "Tổng cộng" and total["Lượt gọi"] == 5 and total["Rất hài lòng"] == 1
    assert exports.filename(result, "xlsx") == "bao-cao-theo-dich-vu_phuc-la_2026-11-20.xlsx"


# --- tickets the day ended on -------------------------------------------------------------------
#
# Wednesday 25/11/2026:
#     E1 HT issued 08:00, called 08:05 at counter 1 (an), finish 08:15                  wait 300, service 600
#     E2 HT issued 08:10, never called                                                  expired at midnight
#     E3 CT issued 09:00, called 09:10 at counter 3 (binh), transferred to HT 09:12,
#           never called again                                                          wait 600, expired
#     E4 CT issued 10:00, called 10:30 at counter 3 (binh), no-show 10:35               wait 1800
# the day's waiting tickets expire at 00:05 on Thursday 26/11; then
#     E5 HT issued 08:00 on 26/11, still waiting when the reports are read at 09:00.

EXPIRY_NOW = at(26, 9, 0)


@pytest.fixture(scope="module")
def expiry(tmp_path_factory, sqlite_template):
    engine, site, run, issue, (an, binh, _chi) = _centre(tmp_path_factory, sqlite_template, "expiry")
    issue("HT", at(25, 8, 0))
    run(q.call_next, 1, actor=an, now=at(25, 8, 5))
    run(q.finish, 1, actor=an, now=at(25, 8, 15))
    issue("HT", at(25, 8, 10))
    issue("CT", at(25, 9, 0))
    run(q.call_next, 3, actor=binh, now=at(25, 9, 10))
    run(q.transfer, 3, actor=binh, now=at(25, 9, 12), service="HT")
    issue("CT", at(25, 10, 0))
    run(q.call_next, 3, actor=binh, now=at(25, 10, 30))
    run(q.no_show, 3, actor=binh, now=at(25, 10, 35))
    run(q.expire_past_days, now=at(26, 0, 5))
    issue("HT", at(26, 8, 0))
    yield engine, site
    engine.dispose()


def expiry_report(expiry, group_by="service", key="2026-11-25", start=None, end=None):
    engine, site = expiry
    period = periods.named_period(key, ZONE) if start is None else periods.range_period(start, end, ZONE)
    with engine.connect() as conn:
        return reports.summary(conn, site, period, group_by, now=EXPIRY_NOW)


def test_tickets_the_day_ended_on_are_counted_as_expired(expiry):
    result = expiry_report(expiry)
    total = result["total"]
    assert (total["issued"], total["called"], total["not_called"], total["expired"]) == (4, 3, 0, 2)
    assert (total["served"], total["no_show"], total["no_show_rate"], total["transferred"]) == (1, 1, 33.3, 1)
    assert total["wait"] == {"count": 3, "avg": 900.0, "median": 600.0, "p90": 1560.0, "max": 1800.0}
    assert (total["early"], total["on_time"], total["late"]) == (1, 1, 1)
    # E3 was chosen in CT but ended, expired, in HT: like a served ticket, it counts where it ended
    ht, ct = row(result, "HT"), row(result, "CT")
    assert (ht["issued"], ht["called"], ht["not_called"], ht["expired"], ht["served"]) == (2, 1, 0, 2, 1)
    assert (ct["issued"], ct["called"], ct["not_called"], ct["expired"], ct["transferred"]) == (2, 2, 0, 0, 1)

    two_days = expiry_report(expiry, "day", start="2026-11-25", end="2026-11-26")
    days = {r["key"]: r for r in two_days["rows"]}
    assert (days["2026-11-25"]["expired"], days["2026-11-25"]["not_called"]) == (2, 0)
    assert (days["2026-11-26"]["expired"], days["2026-11-26"]["not_called"]) == (0, 1)  # E5 still waits
    assert (two_days["total"]["expired"], two_days["total"]["not_called"]) == (2, 1)

    by_counter = expiry_report(expiry, "counter")  # nobody expired them: in the total only
    assert {r["expired"] for r in by_counter["rows"]} == {None} and by_counter["total"]["expired"] == 2

    engine, site = expiry
    with engine.connect() as conn:
        daily = reports.daily_summary(conn, site, periods.named_period("2026-11-25", ZONE), now=EXPIRY_NOW)
    assert (daily["received"], daily["expired"], daily["not_called"], daily["no_show"]) == (4, 2, 0, 1)
    assert (
        "1 lượt vắng mặt khi được gọi, 1 lượt được chuyển quầy. 2 lượt hết hạn cuối ngày khi vẫn đang chờ."
        in daily["text"]
    )
    assert "2 tickets expired at the end of the day while still waiting." in daily["text_en"]


def test_exports_show_the_expired_column(expiry):
    result = expiry_report(expiry)
    lines = list(csv.reader(io.StringIO(exports.to_csv(result).decode("utf-8-sig"))))
    header = next(line for line in lines if line and line[0] == "Dịch vụ")
    table = {line[0]: dict(zip(header, line)) for line in lines[lines.index(header) + 1 :]}
    assert header.index("Hết hạn cuối ngày") == header.index("Chưa được gọi") + 1
    assert (table["Tư pháp - Hộ tịch"]["Hết hạn cuối ngày"], table["Chứng thực"]["Hết hạn cuối ngày"]) == ("2", "0")
    assert table["Tổng cộng"]["Hết hạn cuối ngày"] == "2" and table["Tổng cộng"]["Vắng mặt"] == "1"
    english = list(csv.reader(io.StringIO(exports.to_csv(result, "en").decode("utf-8-sig"))))
    assert "Expired at end of day" in next(line for line in english if line and line[0] == "Service")

    sheet = load_workbook(io.BytesIO(exports.to_xlsx(result))).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    start = next(i for i, line in enumerate(values) if line[0] == "Dịch vụ")
    total = dict(zip(values[start], next(line for line in values[start:] if line[0] == "Tổng cộng")))
    assert (total["Hết hạn cuối ngày"], total["Chưa được gọi"]) == (2, 0)

    engine, site = expiry
    with engine.connect() as conn:
        daily = reports.daily_summary(conn, site, periods.named_period("2026-11-25", ZONE), now=EXPIRY_NOW)
    figures = {
        line[0]: line[1]
        for line in csv.reader(io.StringIO(exports.to_csv(daily).decode("utf-8-sig")))
        if len(line) == 2
    }
    assert figures["Hết hạn cuối ngày"] == "2"


def test_live_overview(history):
    engine, site = history
    with engine.connect() as conn:
        # 20/11 at 16:55 local: T5 (CT) has waited 5 minutes, counters are idle
        overview = reports.live_overview(conn, site, now=at(20, 16, 55))
        later = reports.live_overview(conn, site, now=at(20, 17, 1))
    ct = next(s for s in overview["services"] if s["code"] == "CT")
    assert (ct["waiting"], ct["longest_wait_seconds"], ct["over_target"]) == (1, 300.0, False)
    ct_later = next(s for s in later["services"] if s["code"] == "CT")
    assert ct_later["over_target"] is True
    assert [a["kind"] for a in reports.alerts(later, [{"printer": "kiosk-1", "state": "paper_out"}])] == [
        "wait",
        "printer",
    ]
    counter1 = next(c for c in overview["counters"] if c["number"] == 1)
    assert counter1["activity"] == "idle" and counter1["since"] is not None and counter1["ticket"] is None
    assert overview["today"]["issued"] == 6 and overview["today"]["served"] == 4


@pytest.mark.parametrize(
    "key, first, last",
    [
        ("2026-Q1", "2026-01-01", "2026-03-31"),
        ("2026-Q4", "2026-10-01", "2026-12-31"),
        ("2026-H1", "2026-01-01", "2026-06-30"),
        ("2026-H2", "2026-07-01", "2026-12-31"),
        ("2026-9M", "2026-01-01", "2026-09-30"),
        ("2026", "2026-01-01", "2026-12-31"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2026-W01", "2025-12-29", "2026-01-04"),
    ],
)
def test_named_periods(key, first, last):
    period = periods.named_period(key, ZONE)
    assert (period.first_day.isoformat(), period.last_day.isoformat()) == (first, last)
    assert period.utc_bounds()[0] == dt.datetime.fromisoformat(first) - dt.timedelta(hours=7)


@pytest.mark.parametrize(
    "key, first, last, label",
    [  # Decree 09/2019/NĐ-CP art. 12 (see server/core/periods.py)
        ("2026-11", "2026-10-15", "2026-11-14", "Tháng 11/2026"),
        ("2026-01", "2025-12-15", "2026-01-14", "Tháng 1/2026"),
        ("2026-Q1", "2025-12-15", "2026-03-14", "Quý I năm 2026"),
        ("2026-Q4", "2026-09-15", "2026-12-14", "Quý IV năm 2026"),
        ("2026-H1", "2025-12-15", "2026-06-14", "6 tháng đầu năm 2026"),
        ("2026-H2", "2026-06-15", "2026-12-14", "6 tháng cuối năm 2026"),
        ("2026-9M", "2025-12-15", "2026-09-14", "9 tháng đầu năm 2026"),
        ("2026", "2025-12-15", "2026-12-14", "Năm 2026"),
    ],
)
def test_periods_with_the_decree_09_cut_off(key, first, last, label):
    period = periods.named_period(key, ZONE, "nd09")
    assert (period.first_day.isoformat(), period.last_day.isoformat(), period.label_vi) == (first, last, label)


@pytest.mark.parametrize(
    "args, field",
    [
        ({"period": "2026-Q5"}, "period"),
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-02-30"}, "period"),
        ({"period": "2026", "basis": "lunar"}, "basis"),
        ({"start": "2026-11-20"}, "to"),
        ({"start": "2026-11-21", "end": "2026-11-20"}, "to"),
        ({"start": "yesterday", "end": "2026-11-20"}, "from"),
        ({"start": "0001-01-01", "end": "2026-11-20"}, "from"),
        ({"start": "2026-11-20", "end": "9999-12-31"}, "to"),
        ({"start": "2026-11-20T10:00+05:00", "end": "2026-11-20T09:00"}, "to"),
    ],
)
def test_periods_refused_with_the_field_and_the_reason(args, field):
    with pytest.raises(periods.PeriodError) as refused:
        periods.resolve(ZONE, **args)
    assert refused.value.field == field and refused.value.problem().said("vi") and refused.value.problem().said("en")


@pytest.mark.postgres
def test_postgresql_gives_the_same_reports_as_sqlite(make_queue, config, migrated_pg_url, migrated_sqlite_url):
    from queuekiosk.server.core.simulate import Settings, simulate

    results = []
    for url in (migrated_sqlite_url, migrated_pg_url):
        queue = make_queue(config, url)
        simulate(queue.engine, queue.site, dt.date(2026, 11, 20), 2, seed=9, settings=Settings(per_day=120))
        zone = queue.site.config.site.zone
        with queue.engine.connect() as conn:
            week = periods.named_period("2026-W47", zone)
            night = periods.range_period("2026-11-20T09:30", "2026-11-21T10:00", zone)
            found = {group: reports.summary(conn, queue.site, week, group, now=NOW) for group in reports.GROUPS}
            found["night"] = reports.summary(conn, queue.site, night, "hour", now=NOW)
            year = periods.named_period("2026", zone)  # over 100 days: the table read in order
            found |= {
                f"year {group}": reports.summary(conn, queue.site, year, group, now=NOW)
                for group in ("service", "clerk", "day")
            }
            found["peaks"] = reports.peak_hours(conn, queue.site, week, now=NOW)
            found["daily"] = reports.daily_summary(conn, queue.site, periods.named_period("2026-11-20", zone), now=NOW)
            found["live"] = reports.live_overview(conn, queue.site, now=at(20, 10, 0))
        results.append(found)
    sqlite, postgres = results
    for name in sqlite:
        assert sqlite[name] == postgres[name], f"the {name} report differs between SQLite and PostgreSQL"
    assert sqlite["service"]["total"]["issued"] > 150 and sqlite["clerk"]["rows"][0]["label"].startswith("sim.")


def test_a_device_s_actions_show_under_its_token_name(make_queue, config):
    from queuekiosk.server.core import models as m
    from queuekiosk.server.core.auth import create_token

    queue = make_queue(config)
    with queue.Session.begin() as session:
        create_token(session, "counter", "bàn phím quầy 5", 5)
    with queue.Session() as session:
        token_id = session.query(m.ApiToken).one().id
    keypad = q.Actor(token_id=token_id)
    queue.run(q.issue, "LD", now=at(24, 8, 0), check_hours=False)
    queue.run(q.call_next, 5, actor=keypad, now=at(24, 8, 3))
    queue.run(q.finish, 5, actor=keypad, now=at(24, 8, 9))
    with queue.engine.connect() as conn:
        result = reports.summary(conn, queue.site, periods.named_period("2026-11-24", ZONE), "clerk", now=NOW)
    [row] = result["rows"]
    assert (row["key"], row["label"], row["label_en"]) == (
        f"token:{token_id}",
        "Thiết bị: bàn phím quầy 5",
        "Device: bàn phím quầy 5",
    )
    assert (row["called"], row["served"], row["wait"]["avg"], row["service_time"]["avg"]) == (1, 1, 180.0, 360.0)


# --- numbers a counter closed under (engine.close_counter, "requeued") ----------------------------
#
# Friday 27/11/2026:
#     R1 HT issued 08:00, called 08:10 at counter 1 (an), counter 1 closed under it 08:20 (requeued),
#           never called again                                                      wait 600, expired
#     R2 HT issued 08:05, called 08:30 at counter 1 (an, who reopened it), counter closed 08:40
#           (requeued), called again 08:50 at counter 2 (chi), finished 09:00       wait 1500, service 600


def test_a_number_requeued_by_a_close_keeps_its_call_where_it_was_called(tmp_path_factory, sqlite_template):
    """The call (and the wait it ended) stays the closed counter's and its clerk's: no "(không rõ)"
    counter row for one never called again, and a call again elsewhere is that counter's second call."""
    engine, site, run, issue, (an, _binh, chi) = _centre(tmp_path_factory, sqlite_template, "requeued")
    issue("HT", at(27, 8, 0))
    second = issue("HT", at(27, 8, 5))
    first = run(q.call_next, 1, actor=an, now=at(27, 8, 10)).ticket
    run(q.close_counter, 1, requeue=first["number"], now=at(27, 8, 20))
    held = run(q.call_next, 1, actor=an, number=first["number"] + 1, now=at(27, 8, 30)).ticket
    assert held["id"] == second
    run(q.close_counter, 1, requeue=held["number"], now=at(27, 8, 40))
    assert run(q.call_next, 2, actor=chi, number=held["number"], now=at(27, 8, 50)).ticket["id"] == second
    run(q.finish, 2, actor=chi, now=at(27, 9, 0))
    run(q.expire_past_days, now=at(28, 0, 5))
    period = periods.named_period("2026-11-27", ZONE)
    with engine.connect() as conn:
        by = {group: reports.summary(conn, site, period, group, now=at(28, 9, 0)) for group in ("counter", "clerk")}
    for group, names in (("counter", (1, 2)), ("clerk", (f"user:{an.user_id}", f"user:{chi.user_id}"))):
        rows = {r["key"]: r for r in by[group]["rows"]}
        assert None not in rows, f"by {group}: a row of nobody ({rows[None]['label']})"
        one, two = (rows[name] for name in names)
        assert (one["called"], one["wait"]["count"], one["wait"]["max"], one["served"]) == (2, 2, 1500.0, 0)
        assert (two["called"], two["wait"]["count"], two["served"]) == (1, 0, 1)
        total = by[group]["total"]
        assert (total["called"], total["expired"], total["served"], total["transferred"]) == (2, 1, 1, 0)
    engine.dispose()
