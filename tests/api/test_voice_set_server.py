"""A real `queuekiosk serve` with a full recorded set that lacks clips, and a piper model that is
not on disk: both are named in the server's log at start-up, before any call; the calls are then
spoken, the recorded clips first (docs/display-and-voice.md)."""

from __future__ import annotations

from voice_set_helpers import clips_heard, make_voice_set, piper_model_file, piper_or_skip

from queuekiosk.server.core.config import parse_config
from queuekiosk.sounds.voice import VoiceSet


def test_the_server_names_missing_clips_at_start_and_says_calls_from_the_set(live_server, config_variant, tmp_path):
    data = config_variant()
    recordings = tmp_path / "lan"
    data["sounds"] = {"recordings": str(recordings), "piper_model": str(tmp_path / "voices" / "vi_VN-x.onnx")}
    names = VoiceSet.required_clips(parse_config(data, "config.yaml"), ["vi"])
    pitches = make_voice_set(recordings, names, skip=("vi/chín", "chime"))
    server = live_server(data)

    log = server.log()  # at start, before any call
    assert "the recorded set 'Giọng thử'" in log and "21 of 23 clips" in log
    assert "lacks 2 clip(s): chime.wav, vi/chín.wav" in log
    assert "the neural voice (piper) cannot be used" in log and "vi_VN-x.onnx" in log
    assert not list((server.instance / "announcements").glob("*.wav"))

    http = server.session()
    answer = http.get("/api/v1/announcements/preview", params={"number": 1023, "counter": 5})
    assert answer.status_code == 200, answer.text
    wav = server.instance / "announcements" / answer.json()["audio_url"].rpartition("/")[2]
    heard = clips_heard(wav, pitches)
    sentence = ["vi/mời công dân có số thứ tự", "vi/một", "vi/nghìn", "vi/không", "vi/trăm", "vi/hai", "vi/mươi"]
    sentence += ["vi/ba", "vi/đến quầy số", "vi/năm"]
    # the chime is not recorded: the shipped one plays first (not a recorded pitch), then the set
    assert heard[-len(sentence) * 2 :] == sentence * 2, heard


def test_the_server_speaks_with_a_piper_voice_on_disk(live_server, config_variant, tmp_path):
    piper_or_skip()
    model = piper_model_file(tmp_path / "voices")
    data = config_variant()
    data["sounds"] = {"recordings": str(tmp_path / "none"), "piper_model": str(model)}
    server = live_server(data)
    assert f"the piper voice {model} says what the recordings do not" in server.log()

    answer = server.session().get("/api/v1/announcements/preview", params={"number": 1023, "counter": 5})
    assert answer.status_code == 200 and answer.json()["audio_url"], answer.text
    made = {p.name for p in (server.instance / "voice-tts").glob("piper-*/*.wav")}
    assert made == {
        "mời công dân có số thứ tự.wav",
        "một nghìn không trăm hai mươi ba.wav",
        "đến quầy số.wav",
        "năm.wav",
    }
