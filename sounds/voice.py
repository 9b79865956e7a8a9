"""Announcements as audio: the clip library, a centre's recordings, TTS for the rest, a WAV cache.

Where a clip comes from, first found wins (docs/display-and-voice.md):

1. the centre's recordings folder (config ``sounds.recordings``, default ``recordings/`` beside
   config.yaml): ``vi/<words>.wav``, ``en/<words>.wav``, ``chime.wav``;
2. the clip set shipped in ``sounds/clips/`` (made by ``queuekiosk voice build-clips``);
3. speech made by TTS for a text no clip says, kept in ``<instance>/voice-tts/``.

A phrase part ("Mời công dân có số thứ tự") is said by one clip named after its words when
there is one, else word by word when every word has a clip, else by TTS as a whole. Numbers
are said word by word. The announcement (chime, the Vietnamese sentence ``repeat`` times, the
English one after it for ``vi+en``) is the clips joined at one format (sounds/wav.py) and
kept in ``<instance>/announcements/<key>.wav``; the key is a hash of exactly what was joined
(each clip's file, size and time), so a new recording makes new announcements by itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

from . import wav
from .announce import announcement_text, clip_name, english_text, sentence_parts, spoken_words
from .tts import TtsUnavailable, espeak_installed, make_tts, voice_for

log = logging.getLogger("queuekiosk.voice")

SHIPPED = Path(__file__).resolve().parent / "clips"
FORMAT_VERSION = 1
WORD_GAP_MS = 40  # between the words of a number
PART_GAP_MS = 140  # between the parts of a sentence
PAUSE_MS = 300  # a comma or full stop in the phrase
CHIME_GAP_MS = 250  # after the chime
SENTENCE_GAP_MS = 900  # between repeats, and before the English sentence
URL_PREFIX = "/api/v1/announcements/"


class NoVoice(Exception):
    """Some text has neither a clip nor a working TTS: the call is shown, not spoken."""


@dataclass(frozen=True)
class Spoken:
    text: str  # the Vietnamese sentence (the English one for language "en")
    text_en: str | None  # the English sentence, for "vi+en"
    key: str | None  # the announcement WAV, or None: text only
    seconds: float | None = None

    @property
    def audio_url(self) -> str | None:
        return f"{URL_PREFIX}{self.key}.wav" if self.key else None

    def payload(self) -> dict:
        out = {"text": self.text, "audio_url": self.audio_url}
        if self.text_en:
            out["text_en"] = self.text_en
        return out


class ClipLibrary:
    """Finds the clip for a text (recordings, shipped set, TTS) and keeps decoded clips in memory."""

    def __init__(self, recordings: Path | None, generated: Path, tts, shipped: Path = SHIPPED):
        self.recordings = recordings
        self.generated = generated
        self.shipped = shipped
        self.tts = tts
        self._lock = threading.Lock()
        self._pcm: dict[Path, tuple[int, int, bytes]] = {}
        self._shipped_index = self._scan(shipped)
        self._recorded: tuple[tuple, dict] = ((), {})
        self._tts_problem_logged: set[str] = set()
        self.tts_problem: str | None = None  # why text without a clip cannot be spoken now (the dashboard shows it)

    @staticmethod
    def _scan(root: Path | None) -> dict[str, Path]:
        """{"vi/mười": path, "chime": path}: names normalised (NFC, lower case, "_" as space)."""
        index: dict[str, Path] = {}
        if root is None or not root.is_dir():
            return index
        for path in sorted(root.glob("*.wav")) + sorted(root.glob("*/*.wav")):
            folder = path.parent.name if path.parent != root else ""
            if folder not in ("", "vi", "en"):
                continue
            index[f"{folder}/{clip_name(path.stem)}" if folder else clip_name(path.stem)] = path
        return index

    def _recorded_index(self) -> dict[str, Path]:
        """The recordings folder, scanned again whenever it (or vi/, en/) changes."""
        if self.recordings is None:
            return {}
        stamp = []
        for folder in (self.recordings, self.recordings / "vi", self.recordings / "en"):
            try:
                stamp.append(folder.stat().st_mtime_ns)
            except OSError:
                stamp.append(None)
        stamp = tuple(stamp)
        if stamp != self._recorded[0]:
            self._recorded = (stamp, self._scan(self.recordings))
        return self._recorded[1]

    def find(self, name: str) -> Path | None:
        """A recorded or shipped clip: ``find("vi/mười")``, ``find("chime")``."""
        return self._recorded_index().get(name) or self._shipped_index.get(name)

    def names(self) -> list[str]:
        return sorted(self._shipped_index)

    def _generated_path(self, language: str, voice: str, text: str) -> Path:
        return self.generated / voice / f"{clip_name(text)}.wav"

    def spoken_by_tts(self, language: str, region: str, text: str) -> Path:
        voice = voice_for(language, region)
        path = self._generated_path(language, voice, text)
        if not path.exists():
            self.tts.synthesize(clip_name(text), voice, path)
            self.tts_problem = None
            log.info("voice: made %s with %s (no clip says %r)", path, self.tts.name, text)
        return path

    def resolve(self, language: str, region: str, text: str, whole: bool = True) -> list[Path]:
        """The clips that say ``text``: one clip, else a clip per word, else TTS of the text."""
        name = clip_name(text)
        if whole:
            found = self.find(f"{language}/{name}")
            if found:
                return [found]
        words = spoken_words(text)
        found_words = [self.find(f"{language}/{w}") for w in words]
        if words and all(found_words):
            return found_words
        try:
            return [self.spoken_by_tts(language, region, text)]
        except (TtsUnavailable, OSError) as error:
            self.tts_problem = str(error)
            missing = [w for w, f in zip(words, found_words) if not f]
            if name not in self._tts_problem_logged:
                self._tts_problem_logged.add(name)
                log.warning(
                    "voice: no clip says %r (%s) and text to speech cannot: %s. Calls with it are shown "
                    "as text only; record %s or install espeak-ng.",
                    ", ".join(missing) or text,
                    language,
                    error,
                    ", ".join(f"{language}/{w}.wav" for w in missing),
                )
            raise NoVoice(text) from None

    def pcm(self, path: Path) -> bytes:
        """The clip at RATE Hz, mono, 16-bit; decoded once per version of the file."""
        st = path.stat()
        cached = self._pcm.get(path)
        if cached and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2]
        if path.is_relative_to(self.shipped):
            pcm = _read_prepared(path)  # built in the one format already, trimmed and levelled
        else:
            pcm = wav.load_clip(path)
        with self._lock:
            self._pcm[path] = (st.st_mtime_ns, st.st_size, pcm)
        return pcm


def _read_prepared(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (wav.RATE, wav.CHANNELS, wav.SAMPLE_WIDTH):
            return w.readframes(w.getnframes())
    return wav.load_clip(path)


class Announcer:
    """Makes, caches and finds the announcement WAV of a call, per display voice settings."""

    def __init__(self, config, config_dir: Path, instance_dir: Path, tts=None):
        sounds = config.sounds
        recordings = Path(config_dir) / sounds.recordings
        self.cache_dir = Path(instance_dir) / "announcements"
        self.cache_bytes_max = sounds.cache_mb * 1024 * 1024
        self.tts = tts if tts is not None else make_tts(sounds.tts)
        self.library = ClipLibrary(recordings, Path(instance_dir) / "voice-tts", self.tts)
        self._cache_bytes: int | None = None
        self._lock = threading.Lock()
        self.config = config

    def startup_report(self) -> None:
        """One log line on how calls will sound, and a clear one when espeak-ng is missing."""
        log.info(
            "voice: %d shipped clips; the centre's recordings folder is %s%s",
            len(self.library.names()),
            self.library.recordings,
            "" if self.library.recordings.is_dir() else " (not there: no recordings)",
        )
        if self.config.sounds.tts == "none":
            return
        self.library.tts_problem = self.tts.available() or (
            None if espeak_installed() else "espeak-ng is not installed (Debian: apt-get install espeak-ng)"
        )
        if self.library.tts_problem:
            log.warning(
                "voice: text to speech cannot work: %s. Calls are spoken from the clip library; a text "
                "without a clip is shown on the displays but not spoken.",
                self.library.tts_problem,
            )

    # --- the sentence and its clips --------------------------------------------------------

    def texts(self, voice, number: int, counter: int) -> tuple[str, str | None]:
        vi = announcement_text(number, counter, voice.phrase, region=voice.region)
        en = english_text(number, counter, voice.phrase_en)
        if voice.language == "en":
            return en, None
        return vi, (en if voice.language == "vi+en" else None)

    def _sentence(self, language: str, region: str, phrase: str, number: int, counter: int) -> list:
        plan: list = []
        for part in sentence_parts(phrase, number, counter, language, region):
            if plan:
                plan.append(("silence", PART_GAP_MS))
            if part.kind == "pause":
                plan.append(("silence", PAUSE_MS))
            elif part.kind == "phrase":
                plan += [("clip", p) for p in self.library.resolve(language, region, part.text)]
            else:
                for index, word in enumerate(spoken_words(part.text)):
                    if index:
                        plan.append(("silence", WORD_GAP_MS))
                    plan += [("clip", p) for p in self.library.resolve(language, region, word)]
        return plan

    def plan(self, voice, number: int, counter: int) -> list:
        """What is joined: ("clip", path) and ("silence", ms) in order."""
        plan: list = []
        if voice.chime:
            chime = self.library.find("chime")
            if chime:
                plan += [("clip", chime), ("silence", CHIME_GAP_MS)]
        sentences = []
        if voice.language in ("vi", "vi+en"):
            vi = self._sentence("vi", voice.region, voice.phrase, number, counter)
            sentences += [vi] * voice.repeat
        if voice.language == "vi+en":
            sentences.append(self._sentence("en", voice.region, voice.phrase_en, number, counter))
        if voice.language == "en":
            sentences += [self._sentence("en", voice.region, voice.phrase_en, number, counter)] * voice.repeat
        for index, sentence in enumerate(sentences):
            if index:
                plan.append(("silence", SENTENCE_GAP_MS))
            plan += sentence
        return plan

    @staticmethod
    def key_of(plan: list) -> str:
        items = []
        for kind, value in plan:
            if kind == "clip":
                st = value.stat()
                items.append([str(value), st.st_mtime_ns, st.st_size])
            else:
                items.append(value)
        blob = json.dumps([FORMAT_VERSION, wav.RATE, items], ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def path_of(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    # --- the announcement ------------------------------------------------------------------

    def announce(self, voice, number: int, counter: int) -> Spoken:
        """The texts and the ready WAV of a call (made now if not cached). Never raises: a
        problem with the audio leaves ``audio_url`` null and the call is still shown."""
        text, text_en = self.texts(voice, number, counter)
        try:
            plan = self.plan(voice, number, counter)
            key = self.key_of(plan)
            path = self.path_of(key)
            if path.exists():
                try:
                    os.utime(path)  # most recently used: kept longest when the cache is pruned
                except OSError:
                    pass
                return Spoken(text, text_en, key)
            pcm = b"".join(wav.silence(v) if kind == "silence" else self.library.pcm(v) for kind, v in plan)
            wav.write_wav(path, pcm)
            self._added(len(pcm) + 44)
            return Spoken(text, text_en, key, wav.duration(pcm))
        except NoVoice:
            return Spoken(text, text_en, None)
        except Exception:  # noqa: BLE001 - a voice fault must never stop a call
            log.exception("voice: could not make the announcement for %s at counter %s", number, counter)
            return Spoken(text, text_en, None)

    def _added(self, size: int) -> None:
        with self._lock:
            if self._cache_bytes is None:
                self._cache_bytes = sum(p.stat().st_size for p in self.cache_dir.glob("*.wav"))
            else:
                self._cache_bytes += size
            if self._cache_bytes <= self.cache_bytes_max:
                return
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
            total = sum(p.stat().st_size for p in files)
            for path in files:
                if total <= self.cache_bytes_max * 0.8:
                    break
                size = path.stat().st_size
                path.unlink(missing_ok=True)
                total -= size
            self._cache_bytes = total

    def close(self) -> None:
        self.tts.close()
