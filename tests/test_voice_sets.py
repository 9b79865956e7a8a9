"""A natural offline voice: a full recorded set (voice-set.json) first, then the optional piper-tts
neural voice, then the shipped espeak-ng clips (docs/display-and-voice.md).

The recorded set is made here: each clip is a pure tone of its own pitch, so the test can read
back from the announcement WAV which clip was played where. The piper voice is the real
piper-tts package running a model made here (a tiny ONNX graph with piper's inputs and output,
with piper's own phoneme map and espeak-ng data): no Vietnamese piper voice is on a package
registry, and none may be downloaded at run time.
"""

from __future__ import annotations

import logging
import os
import struct
import wave
from pathlib import Path

import pytest
from voice_set_helpers import HOP, clips_heard, make_voice_set, piper_model_file, piper_or_skip, tone_clip

from queuekiosk.server.core.config import parse_config
from queuekiosk.sounds.announce import number_words, spoken_words
from queuekiosk.sounds.tts import NoTts, PiperEngine, piper_installed
from queuekiosk.sounds.voice import SHIPPED, Announcer, VoiceSet


@pytest.fixture
def centre(config_data, tmp_path):
    """``centre(sounds={...}, tts=NoTts())`` -> an Announcer over the repo's config, config folder tmp_path/cfg."""
    made = []
    (tmp_path / "cfg").mkdir()

    def make(tts=None, **sounds):
        data = dict(config_data)
        data["sounds"] = sounds
        config = parse_config(data, "config.yaml")
        announcer = Announcer(config, tmp_path / "cfg", tmp_path / "instance", tts=tts if tts is not None else NoTts())
        made.append(announcer)
        return announcer

    yield make
    for announcer in made:
        announcer.close()


def _expected(number: int, counter: int, repeat: int = 2) -> list[str]:
    sentence = (
        ["vi/mời công dân có số thứ tự"]
        + [f"vi/{w}" for w in spoken_words(number_words(number))]
        + ["vi/đến quầy số"]
        + [f"vi/{w}" for w in spoken_words(number_words(counter))]
    )
    return ["chime"] + sentence * repeat


def test_a_full_recorded_set_says_the_whole_call_in_order(centre, tmp_path, caplog):
    announcer = centre()
    names = VoiceSet.required_clips(announcer.config, ["vi"])
    # what the number reading needs, from sounds/announce.py: every digit word, the scales, both phrase parts
    for word in ("vi/không", "vi/mốt", "vi/lăm", "vi/linh", "vi/mười", "vi/mươi", "vi/trăm", "vi/nghìn", "vi/triệu"):
        assert word in names
    assert {"chime", "vi/mời công dân có số thứ tự", "vi/đến quầy số", "vi/quầy"} <= set(names)
    pitches = make_voice_set(tmp_path / "cfg" / "recordings", names)

    with caplog.at_level(logging.INFO, logger="queuekiosk.voice"):
        announcer.startup_report()
    assert announcer.voice_set is not None and announcer.voice_set.complete, announcer.voice_set
    assert "recorded set 'Giọng thử'" in caplog.text and "lacks" not in caplog.text

    for number, counter in ((1023, 5), (215, 14), (71, 2)):
        spoken = announcer.announce(announcer.config.displays[0].voice, number, counter)
        assert spoken.key, spoken
        assert clips_heard(announcer.path_of(spoken.key), pitches) == _expected(number, counter)
    # nothing of the shipped espeak-ng set was used
    plan = announcer.plan(announcer.config.displays[0].voice, 1023, 5)
    assert all(not value.is_relative_to(SHIPPED) for kind, value in plan if kind == "clip")


def test_a_missing_clip_is_named_at_start_and_the_call_still_speaks(centre, tmp_path, caplog):
    announcer = centre()
    names = VoiceSet.required_clips(announcer.config, ["vi"])
    pitches = make_voice_set(tmp_path / "cfg" / "recordings", names, skip=("vi/bảy", "vi/đến quầy số"))

    with caplog.at_level(logging.INFO, logger="queuekiosk.voice"):
        announcer.startup_report()
    # at start, before any call: each missing clip by its file name
    assert not (tmp_path / "instance" / "announcements").exists() or not any(
        (tmp_path / "instance" / "announcements").iterdir()
    )
    warning = [r.getMessage() for r in caplog.records if "lacks" in r.getMessage()]
    assert len(warning) == 1, caplog.text
    assert "vi/bảy.wav" in warning[0] and "vi/đến quầy số.wav" in warning[0] and "2 clip(s)" in warning[0]
    assert "shipped espeak-ng clips" in warning[0]
    assert set(announcer.voice_set.missing) == {"vi/đến quầy số", "vi/bảy"}

    # each missing clip is said by the next source, the shipped espeak-ng set; the rest stays recorded
    voice = announcer.config.displays[0].voice
    plan = [value for kind, value in announcer.plan(voice, 1007, 7) if kind == "clip"]
    where = [
        "shipped" if p.is_relative_to(SHIPPED) else p.relative_to(tmp_path / "cfg" / "recordings").as_posix()
        for p in plan
    ]
    one = ["vi/mời công dân có số thứ tự.wav", "vi/một.wav", "vi/nghìn.wav", "vi/không.wav", "vi/trăm.wav"]
    one += ["vi/linh.wav", "shipped", "shipped", "shipped"]  # bảy, "đến quầy số", bảy
    assert where == ["chime.wav"] + one + one
    spoken = announcer.announce(voice, 1007, 7)
    assert spoken.key
    heard = clips_heard(announcer.path_of(spoken.key), pitches)
    assert heard[:7] == [
        "chime",
        "vi/mời công dân có số thứ tự",
        "vi/một",
        "vi/nghìn",
        "vi/không",
        "vi/trăm",
        "vi/linh",
    ]


def test_clips_off_the_sets_format_are_named_at_start(centre, tmp_path, caplog):
    announcer = centre()
    names = VoiceSet.required_clips(announcer.config, ["vi"])
    folder = tmp_path / "cfg" / "recordings"
    make_voice_set(folder, names)
    tone_clip(folder / "vi/hai.wav", 500, rate=22050)
    tone_clip(folder / "vi/ba.wav", 520, channels=2)
    (folder / "vi/bốn.wav").write_bytes(
        b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<IHHIIHH", 16, 2, 1, 8000, 8000, 1, 4)
    )
    with caplog.at_level(logging.WARNING, logger="queuekiosk.voice"):
        announcer.startup_report()
    text = caplog.text
    assert "vi/hai.wav: 22050 Hz, the set says 44100 Hz" in text
    assert "vi/ba.wav: 2 channel(s), the set says 1" in text
    assert "vi/bốn.wav: compressed 4-bit" in text


def test_without_a_manifest_recordings_still_replace_clips_but_nothing_is_checked(centre, tmp_path, caplog):
    tone_clip(tmp_path / "cfg" / "recordings" / "vi" / "năm.wav", 440)
    announcer = centre()
    with caplog.at_level(logging.INFO, logger="queuekiosk.voice"):
        announcer.startup_report()
    assert announcer.voice_set is None and "recorded set" not in caplog.text
    recorded = tmp_path / "cfg" / "recordings" / "vi" / "năm.wav"
    plan = [value for kind, value in announcer.plan(announcer.config.displays[0].voice, 5, 5) if kind == "clip"]
    assert plan.count(recorded) == 4  # number and counter, said twice
    assert all(p == recorded or p.is_relative_to(SHIPPED) for p in plan)


# --- piper-tts ------------------------------------------------------------------------------------


def test_piper_speaks_what_the_recordings_do_not_before_the_shipped_clips(centre, tmp_path, caplog):
    piper_or_skip()
    piper_model_file(tmp_path / "cfg" / "voices")
    recordings = tmp_path / "cfg" / "recordings"
    tone_clip(recordings / "vi" / "mời công dân có số thứ tự.wav", 300)
    tone_clip(recordings / "vi" / "đến quầy số.wav", 340)
    tone_clip(recordings / "chime.wav", 380)
    announcer = centre(piper_model="voices/vi_VN-test-x_low.onnx")
    with caplog.at_level(logging.INFO, logger="queuekiosk.voice"):
        announcer.startup_report()
    assert "the piper voice" in caplog.text and "says what the recordings do not" in caplog.text
    assert announcer.neural_problem is None

    voice = announcer.config.displays[0].voice
    plan = [value for kind, value in announcer.plan(voice, 1023, 5) if kind == "clip"]
    where = [
        p.parent.name if p.parent.name.startswith("piper-") else p.relative_to(tmp_path / "cfg").as_posix()
        for p in plan
    ]
    piper_dir = next(w for w in where if w.startswith("piper-"))
    sentence = ["recordings/vi/mời công dân có số thứ tự.wav", piper_dir, "recordings/vi/đến quầy số.wav", piper_dir]
    assert where == ["recordings/chime.wav"] + sentence * 2
    # the number was said whole by piper, from its words (never digits)
    made = sorted(p.name for p in (tmp_path / "instance" / "voice-tts" / piper_dir).glob("*.wav"))
    assert made == ["một nghìn không trăm hai mươi ba.wav", "năm.wav"]
    number_clip = tmp_path / "instance" / "voice-tts" / piper_dir / "một nghìn không trăm hai mươi ba.wav"
    with wave.open(str(number_clip), "rb") as w:
        assert w.getframerate() == 22050 and w.getnframes() % HOP == 0 and w.getnframes() >= 20 * HOP

    spoken = announcer.announce(voice, 1023, 5)
    assert spoken.key
    heard = clips_heard(announcer.path_of(spoken.key), {"chime": 380.0, "phrase1": 300.0, "phrase2": 340.0})
    assert heard[:2] == ["chime", "phrase1"] and "phrase2" in heard and "?" in heard


def test_a_missing_piper_model_is_said_at_start_and_the_shipped_clips_speak(centre, tmp_path, caplog):
    announcer = centre(piper_model="voices/vi_VN-none-medium.onnx")
    with caplog.at_level(logging.WARNING, logger="queuekiosk.voice"):
        announcer.startup_report()
    line = next(r.getMessage() for r in caplog.records if "piper" in r.getMessage())
    if piper_installed():
        assert str(tmp_path / "cfg" / "voices" / "vi_VN-none-medium.onnx") in line
        assert "never downloaded" in line
    else:
        assert "piper-tts is not installed" in line and "queuekiosk[piper]" in line
    assert "shipped espeak-ng clips" in line
    plan = announcer.plan(announcer.config.displays[0].voice, 1023, 5)
    assert all(value.is_relative_to(SHIPPED) for kind, value in plan if kind == "clip")
    assert not (tmp_path / "instance" / "voice-tts").exists()


def test_tts_piper_is_in_the_engine_registry_and_needs_its_model(tmp_path):
    from queuekiosk.sounds.tts import ENGINES, make_tts

    assert ENGINES["piper"] is PiperEngine
    engine = make_tts("piper")
    assert "sounds.piper_model" in engine.available()
    engine = make_tts("piper", tmp_path / "nowhere.onnx")
    assert engine.available() and ("nowhere.onnx" in engine.available() or "not installed" in engine.available())


def test_the_supervisors_dashboard_shows_an_incomplete_set_and_an_unusable_piper_voice(centre, tmp_path):
    from types import SimpleNamespace

    from queuekiosk.sounds.web import ANNOUNCER, voice_notes

    announcer = centre(piper_model="voices/gone.onnx")
    names = VoiceSet.required_clips(announcer.config, ["vi"])
    make_voice_set(tmp_path / "cfg" / "recordings", names, skip=("vi/tám",))
    announcer.startup_report()
    notes = {note["item"]: note for note in voice_notes(SimpleNamespace(extensions={ANNOUNCER: announcer}))}
    assert "Giọng thử" in notes["voice_set"]["message"] and "1 đoạn" in notes["voice_set"]["message"]
    assert "lacks or has wrong 1 clip;" in notes["voice_set"]["message_en"], notes  # not "1 clip(s)"
    assert notes["voice_set"]["detail"] == "vi/tám.wav"
    assert (
        "piper" in notes["voice_neural"]["message"]
        and "gone.onnx" in notes["voice_neural"]["detail"]
        or ("not installed" in notes["voice_neural"]["detail"])
    )

    tone_clip(tmp_path / "cfg" / "recordings" / "vi" / "tám.wav", 700)  # recorded while the server runs
    items = [note["item"] for note in voice_notes(SimpleNamespace(extensions={ANNOUNCER: announcer}))]
    assert "voice_set" not in items and "voice_neural" in items
    complete = centre()  # the next start, no piper configured: no note at all
    complete.startup_report()
    items = [note["item"] for note in voice_notes(SimpleNamespace(extensions={ANNOUNCER: complete}))]
    assert "voice_set" not in items and "voice_neural" not in items


def test_voice_clips_lists_what_the_recorded_set_lacks(config_data, tmp_path, server_zygote):
    import sys

    import yaml

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    config = parse_config(config_data, "config.yaml")
    make_voice_set(tmp_path / "recordings", VoiceSet.required_clips(config, ["vi"]), skip=("vi/chín",))
    # the installed command, as an operator runs it: a process of its own, forked from one that has imported
    # what the command imports (tests/server_fork.py, Zygote.run)
    done = server_zygote.run(
        [str(Path(sys.executable).parent / "queuekiosk"), "voice", "clips", "--config", str(tmp_path / "config.yaml")],
        {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp_path / "instance")},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "bộ ghi âm “Giọng thử”: có 22/23 đoạn cần dùng; còn thiếu hoặc sai:" in done.stdout
    assert "recorded set “Giọng thử”: 22 of 23 clips it needs are there; missing or wrong:" in done.stdout
    assert "\n  - vi/chín.wav\n" in done.stdout


def test_a_broken_piper_model_falls_back_to_the_shipped_clips_and_says_why(centre, tmp_path, caplog):
    piper_or_skip()
    from types import SimpleNamespace

    from queuekiosk.sounds.web import ANNOUNCER, voice_notes

    model = piper_model_file(tmp_path / "cfg" / "voices")
    model.write_bytes(b"not an onnx model")  # a copy cut short, say
    announcer = centre(piper_model="voices/vi_VN-test-x_low.onnx")
    announcer.startup_report()
    with caplog.at_level(logging.WARNING, logger="queuekiosk.voice"):
        spoken = announcer.announce(announcer.config.displays[0].voice, 1023, 5)
    assert spoken.key  # still spoken
    assert "the piper voice failed" in caplog.text and "could not load" in caplog.text
    plan = announcer.plan(announcer.config.displays[0].voice, 1023, 5)
    assert all(value.is_relative_to(SHIPPED) for kind, value in plan if kind == "clip")
    notes = {n["item"]: n for n in voice_notes(SimpleNamespace(extensions={ANNOUNCER: announcer}))}
    assert "could not load" in notes["voice_neural"]["detail"]
