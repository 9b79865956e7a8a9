"""The app for a WSGI server such as gunicorn (deploy/gunicorn.conf.py):

    gunicorn --config deploy/gunicorn.conf.py queuekiosk.server.wsgi:app

Configured like `queuekiosk serve`: QUEUEKIOSK_CONFIG, QUEUEKIOSK_DATABASE_URL,
QUEUEKIOSK_MESSAGE_QUEUE, QUEUEKIOSK_SECRET_KEY, QUEUEKIOSK_PROXIES, and
QUEUEKIOSK_IGNORE_HOURS=1 (or true, yes, on) for trials (as `serve --ignore-hours`). gunicorn's gevent worker
has patched the standard library before this module is imported.
"""

import sys

from ..printers.profiles import install as check_printer_profiles
from .core.config import ConfigError
from .core.env_values import flag
from .core.env_values import mistake as env_mistake
from .web.first_start import StartRefused, refuse_env_placeholders, start_app, start_refused
from .web.message_queue_check import others_unreached
from .web.printing import SERVER_URL, warn_if_phones_cannot_reach

BOOT_ERROR = 3  # gunicorn's arbiter stops (and does not start the worker again) on this exit status


def _refuse(error: Exception):
    """One sentence, as `serve` says it, no traceback; gunicorn then stops instead of starting it again."""
    print(f"queuekiosk: {error}", file=sys.stderr, flush=True)
    raise SystemExit(BOOT_ERROR) from None


check_printer_profiles()  # config refuses a printer profile python-escpos does not know (the core cannot tell)
try:
    refuse_env_placeholders()  # first, as the commands: an example left in is not a value written wrong
except StartRefused as error:
    _refuse(error)
wrong = env_mistake()  # a variable of the environment written wrong: one sentence, not a traceback
if wrong is not None:
    _refuse(start_refused(wrong[0], **wrong[1]))
try:
    app = start_app(None, ignore_hours=flag("QUEUEKIOSK_IGNORE_HOURS"))
except (StartRefused, ConfigError) as error:  # the instance folder, the database, the person key, config.yaml
    _refuse(error)
# the address gunicorn listens on (server/gunicorn_worker.py): the warning below names it, not port 8000
listening = getattr(sys.modules.get(f"{__package__}.gunicorn_worker"), "LISTENING", None)
if listening:
    app.config[SERVER_URL] = listening
warn_if_phones_cannot_reach(app, served_directly=False)  # behind nginx only the settings say where phones reach it
others_unreached(app)  # other processes running, and no message queue to reach their screens: said
try:
    app.extensions["queuekiosk"].start_background()
except ValueError as error:  # a retry schedule of the environment refused
    _refuse(error)
