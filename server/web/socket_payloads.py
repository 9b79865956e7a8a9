"""The kiosk agent's Socket.IO payloads (server/web/realtime.py), checked as the HTTP API checks a body
(server/web/api ``checked``): a refusal names the first field refused and every other in ``others``.
Keys an agent newer than the server sends are let through (a kiosk agent may be upgraded first)."""

from __future__ import annotations

from .api.request_model import request_model

INT32_MAX = 2**31 - 1  # a job's id: an integer column


@request_model
def AgentHello():
    from typing import Any

    from pydantic import BaseModel, ConfigDict, Field

    class AgentHello(BaseModel):
        model_config = ConfigDict(extra="ignore")
        kiosk: str | None = Field(default=None, min_length=1, max_length=64, strict=True)
        # job keys or ids printed without the server's word; one the server does not know is passed by
        printed: list[Any] | None = None

    return AgentHello


@request_model
def PrintDone():
    from typing import Annotated, Any

    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
    from pydantic_core import PydanticCustomError

    def job_id(value):
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT32_MAX:
            return value
        raise PydanticCustomError("print_job", "needs the number of the print job")  # problem_print_job

    class PrintDone(BaseModel):
        model_config = ConfigDict(extra="ignore")
        job: Annotated[int, BeforeValidator(job_id)]
        printed: bool = Field(strict=True)
        error: Any = None  # what the agent says went wrong (kept as text, cut to 500 characters)

    return PrintDone
