"""The setup's sections made of items and what a supervisor may change (server/core/setup_changes.py):
apart, so that the admin API's routes are made without loading the changes' code (issue 21)."""

# the sections of the setup made of items, and the key that names an item
SECTIONS = {
    "services": "code",
    "counters": "number",
    "priorities": "code",
    "kiosks": "id",
    "displays": "id",
    "printers": "id",
}
# what a supervisor may change; everything else is an admin's
SUPERVISOR_SITE_KEYS = {"ticker", "ticker_en", "holidays"}
SUPERVISOR_DISPLAY_KEYS = {"ticker", "ticker_en", "slides", "slide_seconds"}
