"""Text to speech for words that have no clip: pyttsx3 (espeak-ng) or the espeak-ng command line.

The pitfalls of FIELD-NOTES, handled here:

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

Numbers never reach a TTS engine as digits (sounds/announce.py turns them into words).
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("queuekiosk.voice")

RATE_WPM = 140  # espeak-ng's words per minute: slower than its default 175, clearer in a lobby
VOICES = {("vi", "north"): "vi", ("vi", "south"): "vi-vn-x-south", ("en", "north"): "en", ("en", "south"): "en"}
TIMEOUT = 15.0


class TtsUnavailable(RuntimeError):
    """No speech engine can be used; the message says why and what to install."""


def voice_for(language: str, region: str = "north") -> str:
    return VOICES[(language, region)]


def espeak_program() -> str | None:
    return shutil.which(os.environ.get("QUEUEKIOSK_ESPEAK_NG", "espeak-ng"))


def espeak_installed() -> bool:
    """The espeak-ng program or its library (what pyttsx3 loads) is on this machine."""
    import ctypes.util

    return bool(espeak_program() or ctypes.util.find_library("espeak-ng"))


class EspeakCli:
    """``espeak-ng -v VOICE -s RATE -w FILE TEXT``."""

    name = "espeak-ng"

    def __init__(self, program: str | None = None):
        self.program = program or espeak_program()

    def available(self) -> str | None:
        """None when usable, else why not."""
        if not self.program or not Path(self.program).exists():
            return "the espeak-ng program is not installed (Debian: apt-get install espeak-ng)"
        return None

    def synthesize(self, text: str, voice: str, out: Path) -> None:
        problem = self.available()
        if problem:
            raise TtsUnavailable(problem)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        try:
            done = subprocess.run([self.program, "-v", voice, "-s", str(RATE_WPM), "-w", str(tmp), "--", text],
                                  capture_output=True, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise TtsUnavailable(f"espeak-ng did not finish within {TIMEOUT:.0f} s") from None
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size <= 44:
            tmp.unlink(missing_ok=True)
            raise TtsUnavailable(f"espeak-ng failed ({done.returncode}): "
                                 f"{done.stderr.decode(errors='replace').strip()[:300]}")
        os.replace(tmp, out)

    def close(self) -> None:
        pass


class Pyttsx3Engine:
    """pyttsx3 in a child process of its own: one engine, one request at a time."""

    name = "pyttsx3"

    def __init__(self):
        self._lock = threading.Lock()  # a gevent lock once the server has monkey-patched threading
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._problem: str | None = None

    def available(self) -> str | None:
        try:
            import pyttsx3  # noqa: F401
        except ImportError:
            return "pyttsx3 is not installed (pip install pyttsx3)"
        return self._problem

    def _start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen([sys.executable, "-m", "queuekiosk.sounds.tts_worker"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env=env)
        self._buffer = b""
        hello = self._read_line(TIMEOUT)
        if not hello.get("ok"):
            self._stop()
            self._problem = hello.get("error") or "the pyttsx3 worker did not start"
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
                raise TtsUnavailable(f"the pyttsx3 worker did not answer within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._stop()
                    return {"ok": False, "error": "the pyttsx3 worker stopped"}
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {"ok": False, "error": f"the pyttsx3 worker said {line[:200]!r}"}

    def synthesize(self, text: str, voice: str, out: Path) -> None:
        with self._lock:
            if self._problem:
                raise TtsUnavailable(self._problem)
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            request = {"text": text, "voice": voice, "rate": RATE_WPM, "out": str(tmp)}
            try:
                self._proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
                self._proc.stdin.flush()
            except OSError:
                self._stop()
                raise TtsUnavailable("the pyttsx3 worker stopped") from None
            answer = self._read_line(TIMEOUT)
            if not answer.get("ok"):
                tmp.unlink(missing_ok=True)
                raise TtsUnavailable(f"pyttsx3: {answer.get('error')}")
            os.replace(tmp, out)

    def close(self) -> None:
        with self._lock:
            self._stop()


class NoTts:
    name = "none"

    def available(self) -> str | None:
        return "text to speech is turned off (sounds.tts: none)"

    def synthesize(self, text: str, voice: str, out: Path) -> None:
        raise TtsUnavailable(self.available())

    def close(self) -> None:
        pass


class AutoTts:
    """pyttsx3 when it works, else the espeak-ng command line, else nothing (with the reason)."""

    name = "auto"

    def __init__(self):
        self.engines = [Pyttsx3Engine(), EspeakCli()]

    def available(self) -> str | None:
        problems = [engine.available() for engine in self.engines]
        return None if None in problems else "; ".join(p for p in problems if p)

    def synthesize(self, text: str, voice: str, out: Path) -> None:
        reasons = []
        for engine in self.engines:
            if engine.available():
                reasons.append(engine.available())
                continue
            try:
                return engine.synthesize(text, voice, out)
            except TtsUnavailable as error:
                reasons.append(str(error))
        raise TtsUnavailable("; ".join(reasons))

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def make_tts(kind: str):
    """``auto`` | ``pyttsx3`` | ``espeak-ng`` | ``none`` (config ``sounds.tts``)."""
    return {"auto": AutoTts, "pyttsx3": Pyttsx3Engine, "espeak-ng": EspeakCli, "none": NoTts}[kind]()
