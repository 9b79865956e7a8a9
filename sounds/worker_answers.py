"""The answering side of the speech workers' protocol (tts_worker.py, piper_worker.py): one JSON
object per line on a copy of stdout, while file descriptor 1 and ``sys.stdout`` go to stderr, so
that nothing a library prints (pyttsx3's espeak driver says "Audio saved to ...") breaks an answer."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable


def answering() -> Callable[..., None]:
    """Move this process's stdout aside and return ``answer(**fields)``, which writes one answer."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def answer(**fields) -> None:
        answers.write(json.dumps(fields, ensure_ascii=False) + "\n")
        answers.flush()

    return answer
