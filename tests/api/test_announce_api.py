"""Announcements over HTTP and Socket.IO, against the real `queuekiosk serve`.

A call's ``announcement.audio_url`` is a WAV that is ready when the event arrives; the preview
gives an installer the same; a recording dropped into the centre's folder is heard at once;
without a clip or espeak-ng the call is still shown, as text.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from urllib.parse import urlsplit

import pytest
from api_helpers import assert_error, issue


def _wav(response) -> tuple:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


def _admin(srv):
    return {"Authorization": f"Bearer {srv.token('admin')}"}


def test_preview_gives_the_text_and_a_playable_wav(server, http):
    answer = http.get("/api/v1/announcements/preview", params={"number": 1023, "counter": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm"
    assert body["display"] == "lobby"
    assert body["audio_url"].startswith("/api/v1/announcements/") and body["audio_url"].endswith(".wav")
    channels, width, rate, seconds = _wav(http.get(body["audio_url"]))
    assert (channels, width, rate) == (1, 2, 22050)
    assert 8 < seconds < 25, seconds  # the demo: chime, then the sentence twice
    again = http.get(body["audio_url"])
    assert "immutable" in again.headers["Cache-Control"]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"counter": 5}, "number"),
        ({"number": "abc", "counter": 5}, "number"),
        ({"number": -3, "counter": 5}, "number"),
        ({"number": 1023}, "counter"),
        ({"number": 1023, "counter": 0}, "counter"),
        ({"number": 1023, "counter": "5.5"}, "counter"),
        ({"number": 10**12, "counter": 5}, "number"),
        ({"number": 1023, "counter": 5, "display": "attic"}, "display"),
    ],
)
def test_preview_refuses_bad_input_naming_the_field(server, http, query, field):
    error = assert_error(http.get("/api/v1/announcements/preview", params=query), 422, "invalid_field", field)
    assert f"“{field}”" in error["message"]
    english = http.get("/api/v1/announcements/preview", params=query, headers={"Accept-Language": "en"})
    assert assert_error(english, 422, "invalid_field", field)["message"].startswith(f"Field “{field}”")


def test_unknown_audio_is_a_404(server, http):
    assert_error(http.get("/api/v1/announcements/" + "0" * 32 + ".wav"), 404, "not_found")
    assert_error(http.get("/api/v1/announcements/../../secret_key.wav"), 404, "not_found")


def test_openapi_describes_the_preview(server, http):
    paths = http.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/announcements/preview" in paths
    assert "/api/v1/announcements/{key}.wav" in paths


def test_a_call_brings_audio_that_is_ready_to_play(live_server, sio_client, config_variant):
    config = config_variant()
    config["displays"] = [
        {"id": "downstairs", "counters": [1, 2, 3], "voice": {"language": "vi", "repeat": 1, "chime": False}},
        {
            "id": "upstairs",
            "counters": [4, 5, 6, 1],
            "voice": {"language": "vi+en", "region": "south", "repeat": 1, "chime": True},
        },
    ]
    # HT's day starts at 1105, whose words differ in the North and the South ("linh", "lẻ"): the first
    # number issued is it (issuing 1001..1105 and calling 104 of them first, each call making its audio,
    # cost 3 s of CPU)
    [ht] = [service for service in config["services"] if service["code"] == "HT"]
    ht["numbers"] = {**ht["numbers"], "start": 1105}
    srv = live_server(config)
    http = srv.session()
    down = sio_client(srv)
    assert down.subscribe({"display": "downstairs"}) == {"ok": True}
    up = sio_client(srv)
    assert up.subscribe({"display": "upstairs"}) == {"ok": True}
    assert issue(http, "HT")["number"] == 1105
    mark_down, mark_up = down.mark(), up.mark()
    assert http.post("/api/v1/counters/1/next", headers=_admin(srv)).json()["number"] == 1105

    heard_down = down.wait_for("ticket.called", lambda d: d["ticket"]["number"] == 1105, since=mark_down)
    heard_up = up.wait_for("ticket.called", lambda d: d["ticket"]["number"] == 1105, since=mark_up)
    # each display in its own voice settings: Northern downstairs, Southern with English upstairs
    assert heard_down["announcement"]["text"] == "Mời công dân có số thứ tự một nghìn một trăm linh năm đến quầy số một"
    assert heard_up["announcement"]["text"] == "Mời công dân có số thứ tự một ngàn một trăm lẻ năm đến quầy số một"
    assert (
        heard_up["announcement"]["text_en"]
        == "Ticket number one thousand one hundred and five, please go to counter one"
    )
    seconds_down = _wav(http.get(heard_down["announcement"]["audio_url"]))[3]
    seconds_up = _wav(http.get(heard_up["announcement"]["audio_url"]))[3]
    assert 3 < seconds_down < 10
    assert seconds_up > seconds_down + 3  # a chime and the English sentence

    # a recall is announced again, with the same (cached) audio
    mark_down = down.mark()
    assert http.post("/api/v1/counters/1/recall", headers=_admin(srv)).status_code == 200
    recalled = down.wait_for("ticket.recalled", since=mark_down)
    assert recalled["announcement"]["audio_url"] == heard_down["announcement"]["audio_url"]
    # the preview of that display says the same (the call's URL also names the call, for any process to make it)
    preview = http.get("/api/v1/announcements/preview", params={"number": 1105, "counter": 1, "display": "downstairs"})
    assert preview.json()["audio_url"] == urlsplit(heard_down["announcement"]["audio_url"]).path


def _tone(path, seconds: float, frequency: float, rate: int = 48000) -> None:
    """A recording as a centre would drop it in: 48 kHz stereo 16-bit."""
    frames = b"".join(
        struct.pack("<hh", v, v)
        for v in (int(12000 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(int(rate * seconds)))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def test_a_recording_dropped_into_the_folder_is_heard_without_a_restart(live_server, config_variant):
    config = config_variant()
    config["displays"][0]["voice"] = {"repeat": 1, "chime": False}
    srv = live_server(config)
    http = srv.session()
    before = http.get("/api/v1/announcements/preview", params={"number": 1023, "counter": 5}).json()
    before_seconds = _wav(http.get(before["audio_url"]))[3]

    _tone(srv.workdir / "recordings" / "vi" / "đến quầy số.wav", 4.0, 440.0)
    after = http.get("/api/v1/announcements/preview", params={"number": 1023, "counter": 5}).json()
    assert after["audio_url"] != before["audio_url"]
    channels, width, rate, after_seconds = _wav(http.get(after["audio_url"]))
    assert (channels, width, rate) == (1, 2, 22050)
    assert after_seconds > before_seconds + 2.5  # the 4 s recording replaced the 1 s shipped clip

    listed = srv.cli("voice", "clips").stdout
    assert "vi/đến quầy số.wav  recording" in listed
    assert "vi/mười.wav  shipped" in listed


def test_without_a_clip_or_espeak_ng_the_call_is_shown_as_text(live_server, sio_client, config_variant):
    config = config_variant()
    config["displays"][0]["voice"] = {"phrase": "Kính mời số {number} đến quầy {counter}"}
    config["sounds"] = {"tts": "espeak-ng"}
    srv = live_server(config, env={"QUEUEKIOSK_ESPEAK_NG": "/nonexistent/espeak-ng"})  # as if not installed
    http = srv.session()
    display = sio_client(srv)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    issue(http, "HT")
    mark = display.mark()
    assert http.post("/api/v1/counters/1/next", headers=_admin(srv)).status_code == 200
    called = display.wait_for("ticket.called", since=mark)
    assert called["announcement"] == {
        "text": "Kính mời số một nghìn không trăm linh một đến quầy một",
        "audio_url": None,
    }
    assert called["ticket"]["number"] == 1001
    log = srv.log()
    assert "apt-get install espeak-ng" in log and "kính" in log


def test_without_espeak_ng_the_dashboard_says_so_and_calls_are_still_shown_and_heard(
    live_server, sio_client, config_variant
):
    config = config_variant()
    config["sounds"] = {"tts": "espeak-ng"}
    srv = live_server(config, env={"QUEUEKIOSK_ESPEAK_NG": "/nonexistent/espeak-ng"})  # as if not installed
    http = srv.session()
    dashboard = sio_client(srv, auth={"token": srv.token("supervisor")})
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    [note] = dashboard.wait_for("state")["system"]
    assert note["item"] == "voice"
    assert note["message"].startswith("Giọng đọc: chỉ đọc được câu có đoạn ghi âm sẵn")
    assert "apt-get install espeak-ng" in note["message"] and note["message_en"].startswith("Voice: only sentences")
    assert note["detail"] == "the espeak-ng program is not installed (Debian: apt-get install espeak-ng)"
    assert "voice: text to speech cannot work: the espeak-ng program is not installed" in srv.log()

    display = sio_client(srv)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    issue(http, "HT")
    mark = display.mark()
    assert http.post("/api/v1/counters/1/next", headers=_admin(srv)).status_code == 200
    called = display.wait_for("ticket.called", since=mark)
    assert called["ticket"]["number"] == 1001  # shown on the display ...
    assert called["announcement"]["text"].startswith("Mời công dân có số thứ tự một nghìn không trăm linh một")
    assert _wav(http.get(called["announcement"]["audio_url"]))[3] > 3  # ... and heard, from the shipped clips


def test_with_espeak_ng_the_dashboard_has_no_voice_note(server, http, sio_client):
    from queuekiosk.sounds.tts import espeak_installed

    if not espeak_installed():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    dashboard = sio_client(server, auth={"token": server.token("supervisor")})
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    assert dashboard.wait_for("state")["system"] == []
