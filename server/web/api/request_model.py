"""Request bodies' pydantic models, each defined at the first request that needs it.

An API module writes its body's model inside a function decorated with ``request_model``; the
function runs once, when the model is first used (``parse_body`` checking such a body), not when
the module is imported. So an idle server imports no pydantic (with the setup held as plain data,
server/core/config.py: about 8 MB of its memory, issue 21), and each model costs only once used."""

from __future__ import annotations

import threading
from types import SimpleNamespace


class _OnDemand:
    """Stands for the model ``define()`` returns: its attributes (``model_validate``,
    ``model_fields``) and calls are the model's, made at the first use and kept. ``empty``: what an
    empty body reads as, for a model whose fields are all optional (None for the others)."""

    __slots__ = ("_define", "_model", "_lock", "empty")

    def __init__(self, define, empty: dict | None = None):
        self._define = define
        self._model = None
        self._lock = threading.Lock()
        self.empty = None if empty is None else SimpleNamespace(**empty)

    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._define()
        return self._model

    def __getattr__(self, name: str):
        return getattr(self.model(), name)

    def __call__(self, *args, **kwargs):
        return self.model()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<request model {self._define.__qualname__}>"


def request_model(define=None, *, empty: dict | None = None):
    """``define()`` returns the model of a request body (a pydantic model class). ``empty``: the
    fields of an empty body (none, or ``{}``) for a model whose fields are all optional, e.g.
    ``@request_model(empty={"number": None})``: ``parse_body`` answers such a body without the model,
    so a clerk's presses (most send no body) load no pydantic either (tests/test_request_models.py
    checks each against its model)."""
    if define is None:
        return lambda define: _OnDemand(define, empty)
    return _OnDemand(define, empty)
