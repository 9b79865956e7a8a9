"""The clerk is told what "Gọi số tiếp theo" did to a citizen called and never started ("Bắt đầu"):
a no-show under the default policy, served without a service time under the 'served' one
(policy.unstarted_at_next, changed in /admin), nothing when the citizen had been started.
Real server, real Chromium, the console driven by its keyboard shortcuts."""

from __future__ import annotations

import re

import pytest
from console_helpers import CLERK, desktop_tab, log_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(new_tab):
    return desktop_tab(new_tab)


def test_next_over_a_citizen_never_started_says_what_it_counted(server_on_a_working_morning, tab):
    server = server_on_a_working_morning  # still waiting once the clerk has signed in, whatever the hour
    password = server.add_clerk(CLERK, counter=1)
    issued = [server.api("POST", "/tickets", json={"service": "HT"}).json() for _ in range(3)]
    page = tab()
    log_in(page, server, password)
    notice = page.locator("#notice")
    asked = []  # the answer to "next" says how it ended the number (Unstarted-Ended): no ticket is asked again
    page.on("request", lambda r: asked.append(r.url) if r.method == "GET" and "/api/v1/tickets/" in r.url else None)

    page.keyboard.press("g")
    expect(page.locator("#current-number")).to_have_text(issued[0]["display"])
    page.keyboard.press("g")  # the first citizen never came to the counter
    expect(page.locator("#current-number")).to_have_text(issued[1]["display"])
    expect(notice).to_have_text(re.compile(f"Số {issued[0]['display']} chưa “Bắt đầu” phục vụ: đã ghi vắng mặt."))
    expect(notice).to_contain_text(f"Number {issued[0]['display']} was never started: marked as a no-show.")
    expect(page.locator("#fig-no-shows")).to_have_text("1")

    page.keyboard.press("b")  # this one is served: started, then "next" finishes it
    expect(page.locator("#current-details .status.serving")).to_be_visible()
    page.keyboard.press("g")
    expect(page.locator("#current-number")).to_have_text(issued[2]["display"])
    expect(page.locator("#fig-served")).to_have_text("1")
    expect(notice).to_be_hidden()

    changed = server.api(
        "PATCH", "/admin/site", token=server.token("admin"), json={"policy": {"unstarted_at_next": "served"}}
    )
    assert changed.status_code == 200, changed.text
    # nobody left: "Không có ai đang chờ.", and what became of the number never started
    page.keyboard.press("g")
    expect(notice).to_contain_text("Không có ai đang chờ.")
    expect(notice).to_contain_text(
        f"Số {issued[2]['display']} chưa “Bắt đầu” phục vụ: đã tính là đã phục vụ, không tính thời gian phục vụ."
    )
    expect(page.locator("#fig-served")).to_have_text("2")
    expect(page.locator("#fig-no-shows")).to_have_text("1")
    assert asked == [], asked
