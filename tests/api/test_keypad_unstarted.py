"""The keypad client says what "next" made of a number called and never started ("Bắt đầu"):
under the default policy.unstarted_at_next, a no-show; a number that was started is simply
finished, with nothing more said. The real client on a pseudo-terminal (tests/api/keypad_helpers.py)."""

from __future__ import annotations

import time

import pytest
from api_helpers import issue
from keypad_helpers import drain, keypads, ticket

keypad = pytest.fixture(keypads, name="keypad")  # (tests/api/keypad_helpers.py)
drained = pytest.fixture(drain, name="drained")


def test_next_over_a_number_never_started_says_it_was_a_no_show(drained, http, keypad):
    first, second, third = issue(http, "HT"), issue(http, "HT"), issue(http, "HT")
    term = keypad(1)
    term.wait_for(r"Đang chờ: 3")

    term.press("\r")
    term.wait_for(rf"Số hiện tại: {first['display']}")
    time.sleep(0.5)  # a second Enter, not the first one's bounce (keypad.py: bounce_seconds)
    term.press("\r")  # the first citizen never came to the counter
    screen = term.wait_for(rf"số {first['display']} chưa bắt đầu: ghi vắng mặt")
    assert f"Đã gọi số {second['display']}" in screen
    assert ticket(http, first["id"])["status"] == "no_show"

    term.press("*")  # Bắt đầu: this one is served
    term.wait_for(rf"Bắt đầu phục vụ số {second['display']}")
    time.sleep(0.5)
    term.press("\r")
    screen = term.wait_for(rf"Đã gọi số {third['display']}")
    assert "chưa bắt đầu" not in screen
    assert ticket(http, second["id"])["status"] == "done"
