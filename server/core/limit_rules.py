"""Rate limits as written in config ``limits`` ("30/minute", "10/minute;200/day", "5 per 2 hours"),
read without the ``limits`` library so that a server on one process never loads it (about 1.2 MB
of memory): server/web/ratelimits.py counts them in memory and hands them to that library only
for counts shared in Redis. The grammar is the one that library reads, so any limit it took before
means the same window and amount."""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "month": 86400 * 30,
    "year": 86400 * 30 * 12,  # a "year" of twelve 30-day months, as the limits library counts it
}
_ONE = re.compile(r"\s*(\d+)\s*(?:/|\s*per\s*)\s*(\d+)?\s*([a-z]+?)s?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Limit:
    """``amount`` requests per window of ``multiples`` ``unit``s."""

    amount: int
    multiples: int
    unit: str

    @property
    def seconds(self) -> int:
        return UNIT_SECONDS[self.unit] * self.multiples


def parse_limits(text: str) -> tuple[Limit, ...]:
    """The limits in ``text`` separated by ``;``, ``,`` or ``|``; ValueError naming the part that is not one."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a limit")
    limits = []
    for part in re.split(r"[,;|]", text):
        match = _ONE.fullmatch(part)
        unit = match and match.group(3).lower()
        if unit not in UNIT_SECONDS:
            raise ValueError(f"{part.strip()!r} is not a limit")
        amount, multiples = match.group(1, 2)
        limits.append(Limit(int(amount), int(multiples or 1), unit))
    return tuple(limits)
