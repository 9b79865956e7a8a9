"""The pyttsx3 worker: one pyttsx3 engine in a process of its own (see sounds/tts.py).

Protocol: one JSON object per line on stdin, ``{"text", "voice", "rate", "out"}``; one JSON
answer per line, ``{"ok": true}`` or ``{"ok": false, "error": "..."}``; the first answer,
sent at start, says whether the engine could be made. It ends at the end of stdin.
"""

from __future__ import annotations

import json
import os
import sys
import time
import wave

from .worker_answers import answering

WAIT_SECONDS = 15.0


def _complete_wav(path: str) -> bool:
    try:
        with wave.open(path, "rb") as w:
            return w.getnframes() > 0 and os.path.getsize(path) >= 44 + w.getnframes() * w.getsampwidth()
    except (OSError, EOFError, wave.Error):
        return False


ATTEMPTS = 3


def _speak_to_file(engine, finished: list, text: str, out: str) -> bool:
    """One try: True once a complete WAV of a completed utterance is there."""
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    if getattr(driver, "_stopping", False):
        # pyttsx3 2.99 sets this when runAndWait's endLoop finds espeak still busy; left set,
        # it cancels the next utterance at once (finished-utterance with completed=False)
        driver._stopping = False
    finished.clear()
    if os.path.exists(out):
        os.unlink(out)
    engine.save_to_file(text, out)
    engine.runAndWait()
    deadline = time.monotonic() + WAIT_SECONDS
    # runAndWait may return before espeak's own thread has written the file
    while not finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no finished-utterance after {WAIT_SECONDS:.0f} s")
        time.sleep(0.01)
    if not finished[-1]:
        return False
    while not _complete_wav(out):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no complete WAV after {WAIT_SECONDS:.0f} s")
        time.sleep(0.01)
    return True


def main() -> int:
    answer = answering()  # on a copy of stdout; whatever a library prints goes to stderr

    try:
        import pyttsx3

        engine = pyttsx3.init("espeak")
        installed = {v.id.rsplit("/", 1)[-1].lower(): v.id for v in engine.getProperty("voices")}
    except Exception as error:  # noqa: BLE001 - no espeak-ng library, no pyttsx3: say why
        answer(ok=False, error=f"pyttsx3 could not start espeak-ng ({error}); Debian: apt-get install espeak-ng")
        return 1
    finished: list[bool] = []
    engine.connect("finished-utterance", lambda name, completed: finished.append(completed))
    answer(ok=True, voices=sorted(installed))

    for line in sys.stdin:
        try:
            request = json.loads(line)
            voice = str(request["voice"]).lower()
            if voice not in installed:  # pyttsx3 would silently keep the old voice
                near = sorted(v for v in installed if v.startswith(voice[:2])) or sorted(installed)[:12]
                answer(ok=False, error=f"espeak-ng has no voice {voice!r} (installed, for example: {', '.join(near)})")
                continue
            engine.setProperty("voice", voice)
            engine.setProperty("rate", int(request.get("rate", 140)))
            for _attempt in range(ATTEMPTS):
                if _speak_to_file(engine, finished, str(request["text"]), request["out"]):
                    answer(ok=True)
                    break
            else:
                answer(ok=False, error=f"espeak-ng cut the utterance short {ATTEMPTS} times")
        except Exception as error:  # noqa: BLE001 - one bad request must not end the worker
            answer(ok=False, error=f"{type(error).__name__}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
