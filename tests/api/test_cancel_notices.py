"""Citizens told when the centre cancels their booking (docs/bookings.md, "When the centre cancels"): on a
real server whose clock reads 09:00 on a working day, a supervisor saves a holiday over booked days with
"confirm"; each citizen who opted in to be told gets one message on each channel they chose, in their
language, naming the day, the code and the reason, from a fake SMS gateway and a fake Zalo ZNS API (HTTP
on 127.0.0.1) and an SMTP sink that record what they get; on SQLite and on PostgreSQL. A citizen who
cancels their own booking is told nothing.

The repo's config.yaml: open 07:30-17:00 Monday to Saturday; HT takes bookings (15-minute slots, 6 days
ahead) and same-day remote numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time

import pytest
from api_helpers import ALL_DAY_HOURS, issue
from faked_clock import next_working_morning, on_a_working_morning
from notify_helpers import TOKENS, outside_servers, sms_texts
from sms_parts_helpers import sms_parts
from sqlalchemy import select, text

from queuekiosk.server.core import models as m
from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.models import utcnow
from queuekiosk.server.core.notifications import mask
from queuekiosk.server.web.sealing import address_box


@pytest.fixture
def outside():
    yield from outside_servers()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request) -> dict:
    """The server's environment for its database: its own SQLite file, or a migrated PostgreSQL one."""
    if request.param == "sqlite":
        return {}
    return {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")}


def _book(http, body: dict) -> dict:
    booked = http.post("/api/v1/bookings", json={"service": "HT", "name": "Nguyễn Văn An", **body})
    assert booked.status_code == 201, booked.text
    return booked.json()


def _opt_in(http, code: str, channel: str, address: str, language: str) -> None:
    opted = http.post(
        f"/api/v1/bookings/{code}/notifications", json={"channel": channel, "address": address, "language": language}
    )
    assert opted.status_code == 201, opted.text


def _wait_for_rows(server, query: str, wanted: list[tuple], seconds: float = 10) -> None:
    """Until ``query`` on the server's database gives ``wanted`` (what the worker marks after a message
    went lags its receipt a moment), at most ``seconds``."""
    engine = create_db_engine(server.database_url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            with engine.connect() as db:
                found = [tuple(row) for row in db.execute(text(query))]
            if found == wanted:
                return
            assert time.monotonic() < deadline, found
            time.sleep(0.1)
    finally:
        engine.dispose()


def _shown(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}"


def test_a_holiday_over_booked_days_tells_each_opted_in_citizen_once_on_each_channel(
    live_server, config_variant, outside, database, tmp_path
):
    sms, zalo, smtp, settings = outside
    config = config_variant()
    config["notifications"] = {**settings, "zalo": {**settings["zalo"], "template_cancelled": "303"}}
    server = live_server(config, env={**TOKENS, **database, **on_a_working_morning(tmp_path)})
    http, supervisor = server.session(), server.session()
    supervisor.headers["Authorization"] = f"Bearer {server.token('supervisor')}"
    today = dt.date.fromisoformat(issue(http, "CT")["business_day"])
    day = today + dt.timedelta(days=2)
    day = day if day.weekday() != 6 else day + dt.timedelta(days=1)  # (Sunday: closed already)

    slot = _book(http, {"date": day.isoformat(), "start": "10:00", "phone": "0912000001"})
    _opt_in(http, slot["code"], "sms", "0912 000 001", "vi")
    _opt_in(http, slot["code"], "email", "an.nguyen@example.vn", "en")
    _opt_in(http, slot["code"], "zalo", "0987 654 321", "vi")
    remote = _book(http, {"remote": True, "phone": "0912000002"})  # today's: its opt-in is its ticket's
    _opt_in(http, remote["code"], "sms", "0912000002", "vi")
    _opt_in(http, remote["code"], "zalo", "0912000002", "vi")
    own = _book(http, {"date": day.isoformat(), "start": "11:00", "phone": "0912000003"})
    _opt_in(http, own["code"], "sms", "0912000003", "vi")
    _opt_in(http, own["code"], "email", "binh@example.vn", "vi")
    # a citizen's own cancel: they know, nothing is sent
    assert http.delete(f"/api/v1/bookings/{own['code']}").status_code == 200

    holidays = supervisor.get("/api/v1/admin/site").json()["holidays"]
    wanted = {"holidays": [*holidays, today.isoformat(), day.isoformat()], "confirm": True}
    done = supervisor.patch("/api/v1/admin/site", json=wanted)
    assert done.status_code == 200, done.text

    texts = {json.loads(r.body)["to"]: json.loads(r.body)["text"] for r in sms.wait_for(2)}
    assert set(texts) == {"84912000001", "84912000002"}, sms_texts(sms)
    assert texts["84912000001"] == (
        f"Lịch hẹn {slot['code']} 10:00 ngày {_shown(day)} bị hủy vì trung tâm nghỉ ngày đó. Đặt lại: {server.url}/book"
    ), texts
    assert f"Lịch hẹn {remote['code']} ngày {_shown(today)} bị hủy vì trung tâm nghỉ ngày đó" in texts["84912000002"], (
        texts
    )
    [mail] = smtp.wait_for(1)
    assert mail["To"] == "an.nguyen@example.vn"
    assert mail["Subject"] == f"Your booking {slot['code']} has been cancelled"
    # an e-mail (no length limit) says which centre cancelled, as the SMS has no room to
    assert mail.get_content().startswith(
        f"{config['site']['name']}: Your booking {slot['code']} at 10:00 on {_shown(day)} has been cancelled"
        " because the centre is closed that day"
    ), mail.get_content()

    # by the template Zalo approved for it, with its own parameters: the reason as the SMS says it, and no
    # empty start for a remote number (a template can print only what it is given)
    told = {r.json["phone"]: r.json for r in zalo.wait_for(2)}
    assert told["84987654321"]["template_id"] == "303", told
    assert {k: told["84987654321"]["template_data"][k] for k in ("date", "start", "code", "reason", "when")} == {
        "date": _shown(day),
        "start": "10:00",
        "code": slot["code"],
        "reason": "trung tâm nghỉ ngày đó",
        "when": f"10:00 ngày {_shown(day)}",
    }
    remote_data = told["84912000002"]["template_data"]
    assert "start" not in remote_data and remote_data["when"] == f"ngày {_shown(today)}", remote_data

    sms.stays_at(2)  # once each, and nothing for the citizen who cancelled
    assert len(smtp.messages) == 1 and len(zalo.received) == 2, [m["To"] for m in smtp.messages]
    # nothing of the addresses is kept readable once told; the opt-ins went with the cancel
    _wait_for_rows(
        server, "SELECT status, address_sealed IS NULL, count(*) FROM cancel_notices GROUP BY 1, 2", [("sent", True, 5)]
    )
    _wait_for_rows(server, "SELECT count(*) FROM booking_opt_ins", [(0,)], seconds=0)


def test_a_holiday_saved_in_the_evening_for_the_next_day_is_told_at_once(
    live_server, config_variant, outside, tmp_path
):
    """Outside the opening hours (18:00, the centre closed at 17:00), unlike the queue's messages: held for
    the opening, a day made a holiday for tomorrow would be told on a day the centre does not open."""
    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["notifications"] = settings
    today = next_working_morning("18:00").date()  # (the day the server's clock reads)
    server = live_server(config, flags=(), env={**TOKENS, **on_a_working_morning(tmp_path, at="18:00")})
    http, supervisor = server.session(), server.session()
    supervisor.headers["Authorization"] = f"Bearer {server.token('supervisor')}"
    tomorrow = today + dt.timedelta(days=1 if today.weekday() != 5 else 2)  # (Sunday: closed already)
    booking = _book(http, {"date": tomorrow.isoformat(), "start": "08:00", "phone": "0912000001"})
    _opt_in(http, booking["code"], "sms", "0912000001", "vi")

    holidays = supervisor.get("/api/v1/admin/site").json()["holidays"]
    done = supervisor.patch("/api/v1/admin/site", json={"holidays": [*holidays, tomorrow.isoformat()], "confirm": True})
    assert done.status_code == 200, done.text
    [told] = sms.wait_for(1)
    assert f"{booking['code']} 08:00 ngày {_shown(tomorrow)} bị hủy vì trung tâm nghỉ ngày đó" in told.json["text"]


def test_a_channel_turned_off_before_its_notice_went_erases_its_address(live_server, config_variant, outside, tmp_path):
    """The SMS gateway refuses, so the notice waits for its retry; the admin turns SMS off meanwhile:
    nothing will send it now, so its address is not kept (Decree 13/2023), as an opt-in's is not."""
    sms, _zalo, smtp, settings = outside
    sms.answers = [500]
    config = config_variant()
    config["notifications"] = settings
    env = {**TOKENS, **on_a_working_morning(tmp_path), "QUEUEKIOSK_NOTIFY_RETRY_SECONDS": "3600"}
    server = live_server(config, env=env)
    http, admin = server.session(), server.session()
    admin.headers["Authorization"] = f"Bearer {server.token('admin')}"
    today = dt.date.fromisoformat(issue(http, "CT")["business_day"])
    day = today + dt.timedelta(days=2)
    day = day if day.weekday() != 6 else day + dt.timedelta(days=1)
    booking = _book(http, {"date": day.isoformat(), "start": "10:00", "phone": "0912000001"})
    _opt_in(http, booking["code"], "sms", "0912000001", "vi")
    _opt_in(http, booking["code"], "email", "an@example.vn", "vi")
    holidays = admin.get("/api/v1/admin/site").json()["holidays"]
    done = admin.patch("/api/v1/admin/site", json={"holidays": [*holidays, day.isoformat()], "confirm": True})
    assert done.status_code == 200, done.text
    sms.wait_for(1)  # refused: tried again in an hour
    smtp.wait_for(1)
    notices = "SELECT channel, status, address_sealed IS NULL FROM cancel_notices ORDER BY channel"
    _wait_for_rows(server, notices, [("email", "sent", True), ("sms", "pending", False)])

    off = admin.patch("/api/v1/admin/site", json={"notifications": {"channels": ["email", "zalo"]}})
    assert off.status_code == 200, off.text
    _wait_for_rows(server, notices, [("email", "sent", True), ("sms", "dropped", True)], seconds=0)


def _cancel_by_holiday(server, day: dt.date) -> None:
    supervisor = server.session()
    supervisor.headers["Authorization"] = f"Bearer {server.token('supervisor')}"
    holidays = supervisor.get("/api/v1/admin/site").json()["holidays"]
    done = supervisor.patch("/api/v1/admin/site", json={"holidays": [*holidays, day.isoformat()], "confirm": True})
    assert done.status_code == 200, done.text


def _booked_with_sms(server) -> tuple[dt.date, str]:
    """A slot two days ahead (a working day) booked with an SMS opt-in: its day and code."""
    http = server.session()
    today = dt.date.fromisoformat(issue(http, "CT")["business_day"])
    day = today + dt.timedelta(days=2 if (today + dt.timedelta(days=2)).weekday() != 6 else 3)
    booking = _book(http, {"date": day.isoformat(), "start": "10:00", "phone": "0912000001"})
    _opt_in(http, booking["code"], "sms", "0912000001", "vi")
    return day, booking["code"]


def _past_the_workers_first_round(server) -> None:
    """Once the delivery worker's first round, which ends the opt-ins and notices on channels not offered
    (its sweep), is over: two events recorded one after the other, each seen dispatched, went in two rounds."""
    http = server.session()
    for _ in range(2):
        issue(http, "CT")
        _wait_for_rows(server, "SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL", [(0,)])


def _offering_sms_only(live_server, config_variant, settings, tmp_path):
    """A server offering SMS only, past its worker's first round (whose sweep ends what is not offered),
    and its secret key (to seal addresses as another process of the centre would)."""
    config = config_variant()
    config["notifications"] = {**settings, "channels": ["sms"]}
    key = secrets.token_hex(32)
    server = live_server(config, env={**TOKENS, **on_a_working_morning(tmp_path), "QUEUEKIOSK_SECRET_KEY": key})
    _past_the_workers_first_round(server)
    return server, key


def test_a_notice_on_a_channel_the_delivering_process_has_not_heard_of_yet_waits_for_it(
    live_server, config_variant, outside, tmp_path
):
    """Another process of the centre turned e-mail on a moment ago and took a citizen's opt-in on it; the
    process that delivers has not read that setup yet. The centre's cancel makes an e-mail notice this
    process does not offer: it waits, its address kept (not dropped: the citizen would never be told),
    and goes once this process offers e-mail too."""
    sms, _zalo, smtp, settings = outside
    server, key = _offering_sms_only(live_server, config_variant, settings, tmp_path)
    http = server.session()
    today = dt.date.fromisoformat(issue(http, "CT")["business_day"])
    day = today + dt.timedelta(days=2 if (today + dt.timedelta(days=2)).weekday() != 6 else 3)
    booking = _book(http, {"date": day.isoformat(), "start": "10:00", "phone": "0912000001"})
    _seal_email_opt_in(server, key, booking["code"])
    _opt_in(http, booking["code"], "sms", "0912000001", "vi")
    _cancel_by_holiday(server, day)
    sms.wait_for(1)  # (the e-mail notice, made first, is not even picked: e-mail is not offered here)
    notices = "SELECT channel, status, address_sealed IS NULL FROM cancel_notices ORDER BY channel"
    _wait_for_rows(server, notices, [("email", "pending", False), ("sms", "sent", True)])

    admin = server.session()
    admin.headers["Authorization"] = f"Bearer {server.token('admin')}"
    on = admin.patch("/api/v1/admin/site", json={"notifications": {"channels": ["sms", "email"]}})
    assert on.status_code == 200, on.text
    [mail] = smtp.wait_for(1)
    assert mail["To"] == "an@example.vn" and f"Lịch hẹn {booking['code']} " in mail.get_content()
    _wait_for_rows(server, notices, [("email", "sent", True), ("sms", "sent", True)])


def _seal_email_opt_in(server, key: str, code: str) -> None:
    """An e-mail opt-in on booking ``code``, sealed with the centre's ``key``, as another process of the
    centre, which offers e-mail, took it (this one does not)."""
    engine = create_db_engine(server.database_url)
    try:
        with engine.begin() as db:
            db.execute(
                text(
                    "INSERT INTO booking_opt_ins (booking_id, channel, address_sealed, address_masked, language,"
                    " created_at) SELECT id, 'email', :sealed, :masked, 'vi', :now FROM bookings WHERE code = :code"
                ),
                {
                    "sealed": address_box(key).seal("an@example.vn"),
                    "masked": mask("an@example.vn"),
                    "now": utcnow(),
                    "code": code,
                },
            )
    finally:
        engine.dispose()


def test_notices_on_a_channel_the_delivering_process_does_not_offer_hold_back_no_other(
    live_server, config_variant, outside, tmp_path
):
    """Another process of the centre, which offers e-mail, cancelled 120 bookings whose citizens opted in by
    e-mail; the process that delivers does not offer e-mail (yet). Their notices wait, their addresses kept,
    and are not even read: a newer cancel's SMS goes at once, not held back behind them until the sweep."""
    sms, _zalo, _smtp, settings = outside
    server, key = _offering_sms_only(live_server, config_variant, settings, tmp_path)
    day, code = _booked_with_sms(server)
    B, C = m.bookings, m.cancel_notices
    engine = create_db_engine(server.database_url)
    try:
        with engine.begin() as db:  # as the other process wrote them: the bookings cancelled, a notice each
            booked = db.execute(select(B).where(B.c.code == code)).one()._asdict()
            now = utcnow()
            for n in range(120):
                other = {k: v for k, v in booked.items() if k != "id"} | {
                    "code": f"KHAC{n:04d}",
                    "status": "cancelled",
                    "cancelled_at": now,
                    "cancel_reason": "closed_day",
                }
                booking_id = db.execute(B.insert().values(other)).inserted_primary_key[0]
                address = f"dan{n}@example.vn"
                db.execute(
                    C.insert().values(
                        site_id=booked["site_id"],
                        booking_id=booking_id,
                        channel="email",
                        address_sealed=address_box(key).seal(address),
                        address_masked=mask(address),
                        language="vi",
                        params={
                            "site": "UBND",
                            "date": _shown(day),
                            "start": "10:00",
                            "code": other["code"],
                            "reason": "closed_day",
                        },
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
    finally:
        engine.dispose()
    _cancel_by_holiday(server, day)
    [told] = sms.wait_for(1)
    assert told.json["text"].startswith(f"Lịch hẹn {code} "), told.json["text"]
    _wait_for_rows(
        server,
        "SELECT channel, status, address_sealed IS NULL, count(*) FROM cancel_notices GROUP BY 1, 2, 3 ORDER BY 1",
        [("email", "pending", False, 120), ("sms", "sent", True, 1)],
    )


def test_a_notice_on_a_channel_still_not_offered_at_the_workers_start_is_ended_by_its_sweep(
    live_server, config_variant, outside, tmp_path
):
    """An e-mail notice waiting as in the test of a process that has not heard of e-mail yet, but e-mail is
    not turned on here after all (the other process's setup was overwritten): at the next start the
    worker's sweep drops it, its address erased."""
    sms, _zalo, _smtp, settings = outside
    server, key = _offering_sms_only(live_server, config_variant, settings, tmp_path)
    day, code = _booked_with_sms(server)
    _seal_email_opt_in(server, key, code)
    _cancel_by_holiday(server, day)
    sms.wait_for(1)
    notices = "SELECT channel, status, address_sealed IS NULL FROM cancel_notices ORDER BY channel"
    _wait_for_rows(server, notices, [("email", "pending", False), ("sms", "sent", True)])
    server.restart()
    _wait_for_rows(server, notices, [("email", "dropped", True), ("sms", "sent", True)], seconds=20)


def test_a_notice_cut_off_by_a_restart_is_given_up_and_its_address_erased(
    live_server, config_variant, outside, tmp_path
):
    """The server stops (an upgrade) while the SMS gateway holds its answer: the notice may have gone, so
    it is not sent again (as the queue's notices), and its address is not kept for a message never sent."""
    sms, _zalo, _smtp, settings = outside
    sms.answers = ["hang"]
    config = config_variant()
    config["notifications"] = {**settings, "sms": {**settings["sms"], "timeout_seconds": 30}}
    server = live_server(config, env={**TOKENS, **on_a_working_morning(tmp_path)})
    _cancel_by_holiday(server, _booked_with_sms(server)[0])
    sms.wait_for(1)
    notices = "SELECT status, address_sealed IS NULL FROM cancel_notices"
    _wait_for_rows(server, notices, [("sending", False)], seconds=0)
    server.restart()
    _wait_for_rows(server, notices, [("failed", True)])
    assert len(sms.received) == 1


def test_a_notice_whose_address_cannot_be_opened_is_given_up_and_its_address_erased(
    live_server, config_variant, outside, tmp_path
):
    """The secret key was replaced (docs/deployment.md) after the citizen opted in: the address sealed with
    the old one can never be opened, so the notice ends failed, its sealed address erased, not stuck."""
    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["notifications"] = settings
    server = live_server(
        config, env={**TOKENS, **on_a_working_morning(tmp_path), "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(32)}
    )
    day, _code = _booked_with_sms(server)
    server.stop()
    server.env["QUEUEKIOSK_SECRET_KEY"] = secrets.token_hex(32)  # (the old one lost, say)
    server.start()
    _cancel_by_holiday(server, day)
    _wait_for_rows(server, "SELECT status, address_sealed IS NULL FROM cancel_notices", [("failed", True)])
    server.wait_log("given up: its address was sealed with another secret key", 10)
    assert sms.received == []


def test_a_zalo_message_without_its_template_is_dropped_with_a_warning(live_server, config_variant, outside, tmp_path):
    """No template approved for cancellations: the Zalo messages cannot go (the SMS does), and the log says
    so in one line for them all (a holiday cancels hundreds), without the citizens' numbers, so the admin
    can tell why Zalo said nothing."""
    sms, zalo, _smtp, settings = outside
    config = config_variant()
    config["notifications"] = settings  # (no zalo.template_cancelled)
    server = live_server(config, env={**TOKENS, **on_a_working_morning(tmp_path)})
    day, code = _booked_with_sms(server)
    _opt_in(server.session(), code, "zalo", "0987654321", "vi")
    other = _book(server.session(), {"date": day.isoformat(), "start": "10:15", "phone": "0987654322"})
    _opt_in(server.session(), other["code"], "zalo", "0987654322", "vi")
    _cancel_by_holiday(server, day)
    sms.wait_for(1)
    notices = "SELECT channel, status, address_sealed IS NULL FROM cancel_notices ORDER BY channel, id"
    _wait_for_rows(server, notices, [("sms", "sent", True), ("zalo", "dropped", True), ("zalo", "dropped", True)])
    server.wait_log("template_cancelled", 10)  # (said once the worker's round is over: after the SMS went)
    warned = [line for line in server.log().splitlines() if "template_cancelled" in line]
    assert len(warned) == 1 and "WARNING" in warned[0] and "98765432" not in warned[0], warned
    assert "2 cancel notices by zalo dropped" in warned[0], warned
    assert zalo.received == []


def test_a_retired_sites_citizen_is_told_where_to_book_now(live_server, config_variant, outside, tmp_path):
    """A site retired into a merged one: its booking's citizen is told the merged site's name and booking page."""
    server, text, booking = _told_of_a_retirement(live_server, config_variant, outside, tmp_path, "Xã Phú Mới", "vi")
    assert text.startswith(f"Lịch hẹn {booking['code']} "), text
    assert text.endswith(f" bị hủy vì chuyển về Xã Phú Mới: {server.url}/s/xa-moi/book"), text


def test_a_successors_name_too_long_for_two_sms_parts_is_said_a_new_office(
    live_server, config_variant, outside, tmp_path
):
    """A merged site's official name of 60 characters would make the Vietnamese SMS a third part (over 134
    UTF-16 units): it says "điểm mới" (a new office) with that site's booking page instead."""
    new_name = "Bộ phận Tiếp nhận và Trả kết quả UBND phường Phúc La, Hà Đông"
    server, text, booking = _told_of_a_retirement(live_server, config_variant, outside, tmp_path, new_name, "vi")
    code, start, day = booking["code"], booking["start"], dt.date.fromisoformat(booking["date"])
    named = f"Lịch hẹn {code} {start} ngày {_shown(day)} bị hủy vì chuyển về {new_name}: {server.url}/s/xa-moi/book"
    assert text == named.replace(new_name, "điểm mới"), text
    assert sms_parts(text) <= 2 < sms_parts(named), (len(text), len(named))


def test_a_successors_short_sms_name_is_said_where_its_official_name_is_too_long(
    live_server, config_variant, outside, tmp_path
):
    """The merged site's own short name for SMS (site.sms_name, set on the sites tab) is said in place of its
    60-letter official name, which the SMS could not hold."""
    new_name = "Bộ phận Tiếp nhận và Trả kết quả UBND phường Phúc La, Hà Đông"
    server, text, booking = _told_of_a_retirement(
        live_server, config_variant, outside, tmp_path, new_name, "vi", sms_name="TTHCC Phúc La"
    )
    code, start, day = booking["code"], booking["start"], dt.date.fromisoformat(booking["date"])
    link = f"{server.url}/s/xa-moi/book"
    assert text == f"Lịch hẹn {code} {start} ngày {_shown(day)} bị hủy vì chuyển về TTHCC Phúc La: {link}", text
    assert sms_parts(text) <= 2, len(text)


def test_a_plain_english_cancel_sms_names_a_successor_that_fits_two_plain_parts(
    live_server, config_variant, outside, tmp_path
):
    """An English SMS with no Vietnamese letter goes in GSM 7-bit (153 characters a part, not 67): a successor
    with a long plain name is still named, though the text is longer than two parts with Vietnamese letters."""
    new_name = "Phuc La Ward Public Administrative Service Centre - One-Stop Office"  # (67 characters)
    server, text, booking = _told_of_a_retirement(live_server, config_variant, outside, tmp_path, new_name, "en")
    code, start, day = booking["code"], booking["start"], dt.date.fromisoformat(booking["date"])
    assert text == (
        f"Booking {code} at {start} on {_shown(day)} cancelled, moved to {new_name}: {server.url}/s/xa-moi/book"
    ), text
    assert 134 < len(text) <= 2 * 153 and text.isascii(), len(text)


def test_an_sms_sent_without_diacritics_names_a_successors_long_official_name(
    live_server, config_variant, outside, tmp_path
):
    """The SMS gateway set to send without diacritics ("SMS: bỏ dấu tiếng Việt"): the Vietnamese text goes
    in GSM 7-bit as the English one, so a successor's official name of 48 characters is still named."""
    new_name = "Trung tâm Phục vụ hành chính công phường Phúc La"
    server, text, booking = _told_of_a_retirement(
        live_server, config_variant, outside, tmp_path, new_name, "vi", no_diacritics=True
    )
    code, start, day = booking["code"], booking["start"], dt.date.fromisoformat(booking["date"])
    assert text == (
        f"Lich hen {code} {start} ngay {_shown(day)} bi huy vi chuyen ve "
        f"Trung tam Phuc vu hanh chinh cong phuong Phuc La: {server.url}/s/xa-moi/book"
    ), text
    assert 134 < len(text) <= 2 * 153, len(text)  # (with its diacritics: over the 134 of two parts)


def _told_of_a_retirement(
    live_server,
    config_variant,
    outside,
    tmp_path,
    successor: str,
    language: str,
    no_diacritics: bool = False,
    sms_name: str | None = None,
) -> tuple:
    """A server with sites xa-cu and xa-moi (named ``successor``, its short name for SMS ``sms_name``, set
    on the sites tab); a citizen's slot at xa-cu two days ahead, opted in by SMS in ``language`` (xa-cu's SMS
    gateway sending without diacritics if ``no_diacritics``); xa-cu retired into xa-moi. (The server, the SMS
    it sent, the booking.)"""
    sms, _zalo, _smtp, settings = outside
    if no_diacritics:
        settings = {**settings, "sms": {**settings["sms"], "no_diacritics": True}}
    config = config_variant()
    config["notifications"] = settings
    server = live_server(config, env={**TOKENS, **on_a_working_morning(tmp_path)})
    admin, http = server.session(), server.session()
    admin.headers["Authorization"] = f"Bearer {server.token('admin')}"
    for site_id, name in (("xa-cu", "Xã Phú Cũ"), ("xa-moi", successor)):
        body = {"id": site_id, "name": name, "timezone": "Asia/Ho_Chi_Minh", "hours": ALL_DAY_HOURS}
        made = admin.post("/api/v1/admin/sites", json=body)
        assert made.status_code == 201, made.text
    assert admin.patch("/api/v1/sites/xa-cu/admin/site", json={"notifications": settings}).status_code == 200
    if sms_name is not None:
        assert admin.patch("/api/v1/admin/sites/xa-moi", json={"sms_name": sms_name}).status_code == 200
    later = (dt.date.fromisoformat(issue(http, "CT")["business_day"]) + dt.timedelta(days=2)).isoformat()
    start = http.get("/api/v1/sites/xa-cu/services/HT/slots", params={"date": later}).json()[0]["start"]
    body = {"service": "HT", "date": later, "start": start, "name": "Lê Văn C", "phone": "0987654321"}
    booked = http.post("/api/v1/sites/xa-cu/bookings", json=body)
    assert booked.status_code == 201, booked.text
    opted = http.post(
        f"/api/v1/sites/xa-cu/bookings/{booked.json()['code']}/notifications",
        json={"channel": "sms", "address": "0987654321", "language": language},
    )
    assert opted.status_code == 201, opted.text
    retired = admin.patch("/api/v1/admin/sites/xa-cu", json={"retired": True, "moved_to": "xa-moi"})
    assert retired.status_code == 200, retired.text
    [told] = sms.wait_for(1)
    return server, told.json["text"], {**body, "code": booked.json()["code"]}
