"""What the engine's functions take and return: who acts, and what happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user, an API token, or nobody (a citizen at the kiosk)."""

    user_id: int | None = None
    token_id: int | None = None


# nobody, made once: a frozen dataclass costs ~4k instructions to make (object.__setattr__ per field),
# and every kiosk's ticket was issued by a new one
NOBODY = Actor()


@dataclass
class Happened:
    kind: str  # "ticket.called", "counter.changed", ...
    ticket: dict | None = None
    counter: int | None = None
    detail: dict = field(default_factory=dict)
    # other tickets whose pages are told too (not in the message): a counter's change, to the numbers
    # transferred to it, whose promised wait depends on it (counter_actions.counter_changed)
    tickets: tuple[str, ...] = ()  # (their public ids)


@dataclass
class Outcome:
    ticket: dict | None = None
    happened: list[Happened] = field(default_factory=list)


class Candidate(NamedTuple):
    """A waiting ticket as ``choose_next`` weighs it. A tuple: a whole queue's are built where a status
    plays the queue (choosing.py ``in_call_order``), and a frozen dataclass is slower to build."""

    id: int
    issued_at: dt.datetime
    priority: bool
    called_before: bool = False  # a transferred ticket: its wait ended at its first call
    due_at: dt.datetime | None = None  # a booking checked in on time: called first from then (choose_next)
    sent: bool = False  # sent to one counter (a transfer): out of its service's queue (numbering.py)
