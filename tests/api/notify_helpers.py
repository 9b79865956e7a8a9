"""The outside world a notifying server sends to, for tests: a fake SMS gateway and a fake Zalo ZNS API
(HTTP servers on 127.0.0.1) and an SMTP sink, which record what they get, and the config section that
uses them (config.yaml ``notifications:``)."""

from __future__ import annotations

import json
import threading

from smtp_sink import SmtpSink
from webhook_receiver import Receiver

TOKENS = {"TEST_SMS_TOKEN": "sms-secret-1", "TEST_ZALO_TOKEN": "zalo-secret-2"}


def outside_servers():
    """A fixture's body: yields (sms, zalo, smtp, settings), then closes the three."""
    sms, zalo, smtp = Receiver(), Receiver(), SmtpSink()
    zalo.reply = b'{"error": 0, "message": "Success"}'
    settings = {
        "ahead": 2,
        "channels": ["sms", "email", "zalo"],
        "sms": {
            "url": sms.url,
            "headers": {"Authorization": "Bearer ${TEST_SMS_TOKEN}"},
            "body": '{"to": "{phone}", "text": "{text}", "brandname": "PHUCLA"}',
            "timeout_seconds": 1,
        },
        "email": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "sender": "motcua@phucla.example.vn"},
        "zalo": {
            "url": zalo.url,
            "access_token": "${TEST_ZALO_TOKEN}",
            "template_near": "301",
            "template_called": "302",
        },
    }
    yield sms, zalo, smtp, settings
    # closed together: each close waits up to 0.5 s for its server's loop to notice (socketserver's poll)
    closing = [threading.Thread(target=server.close) for server in (sms, zalo, smtp)]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join()


def sms_texts(sms) -> list[str]:
    return [json.loads(r.body)["text"] for r in sms.received]


def opt_in(srv, ticket: dict, channel: str, address: str, language: str = "vi") -> dict:
    answer = srv.session().post(
        f"/api/v1/tickets/{ticket['id']}/notifications",
        json={"channel": channel, "address": address, "language": language},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def call_next(srv, counter: int = 1) -> dict:
    answer = srv.session().post(
        f"/api/v1/counters/{counter}/next", headers={"Authorization": f"Bearer {srv.token('counter', counter)}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()
