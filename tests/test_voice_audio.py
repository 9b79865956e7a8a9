"""Announcement audio: real WAV files made from the shipped clips, a centre's recordings and TTS.

No mocks: the clips are the repo's sounds/clips/, recordings are WAV files written here in
the formats recorders produce, TTS is the real espeak-ng (skipped where it is not installed,
except under CI, which installs it).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import struct
import sys
import wave
from pathlib import Path

import pytest

from queuekiosk.server.core.config import Voice, parse_config
from queuekiosk.sounds import wav
from queuekiosk.sounds.announce import clip_name, number_words, spoken_words
from queuekiosk.sounds.build import VOCABULARY
from queuekiosk.sounds.tts import EspeakCli, NoTts
from queuekiosk.sounds.voice import SHIPPED, Announcer

REPO = Path(__file__).resolve().parent.parent
QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


def _espeak_or_skip():
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("espeak-ng is not installed (CI must install it: apt-get install espeak-ng)")
        pytest.skip("espeak-ng is not installed")


def _params(path) -> tuple:
    with wave.open(str(path), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / w.getframerate()


def _frames(path) -> bytes:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


@pytest.fixture
def make_announcer(config_data, tmp_path):
    """``make_announcer(sounds={...}, tts=None)`` over the repo's config; config folder = tmp_path/cfg."""
    made = []

    def make(tts=None, **sounds):
        data = dict(config_data)
        data["sounds"] = sounds
        config = parse_config(data, "config.yaml")
        (tmp_path / "cfg").mkdir(exist_ok=True)
        announcer = Announcer(config, tmp_path / "cfg", tmp_path / "instance", tts=tts)
        made.append(announcer)
        return announcer

    yield make
    for announcer in made:
        announcer.close()


def _sine_wav(
    path: Path,
    seconds: float,
    frequency: float,
    rate: int = 44100,
    channels: int = 2,
    bits: int = 24,
    extensible: bool = True,
) -> None:
    """A WAV as recorders write it: 44.1 kHz stereo 24-bit WAVE_FORMAT_EXTENSIBLE (Python 3.11's
    wave module cannot read that), with silence before and after the sound."""
    width = bits // 8
    frames = bytearray()
    total = int(rate * seconds)
    lead = int(rate * 0.3)
    for n in range(total + 2 * lead):
        value = 0.5 * math.sin(2 * math.pi * frequency * (n - lead) / rate) if lead <= n < lead + total else 0.0
        sample = int(value * (2 ** (bits - 1) - 1)).to_bytes(width, "little", signed=True)
        frames += sample * channels
    if extensible:
        fmt = struct.pack(
            "<HHIIHHHHI16s",
            0xFFFE,
            channels,
            rate,
            rate * channels * width,
            channels * width,
            bits,
            22,
            bits,
            0x3,
            b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71",
        )
    else:
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width, channels * width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(frames)) + frames
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


# --- the shipped clip set --------------------------------------------------------------------


def test_the_shipped_clip_set_is_complete_and_of_one_format():
    expected = {f"{lang}/{clip_name(text)}" for lang, texts in VOCABULARY.items() for text in texts} | {"chime"}
    shipped = {str(p.relative_to(SHIPPED).with_suffix("")) for p in SHIPPED.rglob("*.wav")}
    assert expected <= shipped, f"missing clips: {sorted(expected - shipped)}"
    for path in SHIPPED.rglob("*.wav"):
        channels, width, rate, seconds = _params(path)
        assert (channels, width, rate) == (1, 2, wav.RATE), path
        assert 0.1 < seconds < 3.0, (path, seconds)
    # every word of every number a centre issues has a clip, in both regional forms
    words = {
        w for n in range(0, 100_000, 7) for region in ("north", "south") for w in number_words(n, region=region).split()
    }
    assert {f"vi/{w}" for w in words} <= shipped


def test_the_chime_is_made_with_the_standard_library():
    pcm = wav.chime()
    assert 0.8 < wav.duration(pcm) < 2.0
    with wave.open(str(SHIPPED / "chime.wav"), "rb") as w:
        assert w.readframes(w.getnframes()) == pcm


def test_build_clips_regenerates_the_shipped_set(tmp_path, server_zygote):
    """`queuekiosk voice build-clips` with espeak-ng's command line makes exactly the shipped files."""
    _espeak_or_skip()
    # a process of its own, forked from one that has imported what the command imports (tests/server_fork.py)
    done = server_zygote.run(
        [QUEUEKIOSK, "voice", "build-clips", "--out", str(tmp_path / "clips")], dict(os.environ), timeout=300
    )
    assert done.returncode == 0, done.stderr
    made = sorted(p.relative_to(tmp_path / "clips") for p in (tmp_path / "clips").rglob("*.wav"))
    assert made == sorted(p.relative_to(SHIPPED) for p in SHIPPED.rglob("*.wav"))
    for name in ("vi/mời công dân có số thứ tự.wav", "vi/lăm.wav", "en/thousand.wav", "chime.wav"):
        assert (tmp_path / "clips" / name).read_bytes() == (SHIPPED / name).read_bytes(), name


# --- announcements -----------------------------------------------------------------------------


def test_an_announcement_is_one_valid_wav_of_plausible_length(make_announcer):
    announcer = make_announcer(tts=NoTts())  # the shipped clips alone must do
    once = announcer.announce(Voice(repeat=1, chime=False), 1023, 5)
    assert once.text == "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm"
    assert once.audio_url == f"/api/v1/announcements/{once.key}.wav"
    path = announcer.path_of(once.key)
    channels, width, rate, seconds = _params(path)
    assert (channels, width, rate) == (1, 2, wav.RATE)
    assert 3.0 < seconds < 9.0, seconds  # 13 syllables with pauses
    assert path.stat().st_size == 44 + int(round(seconds * rate)) * 2

    twice = announcer.announce(Voice(repeat=2, chime=True), 1023, 5)
    _, _, _, twice_seconds = _params(announcer.path_of(twice.key))
    # a chime, the sentence twice and a pause between: about twice as long, plus a second or two
    assert 2 * seconds + 1.0 < twice_seconds < 2 * seconds + 3.5
    chime = _frames(SHIPPED / "chime.wav")
    assert _frames(announcer.path_of(twice.key)).startswith(chime)

    both = announcer.announce(Voice(repeat=1, chime=False, language="vi+en"), 1023, 5)
    assert both.text_en == "Ticket number one thousand and twenty-three, please go to counter five"
    _, _, _, both_seconds = _params(announcer.path_of(both.key))
    assert both_seconds > seconds + 2.5  # the English sentence follows the Vietnamese one
    assert _frames(announcer.path_of(both.key)).startswith(_frames(path))


def test_the_same_call_is_cached_and_a_different_one_is_not(make_announcer):
    announcer = make_announcer(tts=NoTts())
    first = announcer.announce(Voice(), 1023, 5)
    path = announcer.path_of(first.key)
    made_at = path.stat().st_mtime_ns
    again = announcer.announce(Voice(), 1023, 5)
    assert again.key == first.key and path.stat().st_size > 0
    assert announcer.announce(Voice(), 1024, 5).key != first.key
    assert announcer.announce(Voice(region="south"), 1105, 5).text.endswith("một ngàn một trăm lẻ năm đến quầy số năm")
    assert announcer.announce(Voice(region="south"), 1105, 5).key != announcer.announce(Voice(), 1105, 5).key
    assert path.stat().st_mtime_ns >= made_at


def test_the_cache_is_kept_within_its_size(make_announcer):
    announcer = make_announcer(tts=NoTts(), cache_mb=10)
    for number in range(1001, 1040):  # about 0.6 MB each
        assert announcer.announce(Voice(), number, 1).key
    total = sum(p.stat().st_size for p in announcer.cache_dir.glob("*.wav"))
    assert total <= 10 * 1024 * 1024
    assert announcer.path_of(announcer.announce(Voice(), 1039, 1).key).exists()  # the newest stays


def test_a_calls_wav_is_made_at_its_first_ask_the_same_as_made_at_once_and_counted_in_the_cache(make_announcer):
    from queuekiosk.sounds import voice

    announcer = make_announcer(tts=NoTts(), cache_mb=10)
    later = announcer.announce(Voice(), 1001, 1, ready=False)
    assert later.audio_url and not announcer.path_of(later.key).exists()  # the call did not wait for it
    assert announcer.make_pending(later.key)
    made = announcer.path_of(later.key).read_bytes()
    announcer.path_of(later.key).unlink()
    assert announcer.announce(Voice(), 1001, 1).key == later.key
    assert announcer.path_of(later.key).read_bytes() == made  # what was said at once, the same
    # a plan kept no longer (the oldest beyond PENDING_MAX) is not made: its audio_url makes it from the call
    calls = [announcer.announce(Voice(), n, 1, ready=False).key for n in range(2000, 2001 + voice.PENDING_MAX)]
    assert not announcer.make_pending(calls[0])
    for key in calls[-20:]:  # about 0.6 MB each: the cache still keeps within its size
        assert announcer.make_pending(key)
    assert sum(p.stat().st_size for p in announcer.cache_dir.glob("*.wav")) <= 10 * 1024 * 1024
    assert announcer.path_of(calls[-1]).exists()  # the newest stays
    # a text without a voice: no key when called, as when made at once
    assert announcer.announce(Voice(phrase="Kính mời số {number} đến quầy {counter}"), 1, 1, ready=False).key is None


def test_a_recording_dropped_into_the_folder_replaces_the_shipped_clip(make_announcer, tmp_path):
    announcer = make_announcer(tts=NoTts())
    before = announcer.announce(Voice(repeat=1, chime=False), 1023, 5)
    _, _, _, before_seconds = _params(announcer.path_of(before.key))

    recording = tmp_path / "cfg" / "recordings" / "vi" / "mời công dân có số thứ tự.wav"
    _sine_wav(recording, 3.0, 440.0)  # the centre's own voice, here 3 s of a tone, 44.1 kHz stereo 24-bit
    after = announcer.announce(Voice(repeat=1, chime=False), 1023, 5)
    assert after.key != before.key, "a new recording makes a new announcement at once"
    channels, width, rate, after_seconds = _params(announcer.path_of(after.key))
    assert (channels, width, rate) == (1, 2, wav.RATE), "joined at the one format"
    shipped_part = _params(SHIPPED / "vi" / "mời công dân có số thứ tự.wav")[3]
    assert after_seconds == pytest.approx(before_seconds - shipped_part + 3.0, abs=0.1)
    assert _frames(announcer.path_of(after.key)).startswith(announcer.library.pcm(recording))

    # underscores for spaces, plain PCM 16-bit 8 kHz mono: the same clip, still converted
    recording.unlink()
    other = tmp_path / "cfg" / "recordings" / "vi" / "mời_công_dân_có_số_thứ_tự.wav"
    _sine_wav(other, 2.0, 300.0, rate=8000, channels=1, bits=16, extensible=False)
    third = announcer.announce(Voice(repeat=1, chime=False), 1023, 5)
    assert _params(announcer.path_of(third.key))[3] == pytest.approx(before_seconds - shipped_part + 2.0, abs=0.1)

    # a single word: every "năm" of the announcement is the recording
    word = tmp_path / "cfg" / "recordings" / "vi" / "năm.wav"
    _sine_wav(word, 0.5, 660.0)
    fourth = announcer.announce(Voice(repeat=1, chime=False), 1055, 5)
    data = _frames(announcer.path_of(fourth.key))
    assert data.count(announcer.library.pcm(word)) == 2  # 1055 "… năm mươi lăm", counter "năm"


def test_a_recording_rewritten_or_removed_between_calls_is_said_as_it_is_now(make_announcer, tmp_path):
    """The clips found for a call's texts are remembered between calls: a recording written again
    under the same name, or taken away, is still what the next call says."""
    voice = Voice(repeat=1, chime=False)
    announcer = make_announcer(tts=NoTts())
    recording = tmp_path / "cfg" / "recordings" / "vi" / "năm.wav"
    _sine_wav(recording, 0.5, 660.0)
    first = announcer.announce(voice, 1055, 5)
    assert _frames(announcer.path_of(first.key)).count(announcer.library.pcm(recording)) == 2
    assert announcer.announce(voice, 1055, 5).key == first.key  # nothing changed: the same WAV

    stamp = recording.stat().st_mtime_ns
    _sine_wav(recording, 0.7, 330.0)  # written again in place: the folder itself does not change
    os.utime(recording, ns=(stamp + 10**9, stamp + 10**9))
    second = announcer.announce(voice, 1055, 5)
    assert second.key != first.key
    assert _frames(announcer.path_of(second.key)).count(announcer.library.pcm(recording)) == 2

    recording.unlink()  # gone: the shipped clip again
    third = announcer.announce(voice, 1055, 5)
    assert third.key not in (first.key, second.key)
    assert _frames(announcer.path_of(third.key)).count(announcer.library.pcm(SHIPPED / "vi" / "năm.wav")) == 2


def test_text_without_a_clip_is_spoken_by_espeak_ng(make_announcer, tmp_path):
    _espeak_or_skip()
    announcer = make_announcer(tts=EspeakCli())
    spoken = announcer.announce(Voice(phrase="Kính mời số {number} đến quầy {counter}", repeat=1, chime=False), 1023, 5)
    assert spoken.audio_url is not None
    made = tmp_path / "instance" / "voice-tts" / "vi" / "kính mời số.wav"
    assert made.exists() and _params(made)[3] > 0.3
    assert _params(announcer.path_of(spoken.key))[2] == wav.RATE


def test_pyttsx3_speaks_through_its_own_process(make_announcer, tmp_path):
    """pyttsx3 (one engine in a worker process, waiting for finished-utterance)."""
    _espeak_or_skip()
    from queuekiosk.sounds.tts import Pyttsx3Engine

    announcer = make_announcer(tts=Pyttsx3Engine())
    for number in (1023, 1024, 1025):  # the same engine, several requests in turn
        spoken = announcer.announce(
            Voice(phrase="Kính mời quý vị số {number} tới quầy {counter}", repeat=1, chime=False), number, 5
        )
        assert spoken.audio_url is not None
    made = tmp_path / "instance" / "voice-tts" / "vi" / "kính mời quý vị số.wav"
    assert _params(made)[:3] == (1, 2, 22050) and _params(made)[3] > 0.5


def test_without_espeak_ng_the_call_is_text_only_with_a_clear_log(make_announcer, caplog):
    announcer = make_announcer(tts=EspeakCli(program="/nonexistent/espeak-ng"))
    with caplog.at_level(logging.WARNING, logger="queuekiosk.voice"):
        spoken = announcer.announce(Voice(phrase="Kính mời số {number} đến quầy {counter}"), 1023, 5)
    assert spoken.text == "Kính mời số một nghìn không trăm hai mươi ba đến quầy năm"
    assert spoken.audio_url is None
    assert "apt-get install espeak-ng" in caplog.text and "kính" in caplog.text
    # the default phrase still speaks: its words are all in the shipped set
    assert announcer.announce(Voice(), 1023, 5).audio_url is not None


def test_reading_recorders_formats():
    assert spoken_words("twenty-three") == ["twenty", "three"]
    with pytest.raises(wav.WavError):
        wav.read_wav(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(wav.WavError):
        wav.read_wav(b"ID3 not a wav at all")
