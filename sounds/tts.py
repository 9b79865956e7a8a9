"""Text to speech for words that have no clip: pyttsx3 (espeak-ng) or the espeak-ng command line.

The engines' pitfalls, handled here:

- pyttsx3 allows one engine per process and is not thread-safe, and the server runs under
  gevent: pyttsx3 runs in a child process of its own (``python -m queuekiosk.sounds.tts_worker``),
  one request at a time behind a lock, and is restarted if it dies or hangs.
- ``save_to_file`` + ``runAndWait()`` can return before the WAV exists: the worker waits for
  the ``finished-utterance`` callback and for a complete WAV file before it answers.
- setting an unknown voice raises nothing: the worker checks that the voice is installed.
- pyttsx3's espeak driver prints to stdout: the worker answers on a duplicate of stdout and
  sends everything else to stderr.
- The command line (``espeak-ng -v vi -s 140 -w out.wav "…"``) is deterministic and used to
  build the shipped clip set; never ``--stdout`` (its WAV header has a bogus length).

Piper (``piper-tts``, a neural voice, optional: ``pip install 'queuekiosk[piper]'``) runs the
same way, in a worker process of its own (``sounds/piper_worker.py``), and only with a Vietnamese
voice model file the centre put on disk (``sounds.piper_model``): nothing is ever downloaded.

Numbers never reach a TTS engine as digits (sounds/announce.py turns them into words).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path

log = logging.getLogger("queuekiosk.voice")

RATE_WPM = 140  # espeak-ng's words per minute: slower than its default 175, clearer in a lobby
VOICES = {("vi", "north"): "vi", ("vi", "south"): "vi-vn-x-south", ("en", "north"): "en", ("en", "south"): "en"}
TIMEOUT = 15.0
PIPER_TIMEOUT = 60.0  # a neural voice loads its model (tens of MB) at the first request
PIPER_REQUIREMENT = "piper-tts==1.8.0"  # the optional extra of setup.py: pip install 'queuekiosk[piper]'


class TtsUnavailable(RuntimeError):
    """No speech engine can be used; the message says why and what to install."""


def voice_for(language: str, region: str = "north") -> str:
    return VOICES[(language, region)]


def espeak_program() -> str | None:
    return shutil.which(os.environ.get("QUEUEKIOSK_ESPEAK_NG", "espeak-ng"))


def espeak_installed() -> bool:
    """The espeak-ng program or its library (what pyttsx3 loads) is on this machine."""
    if espeak_program():
        return True  # ctypes (and find_library's ldconfig run) only where the program is missing
    import ctypes.util

    return bool(ctypes.util.find_library("espeak-ng"))


class SpeechEngine(ABC):
    """Speaks a text into a WAV file; engines are chosen by the config's ``sounds.tts`` (``ENGINES``).

    ``synthesize`` is the same for every engine: one request at a time behind a lock (a gevent
    lock once the server has patched threading; the engines wait on child processes through
    ``subprocess`` and ``select``, which gevent makes cooperative, so only the calling greenlet
    waits), and the WAV written under a temporary name, moved into place only when whole.
    An engine says whether it can work (``available``) and speaks (``speak``).
    """

    name = ""
    timeout = TIMEOUT  # seconds one request may take

    def __init__(self):
        self._lock = threading.Lock()

    @abstractmethod
    def available(self) -> str | None:
        """None when usable, else why not (and what to install)."""

    @abstractmethod
    def speak(self, text: str, voice: str, out: Path) -> None:
        """Write the WAV of ``text`` to ``out`` or raise TtsUnavailable; called by ``synthesize`` only."""

    def synthesize(self, text: str, voice: str, out: Path) -> None:
        with self._lock:
            problem = self.available()
            if problem:
                raise TtsUnavailable(problem)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            try:
                self.speak(text, voice, tmp)
                os.replace(tmp, out)
            finally:
                tmp.unlink(missing_ok=True)

    def close(self) -> None:  # noqa: B027  (optional: most engines hold nothing to close)
        pass


class EspeakCli(SpeechEngine):
    """``espeak-ng -v VOICE -s RATE -w FILE TEXT``."""

    name = "espeak-ng"

    def __init__(self, program: str | None = None):
        super().__init__()
        self.program = program or espeak_program()

    def available(self) -> str | None:
        if not self.program or not Path(self.program).exists():
            return "the espeak-ng program is not installed (Debian: apt-get install espeak-ng)"
        return None

    def speak(self, text: str, voice: str, out: Path) -> None:
        try:
            done = subprocess.run(
                [self.program, "-v", voice, "-s", str(RATE_WPM), "-w", str(out), "--", text],
                capture_output=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            raise TtsUnavailable(f"espeak-ng did not finish within {self.timeout:.0f} s") from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
            raise TtsUnavailable(
                f"espeak-ng failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()[:300]}"
            )


class WorkerEngine(SpeechEngine):
    """An engine in a child process of its own (JSON lines on stdin/stdout, sounds/tts_worker.py
    says the protocol): one engine, one request at a time, restarted when it dies or hangs."""

    worker = ""  # the worker's module

    def __init__(self):
        super().__init__()
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._problem: str | None = None

    def worker_args(self) -> list[str]:
        return []

    def _start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.worker, *self.worker_args()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._buffer = b""
        hello = self._read_line(self.timeout)
        if not hello.get("ok"):
            self._stop()
            self._problem = hello.get("error") or f"the {self.name} worker did not start"
            raise TtsUnavailable(self._problem)

    def _stop(self) -> None:
        if self._proc is not None:
            try:
                self._proc.kill()
                self._proc.wait(5)
            except Exception:  # noqa: BLE001 - gone already
                pass
        self._proc = None

    def _read_line(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._stop()
                raise TtsUnavailable(f"the {self.name} worker did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._stop()
                    return {"ok": False, "error": f"the {self.name} worker stopped"}
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {"ok": False, "error": f"the {self.name} worker said {line[:200]!r}"}

    def speak(self, text: str, voice: str, out: Path) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        request = {"text": text, "voice": voice, "rate": RATE_WPM, "out": str(out)}
        try:
            self._proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
            self._proc.stdin.flush()
        except OSError:
            self._stop()
            raise TtsUnavailable(f"the {self.name} worker stopped") from None
        answer = self._read_line(self.timeout)
        if not answer.get("ok"):
            raise TtsUnavailable(f"{self.name}: {answer.get('error')}")

    def close(self) -> None:
        with self._lock:
            self._stop()


class Pyttsx3Engine(WorkerEngine):
    """pyttsx3 in a child process of its own: one engine, one request at a time."""

    name = "pyttsx3"
    worker = "queuekiosk.sounds.tts_worker"

    def available(self) -> str | None:
        # found, not imported: pyttsx3 runs in its worker process, never in the server's (issue 21)
        if importlib.util.find_spec("pyttsx3") is None:
            return "pyttsx3 is not installed (pip install pyttsx3)"
        return self._problem


def piper_installed() -> bool:
    return importlib.util.find_spec("piper") is not None and importlib.util.find_spec("onnxruntime") is not None


class PiperEngine(WorkerEngine):
    """A piper-tts neural voice from a model file on disk (``sounds.piper_model``: ``x.onnx`` with
    its ``x.onnx.json`` beside it), in a child process of its own (sounds/piper_worker.py).

    Used only when the package is installed and the file is there; never downloads anything. It
    speaks the language of its model only (``language``: "vi" for a Vietnamese voice)."""

    name = "piper"
    worker = "queuekiosk.sounds.piper_worker"
    timeout = PIPER_TIMEOUT

    def __init__(self, model: str | os.PathLike | None = None):
        super().__init__()
        self.model = Path(model) if model else None

    @property
    def config_file(self) -> Path | None:
        return self.model.with_name(self.model.name + ".json") if self.model else None

    @property
    def language(self) -> str | None:
        """The model's language from its .onnx.json (espeak voice "vi" -> "vi"), None if unreadable."""
        try:
            data = json.loads(self.config_file.read_text(encoding="utf-8"))
            voice = str(data.get("espeak", {}).get("voice") or data.get("language", {}).get("code") or "")
        except (OSError, ValueError, AttributeError):
            return None
        return voice.replace("_", "-").split("-")[0].lower() or None

    def available(self) -> str | None:
        if self.model is None:
            return "no piper voice model is configured (sounds.piper_model)"
        if not piper_installed():
            return f"piper-tts is not installed (pip install '{PIPER_REQUIREMENT}', or pip install 'queuekiosk[piper]')"
        if not self.model.is_file():
            return (
                f"the piper voice model {self.model} is not there (a voice is never downloaded by the server: "
                "copy the .onnx file and its .onnx.json to that place, docs/display-and-voice.md)"
            )
        if not self.config_file.is_file():
            return f"the piper voice model's settings {self.config_file} are not there (copy the .onnx.json beside the .onnx)"
        if self.language is None:
            return f"{self.config_file} is not a piper voice's settings (no espeak voice in it)"
        return self._problem

    def worker_args(self) -> list[str]:
        return [str(self.model)]


class NoTts(SpeechEngine):
    name = "none"

    def available(self) -> str | None:
        return "text to speech is turned off (sounds.tts: none)"

    def speak(self, text: str, voice: str, out: Path) -> None:
        raise TtsUnavailable(self.available())


class AutoTts(SpeechEngine):
    """pyttsx3 when it works, else the espeak-ng command line, else nothing (with the reason)."""

    name = "auto"

    def __init__(self):
        super().__init__()
        self.engines = [Pyttsx3Engine(), EspeakCli()]  # its own: its lock is theirs too

    def available(self) -> str | None:
        problems = [engine.available() for engine in self.engines]
        return None if None in problems else "; ".join(p for p in problems if p)

    def speak(self, text: str, voice: str, out: Path) -> None:
        reasons = []
        for engine in self.engines:
            problem = engine.available()
            if problem:
                reasons.append(problem)
                continue
            try:
                return engine.speak(text, voice, out)
            except TtsUnavailable as error:
                reasons.append(str(error))
        raise TtsUnavailable("; ".join(reasons))

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


# the engines by the config's name (``sounds.tts``); tests/test_voice_config.py keeps the two lists equal
ENGINES: dict[str, type[SpeechEngine]] = {
    "auto": AutoTts,
    "pyttsx3": Pyttsx3Engine,
    "espeak-ng": EspeakCli,
    "piper": PiperEngine,
    "none": NoTts,
}


def make_tts(kind: str, piper_model: str | os.PathLike | None = None) -> SpeechEngine:
    """``auto`` | ``pyttsx3`` | ``espeak-ng`` | ``piper`` | ``none`` (config ``sounds.tts``);
    ``piper_model``: the piper engine's model file (config ``sounds.piper_model``)."""
    if kind == "piper":
        return PiperEngine(piper_model)
    return ENGINES[kind]()
