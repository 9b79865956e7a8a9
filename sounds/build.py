"""The shipped clip set: every word a number needs, the parts of the default phrases, a chime.

``queuekiosk voice build-clips`` writes it (into sounds/clips/ unless told otherwise) with
espeak-ng (its command line by default, deterministic; or through pyttsx3), each clip
trimmed, levelled and stored at the one format of sounds/wav.py, so a fresh install speaks
with no TTS installed. The chime is synthesized here with the standard library.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from . import wav
from .announce import DEFAULT_PHRASE, DEFAULT_PHRASE_EN, clip_name
from .tts import RATE_WPM, make_tts, voice_for

VI_NUMBER_WORDS = [
    "không",
    "một",
    "hai",
    "ba",
    "bốn",
    "năm",
    "sáu",
    "bảy",
    "tám",
    "chín",
    "mười",
    "mươi",
    "mốt",
    "lăm",
    "tư",
    "trăm",
    "linh",
    "lẻ",
    "nghìn",
    "ngàn",
    "triệu",
    "tỷ",
]
# the default phrase's parts, and single words from which other phrases can be said
VI_PHRASES = ["mời công dân có số thứ tự", "đến quầy số"]
VI_WORDS = [
    "mời",
    "công",
    "dân",
    "có",
    "số",
    "thứ",
    "tự",
    "đến",
    "quầy",
    "xin",
    "quý",
    "khách",
    "ông",
    "bà",
    "người",
    "vui",
    "lòng",
    "tới",
    "bàn",
    "cửa",
    "phòng",
    "gọi",
    "lại",
]
EN_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "and",
]
EN_PHRASES = ["ticket number", "please go to counter"]
EN_WORDS = ["ticket", "number", "please", "go", "to", "counter", "desk", "window", "room"]

VOCABULARY = {
    "vi": VI_NUMBER_WORDS + VI_PHRASES + VI_WORDS,
    "en": EN_NUMBER_WORDS + EN_PHRASES + EN_WORDS,
}

assert all(
    clip_name(p) in VI_PHRASES
    for p in DEFAULT_PHRASE.replace("{number}", "|").replace("{counter}", "|").split("|")
    if clip_name(p)
)
assert all(
    clip_name(p) in EN_PHRASES
    for p in DEFAULT_PHRASE_EN.replace("{number}", "|").replace("{counter}", "|").replace(",", "").split("|")
    if clip_name(p)
)


BUILD_TIMEOUT = 120.0  # seconds a clip may take (the live announcer's limit is tts.TIMEOUT)


def build_clips(out: Path, engine: str = "espeak-ng", report=print) -> int:
    """Write every clip of VOCABULARY and chime.wav into ``out``; the number of files written."""
    tts = make_tts(engine)
    # an offline command on a machine that may be busy: a slow clip is waited for, not a half-built set
    tts.timeout = max(tts.timeout, BUILD_TIMEOUT)
    problem = tts.available()
    if problem:
        raise RuntimeError(problem)
    out = Path(out)
    written = 0
    try:
        with tempfile.TemporaryDirectory(prefix="qk-clips-") as tmp:
            for language, texts in VOCABULARY.items():
                (out / language).mkdir(parents=True, exist_ok=True)
                for text in texts:
                    raw = Path(tmp) / f"{language}-{written}.wav"
                    tts.synthesize(text, voice_for(language), raw)
                    pcm = wav.load_clip(raw)
                    wav.write_wav(out / language / f"{clip_name(text)}.wav", pcm)
                    written += 1
                    report(f"{language}/{clip_name(text)}.wav  {wav.duration(pcm):.2f} s")
        wav.write_wav(out / "chime.wav", wav.chime())
        report(f"chime.wav  {wav.duration(wav.chime()):.2f} s")
        written += 1
        (out / "MANIFEST.txt").write_text(
            "Clips made by `queuekiosk voice build-clips` (sounds/build.py): "
            f"{tts.name}, voices {voice_for('vi')} and {voice_for('en')}, {RATE_WPM} words per minute; "
            f"{wav.RATE} Hz mono 16-bit PCM, trimmed and levelled; chime.wav synthesized with the "
            "Python standard library.\nA centre replaces any of them by a recording of the same name in its "
            "recordings folder (docs/display-and-voice.md).\n",
            encoding="utf-8",
        )
    finally:
        tts.close()
    return written
