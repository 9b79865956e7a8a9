"""Many centres on one installation (issue 16): each site's booking limits and each site's login,
on a real server over HTTP (and Socket.IO).

A site books under its own config ``limits`` (bookings and lookups by code per address), and counts
its callers apart: a citizen's bookings at one site use up nothing of their allowance at another.
An admin edits one site's limits under that site's prefix, and the other site keeps its own.
A browser keeps the login of a site's account per site (each site its own session cookie and CSRF
token): a clerk of one site and a clerk of another on one PC do not log each other out. An account
of the whole installation signs in once for every site. The first site is the same at ``/`` and at
``/s/{first}/``.
"""

from __future__ import annotations

import pytest
import server_db
from api_helpers import assert_error
from site_helpers import SiteClient

from queuekiosk.server.core import auth

FIRST = "phuc-la"  # the repo's config.yaml: the site the single-site paths serve
FAR = "xa-ben-kia"
PASSWORD = "mật-khẩu-mỗi-điểm"


def add_site(srv, site_id: str = FAR) -> None:
    made = srv.session().post(
        "/api/v1/admin/sites",
        json={"id": site_id, "name": f"Xã {site_id}", "timezone": "Asia/Ho_Chi_Minh"},
        headers=bearer(srv.token("admin")),
    )
    assert made.status_code == 201, made.text


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_of(srv, role: str, site: str | None) -> str:
    return server_db._write(srv.database_url, lambda db: auth.create_token(db, role, f"{role} of {site}", site_id=site))


def add_user(srv, name: str, role: str, site: str | None, counter: int | None = None) -> None:
    server_db._write(srv.database_url, lambda db: auth.add_user(db, name, PASSWORD, role, counter, site_id=site))


def remote(http, prefix: str, phone: str):
    """A same-day remote number (a booking with no slot): what the booking page sends."""
    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": phone}
    return http.post(f"{prefix}/bookings", json=body)


# --- booking limits, per site -----------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(module_live_server, config_variant):
    """The first site books 2 an hour per address and reads 3 codes an hour (no address exempt); the
    far site, added as a copy of the first, starts with the same limits."""
    config = config_variant()
    config["limits"] = {"exempt_addresses": [], "bookings_per_address": "2/hour", "lookups_per_address": "3/hour"}
    srv = module_live_server(config)
    add_site(srv)
    return srv


def test_each_site_counts_bookings_and_lookups_apart(limited):
    srv = limited
    http = srv.session()
    here, far = "/api/v1", f"/api/v1/sites/{FAR}"
    mine = [remote(http, here, f"09120000{i:02d}") for i in range(2)]
    assert [a.status_code for a in mine] == [201, 201], [a.text for a in mine]
    error = assert_error(remote(http, here, "0912000009"), 429, "too_many_bookings")
    assert "khoảng 60 phút" in error["message"], error  # 2/hour: the wait in minutes
    # the same address at the far site: the same limit, but its own count
    theirs = [remote(http, far, f"09130000{i:02d}") for i in range(2)]
    assert [a.status_code for a in theirs] == [201, 201], [a.text for a in theirs]
    assert_error(remote(http, far, "0913000009"), 429, "too_many_bookings")

    # reading bookings by code: 3 an hour at each site, counted apart too
    code_here, code_far = mine[0].json()["code"], theirs[0].json()["code"]
    assert [http.get(f"{here}/bookings/{code_here}").status_code for _ in range(3)] == [200] * 3
    assert_error(http.get(f"{here}/bookings/{code_here}"), 429, "too_many_bookings")
    looked_up = http.get(f"{far}/bookings/{code_far}")
    assert looked_up.status_code == 200 and looked_up.json()["code"] == code_far, looked_up.text


def test_an_admin_changes_one_sites_limits_and_the_other_keeps_its_own(limited):
    srv = limited
    http = srv.session()
    here, far = "/api/v1", f"/api/v1/sites/{FAR}"
    far_admin = bearer(token_of(srv, "admin", FAR))
    assert http.get(f"{far}/admin/site", headers=far_admin).json()["limits"]["bookings_per_address"] == "2/hour"

    # nobody else changes the far site's limits: the first site's admin, the far site's supervisor
    change = {"limits": {"bookings_per_address": "4/day", "lookups_per_address": None}}
    first_admin = bearer(token_of(srv, "admin", FIRST))
    assert_error(http.patch(f"{far}/admin/site", json=change, headers=first_admin), 403, "forbidden_site")
    far_supervisor = bearer(token_of(srv, "supervisor", FAR))
    assert_error(http.patch(f"{far}/admin/site", json=change, headers=far_supervisor), 403, "forbidden_role")
    refused = http.patch(f"{far}/admin/site", json={"limits": {"bookings_per_address": "lots"}}, headers=far_admin)
    assert refused.status_code == 422 and "bookings_per_address" in refused.text, refused.text

    changed = http.patch(f"{far}/admin/site", json=change, headers=far_admin)
    assert changed.status_code == 200, changed.text
    limits = changed.json()["limits"]
    assert (limits["bookings_per_address"], limits["lookups_per_address"]) == ("4/day", "60/minute")  # null: default
    assert limits["exempt_addresses"] == []  # the rest of the section is kept

    # the far site books under its new limit at once; the first site's limit and count are untouched
    booked = [remote(http, far, f"09140000{i:02d}").status_code for i in range(5)]
    assert booked == [201] * 4 + [429], booked
    assert_error(remote(http, here, "0914000099"), 429, "too_many_bookings")
    first = http.get(f"{here}/admin/site", headers=bearer(srv.token("admin"))).json()["limits"]
    assert (first["bookings_per_address"], first["lookups_per_address"]) == ("2/hour", "3/hour")

    # a limit switched off ("off": null would restore the default) reads "off" and counts nothing
    switched = http.patch(f"{far}/admin/site", json={"limits": {"bookings_per_address": "off"}}, headers=far_admin)
    assert switched.status_code == 200, switched.text
    assert http.get(f"{far}/admin/site", headers=far_admin).json()["limits"]["bookings_per_address"] == "off"
    booked = [remote(http, far, f"09150000{i:02d}").status_code for i in range(6)]
    assert booked == [201] * 6, booked
    assert_error(remote(http, here, "0915000099"), 429, "too_many_bookings")  # the first site's still holds


# --- a login per site -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_sites(module_live_server):
    srv = module_live_server()
    add_site(srv)
    add_user(srv, "thu-ky-dau", "clerk", FIRST, counter=1)
    add_user(srv, "thu-ky-xa", "clerk", FAR, counter=1)
    add_user(srv, "giam-sat-hai-noi", "supervisor", None)  # works at both sites
    return srv


def log_in(http, prefix: str, name: str) -> dict:
    answer = http.post(f"{prefix}/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"X-CSRFToken": answer.json()["csrf_token"]}


def who(http, prefix: str) -> str | None:
    answer = http.get(f"{prefix}/auth/me")
    if answer.status_code == 401:
        return None
    assert answer.status_code == 200, answer.text
    return answer.json()["name"]


def test_clerks_of_two_sites_on_one_browser_keep_their_own_logins(two_sites):
    srv = two_sites
    browser = srv.session()  # one cookie jar: one PC shared by two centres' clerks
    here, far = "/api/v1", f"/api/v1/sites/{FAR}"
    csrf_here = log_in(browser, here, "thu-ky-dau")
    csrf_far = log_in(browser, far, "thu-ky-xa")
    assert who(browser, here) == "thu-ky-dau" and who(browser, far) == "thu-ky-xa"
    # the first site is the same site at /, at /s/{first}/ and under its /api/v1/sites/ prefix
    assert who(browser, f"/s/{FIRST}/api/v1") == who(browser, f"/api/v1/sites/{FIRST}") == "thu-ky-dau"
    assert who(browser, f"/s/{FAR}/api/v1") == "thu-ky-xa"
    assert {f"session-{FIRST}", f"session-{FAR}"} <= {c.name for c in browser.cookies}

    # each login changes things with its own CSRF token only
    for prefix, csrf, other in ((here, csrf_here, csrf_far), (far, csrf_far, csrf_here)):
        assert_error(
            browser.post(f"{prefix}/counters/1/pause", json={"reason": "họp"}, headers=other), 403, "csrf_failed"
        )
        paused = browser.post(f"{prefix}/counters/1/pause", json={"reason": "họp"}, headers=csrf)
        assert paused.status_code == 200, paused.text
        assert browser.post(f"{prefix}/counters/1/resume", headers=csrf).status_code == 200

    # the far clerk logs out: the first site's clerk is still signed in, and the other way round
    assert browser.post(f"{far}/auth/logout", headers=csrf_far).status_code == 204
    assert who(browser, far) is None and who(browser, here) == "thu-ky-dau"
    csrf_far = log_in(browser, far, "thu-ky-xa")
    assert browser.post(f"{here}/auth/logout", headers=csrf_here).status_code == 204
    assert who(browser, here) is None and who(browser, far) == "thu-ky-xa"

    # a site's cookie sent under another site's name is no login there (each is signed apart)
    thief = srv.session()
    thief.cookies.set(f"session-{FIRST}", browser.cookies.get(f"session-{FAR}"))
    thief.cookies.set("session", browser.cookies.get(f"session-{FAR}"))
    assert who(thief, here) is None


def test_an_account_of_the_whole_installation_signs_in_once_for_every_site(two_sites):
    """A supervisor of both sites logs in at one and is signed in at both; a clerk of the far site
    signing in on the same browser is who is there, and the supervisor stays signed in elsewhere."""
    srv = two_sites
    browser = srv.session()
    here, far = "/api/v1", f"/api/v1/sites/{FAR}"
    log_in(browser, far, "giam-sat-hai-noi")
    assert who(browser, here) == who(browser, far) == who(browser, f"/s/{FIRST}/api/v1") == "giam-sat-hai-noi"
    assert browser.get(f"{far}/bookings").status_code == 200  # a supervisor's read, at either site
    assert browser.get(f"{here}/bookings").status_code == 200
    # the installation's cookie is the single-site one: it works at / and /s/{first}/ as it always did
    copy = srv.session()
    copy.cookies.set("session", browser.cookies.get("session"))
    assert who(copy, here) == who(copy, f"/s/{FIRST}/api/v1") == "giam-sat-hai-noi"

    csrf_clerk = log_in(browser, far, "thu-ky-xa")
    assert who(browser, far) == "thu-ky-xa" and who(browser, here) == "giam-sat-hai-noi"
    assert browser.post(f"{far}/auth/logout", headers=csrf_clerk).status_code == 204
    assert who(browser, far) == "giam-sat-hai-noi"  # the clerk gone, the installation's login is back

    # logging out ends the installation's login everywhere
    csrf = {"X-CSRFToken": browser.get(f"{far}/auth/me").json()["csrf_token"]}
    assert browser.post(f"{far}/auth/logout", headers=csrf).status_code == 204
    assert who(browser, here) is None and who(browser, far) is None


def test_the_far_sites_console_connects_with_its_own_login(two_sites):
    """Socket.IO under /s/{site}/ takes that site's cookie: the far clerk's console joins its counter
    there, and the same browser is nobody at the first site's counters."""
    srv = two_sites
    browser = srv.session()
    log_in(browser, f"/api/v1/sites/{FAR}", "thu-ky-xa")
    cookie = {"Cookie": f"session-{FAR}={browser.cookies.get(f'session-{FAR}')}"}
    consoles = [SiteClient(srv.url, FAR), SiteClient(srv.url, None)]
    try:
        assert consoles[0].connect(headers=cookie).subscribe({"counter": 1}) == {"ok": True}
        refused = consoles[1].connect(headers=cookie).subscribe({"counter": 1})
        assert refused["error"]["code"] == "unauthorized", refused
    finally:
        for console in consoles:
            console.close()
