#!/usr/bin/env bash
# Run the whole test suite. Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and
# /usr/bin/chromium for the page tests; see README.md. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
# Python writes no bytecode where PYTHONDONTWRITEBYTECODE is set (it is on the machines CI runs on),
# so every process the suite starts compiled the app again (~0.3 s of CPU a server start): compile
# it and the tests' helpers once here (timestamped pycs: an edited file is compiled afresh as usual).
# A file that does not compile is named here and left to the tests to report.
.venv/bin/python -m compileall -q -j 0 server queuekiosk printers kiosk display counter_client sounds tests || true
exec .venv/bin/python -m pytest "$@"
