"""A site's sounds and limits changed through the admin API (PATCH /api/v1/sites/{site}/admin/site), on
a real server over HTTP and Socket.IO (issue 16, live administration).

``sounds`` is merged into the site's saved setup as ``limits`` is, checked by the config file's own
model (a bad value is 422 naming the field), and heard at once: the site's calls are said from its
new recordings without a restart, the first site's included, while the other site keeps its own.
A sounds path is a place on the server's disk: only an admin of the whole installation sets one, it
must be there (a folder for the recordings, a file for the piper voice), and the audio routes never
send a file of it that is not a WAV clip.
"""

from __future__ import annotations

import math
import struct
import wave

import pytest
import server_db
from api_helpers import assert_error
from site_helpers import SiteClient

from queuekiosk.server.core import auth

FAR = "xa-an-binh"
SECONDS = 3  # the centre's own chime: much longer than the shipped one, so a call with it is too


@pytest.fixture
def displays():
    made = []

    def connect(srv, site: str | None) -> SiteClient:
        client = SiteClient(srv.url, site).connect()
        made.append(client)
        assert client.subscribe({"display": "lobby"}) == {"ok": True}
        return client

    yield connect
    for client in made:
        client.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_of(srv, role: str, site: str | None) -> str:
    return server_db._write(srv.database_url, lambda db: auth.create_token(db, role, f"{role} of {site}", site_id=site))


def add_site(srv) -> None:
    made = srv.session().post(
        "/api/v1/admin/sites",
        json={"id": FAR, "name": "Xã An Bình", "timezone": "Asia/Ho_Chi_Minh"},
        headers=bearer(srv.token("admin")),
    )
    assert made.status_code == 201, made.text


def recordings_with_chime(folder, pitch: int = 440):
    """A recordings folder holding the centre's own chime: a real 16-bit mono WAV, a tone of SECONDS seconds."""
    folder.mkdir()
    samples = (round(8000 * math.sin(2 * math.pi * pitch * i / 22050)) for i in range(22050 * SECONDS))
    with wave.open(str(folder / "chime.wav"), "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(22050)
        clip.writeframes(b"".join(struct.pack("<h", v) for v in samples))
    return folder


def chime(http, prefix: str) -> bytes:
    answer = http.get(f"{prefix}/announcements/forms/chime.wav", params={"display": "lobby"})
    assert answer.status_code == 200 and answer.content.startswith(b"RIFF"), (answer.status_code, answer.text[:200])
    return answer.content


def call_heard(srv, http, display: SiteClient, prefix: str) -> tuple[dict, bytes]:
    """A number taken and called at counter 1 of the site under ``prefix``: its announcement on the
    site's lobby display, and the audio the display plays."""
    mark = display.mark()
    ticket = http.post(f"{prefix}/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    called = http.post(f"{prefix}/counters/1/next", headers=bearer(srv.token("admin")))
    assert called.status_code == 200 and called.json()["id"] == ticket.json()["id"], called.text
    event = display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket.json()["id"], since=mark)
    audio = http.get(event["announcement"]["audio_url"])
    assert audio.status_code == 200 and audio.content.startswith(b"RIFF"), audio.status_code
    return event["announcement"], audio.content


def test_a_sites_sounds_and_limits_are_changed_under_its_prefix_and_its_calls_heard_in_them(live_server, displays):
    srv = live_server()
    add_site(srv)
    http = srv.session()
    admin = bearer(srv.token("admin"))  # an admin of the whole installation
    here, far = "/api/v1", f"/api/v1/sites/{FAR}"
    first_before = http.get(f"{here}/admin/site", headers=admin).json()
    own = recordings_with_chime(srv.workdir / "an-binh-recordings")

    change = {
        "sounds": {"recordings": str(own), "cache_mb": 150},
        "limits": {"bookings_per_address": "4/day", "tickets_per_kiosk": "20/minute"},
    }
    changed = http.patch(f"{far}/admin/site", json=change, headers=admin)
    assert changed.status_code == 200, changed.text
    sounds, limits = changed.json()["sounds"], changed.json()["limits"]
    assert (sounds["recordings"], sounds["cache_mb"], sounds["tts"]) == (str(own), 150, first_before["sounds"]["tts"])
    assert (limits["bookings_per_address"], limits["tickets_per_kiosk"]) == ("4/day", "20/minute")
    assert limits["tickets_per_address"] == first_before["limits"]["tickets_per_address"]  # the rest kept
    saved = http.get(f"{far}/admin/site", headers=admin).json()
    assert saved["sounds"] == sounds and saved["limits"] == limits

    # the first site: nothing changed
    first_after = http.get(f"{here}/admin/site", headers=admin).json()
    assert (first_after["sounds"], first_after["limits"]) == (first_before["sounds"], first_before["limits"])

    # heard at once, without a restart: the far site's displays chime with its recording, the first site's not
    assert chime(http, far) == (own / "chime.wav").read_bytes()
    assert chime(http, here) != (own / "chime.wav").read_bytes()

    # the same number called at the same counter at each site: the same words, but the far site's call
    # opens with its own long chime (SECONDS of sound) and the first site's with the shipped one
    there, here_display = displays(srv, FAR), displays(srv, None)
    far_call, far_audio = call_heard(srv, http, there, far)
    first_call, first_audio = call_heard(srv, http, here_display, here)
    assert far_call["text"] == first_call["text"]
    assert far_call["audio_url"] != first_call["audio_url"]
    assert len(far_audio) - len(first_audio) > 22050 * 2 * (SECONDS - 1.5), (len(far_audio), len(first_audio))


def test_the_first_sites_sounds_are_changed_and_restored_without_a_restart(live_server):
    srv = live_server()
    http = srv.session()
    admin = bearer(srv.token("admin"))
    shipped = chime(http, "/api/v1")
    own = recordings_with_chime(srv.workdir / "centre-recordings", pitch=660)

    changed = http.patch("/api/v1/admin/site", json={"sounds": {"recordings": str(own)}}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert chime(http, "/api/v1") == (own / "chime.wav").read_bytes()

    # a second change of the same site: the newest sounds are heard, not the ones made for the first change
    other = recordings_with_chime(srv.workdir / "centre-recordings-2", pitch=880)
    assert http.patch("/api/v1/admin/site", json={"sounds": {"recordings": str(other)}}, headers=admin).ok
    assert chime(http, "/api/v1") == (other / "chime.wav").read_bytes()

    # null restores the default: the config's recordings folder (none here), so the shipped chime again
    restored = http.patch("/api/v1/admin/site", json={"sounds": {"recordings": None}}, headers=admin)
    assert restored.status_code == 200 and restored.json()["sounds"]["recordings"] == "recordings", restored.text
    assert chime(http, "/api/v1") == shipped


def test_bad_sounds_and_limits_are_refused_naming_the_field(live_server):
    srv = live_server()
    add_site(srv)
    http = srv.session()
    far = f"/api/v1/sites/{FAR}"
    admin = bearer(srv.token("admin"))
    a_file = srv.workdir / "not-a-folder.txt"
    a_file.write_text("x", encoding="utf-8")
    refused = {
        "sounds.recordings": {"recordings": str(srv.workdir / "no-such-folder")},
        "sounds.piper_model": {"piper_model": str(srv.workdir)},  # a folder, not a voice file
        "sounds.recordings ": {"recordings": "thư-mục/" * 600},  # a name longer than any the disk takes
        "sounds.tts": {"tts": "loud"},
        "sounds.cache_mb": {"cache_mb": 1},
    }
    refused_with_file = http.patch(f"{far}/admin/site", json={"sounds": {"recordings": str(a_file)}}, headers=admin)
    error = assert_error(refused_with_file, 422, "invalid_field", "sounds.recordings")
    assert "thư mục" in error["message"]  # Vietnamese first: "no such folder"
    for field, sounds in refused.items():
        answer = http.patch(f"{far}/admin/site", json={"sounds": sounds}, headers=admin)
        assert_error(answer, 422, "invalid_field", field.strip())
    answer = http.patch(f"{far}/admin/site", json={"sounds": {"volume": 3}}, headers=admin)
    assert answer.status_code == 422 and "volume" in answer.json()["error"]["field"], answer.text
    bad_limit = http.patch(f"{far}/admin/site", json={"limits": {"tickets_per_address": "lots"}}, headers=admin)
    assert bad_limit.status_code == 422 and "tickets_per_address" in bad_limit.json()["error"]["field"], bad_limit.text
    assert http.get(f"{far}/admin/site", headers=admin).json()["sounds"]["recordings"] == "recordings"  # unchanged


def test_only_an_installation_admin_sets_a_sounds_path(live_server):
    """The far site's own admin changes its limits and its text to speech, but not a path on the
    server's disk (sending the one in force back, as the /admin form does, is fine); its supervisor
    changes neither; the first site's admin nothing of the far site."""
    srv = live_server()
    add_site(srv)
    http = srv.session()
    far = f"/api/v1/sites/{FAR}"
    own = recordings_with_chime(srv.workdir / "far-recordings")
    far_admin = bearer(token_of(srv, "admin", FAR))
    error = assert_error(
        http.patch(f"{far}/admin/site", json={"sounds": {"recordings": str(own)}}, headers=far_admin),
        403,
        "sounds_path_installation_admin_only",
    )
    assert "sounds.recordings" in error["message"]
    assert_error(
        http.patch(f"{far}/admin/site", json={"sounds": {"piper_model": str(own / "chime.wav")}}, headers=far_admin),
        403,
        "sounds_path_installation_admin_only",
    )
    mine = {"sounds": {"recordings": "recordings", "tts": "none"}, "limits": {"lookups_per_address": "9/minute"}}
    changed = http.patch(f"{far}/admin/site", json=mine, headers=far_admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["sounds"]["tts"], changed.json()["limits"]["lookups_per_address"]) == ("none", "9/minute")
    assert_error(
        http.patch(
            f"{far}/admin/site",
            json={"limits": {"lookups_per_address": "1/day"}},
            headers=bearer(token_of(srv, "supervisor", FAR)),
        ),
        403,
        "forbidden_role",
    )
    assert_error(
        http.patch(
            f"{far}/admin/site", json={"sounds": {"tts": "auto"}}, headers=bearer(token_of(srv, "admin", "phuc-la"))
        ),
        403,
        "forbidden_site",
    )
    assert (
        http.get(f"{far}/announcements/forms/chime.wav", params={"display": "lobby"}).content
        != (own / "chime.wav").read_bytes()
    )


def test_a_recordings_folder_serves_wav_clips_only(live_server):
    """Pointed at a folder whose chime.wav is not a WAV (a file that only bears the name), the audio
    routes send nothing of it; an announcement key that is not one reads no file either."""
    srv = live_server()
    http = srv.session()
    admin = bearer(srv.token("admin"))
    folder = srv.workdir / "odd-recordings"
    folder.mkdir()
    secret = b"not a sound: a secret of the server's disk"
    (folder / "chime.wav").write_bytes(secret)
    assert http.patch("/api/v1/admin/site", json={"sounds": {"recordings": str(folder)}}, headers=admin).ok
    answer = http.get("/api/v1/announcements/forms/chime.wav", params={"display": "lobby"})
    assert answer.status_code == 404 and secret not in answer.content
    for key in ("..%2F..%2Fodd-recordings%2Fchime", "../odd-recordings/chime", "chime"):
        answer = http.get(f"/api/v1/announcements/{key}.wav")
        assert answer.status_code == 404 and secret not in answer.content, key
    preview = http.get("/api/v1/announcements/preview", params={"number": 7, "counter": 1})
    assert preview.status_code == 200, preview.text
    audio_url = preview.json()["audio_url"]
    assert audio_url is None or secret not in http.get(audio_url).content
