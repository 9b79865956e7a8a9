"""Schemathesis over the whole OpenAPI document the server serves (issues 7 and 20): every operation,
requests that fit the document and requests that break it, every check schemathesis has (server
errors, status codes, content types, response headers and bodies against their schemas, refusal of
bad input and acceptance of good input, missing required headers, unsupported methods and their
Allow header, auth that is ignored, resources used after deletion or missing after creation) plus
the project's own (every refusal in the one error format: tests/api/fuzz_setup/fuzz_hooks.py), and the
stateful phase, which chains operations through the document's links (a ticket issued, then read,
rated, subscribed to ...). Against a real server of its own, with an admin token.

The run is the same every time: a fixed seed, no example database, one worker, at most EXAMPLES
cases per operation and phase. For a deeper run by hand, on a server of your own:

    SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=tests/api/fuzz_setup .venv/bin/schemathesis \\
        --config-file tests/api/fuzz_setup/schemathesis.toml run \\
        http://127.0.0.1:8000/api/v1/openapi.json -H "Authorization: Bearer $TOKEN" \\
        --checks all --phases examples,coverage,fuzzing,stateful -n 200
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import server_db
from sqlalchemy import update

from queuekiosk.server.core import models as m

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
if not SCHEMATHESIS.exists():  # (its command, not its import: importing it costs every worker ~1 s)
    pytest.skip("schemathesis is not installed (scripts/setup.sh test installs it)", allow_module_level=True)
HERE = Path(__file__).resolve().parent / "fuzz_setup"
HYPOTHESIS_TABLES = HERE.parents[2] / ".hypothesis"  # (the suite's own hypothesis folder, not in git)
SEED = 20261203
EXAMPLES = 5  # per operation and phase: 1,500 requests or so over the document's ~70 operations
OUT_OF_REACH = 2_000_000_011  # the run's own token id: DELETE /api/v1/admin/tokens/{id} is fuzzed too


def admin_token(server) -> str:
    """An admin token whose id the fuzzer will not guess: revoking it would leave the rest of the run
    with nothing but 401 answers."""
    token = server_db.create_token(server.database_url, "admin", name="schemathesis")
    server_db._write(
        server.database_url,
        lambda session: session.execute(
            update(m.ApiToken).where(m.ApiToken.name == "schemathesis").values(id=OUT_OF_REACH)
        ),
    )
    return token


def test_schemathesis_finds_nothing_over_the_whole_document(live_server, tmp_path):
    server = live_server()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "PYTHONPATH": str(HERE),
        # where hypothesis keeps the Unicode tables it makes (its charmap, which characters UTF-8
        # encodes: 1.9 s of CPU), made once, not at every run in the test's new folder; no examples
        # are kept there (--generation-database none), so every run is the same
        "HYPOTHESIS_STORAGE_DIRECTORY": str(HYPOTHESIS_TABLES),
    }
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{server.url}/api/v1/openapi.json",
        "-H",
        f"Authorization: Bearer {admin_token(server)}",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--mode",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "15",
        "--warnings",
        "off",
    ]
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    summary = run.stdout[run.stdout.find("=== SUMMARY") :] if "=== SUMMARY" in run.stdout else run.stdout[-3000:]
    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}"
    assert "Tested: " in summary, summary
    assert server.session().get("/healthz").status_code == 200
