"""A call's announcement audio is made when its ``audio_url`` is first asked for, not while the clerk
waits for "next" (issue 21): fetched right after the event it is the whole WAV, on the process that
made the call, on another server process that never saw it, and again after the cache let it go.
"""

from __future__ import annotations

import io
import secrets
import wave
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from api_helpers import assert_error
from site_helpers import SiteClient

FAR = "xa-my-loc"


def _admin(srv) -> dict:
    return {"Authorization": f"Bearer {srv.token('admin')}"}


def _wav(response) -> bytes:
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.content.startswith(b"RIFF") and response.content[8:12] == b"WAVE"
    with wave.open(io.BytesIO(response.content), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        assert w.getnframes() / w.getframerate() > 3  # a whole sentence, not a stub
    return response.content


def _call(srv, http, display, prefix: str = "/api/v1") -> dict:
    """A number issued and called at counter 1 of the site under ``prefix``: the display's event."""
    ticket = http.post(f"{prefix}/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    mark = display.mark()
    called = http.post(f"{prefix}/counters/1/next", headers=_admin(srv))
    assert called.status_code == 200 and called.json()["id"] == ticket.json()["id"], called.text
    return display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket.json()["id"], since=mark)


def _preview(http, event, prefix: str = "/api/v1") -> bytes:
    """The same announcement made by the preview, as the installer hears it."""
    params = {"number": event["ticket"]["number"], "counter": 1, "display": "lobby"}
    return _wav(http.get(http.get(f"{prefix}/announcements/preview", params=params).json()["audio_url"]))


def test_a_calls_audio_fetched_right_after_the_event_is_its_whole_wav(live_server, sio_client):
    srv = live_server()
    http = srv.session()
    display = sio_client(srv)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    events = [_call(srv, http, display) for _ in range(3)]
    cached = srv.instance / "announcements"
    assert not list(cached.glob("*.wav"))  # nobody asked yet: the calls made no audio file
    for event in events:
        url = event["announcement"]["audio_url"]
        assert urlsplit(url).path.startswith("/api/v1/announcements/") and urlsplit(url).path.endswith(".wav")
        audio = _wav(http.get(url))
        assert audio == _preview(http, event)  # what the display's voice says for that call, whole
        again = http.get(url)
        assert again.content == audio and "immutable" in again.headers["Cache-Control"]

    # the cache let the file go (pruned): asked again, the call's audio is made again, the same
    for path in cached.glob("*.wav"):
        path.unlink()
    assert _wav(http.get(events[0]["announcement"]["audio_url"])) == _preview(http, events[0])

    # a recall brings the same audio
    mark = display.mark()
    assert http.post("/api/v1/counters/1/recall", headers=_admin(srv)).status_code == 200
    recalled = display.wait_for("ticket.recalled", since=mark)
    assert recalled["announcement"]["audio_url"] == events[-1]["announcement"]["audio_url"]


def test_a_calls_audio_names_only_calls_of_known_displays(live_server):
    srv = live_server()
    http = srv.session()
    key = "0" * 32
    call = {"number": 1001, "counter": 1}
    # an address whose name is not that call's: sent on to the call's audio as it is said now
    moved = http.get(f"/api/v1/announcements/{key}.wav", params={**call, "display": "lobby"}, allow_redirects=False)
    assert moved.status_code == 302 and urlsplit(moved.headers["Location"]).path != f"/api/v1/announcements/{key}.wav"
    _wav(http.get(moved.headers["Location"]))
    assert_error(http.get(f"/api/v1/announcements/{key}.wav", params={**call, "display": "attic"}), 404, "not_found")
    assert_error(http.get(f"/api/v1/announcements/{key}.wav", params={"number": 1001}), 404, "not_found")
    assert_error(
        http.get(f"/api/v1/announcements/{key}.wav", params={"number": "x", "counter": 1}),
        422,
        "invalid_field",
        "number",
    )


@pytest.mark.postgres
def test_another_server_process_gives_a_calls_audio_it_never_made(
    migrated_pg_url, redis_url, live_server, config_variant, sio_client
):
    """Two processes on one database and one message queue, each with its own instance folder (as on
    two machines behind a load balancer): a call made on B, heard on A's display, is played from A."""
    env = {
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: live_server(config_variant(), env=env), range(2))
    on_a, on_b = a.session(), b.session()
    display = sio_client(a)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    event = _call(b, on_b, display)
    audio = _wav(on_a.get(event["announcement"]["audio_url"]))  # A had no plan of it: made from the call
    assert audio == _wav(on_b.get(event["announcement"]["audio_url"]))  # B's own, from the plan it kept

    # a second site with a voice of its own, its call made on B: A says it in that site's voice
    made = on_b.post(
        "/api/v1/admin/sites", json={"id": FAR, "name": "Xã Mỹ Lộc", "timezone": "Asia/Ho_Chi_Minh"}, headers=_admin(b)
    )
    assert made.status_code == 201, made.text
    voice = {"language": "vi+en", "region": "south", "repeat": 1, "chime": False}
    changed = on_b.patch(f"/api/v1/sites/{FAR}/admin/displays/lobby", json={"voice": voice}, headers=_admin(b))
    assert changed.status_code == 200, changed.text
    far_display = SiteClient(a.url, FAR).connect()  # a display of that site on A
    try:
        assert far_display.subscribe({"display": "lobby"}) == {"ok": True}
        far_event = _call(b, on_b, far_display, f"/api/v1/sites/{FAR}")
    finally:
        far_display.close()
    assert far_event["announcement"]["text_en"]  # the far site's own voice
    far_url = far_event["announcement"]["audio_url"]
    assert urlsplit(far_url).path.startswith(f"/api/v1/sites/{FAR}/announcements/")
    far_audio = _wav(on_a.get(far_url))
    assert far_audio == _wav(on_b.get(far_url))
    assert far_audio != audio
