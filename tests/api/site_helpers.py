"""Helpers shared by the API tests of many sites on one installation (issue 16): a Socket.IO client
of one site, a site added through the admin API, a site added by mistake and set up a little (the
removal tests), and a page's live connection signed in with a browser's cookie."""

from __future__ import annotations

import time

from api_helpers import ALL_DAY_HOURS
from conftest import SioClient


class SiteClient(SioClient):
    """A Socket.IO client of one site: it connects under /s/{site}/ as that site's pages do."""

    def __init__(self, url: str, site: str | None, **kwargs):
        super().__init__(url, **kwargs)
        self.path = f"s/{site}/socket.io" if site else "socket.io"
        self.refusals: list = []  # what the server said when it refused the connection
        self.sio.on("connect_error", self.refusals.append)

    def connect(self, auth=None, headers=None, transports=None, wait_timeout: float = 5):
        self.sio.connect(self.url, headers=headers or {}, auth=auth, socketio_path=self.path, wait_timeout=wait_timeout)
        return self


FAR = "xa-dao-xa"  # a second site: on the far side of the date line from Ho Chi Minh City
FAR_ZONE = "Pacific/Pago_Pago"  # UTC-11: 18 hours behind Asia/Ho_Chi_Minh


def add_site(srv, site_id: str = FAR, zone: str = FAR_ZONE) -> None:
    """The site ``site_id`` ("Xã {site_id}") added by an installation admin; its setup a copy of the first's."""
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    made = http.post("/api/v1/admin/sites", json={"id": site_id, "name": f"Xã {site_id}", "timezone": zone})
    assert made.status_code == 201, made.text


def site(id: str, name: str) -> dict:
    return {"id": id, "name": name, "timezone": "Asia/Ho_Chi_Minh", "hours": ALL_DAY_HOURS}


MISTAKE = site("xa-nham", "Xã Thêm Nhầm")  # the site added by mistake, then removed


def bearer(server, value: str):
    """An HTTP session sending the token ``value``."""
    http = server.session()
    http.headers["Authorization"] = f"Bearer {value}"
    return http


def until(check, seconds: float = 5.0):
    """``check()`` until it is true (a process follows the saved setup within a second)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def made_by_mistake(server, http) -> dict:
    """A site added and set up a little: an account, a device token, a webhook, a changed setting."""
    assert http.post("/api/v1/admin/sites", json=MISTAKE).status_code == 201
    here = "/api/v1/sites/xa-nham/admin"
    user = http.post(f"{here}/users", json={"username": "nham.lan", "password": "pw-12345678", "role": "clerk"})
    assert user.status_code == 201, user.text
    token = http.post(f"{here}/tokens", json={"role": "kiosk", "kiosk": "kiosk-1"})
    assert token.status_code == 201, token.text
    hook = http.post(f"{here}/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["ticket.issued"]})
    assert hook.status_code == 201, hook.text
    assert http.patch(f"{here}/site", json={"ticker": "Chào mừng"}).status_code == 200
    return {"token": token.json()}


def live_connection(sio_client, srv, http):
    """A Socket.IO client signed in with ``http``'s session cookie, as a page in that browser is."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    return sio_client(srv, headers={"Cookie": cookie})


def told_to_go(client, within: float = 20) -> bool:
    """Whether the server disconnected ``client`` within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if client.disconnects:
            return True
        time.sleep(0.1)
    return False
