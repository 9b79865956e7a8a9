#!/usr/bin/env bash
# Create .venv (once) and install queuekiosk with the exact versions of constraints.txt.
#   scripts/setup.sh          the server
#   scripts/setup.sh test     the server and what the tests need (PostgreSQL and Redis clients included)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv --help >/dev/null 2>&1 || { echo "python3 with venv is needed (Debian: apt-get install python3-venv)" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
extra=""
[ "${1:-}" = "test" ] && extra="[test,postgres,redis]"
stamp=".venv/.installed${extra}"
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  # pip and setuptools print warnings that look like errors (a banner about folders named like the
  # package): their whole output goes to a log, shown only if the install fails
  log=".venv/install.log"
  echo "queuekiosk: installing the pinned dependencies into .venv (the first time takes a minute or two)..." >&2
  if ! { .venv/bin/python -m pip install --quiet --upgrade "pip==26.3" "setuptools==84.2.1" "wheel==0.48.0" &&
         .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${extra}"; } > "$log" 2>&1; then
    cat "$log" >&2
    echo "queuekiosk: the install failed (the lines above say why; they are also in $log)" >&2
    exit 1
  fi
  echo "queuekiosk: installed" >&2
  touch "$stamp"
fi
