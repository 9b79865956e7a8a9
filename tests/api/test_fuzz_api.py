"""Fuzzing the API from its own OpenAPI document (schemathesis, issue 7): requests that fit the
document and requests that break it, with and without a token. Whatever comes, the server
answers with a clear 4xx in the one error format (or success), never a 500, and keeps running."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

EXAMPLES = 10  # per operation, mode and token: enough to reach the refusals, quick enough for every run


def test_fuzzed_requests_get_clear_answers_never_a_server_error(server):
    http = server.session()
    schema = schemathesis.openapi.from_dict(http.get("/api/v1/openapi.json").json())
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    problems: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for headers in (admin, {}):

                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def check(case):
                    case.headers = {**(case.headers or {}), **headers}  # noqa: B023  (check() runs in this iteration)
                    response = case.call(base_url=server.url, timeout=15)
                    where = f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code}"  # noqa: B023
                    if response.status_code >= 500:
                        problems.append(f"{where}: {response.text[:300]}")
                    elif response.status_code >= 400 and case.path.startswith("/api/"):
                        error = response.json().get("error", {})
                        if not (error.get("code") and error.get("message")):
                            problems.append(f"{where}: not the error format: {response.text[:300]}")

                try:
                    check()
                except Unsatisfiable:  # nothing to break in this operation (no parameters, no body)
                    assert mode is GenerationMode.NEGATIVE, operation.label
    assert not problems, "\n".join(problems[:20])
    assert http.get("/healthz").status_code == 200
