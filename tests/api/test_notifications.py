"""Citizens told their turn is near (SPEC "Events out", issue 15): the real server sends to a fake
SMS gateway, a fake Zalo ZNS API (both HTTP servers on 127.0.0.1) and an SMTP sink, which record
what they get: the right text at N ahead and at the call, once each, even across a restart; a
channel that is down holds up nothing and is tried again; nothing goes out outside the hours.

The repo's config.yaml: counter 1 serves HT only.
"""

from __future__ import annotations

import base64
import email.utils
import json
import os
import re
import sqlite3
import time
import urllib.parse

import pytest
from api_helpers import PASSWORD, SUPERVISOR, assert_error, issue, log_in
from notify_helpers import TOKENS, call_next, opt_in, outside_servers, sms_texts

# the worker looks for retries come due every 0.2 s instead of every second (QUEUEKIOSK_DELIVERY_POLL_SECONDS)
POLL = 0.2
QUICK = {**TOKENS, "QUEUEKIOSK_DELIVERY_POLL_SECONDS": str(POLL)}


@pytest.fixture
def outside():
    """The SMS gateway, the Zalo API and the SMTP server, and the config section that uses them."""
    yield from outside_servers()


def start(live_server, config_variant, settings, env=None, **kwargs):
    config = config_variant()
    config["notifications"] = settings
    return live_server(config, env={**QUICK, **(env or {})}, **kwargs)


def test_each_citizen_hears_once_when_near_and_once_when_called(live_server, config_variant, outside):
    sms, zalo, smtp, settings = outside
    srv = start(live_server, config_variant, settings)
    t1, t2, t3, t4, t5 = (issue(srv.session(), "HT") for _ in range(5))
    assert opt_in(srv, t5, "sms", "0912 345 678")["address"] == "091****678"
    assert opt_in(srv, t4, "email", "an.nguyen@example.vn", "en")["address"] == "a***@example.vn"
    opt_in(srv, t3, "zalo", "+84 987 654 321")  # 2 ahead already: told at once
    [near3] = zalo.wait_for(1)
    assert json.loads(near3.body)["template_id"] == "301" and near3.headers["access_token"] == "zalo-secret-2"
    assert json.loads(near3.body)["phone"] == "84987654321"
    assert json.loads(near3.body)["template_data"]["ahead"] == "2"

    assert call_next(srv)["id"] == t1["id"]  # t4: 2 ahead
    [near4] = smtp.wait_for(1)
    assert near4["To"] == "an.nguyen@example.vn" and near4["Subject"] == f"Your turn is near – number {t4['number']}"
    assert "2 more numbers before your turn" in near4.get_content()
    call_next(srv)  # t2 called: t5 has 2 ahead, t3 none (it was told already)
    [near5] = sms.wait_for(1)
    assert near5.headers["Authorization"] == "Bearer sms-secret-1"
    assert json.loads(near5.body)["to"] == "84912345678"
    assert json.loads(near5.body)["text"].endswith(
        f"còn 2 số nữa đến lượt Ông/Bà (số {t5['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )
    call_next(srv)  # t3 called
    called3 = zalo.wait_for(2)[1]
    assert json.loads(called3.body)["template_id"] == "302"
    assert json.loads(called3.body)["template_data"]["counter"] == "1"

    srv.restart()  # nothing is sent again
    call_next(srv)  # t4
    smtp.wait_for(2)  # (before t4 is served: a message that no longer holds is not sent)
    call_next(srv)  # t5
    sms.wait_for(2)
    assert sms_texts(sms)[1].endswith(f"Mời Ông/Bà đến quầy 1 (số {t5['number']}).")
    assert smtp.messages[1]["Subject"] == f"Please go to counter 1 – number {t4['number']}"
    for mail in smtp.messages:  # as RFC 5322 asks: a receiving server may refuse a message without them
        assert email.utils.parsedate_to_datetime(mail["Date"]).tzinfo is not None, mail["Date"]
        assert re.fullmatch(r"<[^<>@\s]+@phucla\.example\.vn>", mail["Message-ID"]), mail["Message-ID"]
    assert smtp.messages[0]["Message-ID"] != smtp.messages[1]["Message-ID"]
    sms.stays_at(2)
    assert len(zalo.received) == 2 and len(smtp.messages) == 2

    # the addresses were never kept readable; once the tickets are served they are gone
    finished = srv.session().post(
        "/api/v1/counters/1/finish", headers={"Authorization": f"Bearer {srv.token('counter', 1)}"}
    )
    assert finished.status_code == 200, finished.text
    deadline = time.monotonic() + 10
    while srv.session().get(f"/api/v1/tickets/{t5['id']}/notifications").json()["subscriptions"]:
        assert time.monotonic() < deadline, "the served ticket's opt-in did not end"
        time.sleep(0.1)
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        dump = "\n".join(db.iterdump())
        sealed = db.execute("SELECT count(*) FROM notification_subscriptions WHERE address_sealed IS NOT NULL")
        assert sealed.fetchone() == (0,)
    for secret in ("912345678", "987654321", "an.nguyen"):
        assert secret not in dump and secret not in srv.log()


def test_with_the_centre_s_default_a_citizen_hears_at_three_ahead_and_when_called(live_server, config_variant, outside):
    """Issue 15's "done when": N not set (3 by default); one message at three ahead, one at the call."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, {"channels": ["sms"], "sms": settings["sms"]})
    tickets = [issue(srv.session(), "HT") for _ in range(5)]
    mine = tickets[4]
    opt_in(srv, mine, "sms", "0912345678")  # four ahead
    sms.stays_at(0, seconds=1)
    call_next(srv)  # three ahead
    [near] = sms.wait_for(1)
    assert json.loads(near.body)["text"].endswith(
        f"còn 3 số nữa đến lượt Ông/Bà (số {mine['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )
    for _ in range(4):  # two, one, none ahead (told already), then called
        call_next(srv)
    called = sms.wait_for(2)[1]
    assert json.loads(called.body)["text"].endswith(f"Mời Ông/Bà đến quầy 1 (số {mine['number']}).")
    sms.stays_at(2)


def test_a_number_requeued_and_called_again_at_the_same_counter_is_told_again(live_server, config_variant, outside):
    """The counter closed under the number (the citizen may have gone out to wait): back in the queue and
    near the front again, the citizen is told so again, once; when the counter reopens and calls the
    number again the citizen hears it again; a recall then sends nothing new."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, {"channels": ["sms"], "sms": settings["sms"]})
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    mine = issue(srv.session(), "HT")
    opt_in(srv, mine, "sms", "0912345678")  # first in line: told so at once
    sms.wait_for(1)
    assert call_next(srv)["id"] == mine["id"]
    sms.wait_for(2)
    assert sms_texts(sms)[1].endswith(f"Mời Ông/Bà đến quầy 1 (số {mine['number']}).")

    closed = log_in(srv, SUPERVISOR).post("/api/v1/counters/1/close", json={"requeue": mine["number"]})
    assert closed.status_code == 200, closed.text
    sms.wait_for(3)  # waiting again, first in line: told so again
    assert f"Ông/Bà là người tiếp theo (số {mine['number']})" in sms_texts(sms)[2]
    sms.stays_at(3, seconds=1)  # once
    assert call_next(srv)["id"] == mine["id"]  # the counter opens again and calls it
    sms.wait_for(4)
    assert sms_texts(sms)[3].endswith(f"Mời Ông/Bà đến quầy 1 (số {mine['number']}).")

    recalled = srv.session().post(
        "/api/v1/counters/1/recall", headers={"Authorization": f"Bearer {srv.token('counter', 1)}"}
    )
    assert recalled.status_code == 200, recalled.text
    sms.stays_at(4)


def test_a_number_transferred_to_a_counter_that_closes_is_told_again_when_near(live_server, config_variant, outside):
    """Sent to counter 2 alone, first in its queue: told it is next there (another queue than the one it
    was told near in). Counter 2 then closes: the number is back in its service's queue, first in line,
    and its citizen is told so again, once; another counter's call is told too."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, {"channels": ["sms"], "sms": settings["sms"]})
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    mine = issue(srv.session(), "HT")
    opt_in(srv, mine, "sms", "0912345678")
    sms.wait_for(1)
    assert call_next(srv)["id"] == mine["id"]
    sms.wait_for(2)
    keypads = {number: {"Authorization": f"Bearer {srv.token('counter', number)}"} for number in (1, 2)}
    assert srv.session().post("/api/v1/counters/2/open", headers=keypads[2]).status_code == 200
    sent = srv.session().post("/api/v1/counters/1/transfer", json={"counter": 2}, headers=keypads[1])
    assert sent.status_code == 200, sent.text
    sms.wait_for(3)  # next at counter 2
    assert f"Ông/Bà là người tiếp theo (số {mine['number']})" in sms_texts(sms)[2]

    closed = log_in(srv, SUPERVISOR).post("/api/v1/counters/2/close", json={})
    assert closed.status_code == 200, closed.text
    sms.wait_for(4)
    assert f"Ông/Bà là người tiếp theo (số {mine['number']})" in sms_texts(sms)[3]
    sms.stays_at(4, seconds=1)  # once
    assert call_next(srv)["id"] == mine["id"]  # counter 1 calls it from its service's queue
    sms.wait_for(5)
    assert sms_texts(sms)[4].endswith(f"Mời Ông/Bà đến quầy 1 (số {mine['number']}).")


def test_a_number_sent_to_another_service_s_counter_is_near_by_that_counter_s_queue(
    live_server, config_variant, outside
):
    """A DC number sent to counter 5 (LD and VH) waits behind counter 5's citizens, not at the head of
    DC's queue: not told "near" while counter 5 is closed, nor while 4 LD citizens are ahead; told once
    2 are left (the centre's ``ahead``), with that count. The citizen opted in at the kiosk and was told
    near at DC's queue before its first call: counter 5's queue is another, and tells it again."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, {"ahead": 2, "channels": ["sms"], "sms": settings["sms"]})
    http = srv.session()
    for _ in range(4):
        issue(http, "LD")
    mine = issue(http, "DC")
    opt_in(srv, mine, "sms", "0912345678")
    keypads = {number: {"Authorization": f"Bearer {srv.token('counter', number)}"} for number in (4, 5)}
    assert http.post("/api/v1/counters/4/open", headers=keypads[4]).status_code == 200
    sms.wait_for(1)  # near at DC's queue: first in it
    assert call_next(srv, 4)["id"] == mine["id"]
    sms.wait_for(2)  # called to counter 4
    sent = http.post("/api/v1/counters/4/transfer", json={"counter": 5}, headers=keypads[4])
    assert sent.status_code == 200 and sent.json()["waiting_ahead"] == 4, sent.text
    sms.stays_at(2, seconds=1)  # counter 5 is closed: nobody will call it yet (first in DC's queue, though)
    assert http.post("/api/v1/counters/5/open", headers=keypads[5]).status_code == 200
    assert call_next(srv, 5)["service"] == "LD"
    sms.stays_at(2, seconds=1)  # 3 LD citizens ahead at counter 5
    assert call_next(srv, 5)["service"] == "LD"
    near = sms.wait_for(3)[2]
    assert json.loads(near.body)["text"].endswith(
        f"còn 2 số nữa đến lượt Ông/Bà (số {mine['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )


def test_a_near_notice_left_to_retry_is_void_once_the_number_is_requeued(live_server, config_variant, outside):
    """The gateway failed the first "là người tiếp theo"; before its retry the number was called and put
    back in the queue by its counter's close, and told it is next again: the old notice is not sent
    after it, so the citizen does not get the same text twice."""
    sms, _zalo, _smtp, settings = outside
    retry = {"QUEUEKIOSK_NOTIFY_RETRY_SECONDS": "4,4,30,60,120,300"}
    srv = start(live_server, config_variant, {"channels": ["sms"], "sms": settings["sms"]}, env=retry)
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    mine = issue(srv.session(), "HT")
    sms.answers = [500]  # the first text fails: tried again 4 s later
    opt_in(srv, mine, "sms", "0912345678")
    sms.wait_for(1)
    failed = time.monotonic()  # (the server has its answer after this)
    assert call_next(srv)["id"] == mine["id"]
    closed = log_in(srv, SUPERVISOR).post("/api/v1/counters/1/close", json={"requeue": mine["number"]})
    assert closed.status_code == 200, closed.text
    sms.wait_for(2)
    # past the first one's retry (4 s after it failed, seen at the worker's next look), void now, with
    # 1.5 s to spare: no second "next" text after the failed one
    time.sleep(max(0, failed + 4 + POLL + 1.5 - time.monotonic()))
    told = [text for text in sms_texts(sms) if f"Ông/Bà là người tiếp theo (số {mine['number']})" in text]
    assert len(told) == 2, sms_texts(sms)  # the failed attempt, then once


def test_a_channel_that_is_down_holds_up_nothing_and_is_tried_again(live_server, config_variant, outside):
    sms, _zalo, _smtp, settings = outside
    # retried after 1 s and 2 s instead of 5 s and 15 s (QUEUEKIOSK_NOTIFY_RETRY_SECONDS): the same steps, sooner
    srv = start(live_server, config_variant, settings, env={"QUEUEKIOSK_NOTIFY_RETRY_SECONDS": "1,2,30,60,120,300"})
    first = issue(srv.session(), "HT")
    sms.answers = ["hang", 500]  # no answer within the timeout, then an error, then accepted
    opt_in(srv, first, "sms", "0912345678")
    sms.wait_for(1)
    numbers = [issue(srv.session(), "HT")["number"] for _ in range(20)]  # the gateway still hangs meanwhile
    assert numbers == list(range(first["number"] + 1, first["number"] + 21))
    got = sms.wait_for(3, timeout=30)  # the first one is still unanswered (sms.release() comes at the end)
    assert len({r.body for r in got}) == 1 and "Ông/Bà là người tiếp theo" in sms_texts(sms)[0]
    sms.stays_at(3, seconds=1)


def test_notices_on_a_channel_the_delivering_process_does_not_offer_hold_back_no_other(
    live_server, config_variant, outside
):
    """Another process of the centre, which offers e-mail, took 120 citizens' e-mail opt-ins and made their
    notices; the process that delivers does not offer e-mail (yet). Those wait, their addresses kept, and are
    not even read: a newer notice by SMS goes at once, not held back behind them until the sweep."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, {**settings, "channels": ["sms"]})
    opt_in(srv, issue(srv.session(), "HT"), "sms", "0912000001")  # the next: told at once
    sms.wait_for(1)
    call_next(srv)  # told in a later round: the worker's first, whose sweep ends what is not offered, is over
    sms.wait_for(2)
    waiting = [issue(srv.session(), "HT") for _ in range(120)]
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        db.executemany(
            "INSERT INTO notification_subscriptions (site_id, ticket_id, channel, address_sealed, address_masked,"
            " language, created_at) SELECT site_id, id, 'email', 'sealed', 'a***@example.vn', 'vi', ? FROM tickets"
            " WHERE public_id = ?",
            [(now, ticket["id"]) for ticket in waiting],
        )
        db.execute(
            "INSERT INTO notices (subscription_id, key, params, status, attempts, next_attempt_at, created_at)"
            " SELECT id, 'near:HT', json_object('site', 'UBND', 'number', 1, 'ahead', 2), 'pending', 0, ?, ?"
            " FROM notification_subscriptions WHERE channel = 'email'",
            (now, now),
        )
    opt_in(srv, issue(srv.session(), "CT"), "sms", "0912000002")  # the next at CT: told at once
    sms.wait_for(3)
    assert "Ông/Bà là người tiếp theo" in sms_texts(sms)[2]
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        held = db.execute(
            "SELECT count(*) FROM notices JOIN notification_subscriptions s ON s.id = subscription_id"
            " WHERE s.channel = 'email' AND status = 'pending' AND s.address_sealed IS NOT NULL"
        )
        assert held.fetchone() == (120,)


def test_sms_gateways_of_other_shapes_get_what_their_templates_say(live_server, config_variant, outside):
    """A gateway taking a GET with the phone, the text and its key in the URL (eSMS's form), Vietnamese
    without diacritics, a local phone number; and one taking a form body with +84 numbers."""
    sms, _zalo, _smtp, _settings = outside
    key = {"TEST_SMS_KEY": "esms-key-3&4"}  # read from the environment when sending, URL-encoded in the URL
    srv = start(
        live_server,
        config_variant,
        {
            "ahead": 1,
            "channels": ["sms"],
            "sms": {
                "url": sms.url + "?Phone={phone}&Content={text}&ApiKey=${TEST_SMS_KEY}&Brandname=PHUCLA&SmsType=2",
                "method": "GET",
                "phone_format": "0",
                "no_diacritics": True,
            },
        },
        env=key,
    )
    ticket = issue(srv.session(), "HT")
    opt_in(srv, ticket, "sms", "+84 912 345 678")
    [got] = sms.wait_for(1)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(got.path).query)
    assert query["Phone"] == ["0912345678"] and query["ApiKey"] == ["esms-key-3&4"] and query["SmsType"] == ["2"]
    assert query["Content"][0].endswith(
        f"Ong/Ba la nguoi tiep theo (so {ticket['number']}). Moi Ong/Ba quay lai khu vuc cho."
    )
    assert got.body == b""
    saved = srv.session().get("/api/v1/admin/site", headers={"Authorization": f"Bearer {srv.token('admin')}"})
    assert "esms-key" not in saved.text  # the setup names the variable, never its value

    srv.stop()
    form = start(
        live_server,
        config_variant,
        {
            "ahead": 1,
            "channels": ["sms"],
            "sms": {
                "url": sms.url,
                "content_type": "application/x-www-form-urlencoded",
                "body": "to={phone}&message={text}&from=PHUCLA&key=${TEST_SMS_KEY}",
                "phone_format": "+84",
            },
        },
        env=key,
    )
    other = issue(form.session(), "HT")
    opt_in(form, other, "sms", "0987 654 321")
    got = sms.wait_for(2)[1]
    fields = urllib.parse.parse_qs(got.body.decode())
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert fields["to"] == ["+84987654321"] and fields["key"] == ["esms-key-3&4"] and fields["from"] == ["PHUCLA"]
    assert fields["message"][0].endswith(
        f"Ông/Bà là người tiếp theo (số {other['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )


def test_a_message_cut_off_by_a_kill_9_is_not_sent_again(live_server, config_variant, outside):
    """Never twice: the gateway has the "near" message but has not answered when the server is
    killed; after the restart the citizen gets only the call."""
    sms, _zalo, _smtp, settings = outside
    srv = start(
        live_server, config_variant, {**settings, "ahead": 1, "sms": {**settings["sms"], "timeout_seconds": 30}}
    )
    ticket = issue(srv.session(), "HT")
    sms.answers = ["hang"]
    opt_in(srv, ticket, "sms", "0912345678")
    sms.wait_for(1)  # in flight
    srv.stop(graceful=False)  # kill -9
    sms.release()
    srv.start()
    call_next(srv)
    got = sms.wait_for(2)
    assert sms_texts(sms)[0].endswith(
        f"Ông/Bà là người tiếp theo (số {ticket['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )
    assert sms_texts(sms)[1].endswith(f"Mời Ông/Bà đến quầy 1 (số {ticket['number']}).")
    assert len({r.body for r in got}) == 2
    sms.stays_at(2)


def test_no_message_outside_the_site_s_hours(live_server, config_variant, outside, tmp_path):
    from faked_clock import FakedClock, next_working_morning

    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["site"]["hours"] = {
        "open": "00:00",
        "close": "23:59",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }
    config["notifications"] = settings
    # the server at 09:00 (libfaketime): open whatever the real hour, 23:59 included, and today stays
    # the holiday made below (on the real clock the site's midnight, 17:00 UTC, could come between)
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    srv = live_server(config, flags=(), env={**QUICK, **clock.env()})
    tickets = [issue(srv.session(), "HT") for _ in range(4)]
    opt_in(srv, tickets[2], "sms", "0912345678")  # 2 ahead, and open: told at once
    sms.wait_for(1)
    opt_in(srv, tickets[3], "sms", "0987654321")  # 3 ahead: nothing yet
    today = clock.start.date().isoformat()
    closed = srv.session().patch(
        "/api/v1/admin/site", json={"holidays": [today]}, headers={"Authorization": f"Bearer {srv.token('admin')}"}
    )
    assert closed.status_code == 200, closed.text
    call_next(srv)  # 2 ahead now, but the centre is closed today
    sms.stays_at(1)


def test_an_admin_turns_notifications_on_in_the_saved_setup(live_server, outside):
    """config.yaml only seeds a new database: a running centre switches channels on with PATCH /admin/site."""
    sms, _zalo, _smtp, settings = outside
    srv = live_server(env=QUICK)
    ticket = issue(srv.session(), "HT")
    url = f"/api/v1/tickets/{ticket['id']}/notifications"
    assert srv.session().get(url).json()["channels"] == []
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    broken = srv.session().patch("/api/v1/admin/site", headers=admin, json={"notifications": {"channels": ["sms"]}})
    error = assert_error(broken, 422, "invalid_field", "notifications.sms")  # offered, but not set up
    assert "hãy điền địa chỉ cổng gửi tin SMS" in error["problem"], error
    no_address = {"channels": ["email"], "email": {**settings["email"], "sender": "khong tra loi"}}
    refused = srv.session().patch("/api/v1/admin/site", headers=admin, json={"notifications": no_address})
    error = assert_error(refused, 422, "invalid_field", "notifications.email.sender")  # not only at the first e-mail
    assert error["problem"].startswith("phải là một địa chỉ e-mail"), error
    saved = srv.session().patch(
        "/api/v1/admin/site", headers=admin, json={"notifications": {"channels": ["sms"], "sms": settings["sms"]}}
    )
    assert saved.status_code == 200, saved.text
    assert srv.session().get("/api/v1/admin/site", headers=admin).json()["notifications"]["channels"] == ["sms"]
    supervisor = {"Authorization": f"Bearer {srv.token('supervisor')}"}
    assert_error(
        srv.session().patch("/api/v1/admin/site", headers=supervisor, json={"notifications": {"channels": []}}),
        403,
        "forbidden_role",
    )
    opt_in(srv, ticket, "sms", "0912345678")  # no one ahead: told at once
    assert "Ông/Bà là người tiếp theo" in json.loads(sms.wait_for(1)[0].body)["text"]

    # a channel turned off takes the addresses given for it (nothing sends by it any more); the others stay
    both = {"channels": ["sms", "email"], "email": settings["email"]}
    assert srv.session().patch("/api/v1/admin/site", headers=admin, json={"notifications": both}).status_code == 200
    later = issue(srv.session(), "HT")
    opt_in(srv, later, "sms", "0987654321")
    opt_in(srv, later, "email", "an@example.vn")
    page = f"/api/v1/tickets/{later['id']}/notifications"

    def kept() -> int:
        with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
            query = "SELECT count(*) FROM notification_subscriptions WHERE address_sealed IS NOT NULL"
            return db.execute(query).fetchone()[0]

    assert kept() == 3  # the first ticket's SMS, and the later one's two
    sms_off = srv.session().patch("/api/v1/admin/site", headers=admin, json={"notifications": {"channels": ["email"]}})
    assert sms_off.status_code == 200, sms_off.text
    assert [s["channel"] for s in srv.session().get(page).json()["subscriptions"]] == ["email"]
    assert kept() == 1
    off = srv.session().patch("/api/v1/admin/site", headers=admin, json={"notifications": {"channels": []}})
    assert off.status_code == 200, off.text
    assert srv.session().get(page).json()["subscriptions"] == []
    assert kept() == 0

    # one kept from before (a site turned off before this was done at the change): the worker's sweep at
    # its start ends it too
    stray = issue(srv.session(), "HT")
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        db.execute(
            "INSERT INTO notification_subscriptions (site_id, ticket_id, channel, address_sealed, address_masked,"
            " language, created_at) SELECT site_id, id, 'sms', 'sealed', '091****678', 'vi', '2026-12-05 09:00:00'"
            " FROM tickets WHERE public_id = ?",
            (stray["id"],),
        )
    assert kept() == 1
    srv.restart()
    deadline = time.monotonic() + 15
    while kept() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kept() == 0


def _browser_keys():
    """What a browser's PushManager makes: a P-256 key pair and a 16-byte auth secret."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    return private, auth, {"p256dh": b64(public), "auth": b64(auth)}


def _decrypt(body: bytes, private, auth: bytes) -> dict:
    """RFC 8291 as the browser reads it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    salt, length = body[:16], body[20]
    server_public, record = body[21 : 21 + length], body[21 + length :]
    mine = private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public))
    hkdf = lambda salt, ikm, info, n: HKDF(hashes.SHA256(), n, salt, info).derive(ikm)  # noqa: E731
    ikm = hkdf(auth, shared, b"WebPush: info\0" + mine + server_public, 32)
    key, nonce = (
        hkdf(salt, ikm, b"Content-Encoding: aes128gcm\0", 16),
        hkdf(salt, ikm, b"Content-Encoding: nonce\0", 12),
    )
    plain = AESGCM(key).decrypt(nonce, record, None)
    assert plain.endswith(b"\x02")
    return json.loads(plain[:-1])


def _vapid_verifies(authorization: str, public_key: str, endpoint: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    unb64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))  # noqa: E731
    scheme, _, rest = authorization.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    header, claims, signature = fields["t"].split(".")
    assert scheme == "vapid" and fields["k"] == public_key
    assert json.loads(unb64(claims))["aud"] == "http://" + endpoint.split("/")[2]
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(public_key))
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def test_web_push_reaches_the_browser_encrypted_and_signed(live_server, config_variant, outside):
    """A local push service stands in for the browser's: the server posts an RFC 8291 body only the
    subscribed browser can read, with a VAPID signature the push service can check."""
    push_service = outside[0]  # any recording HTTP server will do
    lab = "http://" + push_service.url.split("/")[2]
    srv = start(
        live_server,
        config_variant,
        {"ahead": 1, "channels": ["push"], "push": {"subject": "mailto:it@example.vn", "services": [lab]}},
    )
    public_key = srv.session().get("/api/v1/push/key").json()["public_key"]
    worker = srv.session().get("/api/v1/push/sw.js")
    assert (
        worker.status_code == 200
        and worker.headers["Service-Worker-Allowed"] == "/t/"
        and "showNotification" in worker.text
    )
    _first, second = issue(srv.session(), "HT"), issue(srv.session(), "HT")
    private, auth, keys = _browser_keys()
    endpoint = push_service.url + "/fcm/send/abc123"
    answer = opt_in(srv, second, "push", json.dumps({"endpoint": endpoint, "expirationTime": None, "keys": keys}))
    assert answer["address"] == "push: " + endpoint.split("/")[2]
    [near] = push_service.wait_for(1)  # 1 ahead
    assert near.path == "/hooks/queue/fcm/send/abc123"
    assert near.headers["Content-Encoding"] == "aes128gcm" and int(near.headers["TTL"]) == 900
    assert _vapid_verifies(near.headers["Authorization"], public_key, endpoint)
    message = _decrypt(near.body, private, auth)
    assert message["title"] == f"Sắp đến lượt Ông/Bà – số {second['number']}"
    assert message["body"].endswith(
        f"còn 1 số nữa đến lượt Ông/Bà (số {second['number']}). Mời Ông/Bà quay lại khu vực chờ."
    )
    for wrong in (
        {"endpoint": endpoint},  # no keys
        {"endpoint": "http://127.0.0.1:22/", "keys": keys},  # not a push service: never posted to
        {"endpoint": "https://fcm.googleapis.com.evil.example/x", "keys": keys},
    ):
        assert_error(
            srv.session().post(
                f"/api/v1/tickets/{second['id']}/notifications", json={"channel": "push", "address": json.dumps(wrong)}
            ),
            422,
            "notify_address_invalid",
            "address",
        )


def test_an_opt_in_made_when_booking_is_the_ticket_s_at_check_in(live_server, config_variant, outside):
    """A same-day number taken from a phone (the repo's config: HT offers them): opted in at once,
    told when checked in (no one ahead) and when called; a cancelled booking's opt-in is erased."""
    sms, _zalo, _smtp, settings = outside
    srv = start(live_server, config_variant, settings)
    http = srv.session()

    def remote(phone):
        made = http.post(
            "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": phone}
        )
        assert made.status_code == 201, made.text
        return made.json()

    booking, other = remote("0912345678"), remote("0987654321")
    opted = http.post(
        f"/api/v1/bookings/{booking['code']}/notifications", json={"channel": "sms", "address": "0912 345 678"}
    )
    assert opted.status_code == 201 and opted.json()["address"] == "091****678", opted.text
    assert (
        http.post(
            f"/api/v1/bookings/{other['code']}/notifications", json={"channel": "email", "address": "binh@example.vn"}
        ).status_code
        == 201
    )
    assert http.delete(f"/api/v1/bookings/{other['code']}").status_code == 200
    # the remote number's own tracking page takes an opt-in before the check-in too; one from the booking's
    # page later is the newer: it replaces the ticket's on that channel, an ended one included
    page = f"/api/v1/tickets/{booking['ticket']}/notifications"
    assert http.post(page, json={"channel": "email", "address": "binh@example.vn"}).status_code == 201
    assert http.delete(f"{page}/email").status_code in (200, 204)
    mine = f"/api/v1/bookings/{booking['code']}/notifications"
    assert http.post(mine, json={"channel": "email", "address": "an@example.vn"}).status_code == 201
    assert http.post(mine, json={"channel": "sms", "address": "0987 111 222"}).json()["address"] == "098****222"
    sms.stays_at(0, seconds=1)  # no ticket yet: nothing to tell
    checked_in = http.post("/api/v1/check-in", json={"code": booking["code"]})
    assert checked_in.status_code in (200, 201), checked_in.text
    # at once on the ticket's page, each with its cancel button (the booking's opt-ins are the ticket's now)
    shown = {s["channel"]: s["address"] for s in http.get(page).json()["subscriptions"]}
    assert shown == {"sms": "098****222", "email": "a***@example.vn"}, shown
    assert http.delete(f"{page}/email").status_code in (200, 204)
    assert [s["channel"] for s in http.get(page).json()["subscriptions"]] == ["sms"]
    number = checked_in.json()["number"]
    [near] = sms.wait_for(1)
    assert json.loads(near.body)["text"].endswith(
        f"Ông/Bà là người tiếp theo (số {number}). Mời Ông/Bà quay lại khu vực chờ."
    )
    call_next(srv)
    assert json.loads(sms.wait_for(2)[1].body)["text"].endswith(f"Mời Ông/Bà đến quầy 1 (số {number}).")
    with sqlite3.connect(srv.instance / "queuekiosk.db") as db:
        assert db.execute("SELECT count(*) FROM booking_opt_ins").fetchone() == (0,)  # moved, or erased
    assert_error(
        http.post(f"/api/v1/bookings/{other['code']}/notifications", json={"channel": "sms", "address": "0987654321"}),
        409,
        "notify_booking_ended",
    )


def test_a_slot_booking_s_opt_in_is_the_ticket_s_at_its_check_in(live_server, config_variant, outside, tmp_path):
    """A booked slot's opt-in waits sealed for the check-in, which makes it the ticket's at once: the
    tracking page lists it (with its cancel) before the worker's next pass, and an opt-out from the
    booking's own page still ends it after the check-in."""
    from faked_clock import FakedClock, next_working_morning

    _sms, _zalo, _smtp, settings = outside
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))  # today's 11:00 is still ahead
    srv = start(live_server, config_variant, settings, env=clock.env())
    http = srv.session()
    booking = http.post(
        "/api/v1/bookings",
        json={
            "service": "HT",
            "date": clock.start.date().isoformat(),
            "start": "11:00",
            "name": "Nguyễn Văn An",
            "phone": "0912345678",
        },
    )
    assert booking.status_code == 201, booking.text
    code = booking.json()["code"]
    opted = http.post(f"/api/v1/bookings/{code}/notifications", json={"channel": "email", "address": "an@example.vn"})
    assert opted.status_code == 201, opted.text
    ticket = http.post("/api/v1/check-in", json={"code": code})
    assert ticket.status_code == 201, ticket.text
    page = f"/api/v1/tickets/{ticket.json()['id']}/notifications"
    assert [(s["channel"], s["address"]) for s in http.get(page).json()["subscriptions"]] == [
        ("email", "a***@example.vn")
    ]
    assert http.delete(f"/api/v1/bookings/{code}/notifications/email").status_code in (200, 204)
    assert http.get(page).json()["subscriptions"] == []


def test_opting_in_names_what_is_wrong(live_server, config_variant, outside):
    *_servers, settings = outside
    srv = start(live_server, config_variant, {**settings, "channels": ["sms", "email"]})
    http = srv.session()
    ticket = issue(http, "HT")
    url = f"/api/v1/tickets/{ticket['id']}/notifications"
    assert http.get(url).json() == {"channels": ["sms", "email"], "ahead": 2, "subscriptions": []}
    for body, code, field in (
        ({"channel": "zalo", "address": "0912345678"}, "notify_channel_unknown", "channel"),
        ({"channel": "sms", "address": "12345"}, "notify_address_invalid", "address"),
        ({"channel": "sms", "address": "an@example.vn"}, "notify_address_invalid", "address"),
        ({"channel": "email", "address": "0912345678"}, "notify_address_invalid", "address"),
        ({"channel": "sms"}, "invalid_field", "address"),
        ({"channel": "sms", "address": "0912345678", "language": "fr"}, "invalid_field", "language"),
    ):
        assert_error(http.post(url, json=body), 422, code, field)
    assert_error(
        http.post("/api/v1/tickets/nosuchticket/notifications", json={"channel": "sms", "address": "0912345678"}),
        404,
        "unknown_ticket",
    )
    opt_in(srv, ticket, "sms", "0912345678")
    assert [s["channel"] for s in http.get(url).json()["subscriptions"]] == ["sms"]
    assert http.delete(url + "/sms").status_code == 204
    assert http.get(url).json()["subscriptions"] == []
    assert_error(http.delete(url + "/sms"), 404, "notify_not_subscribed")
    call_next(srv)
    finished = http.post("/api/v1/counters/1/finish", headers={"Authorization": f"Bearer {srv.token('counter', 1)}"})
    assert finished.status_code == 200, finished.text  # served: too late to opt in
    assert_error(http.post(url, json={"channel": "sms", "address": "0912345678"}), 409, "notify_ticket_ended")


@pytest.mark.postgres
def test_on_postgresql_too(migrated_pg_url, live_server, config_variant, outside):
    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["notifications"] = settings
    srv = live_server(config, env={**QUICK, "QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    first, second = issue(srv.session(), "HT"), issue(srv.session(), "HT")
    opt_in(srv, second, "sms", "0912345678")
    opt_in(srv, first, "sms", "0987654321")
    sms.wait_for(2)
    call_next(srv)
    sms.wait_for(3)  # a citizen called and served before the message went would not be told: it no longer holds
    call_next(srv)
    got = sms.wait_for(4)
    texts = sorted((json.loads(r.body)["to"], json.loads(r.body)["text"].split(": ", 1)[1]) for r in got)
    assert texts == sorted(
        [
            ("84912345678", f"còn 1 số nữa đến lượt Ông/Bà (số {second['number']}). Mời Ông/Bà quay lại khu vực chờ."),
            ("84987654321", f"Ông/Bà là người tiếp theo (số {first['number']}). Mời Ông/Bà quay lại khu vực chờ."),
            ("84987654321", f"Mời Ông/Bà đến quầy 1 (số {first['number']})."),
            ("84912345678", f"Mời Ông/Bà đến quầy 1 (số {second['number']})."),
        ]
    )
    sms.stays_at(4)
