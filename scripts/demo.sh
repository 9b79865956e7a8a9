#!/usr/bin/env bash
# Run the demo centre of config.yaml on the embedded SQLite database (in ./instance).
# Extra arguments go to `queuekiosk serve` (e.g. --port 9000 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/queuekiosk migrate --config config.yaml   # a demo database of an older version is brought up to date
exec .venv/bin/queuekiosk serve --config config.yaml --ignore-hours "$@"
