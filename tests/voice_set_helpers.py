"""A recorded voice set and a piper voice made by the tests (docs/display-and-voice.md): each clip of
the set is a pure tone of its own pitch, so a test reads back from an announcement's WAV which clip
was played where; the piper voice is a tiny ONNX graph with piper's inputs and output, piper's own
phoneme map and espeak-ng data (no Vietnamese piper voice is on a package registry, and none may be
downloaded at run time)."""

from __future__ import annotations

import array
import json
import math
import os
import wave
from pathlib import Path

import pytest

from queuekiosk.sounds import wav
from queuekiosk.sounds.tts import piper_installed
from queuekiosk.sounds.voice import SET_MANIFEST

SET_RATE = 44100


def tone_clip(path: Path, frequency: float, seconds: float = 0.16, rate: int = SET_RATE, channels: int = 1) -> None:
    """A recorder's clip: silence, the tone, silence; 16-bit PCM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = [0] * int(rate * 0.05)
    samples += [int(20000 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(int(rate * seconds))]
    samples += [0] * int(rate * 0.05)
    frames = array.array("h", (s for s in samples for _ in range(channels)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())


def sounding_stretches(path: Path, min_gap_ms: int = 25) -> tuple[list[tuple[int, int]], array.array]:
    """(start, end) sample indexes of the sounding stretches, split at silences >= min_gap_ms; the samples."""
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (wav.RATE, 1, 2)
        data = array.array("h", w.readframes(w.getnframes()))
    gap = wav.RATE * min_gap_ms // 1000
    segments, start, quiet = [], None, 0
    for i, value in enumerate(data):
        if abs(value) > 300:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= gap:
                segments.append((start, i - quiet + 1))
                start, quiet = None, 0
    if start is not None:
        segments.append((start, len(data) - quiet))
    return [(a, b) for a, b in segments if b - a > wav.RATE * 0.03], data


def pitch_of(data, start: int, end: int) -> float:
    """The pitch of samples ``start`` to ``end``, from how often they cross zero."""
    crossings = sum(1 for i in range(start + 1, end) if (data[i - 1] < 0) != (data[i] < 0))
    return crossings / 2 / ((end - start) / wav.RATE)


def clips_heard(path: Path, pitches: dict[str, float]) -> list[str]:
    """The clip names heard in the WAV, in order: each stretch matched to the nearest clip pitch
    (a stretch of no recorded pitch is "?")."""
    segments, data = sounding_stretches(path)
    heard = []
    for start, end in segments:
        pitch = pitch_of(data, start, end)
        name, best = min(pitches.items(), key=lambda item: abs(item[1] - pitch))
        heard.append(name if abs(best - pitch) < 12 else "?")
    return heard


def make_voice_set(folder: Path, names: list[str], skip=(), **manifest) -> dict[str, float]:
    """A recorded set of ``names`` (minus ``skip``), each a tone; returns name -> pitch."""
    pitches = {}
    for index, name in enumerate(names):
        pitches[name] = 300.0 + 35 * index
        if name not in skip:
            tone_clip(folder / f"{name}.wav", pitches[name])
    (folder / SET_MANIFEST).write_text(
        json.dumps({"format": 1, "name": "Giọng thử", "languages": ["vi"], "sample_rate": SET_RATE, **manifest}),
        encoding="utf-8",
    )
    return pitches


def piper_or_skip():
    """Skip without piper-tts installed (fail in CI, whose test extra pins it)."""
    if not piper_installed():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("piper-tts is not installed (the test extra pins it: pip install -e '.[test]')")
        pytest.skip("piper-tts is not installed")


HOP = 256


def piper_model_file(folder: Path, language: str = "vi") -> Path:
    """A piper voice file made here: piper's inputs (phoneme ids, lengths, scales) and output
    (audio [1, 1, samples]); each phoneme id sounds HOP samples of a tone of pitch 20 Hz x id."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    rate = 22050
    ramp = [2 * math.pi * 20 * j / rate for j in range(HOP)]
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["input"], ["ids"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["ids", "axis"], ["ids3"]),
            helper.make_node("Mul", ["ids3", "ramp"], ["phase"]),
            helper.make_node("Sin", ["phase"], ["wave"]),
            helper.make_node("Reshape", ["wave", "shape"], ["output"]),
        ],
        "tones",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, None])],
        [
            helper.make_tensor("axis", TensorProto.INT64, [1], [2]),
            helper.make_tensor("ramp", TensorProto.FLOAT, [HOP], ramp),
            helper.make_tensor("shape", TensorProto.INT64, [3], [1, 1, -1]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{language}_VN-test-x_low.onnx"
    onnx.save(model, str(path))
    settings = {
        "audio": {"sample_rate": rate},
        "espeak": {"voice": language},
        "phoneme_type": "espeak",
        "num_symbols": 256,
        "num_speakers": 1,
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
    }
    (folder / f"{path.name}.json").write_text(json.dumps(settings), encoding="utf-8")
    return path
