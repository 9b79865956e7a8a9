"""The kiosk agent's Socket.IO payloads (server/web/realtime_agents.py), checked as the HTTP API checks a body
(server/web/api ``checked``): a refusal names the first field refused and every other in ``others``.
Keys an agent newer than the server sends are let through (a kiosk agent may be upgraded first).

An agent's usual payloads are checked here by hand, as api/tickets.py ``_issue_body`` checks a kiosk's
usual ticket: an agent connects at every start of its PC and reports every ticket it prints, and an idle
server holds no pydantic (issue 21, tests/api/test_idle_server.py). Any other payload goes through the
model, which accepts it or refuses it naming every field."""

from __future__ import annotations

from types import SimpleNamespace

from .api.request_model import request_model

INT32_MAX = 2**31 - 1  # a job's id: an integer column
MAX_KIOSK = 64
_HELLO_KEYS, _DONE_KEYS = frozenset({"kiosk", "printed"}), frozenset({"job", "printed", "error"})
_UNUSUAL = object()


def agent_hello(data) -> SimpleNamespace:
    """``agent.hello``'s payload: ``kiosk`` (None: the token's kiosk, or the only agent's kiosk) and
    ``printed`` (job keys or ids). Not a dict: nothing said."""
    data = data if isinstance(data, dict) else {}
    if data.keys() <= _HELLO_KEYS:
        kiosk, printed = _kiosk_named(data.get("kiosk")), data.get("printed")
        if kiosk is not _UNUSUAL and (printed is None or (type(printed) is list and all(map(_job_ref, printed)))):
            return SimpleNamespace(kiosk=kiosk, printed=printed)
    return _checked(AgentHello, data)


def print_done(data) -> SimpleNamespace:
    """``print.done``'s payload: ``job`` (its id), ``printed`` (a bool) and ``error`` (what went wrong)."""
    if type(data) is dict and data.keys() <= _DONE_KEYS:
        job, printed, error = data.get("job"), data.get("printed"), data.get("error")
        if _job_id(job) and type(printed) is bool and (error is None or _text(error)):
            return SimpleNamespace(job=job, printed=printed, error=error)
    return _checked(PrintDone, data)


def _checked(model, data):
    from .api import checked  # (the API's package imports realtime.py, which imports this module)

    return checked(model, data)


def _kiosk_value(value):
    """A kiosk named as the agents of every version, and hand-written ones, have: ``""`` names none (the
    token's kiosk then), an integer is its id as text."""
    if value == "":
        return None
    return str(value) if type(value) is int else value


def _kiosk_named(value):
    value = _kiosk_value(value)
    if value is None or (_text(value) and 0 < len(value) <= MAX_KIOSK):
        return value
    return _UNUSUAL


def _job_id(value) -> bool:
    return type(value) is int and 0 < value <= INT32_MAX


def _job_ref(value) -> bool:
    return _job_id(value) or _text(value)


def _text(value) -> bool:
    return type(value) is str and "\x00" not in value  # (checked refuses a NUL naming the field)


@request_model
def AgentHello():
    from typing import Annotated, Any

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

    class AgentHello(BaseModel):
        model_config = ConfigDict(extra="ignore")
        kiosk: Annotated[str | None, BeforeValidator(_kiosk_value)] = Field(
            default=None, min_length=1, max_length=MAX_KIOSK, strict=True
        )
        # job keys or ids printed without the server's word; one the server does not know is passed by
        printed: list[Any] | None = None

    return AgentHello


@request_model
def PrintDone():
    from typing import Annotated, Any

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
    from pydantic_core import PydanticCustomError

    def job_id(value):
        if _job_id(value):
            return value
        raise PydanticCustomError("print_job", "needs the number of the print job")  # problem_print_job

    class PrintDone(BaseModel):
        model_config = ConfigDict(extra="ignore")
        job: Annotated[int, BeforeValidator(job_id)]
        printed: bool = Field(strict=True)
        error: Any = None  # what the agent says went wrong (kept as text, cut to 500 characters)

    return PrintDone
