"""The pieces a display's player joins when calls pile up (docs/display-and-voice.md), against
the real `queuekiosk serve` on the demo centre (its lobby: the chime, the sentence twice)."""

from __future__ import annotations

import io
import wave

import pytest
from api_helpers import assert_error

FORMS = "/api/v1/announcements/forms/"
CALL = {"display": "lobby", "number": 1001, "counter": 1}


def _seconds(http, url: str, params: dict | None = None) -> float:
    response = http.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content), "rb") as w:
        return w.getnframes() / w.getframerate()


def test_the_forms_are_shorter_pieces_of_the_whole_announcement(server, http):
    whole = _seconds(http, http.get("/api/v1/announcements/preview", params=CALL).json()["audio_url"])
    chime = _seconds(http, FORMS + "chime.wav", {"display": "lobby"})
    once = _seconds(http, FORMS + "once.wav", CALL)
    short = _seconds(http, FORMS + "short.wav", CALL)
    assert 0.5 < chime < 3 and short < 4.5 < once < whole, (chime, short, once, whole)
    assert abs(whole - (chime + 2 * once)) < 1.5, "the whole is the chime and the sentence twice (and gaps)"
    # a redirect to the cached, content-named WAV
    moved = http.get(FORMS + "short.wav", params=CALL, allow_redirects=False)
    assert moved.status_code == 302 and moved.headers["Location"].endswith(".wav")
    assert moved.headers["Location"].rpartition("/")[2][:-4].isalnum()


@pytest.mark.parametrize(
    "form, query, field",
    [
        ("once", {"number": 1001, "counter": 1}, "display"),
        ("once", {**CALL, "display": "nowhere"}, "display"),
        ("short", {"display": "lobby", "counter": 1}, "number"),
        ("short", {**CALL, "counter": 0}, "counter"),
    ],
)
def test_bad_input_is_refused_naming_the_field(server, http, form, query, field):
    assert_error(http.get(FORMS + form + ".wav", params=query), 422, "invalid_field", field)


def test_an_unknown_form_is_a_404(server, http):
    assert_error(http.get(FORMS + "twice.wav", params=CALL), 404, "not_found")
