"""WAV files with the standard library only: read any PCM WAV, bring it to one format, join, write.

Every clip is brought to ``RATE`` Hz, mono, 16-bit signed PCM before it is joined, so an
announcement made of the shipped clips, a centre's own recordings (often 44.1 kHz stereo,
24-bit, or WAVE_FORMAT_EXTENSIBLE, which Python 3.11's ``wave`` cannot read) and TTS output
is one valid WAV of one format.
"""

from __future__ import annotations

import array
import io
import math
import os
import struct
import sys
from pathlib import Path

RATE = 22050  # espeak-ng's own rate: the shipped clips need no resampling
SAMPLE_WIDTH = 2  # 16-bit
CHANNELS = 1
PEAK = int(32767 * 0.89)  # clips are levelled to -1 dBFS so that joined parts sound equally loud
SILENCE_LEVEL = 400  # below this a sample counts as silence when clips are trimmed

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


class WavError(ValueError):
    """A file that is not a WAV this module can read."""


def _samples(raw: bytes) -> array.array:
    out = array.array("h")
    out.frombytes(raw[: len(raw) // 2 * 2])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _to_bytes(samples: array.array) -> bytes:
    if sys.byteorder == "big":
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _decode(data: bytes, fmt: int, width: int, channels: int) -> list[float]:
    """Interleaved frames -> mono samples in -1.0..1.0."""
    if fmt == _FLOAT:
        if width == 4:
            values = array.array("f")
        elif width == 8:
            values = array.array("d")
        else:
            raise WavError(f"{width * 8}-bit floating-point samples are not supported")
        values.frombytes(data[: len(data) // width * width])
        if sys.byteorder == "big":
            values.byteswap()
        scaled = list(values)
    elif width == 1:
        scaled = [(b - 128) / 128.0 for b in data]
    elif width == 2:
        scaled = [v / 32768.0 for v in _samples(data)]
    elif width == 3:
        scaled = [
            int.from_bytes(data[i : i + 3], "little", signed=True) / 8388608.0 for i in range(0, len(data) - 2, 3)
        ]
    elif width == 4:
        values = array.array("i")
        values.frombytes(data[: len(data) // 4 * 4])
        if sys.byteorder == "big":
            values.byteswap()
        scaled = [v / 2147483648.0 for v in values]
    else:
        raise WavError(f"{width * 8}-bit samples are not supported")
    if channels > 1:
        scaled = [sum(scaled[i : i + channels]) / channels for i in range(0, len(scaled) - channels + 1, channels)]
    return scaled


def wav_format(path: str | os.PathLike) -> tuple[str, int, int, int]:
    """("pcm" | "float" | "compressed", channels, sample rate, bits) from a WAV's header alone.

    Used to check a recorded voice set against its manifest (sounds/voice.py) without decoding it.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise WavError("not a WAV file (no RIFF/WAVE header)")
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise WavError("not a WAV file (no fmt chunk)")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid != b"fmt ":
                f.seek(size + (size & 1), 1)
                continue
            body = f.read(size)
            if len(body) < 16:
                raise WavError("not a WAV file (a short fmt chunk)")
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if fmt == _EXTENSIBLE and len(body) >= 26:
                fmt = struct.unpack("<H", body[24:26])[0]
            kind = {_PCM: "pcm", _FLOAT: "float"}.get(fmt, "compressed")
            return kind, channels, rate, bits


def read_wav(source: str | os.PathLike | bytes) -> tuple[list[float], int]:
    """(mono samples in -1.0..1.0, sample rate) of a PCM or float WAV, plain or EXTENSIBLE."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise WavError("not a WAV file (no RIFF/WAVE header)")
    fmt_chunk = None
    data = None
    pos = 12
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt_chunk = body
        elif cid == b"data":
            data = body  # a bogus length (as `espeak-ng --stdout` writes) is cut to what is there
        pos += 8 + size + (size & 1)
    if fmt_chunk is None or len(fmt_chunk) < 16 or data is None:
        raise WavError("not a WAV file (no fmt or data chunk)")
    fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt_chunk[:16])
    if fmt == _EXTENSIBLE and len(fmt_chunk) >= 26:
        fmt = struct.unpack("<H", fmt_chunk[24:26])[0]  # the sub-format GUID starts with the real code
    if fmt not in (_PCM, _FLOAT):
        raise WavError(f"compressed WAV (format {fmt:#x}) is not supported: save it as PCM")
    if channels < 1 or rate < 4000:
        raise WavError(f"unusable WAV ({channels} channels, {rate} Hz)")
    return _decode(data, fmt, (bits + 7) // 8, channels), rate


def resample(samples: list[float], rate: int, target: int = RATE) -> list[float]:
    """Linear interpolation: plenty for speech and a chime."""
    if rate == target or not samples:
        return samples
    count = max(1, int(len(samples) * target / rate))
    step = rate / target
    last = len(samples) - 1
    out = []
    for i in range(count):
        x = i * step
        j = int(x)
        if j >= last:
            out.append(samples[last])
        else:
            frac = x - j
            out.append(samples[j] * (1 - frac) + samples[j + 1] * frac)
    return out


def to_pcm(samples: list[float], level: bool = True, trim: bool = True) -> bytes:
    """Mono floats -> 16-bit PCM bytes at RATE, trimmed of leading/trailing silence, levelled."""
    peak = max((abs(v) for v in samples), default=0.0)
    scale = PEAK / (peak * 32767) if level and peak > 0.001 else 1.0
    ints = array.array("h", (max(-32768, min(32767, int(round(v * 32767 * scale)))) for v in samples))
    if trim:
        ints = trim_silence(ints)
    return _to_bytes(ints)


def trim_silence(ints: array.array, margin_ms: int = 15) -> array.array:
    start = 0
    end = len(ints)
    while start < end and abs(ints[start]) < SILENCE_LEVEL:
        start += 1
    while end > start and abs(ints[end - 1]) < SILENCE_LEVEL:
        end -= 1
    margin = RATE * margin_ms // 1000
    return ints[max(0, start - margin) : min(len(ints), end + margin)]


def load_clip(path: str | os.PathLike) -> bytes:
    """A WAV file as PCM bytes in the one format (RATE, mono, 16-bit), trimmed and levelled."""
    samples, rate = read_wav(path)
    return to_pcm(resample(samples, rate))


def silence(milliseconds: int) -> bytes:
    return bytes(RATE * milliseconds // 1000 * SAMPLE_WIDTH)


def wav_bytes(pcm: bytes) -> bytes:
    out = io.BytesIO()
    import wave  # here: a server loads it with its first announcement's audio, not at start

    with wave.open(out, "wb") as w:
        w.setnchannels(CHANNELS)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return out.getvalue()


def write_wav(path: str | os.PathLike, pcm: bytes) -> None:
    """Write atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(pcm)}.tmp")
    tmp.write_bytes(wav_bytes(pcm))
    os.replace(tmp, path)


def duration(pcm: bytes) -> float:
    return len(pcm) / (RATE * SAMPLE_WIDTH)


# --- the chime -------------------------------------------------------------------------------


def chime(notes: tuple[float, ...] = (659.25, 523.25), note_seconds: float = 0.75) -> bytes:
    """A two-note "ding-dong" (E5, C5) made here: a few harmonics with an exponential decay."""
    ints = array.array("h")
    spacing = int(RATE * note_seconds * 0.55)  # the second note starts before the first dies away
    total = spacing * (len(notes) - 1) + int(RATE * note_seconds)
    mix = [0.0] * total
    for index, frequency in enumerate(notes):
        offset = index * spacing
        for n in range(int(RATE * note_seconds)):
            t = n / RATE
            envelope = math.exp(-4.0 * t) * min(1.0, n / (RATE * 0.005))  # 5 ms attack, no click
            value = (
                math.sin(2 * math.pi * frequency * t)
                + 0.35 * math.sin(2 * math.pi * 2 * frequency * t)
                + 0.12 * math.sin(2 * math.pi * 3 * frequency * t)
            )
            mix[offset + n] += envelope * value
    peak = max(abs(v) for v in mix)
    ints.extend(int(v / peak * PEAK * 0.8) for v in mix)
    return _to_bytes(ints)
