"""Announcements as audio: the clip library, a centre's recordings, TTS for the rest, a WAV cache.

Where each part of a sentence (a phrase part such as "Mời công dân có số thứ tự", or a
number's words) comes from, first found wins (docs/display-and-voice.md):

1. the centre's recordings folder (config ``sounds.recordings``, default ``recordings/`` beside
   config.yaml): ``vi/<words>.wav``, ``en/<words>.wav``, ``chime.wav``: one clip for the whole
   part, else a clip for each of its words. With a ``voice-set.json`` manifest the folder is a
   full recorded set, checked at start-up (``VoiceSet``): every clip missing is named then;
2. the optional neural voice, piper-tts, when installed and its model file is on disk
   (``sounds.piper_model``): the whole part at once, kept in ``<instance>/voice-tts/piper-…/``;
3. the clip set shipped in ``sounds/clips/`` (espeak-ng, made by ``queuekiosk voice build-clips``),
   with a recording of the same name still preferred word by word;
4. speech made by TTS (``sounds.tts``: pyttsx3/espeak-ng) for a text no clip says, kept in
   ``<instance>/voice-tts/``.

The announcement (chime, the Vietnamese sentence ``repeat`` times, the
English one after it for ``vi+en``) is the clips joined at one format (sounds/wav.py) and
kept in ``<instance>/announcements/<key>.wav``; the key is a hash of exactly what was joined
(each clip's file, size and time), so a new recording makes new announcements by itself.
A call's announcement is made when its address is first asked for, not while the clerk waits
(``announce(..., ready=False)``, sounds/web.py ``audio``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..server.core.config import Voice
from ..server.core.i18n import message_text
from ..server.core.logs import event_context
from . import wav
from .announce import (
    announcement_text,
    clip_name,
    english_number_words,
    english_text,
    number_words,
    sentence_parts,
    spoken_words,
    utterance_parts,
)
from .tts import PiperEngine, TtsUnavailable, espeak_installed, make_tts, voice_for

log = logging.getLogger("queuekiosk.voice")

SHIPPED = Path(__file__).resolve().parent / "clips"
FORMAT_VERSION = 1
WORD_GAP_MS = 40  # between the words of a number
PART_GAP_MS = 140  # between the parts of a sentence
PAUSE_MS = 300  # a comma or full stop in the phrase
CHIME_GAP_MS = 250  # after the chime
SENTENCE_GAP_MS = 900  # between repeats, and before the English sentence
URL_PREFIX = "/api/v1/announcements/"
SET_MANIFEST = "voice-set.json"  # in the recordings folder: a full recorded set (VoiceSet)
SET_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
SET_BITS = (16, 24)
# calls announced without their WAV yet (Announcer.announce(ready=False)), by the WAV's path: made when
# first asked for; shared by the process's announcers (they share the cache folder), the newest kept
PENDING_MAX = 128  # about 2 KB each; an older call is made again from its audio_url
RESOLVED_MAX = 4096  # texts whose clips a library remembers (a number's text is one; its words are found again)
_NO_RECORDINGS: dict = {}  # the index of no recordings folder (never written to)
_PENDING: OrderedDict[Path, list] = OrderedDict()
_PENDING_LOCK = threading.Lock()


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

    def __init__(self, recordings: Path | None, generated: Path, tts, shipped: Path = SHIPPED, neural=None):
        self.recordings = recordings
        self.generated = generated
        self.shipped = shipped
        self.tts = tts
        self.neural = neural  # a PiperEngine (sounds.piper_model), used only while available()
        self._neural_language: str | None = None  # the model's language, once it was found usable
        self._neural_checked = False
        self.neural_problem: str | None = None  # why the neural voice stopped working (the dashboard shows it)
        self._lock = threading.Lock()
        self._pcm: dict[Path, tuple[int, int, bytes]] = {}
        self._shipped_index = self._scan(shipped)
        # a shipped clip's part of an announcement's key (``stamp``), by the id of its path in the shipped
        # index (what resolve() hands out; a Path's own hash is worked out in Python at every lookup): read
        # once, as the shipped index is (the installation's clips change with an upgrade, and a restart)
        self._shipped_stamps: dict[int, str | None] = dict.fromkeys(map(id, self._shipped_index.values()))
        self._recorded: tuple[tuple, dict] = ((), {})
        self._pinned: dict[str, Path] | None = None  # the recordings' index within one_look()
        self._folders: tuple[str, ...] | None = None  # the recordings folder, its vi/ and en/ (looked at for changes)
        # resolve()'s answers found in the recordings' or the shipped index, for the recordings' index
        # they were found in (a new scan of the folder starts them over): a call's parts are the same
        # few texts and words every time, and finding them again cost about half of each call's voice work
        self._resolved: dict[tuple, list[Path]] = {}
        self._resolved_in: dict[str, Path] | None = None
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

    @contextmanager
    def one_look(self):
        """The recordings folder is looked at once in this block (an announcement's clips: about 30
        lookups, each 3 ``stat`` calls otherwise), not at every clip."""
        before = self._pinned
        self._pinned = None
        self._pinned = self._recorded_index()
        try:
            yield
        finally:
            self._pinned = before

    def _recorded_index(self) -> dict[str, Path]:
        """The recordings folder, scanned again whenever it (or vi/, en/) changes."""
        if self._pinned is not None:
            return self._pinned
        if self.recordings is None:
            return _NO_RECORDINGS
        if self._folders is None:
            self._folders = tuple(
                str(folder) for folder in (self.recordings, self.recordings / "vi", self.recordings / "en")
            )
        stamp = []
        for folder in self._folders:
            try:
                stamp.append(os.stat(folder).st_mtime_ns)
            except OSError:
                stamp.append(None)
        stamp = tuple(stamp)
        if stamp != self._recorded[0]:
            self._recorded = (stamp, self._scan(self.recordings))
        return self._recorded[1]

    def find(self, name: str) -> Path | None:
        """A recorded or shipped clip: ``find("vi/mười")``, ``find("chime")``."""
        return self._recorded_index().get(name) or self._shipped_index.get(name)

    def recorded(self, name: str) -> Path | None:
        """A clip of the centre's recordings folder only."""
        return self._recorded_index().get(name)

    def neural_speaks(self, language: str) -> bool:
        """The neural voice is there and speaks ``language`` (checked once; a failure turns it off)."""
        if self.neural is None:
            return False
        if not self._neural_checked:
            self._neural_checked = True
            self._neural_language = self.neural.language if self.neural.available() is None else None
        return self._neural_language == language

    def spoken_by_neural(self, text: str) -> Path:
        model = self.neural.model
        st = model.stat()
        tag = hashlib.sha256(f"{model.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:10]
        path = self.generated / f"piper-{model.stem}-{tag}" / f"{clip_name(text)}.wav"
        if not path.exists():
            self.neural.synthesize(clip_name(text), "", path)
            log.info("voice: made %s with piper (%s)", path, model.name)
        return path

    def stamp(self, path: Path) -> str:
        """A clip's part of an announcement's key: its ``[file, modification time, size]`` as JSON. A
        recording's (or TTS's) is looked at each time, so one written again in place is said at once; a
        shipped clip's once per process (about ten ``stat`` calls a call otherwise)."""
        stamp = self._shipped_stamps.get(id(path))
        if stamp is None:
            name = str(path)
            st = os.stat(name)
            stamp = json.dumps([name, st.st_mtime_ns, st.st_size], ensure_ascii=False)
            if id(path) in self._shipped_stamps:
                self._shipped_stamps[id(path)] = stamp
        return stamp

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
        """The clips that say ``text``, first found wins: the recordings (one clip, else a clip
        per word), the neural voice (the whole text), the shipped set (one clip, else a clip per
        word, a recording still preferred per word), TTS of the whole text."""
        index = self._recorded_index()
        if index is not self._resolved_in or len(self._resolved) > RESOLVED_MAX:
            self._resolved, self._resolved_in = {}, index
        memo = (language, region, text, whole)
        found = self._resolved.get(memo)
        if found is None:
            found = self._resolve(language, region, text, whole)
            if found is not None:
                self._resolved[memo] = found
                return list(found)
            return self._unindexed(language, region, text, whole)
        return list(found)

    def _resolve(self, language: str, region: str, text: str, whole: bool) -> list[Path] | None:
        """``resolve``'s answer when the indexes give it (the same until the recordings are scanned
        again), None when it is the neural voice's or TTS's (files that may come and go)."""
        name = clip_name(text)
        words = spoken_words(text)
        if whole and self.recorded(f"{language}/{name}"):
            return [self.recorded(f"{language}/{name}")]
        recorded = [self.recorded(f"{language}/{w}") for w in words]
        if words and all(recorded):
            return recorded
        if self.neural_speaks(language):  # said by the neural voice, ahead of the shipped clips
            return None
        if whole:
            found = self.find(f"{language}/{name}")
            if found:
                return [found]
        found_words = [self.find(f"{language}/{w}") for w in words]
        if words and all(found_words):
            return found_words
        return None

    def _unindexed(self, language: str, region: str, text: str, whole: bool) -> list[Path]:
        """The neural voice's clip, else (it failed, or none speaks ``language``) the shipped
        clips, else TTS's."""
        name = clip_name(text)
        words = spoken_words(text)
        if self.neural_speaks(language):
            try:
                return [self.spoken_by_neural(text)]
            except (TtsUnavailable, OSError) as error:
                self._neural_language = None  # until the server restarts: a broken model stays broken
                self.neural_problem = f"the piper voice failed: {error}"
                log.warning("voice: the piper voice failed (%s); the shipped espeak-ng clips are used now", error)
        if whole:
            found = self.find(f"{language}/{name}")
            if found:
                return [found]
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
    import wave  # here: a server loads it with its first announcement's audio, not at start

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
        piper_model = None
        if sounds.piper_model:
            piper_model = Path(config_dir) / Path(sounds.piper_model).expanduser()
        self.tts = tts if tts is not None else make_tts(sounds.tts, piper_model)
        neural = self.tts if isinstance(self.tts, PiperEngine) else (PiperEngine(piper_model) if piper_model else None)
        self.library = ClipLibrary(recordings, Path(instance_dir) / "voice-tts", self.tts, neural=neural)
        self.voice_set: VoiceSet | None = None  # the recorded set's check at start-up
        self._set_stamp = None
        self.neural_problem: str | None = None
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
        self.voice_set = VoiceSet.check(self.library.recordings, self.config)
        self._set_stamp = self._recordings_stamp()
        if self.voice_set is not None:
            self.voice_set.report(fallback=self._fallback_name())
        neural = self.library.neural
        if neural is not None:
            self.neural_problem = neural.available()
            if self.neural_problem:
                log.warning(
                    "voice: the neural voice (piper) cannot be used: %s. Calls are spoken from %s.",
                    self.neural_problem,
                    "the recorded set and the shipped espeak-ng clips"
                    if self.voice_set
                    else "the shipped espeak-ng clips (and the centre's recordings)",
                )
            elif neural.language != "vi":
                self.neural_problem = f"the piper voice {neural.model.name} is not Vietnamese ({neural.language})"
                log.warning("voice: %s: it is used for that language only", self.neural_problem)
            else:
                log.info("voice: the piper voice %s says what the recordings do not", neural.model)
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

    def _recordings_stamp(self):
        self.library._recorded_index()
        return self.library._recorded[0]

    def current_voice_set(self) -> VoiceSet | None:
        """The recorded set, checked again when a clip was added to or taken from its folder
        (the dashboard's note goes once the set is whole, without a restart)."""
        if self.voice_set is not None and self._recordings_stamp() != self._set_stamp:
            self._set_stamp = self._recordings_stamp()
            self.voice_set = VoiceSet.check(self.library.recordings, self.config)
            if self.voice_set is not None and self.voice_set.complete:
                log.info("voice: the recorded set %r is complete now", self.voice_set.name)
        return self.voice_set

    def _fallback_name(self) -> str:
        neural = self.library.neural
        if neural is not None and neural.available() is None and neural.language == "vi":
            return f"the piper voice ({neural.model.name})"
        return "the shipped espeak-ng clips"

    # --- the sentence and its clips --------------------------------------------------------

    def texts(self, voice, number: int, counter: int) -> tuple[str, str | None]:
        if voice.language == "en":
            return english_text(number, counter, voice.phrase_en), None
        vi = announcement_text(number, counter, voice.phrase, region=voice.region)
        return vi, (english_text(number, counter, voice.phrase_en) if voice.language == "vi+en" else None)

    def _sentence(self, language: str, region: str, phrase: str, number: int, counter: int) -> list:
        return self._parts_plan(language, region, sentence_parts(phrase, number, counter, language, region))

    def _parts_plan(self, language: str, region: str, parts) -> list:
        plan: list = []
        for part in parts:
            if plan:
                plan.append(("silence", PART_GAP_MS))
            if part.kind == "pause":
                plan.append(("silence", PAUSE_MS))
            elif part.kind == "phrase":
                plan += [("clip", p) for p in self.library.resolve(language, region, part.text)]
            else:  # a number: word by word from clips (a short gap between), or whole by the neural voice
                for index, path in enumerate(self.library.resolve(language, region, part.text, whole=False)):
                    if index:
                        plan.append(("silence", WORD_GAP_MS))
                    plan.append(("clip", path))
        return plan

    def plan(self, voice, number: int, counter: int) -> list:
        """What is joined: ("clip", path) and ("silence", ms) in order."""
        with self.library.one_look():
            return self._plan(voice, number, counter)

    def _plan(self, voice, number: int, counter: int) -> list:
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

    def key_of(self, plan: list) -> str:
        """A hash of ``json.dumps([FORMAT_VERSION, wav.RATE, items], ensure_ascii=False)``, items being each
        clip's [file, time, size] and each silence's milliseconds: that JSON written from the clips' own
        (``stamp``), not encoded again at every call (a third of a call's announcement)."""
        items = []
        known: dict[int, str] = {}  # a clip said twice (the sentence repeated) is looked at once
        stamp = self.library.stamp
        for kind, value in plan:
            if kind == "clip":
                item = known.get(id(value))  # (the plan holds its paths: no id is reused meanwhile)
                if item is None:
                    item = known[id(value)] = stamp(value)
                items.append(item)
            else:
                items.append(str(value) if type(value) is int else json.dumps(value))
        blob = f"[{FORMAT_VERSION}, {wav.RATE}, [{', '.join(items)}]]".encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def path_of(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    # --- the announcement ------------------------------------------------------------------

    def utterance(self, language: str, region: str, sentences: list[tuple[str, dict]]) -> str | None:
        """The WAV key of sentences said one after another (the kiosk's guidance and its ticket
        number, kiosk/static/kiosk.js): each a catalog-style template with its values, an int said
        as number words, a str as text (sounds/announce.py ``utterance_parts``); None when some
        text has no voice at all. Made once, then cached like announcements."""
        plan: list = []
        try:
            for template, values in sentences:
                if plan:
                    plan.append(("silence", PAUSE_MS))
                plan += self._parts_plan(language, region, utterance_parts(template, values, language, region))
            return self._made(plan)[0]
        except NoVoice:
            return None

    def _made(self, plan: list) -> tuple[str, float | None]:
        """The cached WAV of ``plan`` (made now when new): (key, seconds or None when cached)."""
        key = self.key_of(plan)
        return key, self._make(key, plan)

    def _cached(self, path: Path) -> bool:
        if not path.exists():
            return False
        try:
            os.utime(path)  # most recently used: kept longest when the cache is pruned
        except OSError:
            pass
        return True

    def _make(self, key: str, plan: list) -> float | None:
        """Write ``plan`` joined as the WAV of ``key`` unless it is there: its seconds, None when cached."""
        path = self.path_of(key)
        if self._cached(path):
            return None
        pcm = b"".join(wav.silence(v) if kind == "silence" else self.library.pcm(v) for kind, v in plan)
        wav.write_wav(path, pcm)
        self._added(len(pcm) + 44)
        return wav.duration(pcm)

    def _planned(self, plan: list) -> str:
        """The key of ``plan``, whose WAV is made when it is first asked for (``make_pending``)
        unless it is cached already; the plan waits in this process meanwhile (the newest
        PENDING_MAX: an older one is made again from its call, sounds/web.py ``audio``)."""
        key = self.key_of(plan)
        path = self.path_of(key)
        if not self._cached(path):
            with _PENDING_LOCK:
                _PENDING[path] = plan
                _PENDING.move_to_end(path)
                while len(_PENDING) > PENDING_MAX:
                    _PENDING.popitem(last=False)
        return key

    def make_pending(self, key: str) -> bool:
        """Make the WAV of ``key`` if a call of this process announced it (``announce(..., ready=False)``)
        and it is not made yet: whether the file is there now. A fault is logged, never raised."""
        path = self.path_of(key)
        with _PENDING_LOCK:
            plan = _PENDING.pop(path, None)
        if plan is not None:
            try:
                self._make(key, plan)
            except Exception:  # noqa: BLE001 - a clip gone since the call, say: made again from the call
                log.exception("voice: could not make the announcement %s", key)
        return path.is_file()

    def announce(self, voice, number: int, counter: int, ready: bool = True) -> Spoken:
        """The texts and the WAV of a call. ``ready``: the WAV is made now if not cached; else (a
        call's request: the clerk's answer and the displays' event do not wait for it) only its
        clips are found and its key reckoned, and it is made when first asked for (``make_pending``).
        Either way a text without a voice gives no key. Never raises: a problem with the audio
        leaves ``audio_url`` null and the call is still shown."""
        text, text_en = self.texts(voice, number, counter)
        try:
            plan = self.plan(voice, number, counter)
            if not ready:
                return Spoken(text, text_en, self._planned(plan))
            key, seconds = self._made(plan)
            return Spoken(text, text_en, key, seconds)
        except NoVoice:
            return Spoken(text, text_en, None)
        except Exception:  # noqa: BLE001 - a voice fault must never stop a call
            log.exception(
                "voice: could not make the announcement for %s at counter %s",
                number,
                counter,
                extra=event_context(counter=counter, ticket=str(number)),
            )
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


# --- a full recorded set: its manifest and its check at start-up ------------------------------


def number_vocabulary(language: str, region: str = "north") -> list[str]:
    """Every word the number reading of sounds/announce.py can say (0 to 999 999 999 999)."""
    samples = [*range(0, 1100), 10**6, 10**9]
    words: dict[str, None] = {}
    for n in samples:
        text = number_words(n, region=region) if language == "vi" else english_number_words(n)
        words.update(dict.fromkeys(spoken_words(text)))
    return list(words)


def _phrase_parts(phrase: str, language: str, region: str) -> list[str]:
    return [p.text for p in sentence_parts(phrase, 1, 1, language, region) if p.kind == "phrase"]


@dataclass
class VoiceSet:
    """The recordings folder as a full recorded set, described by ``voice-set.json``::

        {"format": 1, "name": "Giọng chị Lan", "languages": ["vi"], "sample_rate": 44100, "channels": 1}

    It must hold every clip the centre's calls need (``required``): the number words of each
    display's region, each display's phrase parts (one clip for the part, or one per word),
    the short form's, and ``chime.wav`` when a display chimes. Every clip: PCM WAV, 16 or 24 bit,
    ``channels`` channels at ``sample_rate`` Hz (one of SET_RATES), all alike. ``check`` finds
    what is missing or off at start-up; each is named in the log then, not at a call.
    """

    folder: Path
    name: str
    languages: list[str]
    sample_rate: int | None
    channels: int
    required: list[str]
    missing: list[str]
    problems: list[str]  # "vi/hai.wav: 44100 Hz stereo, the set says 22050 Hz mono" and the like

    @staticmethod
    def required_clips(config, languages: list[str]) -> list[str]:
        """The clip names (without .wav) the calls of ``config``'s displays need from a set."""
        voices = [d.voice for d in config.displays] or [Voice()]
        needed: dict[str, None] = {}
        if any(v.chime for v in voices):
            needed["chime"] = None
        for voice in voices:
            spoken = {"vi": ["vi"], "en": ["en"], "vi+en": ["vi", "en"]}[voice.language]
            for language in [lang for lang in spoken if lang in languages]:
                phrase = voice.phrase if language == "vi" else voice.phrase_en
                short = message_text("voice_short_phrase", language)  # said while other calls wait (sounds/web.py)
                for part in _phrase_parts(phrase, language, voice.region) + _phrase_parts(
                    short, language, voice.region
                ):
                    needed[f"{language}/{clip_name(part)}"] = None
                for word in number_vocabulary(language, voice.region):
                    needed[f"{language}/{word}"] = None
        return list(needed)

    @classmethod
    def check(cls, folder: Path | None, config) -> VoiceSet | None:
        """The set in ``folder`` checked against ``config``, or None when there is no manifest."""
        if folder is None or not (folder / SET_MANIFEST).is_file():
            return None
        problems: list[str] = []
        try:
            manifest = json.loads((folder / SET_MANIFEST).read_text(encoding="utf-8"))
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            manifest = {}
            problems.append(f"{SET_MANIFEST}: unreadable ({error})")
        languages = [str(x) for x in manifest.get("languages", ["vi"]) if x in ("vi", "en")] or ["vi"]
        rate = manifest.get("sample_rate")
        if rate is not None and rate not in SET_RATES:
            problems.append(f"{SET_MANIFEST}: sample_rate {rate} is not one of {', '.join(map(str, SET_RATES))}")
            rate = None
        channels = manifest.get("channels", 1)
        if channels not in (1, 2):
            problems.append(f"{SET_MANIFEST}: channels must be 1 (mono) or 2, not {channels!r}")
            channels = 1
        index = ClipLibrary._scan(folder)
        required = cls.required_clips(config, languages)
        missing = []
        for name in required:
            language, _, text = name.partition("/")
            if name in index or (text and all(f"{language}/{w}" in index for w in spoken_words(text))):
                continue
            missing.append(name)
        for name, path in sorted(index.items()):
            try:
                kind, got_channels, got_rate, bits = wav.wav_format(path)
            except (OSError, wav.WavError) as error:
                problems.append(f"{name}.wav: {error}")
                continue
            wrong = []
            if kind != "pcm" or bits not in SET_BITS:
                wrong.append(f"{kind} {bits}-bit (use PCM 16 or 24-bit)")
            if rate is not None and got_rate != rate:
                wrong.append(f"{got_rate} Hz, the set says {rate} Hz")
            if got_channels != channels:
                wrong.append(f"{got_channels} channel(s), the set says {channels}")
            if wrong:
                problems.append(f"{name}.wav: " + "; ".join(wrong))
        return cls(
            folder,
            str(manifest.get("name") or folder.name),
            languages,
            rate,
            channels,
            required,
            missing,
            problems,
        )

    @property
    def complete(self) -> bool:
        return not self.missing and not self.problems

    def report(self, fallback: str = "the shipped espeak-ng clips") -> None:
        """The start-up lines: the set is used first; every missing clip by name."""
        log.info(
            "voice: the recorded set %r (%s) says the calls first: %d of %d clips it needs are there",
            self.name,
            self.folder,
            len(self.required) - len(self.missing),
            len(self.required),
        )
        if self.missing:
            log.warning(
                "voice: the recorded set %r lacks %d clip(s): %s. Until they are recorded, those words are said by %s.",
                self.name,
                len(self.missing),
                ", ".join(f"{name}.wav" for name in self.missing),
                fallback,
            )
        for problem in self.problems:
            log.warning("voice: the recorded set %r: %s", self.name, problem)
