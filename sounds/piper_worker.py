"""The piper worker: one piper-tts voice in a process of its own (see sounds/tts.py, PiperEngine).

``python -m queuekiosk.sounds.piper_worker MODEL.onnx``: loads the model (its settings are
``MODEL.onnx.json`` beside it) from disk only, never from the network. Protocol as the pyttsx3
worker's (sounds/tts_worker.py): one JSON object per line on stdin, ``{"text", "out", ...}``;
one JSON answer per line, ``{"ok": true}`` or ``{"ok": false, "error": "..."}``; the first
answer, sent at start, says whether the voice could be loaded. It ends at the end of stdin.
Numbers reach it as words (sounds/announce.py), never as digits.
"""

from __future__ import annotations

import json
import os
import sys
import wave

from .worker_answers import answering


def main() -> int:
    answer = answering()  # on a copy of stdout; whatever a library prints goes to stderr

    if len(sys.argv) != 2:
        answer(ok=False, error="usage: python -m queuekiosk.sounds.piper_worker MODEL.onnx")
        return 2
    model = sys.argv[1]
    try:
        from piper import PiperVoice

        voice = PiperVoice.load(model, config_path=f"{model}.json", download_dir=os.path.dirname(model) or ".")
    except ImportError:
        answer(ok=False, error="piper-tts is not installed (pip install 'queuekiosk[piper]')")
        return 1
    except Exception as error:  # noqa: BLE001 - a broken model file: say why
        answer(ok=False, error=f"piper could not load the voice {model}: {type(error).__name__}: {error}")
        return 1
    answer(ok=True, sample_rate=voice.config.sample_rate, espeak_voice=voice.config.espeak_voice)

    for line in sys.stdin:
        try:
            request = json.loads(line)
            with wave.open(request["out"], "wb") as out:
                voice.synthesize_wav(str(request["text"]), out)
            answer(ok=True)
        except Exception as error:  # noqa: BLE001 - one bad request must not end the worker
            answer(ok=False, error=f"{type(error).__name__}: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
