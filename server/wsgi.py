"""The app for a WSGI server such as gunicorn (deploy/gunicorn.conf.py):

    gunicorn --config deploy/gunicorn.conf.py queuekiosk.server.wsgi:app

Configured like `queuekiosk serve`: QUEUEKIOSK_CONFIG, QUEUEKIOSK_DATABASE_URL,
QUEUEKIOSK_MESSAGE_QUEUE, QUEUEKIOSK_SECRET_KEY, QUEUEKIOSK_PROXIES, and
QUEUEKIOSK_IGNORE_HOURS=1 for trials (as `serve --ignore-hours`). gunicorn's gevent worker
has patched the standard library before this module is imported.
"""

import os

from ..printers.profiles import install as check_printer_profiles
from .web.app import create_app
from .web.printing import warn_if_phones_cannot_reach

check_printer_profiles()  # config refuses a printer profile python-escpos does not know (the core cannot tell)
app = create_app(ignore_hours=os.environ.get("QUEUEKIOSK_IGNORE_HOURS") == "1", migrate_apart=True)
warn_if_phones_cannot_reach(app)  # behind nginx only ticket.tracking_url can say where phones reach it
try:
    app.extensions["queuekiosk"].start_background()
except ValueError as error:  # a retry schedule of the environment refused: a sentence, as `serve` says it
    raise SystemExit(str(error)) from None
