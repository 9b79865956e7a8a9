"""The site's policy for "Gọi số tiếp theo" over a citizen called and never started, and for the
tickets still waiting when the day ends, chosen in /admin (tab 'Ưu tiên', beside the calling
order) in a real Chromium, and obeyed at once by the next counter action."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, _login
from playwright.sync_api import expect


def _select(tab, path):
    return tab.locator(f'form[data-form="policy"] .field[data-field="{path}"] select')


def test_an_admin_chooses_what_next_over_an_unstarted_citizen_means(new_tab, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # still waiting once the admin has signed in, whatever the hour
    admin_token = server.token("admin")
    counter = server.counter_token(1)
    first = server.api("POST", "/tickets", json={"service": "HT"}).json()
    second = server.api("POST", "/tickets", json={"service": "HT"}).json()
    third = server.api("POST", "/tickets", json={"service": "HT"}).json()

    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-priorities")
    unstarted = _select(admin, "policy.unstarted_at_next")
    expect(unstarted).to_have_value("no_show")  # the default: a citizen who never came is no service
    expect(unstarted.locator("option:checked")).to_have_text("Tính là vắng mặt (không tính là đã phục vụ)")
    expect(_select(admin, "policy.end_of_day")).to_have_value("expire")

    # under the default, "next" over 1001 called and never started makes it a no-show
    assert server.api("POST", "/counters/1/next", token=counter).json()["number"] == first["number"]
    assert server.api("POST", "/counters/1/next", token=counter).status_code == 200
    assert server.api("GET", f"/tickets/{first['id']}").json()["status"] == "no_show"

    unstarted.select_option("served")
    _select(admin, "policy.end_of_day").select_option("keep")
    admin.locator('form[data-form="policy"] button.save').click()
    expect(admin.locator('form[data-form="policy"] .saved')).to_have_text("Đã lưu")
    shot(admin, "admin-policy-unstarted")
    policy = server.api("GET", "/admin/site", token=admin_token).json()["policy"]
    assert (policy["unstarted_at_next"], policy["end_of_day"]) == ("served", "keep")
    assert policy["priority"] == "interleave", "the rest of the policy is left as it was"

    # now the same press over the citizen called and never started (1002) counts them served
    assert server.api("POST", "/counters/1/next", token=counter).json()["number"] == third["number"]
    assert server.api("GET", f"/tickets/{second['id']}").json()["status"] == "done"

    admin.reload()
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    admin.click("#tab-priorities")
    expect(_select(admin, "policy.unstarted_at_next")).to_have_value("served")
    expect(_select(admin, "policy.end_of_day")).to_have_value("keep")
