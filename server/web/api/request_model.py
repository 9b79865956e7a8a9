"""Request bodies' pydantic models, each defined at the first request that needs it.

An API module writes its body's model inside a function decorated with ``request_model``; the
function runs once, when the model is first used (``parse_body`` checking such a body), not when
the module is imported. So an idle server imports no pydantic (with the setup held as plain data,
server/core/config.py: about 8 MB of its memory, issue 21), and each model costs only once used."""

from __future__ import annotations

import threading


class _OnDemand:
    """Stands for the model ``define()`` returns: its attributes (``model_validate``,
    ``model_fields``) and calls are the model's, made at the first use and kept."""

    __slots__ = ("_define", "_model", "_lock")

    def __init__(self, define):
        self._define = define
        self._model = None
        self._lock = threading.Lock()

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


def request_model(define) -> _OnDemand:
    """``define()`` returns the model of a request body (a pydantic model class)."""
    return _OnDemand(define)
