"""How config.yaml's checks (server/core/config_schema.py and the models it is made of) say a problem: the
setup's own checks raise pydantic errors of their own kinds (``_problem``), the checks between sections
list theirs at once (``_CrossReferenceError``), and ``_problems`` says each found, with its key path, in
English (the catalogue's ``problem_<kind>`` for the setup's own kinds)."""

from __future__ import annotations

import re

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from .i18n import translate


def _problem(kind: str, **params) -> PydanticCustomError:
    """A problem the setup's own checks find, as pydantic reports its own: error type ``kind``, its
    parameters the error's context. Its sentence is the catalogue's ``problem_<kind>`` (server/core/messages),
    said as pydantic's own kinds are (i18n.problem_phrase): in the reader's language in /admin, in
    English in config.yaml's messages (the text here)."""
    return PydanticCustomError(kind, translate(f"problem_{kind}", "en", **params), params)


class _CrossReferenceError(ValueError):
    """Every problem between the sections, each (key path, kind, parameters) as ``_problem``'s, said
    from the catalogue's ``problem_<kind>``."""

    def __init__(self, problems: list[tuple[str, str, dict]]):
        super().__init__("; ".join(f"{p}: {translate(f'problem_{kind}', 'en', **ps)}" for p, kind, ps in problems))
        self.problems = problems


_FRIENDLY = {
    "extra_forbidden": "unknown key (check its spelling)",
    "missing": "required key is missing",
}


def _path(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.fullmatch(r"[a-z_]+", str(part)):
            continue  # pydantic's union branch labels such as "list[...]" or "literal['all']"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _problems(error: ValidationError) -> list[tuple[str, str, dict, str]]:
    """(key path, error type, its context, the English text) of each problem; a union error reports each
    branch: one a path and text."""
    problems = {}
    for item in error.errors():
        ctx = item.get("ctx") or {}
        if isinstance(ctx.get("error"), _CrossReferenceError):
            for path, kind, params in ctx["error"].problems:
                message = translate(f"problem_{kind}", "en", **params)
                problems.setdefault((path, message), (path, kind, params, message))
            continue
        message = _FRIENDLY.get(item["type"], item["msg"]).removeprefix("Value error, ")
        path = _path(item["loc"])
        problems.setdefault((path, message), (path, item["type"], ctx, message))
    return list(problems.values())
