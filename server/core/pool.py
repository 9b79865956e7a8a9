"""Work for a thread of gevent's hub pool, its exception handed back to the caller on the loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import gevent

T = TypeVar("T")


def in_pool(function: Callable[..., T], *args) -> T:
    """``function(*args)`` in a thread of gevent's pool while the loop goes on. An exception it raises is
    raised here, on the loop, with its traceback, and gevent does not print it: its pool prints to stderr
    (the server's journal) the whole traceback of every exception raised in its threads, then raises it
    in the caller too, so each failed print of a USB printer would put a Traceback in the journal."""
    outcome = gevent.get_hub().threadpool.apply(_caught, (function, args))
    if isinstance(outcome, _Raised):
        raise outcome.error
    return outcome


class _Raised:
    def __init__(self, error: Exception):
        self.error = error


def _caught(function, args):
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - raised again by in_pool, on the loop
        return _Raised(error)
