#!/usr/bin/env bash
# Open a queuekiosk page full screen on a kiosk PC or a lobby TV: Chromium in kiosk mode.
#
#   scripts/kiosk-browser.sh http://192.168.1.10:8000/kiosk/kiosk-1      # a touch kiosk
#   scripts/kiosk-browser.sh http://192.168.1.10:8000/display/lobby      # a lobby TV (plays sound)
#   scripts/kiosk-browser.sh --dry-run URL                               # print the command only
#
# It waits until the server answers (GET /healthz), so that a PC that boots before the server
# does not sit on an error page; clears Chromium's "restore pages?" state after a power cut;
# keeps the screen awake; and starts Chromium again if it ever closes. docs/kiosk.md explains
# how to start it when the PC logs in.
#
# Environment:
#   QK_CHROMIUM   the browser (default: the first of chromium, chromium-browser, google-chrome)
#   QK_PROFILE    Chromium's profile folder (default: ~/.cache/queuekiosk-browser)
#   QK_RESTART    1 (default): start the browser again when it exits; 0: exit with it
#   QK_WAIT       seconds to wait for the server before opening anyway (default 0: wait for ever)
#   QK_EXTRA      more Chromium flags, e.g. "--force-device-scale-factor=1.25"
set -euo pipefail

dry_run=0
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=1
  shift
fi
if [ $# -ne 1 ] || [ "${1:0:4}" != "http" ]; then
  echo "usage: $0 [--dry-run] http://SERVER:8000/kiosk/KIOSK-ID  (or /display/DISPLAY-ID)" >&2
  exit 2
fi
url="$1"

browser="${QK_CHROMIUM:-}"
if [ -z "$browser" ]; then
  for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
      browser="$candidate"
      break
    fi
  done
fi
if [ -z "$browser" ]; then
  if [ "$dry_run" = 1 ]; then
    browser=chromium
  else
    echo "$0: no Chromium found: apt-get install chromium (or set QK_CHROMIUM)" >&2
    exit 1
  fi
fi
profile="${QK_PROFILE:-$HOME/.cache/queuekiosk-browser}"

flags=(
  --kiosk                                   # full screen, no address bar, no way out by mouse
  --noerrdialogs
  --disable-session-crashed-bubble
  --disable-infobars
  --no-first-run
  --no-default-browser-check
  --autoplay-policy=no-user-gesture-required  # the lobby display speaks without a tap
  --disable-features=Translate,TranslateUI,OverscrollHistoryNavigation  # no "translate this page?", no swipe back
  --overscroll-history-navigation=0
  --disable-pinch                           # a citizen's two fingers do not zoom the page
  --touch-events=enabled
  --check-for-update-interval=31536000
  --password-store=basic                    # no keyring prompt at start
  --user-data-dir="$profile"
)
# shellcheck disable=SC2206  # QK_EXTRA is a list of flags on purpose
extra=(${QK_EXTRA:-})
command=("$browser" "${flags[@]}" "${extra[@]}" "$url")

if [ "$dry_run" = 1 ]; then
  printf '%q ' "${command[@]}"
  printf '\n'
  exit 0
fi

# the server's health address: scheme://host:port/healthz
base="$(printf '%s' "$url" | sed -E 's#^(https?://[^/]+).*#\1#')"

server_answers() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 3 "$base/healthz" >/dev/null 2>&1
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 3 -O /dev/null "$base/healthz" 2>/dev/null
  else
    return 0  # nothing to ask with: open the page at once (it shows "Mất kết nối" by itself)
  fi
}

wait_for_server() {
  local waited=0
  until server_answers; do
    if [ "$waited" = 0 ]; then echo "$0: waiting for $base/healthz ..." >&2; fi
    sleep 2
    waited=$((waited + 2))
    if [ "${QK_WAIT:-0}" -gt 0 ] && [ "$waited" -ge "${QK_WAIT}" ]; then
      echo "$0: $base does not answer after ${waited} s; opening the page anyway" >&2
      return 0
    fi
  done
}

forget_crash() {
  # after a power cut Chromium offers to "restore pages": mark the last session as a clean exit
  local prefs="$profile/Default/Preferences"
  if [ -f "$prefs" ]; then
    sed -i -e 's/"exited_cleanly":false/"exited_cleanly":true/' -e 's/"exit_type":"[A-Za-z]*"/"exit_type":"Normal"/' \
      "$prefs" || true
  fi
}

keep_screen_awake() {
  if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null 2>&1; then
    xset s off -dpms s noblank 2>/dev/null || true
  fi
}

mkdir -p "$profile"
trap 'exit 0' INT TERM
while true; do
  wait_for_server
  forget_crash
  keep_screen_awake
  status=0
  "${command[@]}" || status=$?
  if [ "${QK_RESTART:-1}" != 1 ]; then
    exit "$status"
  fi
  echo "$0: the browser exited ($status); starting it again in 3 s (Ctrl+C to stop)" >&2
  sleep 3
done
