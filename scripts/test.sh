#!/usr/bin/env bash
# Run the whole test suite. Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and
# /usr/bin/chromium for the page tests; see README.md. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
