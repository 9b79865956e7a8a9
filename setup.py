"""Installs the `queuekiosk` command. The folders of the design card become subpackages."""

import re
from pathlib import Path

from setuptools import setup

# the version is stated once, in the package (queuekiosk.__version__)
VERSION = re.search(r'^__version__ = "([^"]+)"$', Path("queuekiosk/__init__.py").read_text(), re.M).group(1)

PARTS = ["server", "kiosk", "display", "counter_client", "printers", "sounds"]


def packages():
    found = ["queuekiosk"]
    for part in PARTS:
        for init in sorted(Path(part).rglob("__init__.py")):
            found.append(".".join(["queuekiosk", *init.parent.parts]))
    return found


setup(
    name="queuekiosk",
    version=VERSION,
    description="Queue ticketing and counter kiosks for Vietnamese one-stop administrative centres",
    python_requires=">=3.11",
    packages=packages(),
    package_dir={"queuekiosk": "queuekiosk", **{f"queuekiosk.{p}": p for p in PARTS}},
    package_data={
        "queuekiosk": ["templates/home/*"],
        "queuekiosk.server.core": [
            "migrations/*.py",
            "migrations/*.mako",
            "migrations/versions/*.py",
            "messages/*.json",
        ],
        "queuekiosk.server.web": ["openapi.yaml", "static/*", "static/vendor/*", "templates/*.html", "templates/*/*"],
        "queuekiosk.kiosk": ["templates/kiosk/*", "static/*"],
        "queuekiosk.display": ["templates/display/*", "static/*"],
        "queuekiosk.counter_client": ["templates/counter_console/*", "templates/rating_tablet/*", "static/*"],
        "queuekiosk.printers": ["fonts/*"],
        "queuekiosk.sounds": ["clips/*.wav", "clips/*.txt", "clips/vi/*.wav", "clips/en/*.wav"],
    },
    # exact pins: a fresh install gets what was tested (the full set is in constraints.txt)
    install_requires=[
        "Flask==3.1.3",
        "Flask-SocketIO==5.7.0",
        "Flask-WTF==1.3.0",  # CSRF tokens for the browser sessions (clerk console)
        "limits==5.8.0",  # rate limits (server/web/ratelimits.py)
        "python-socketio[client]==5.18.1",
        "python-engineio==4.15.1",
        "gevent==26.9.0",
        "SQLAlchemy==2.0.58",
        "alembic==1.20.1",
        "PyYAML==6.0.3",
        "pydantic==2.14.3",
        "orjson==3.13.0",  # API answers' JSON, several times faster than the standard library's (server/web/app.py)
        "tzdata==2026.6",
        "python-escpos[usb,serial]==3.1",
        "Pillow==13.0.0",
        "qrcode==8.2",
        "icalendar==7.3.0",  # the .ics calendar file of a booking (server/web/api/bookings.py)
        "openpyxl==3.1.5",  # report exports as XLSX
        "fpdf2==2.8.9",  # the official report form as PDF (server/core/exports_pdf.py; docs/reports.md says why)
        "cryptography==50.0.2",  # a citizen's phone or e-mail sealed until their ticket ends (core/notifications.py)
        "http-ece==1.2.1",  # Web Push encryption, RFC 8291 (core/notification_channels.py)
        "py-vapid==1.9.6",  # Web Push VAPID signing, RFC 8292
        "pyttsx3==2.99",  # TTS for words without a clip, through espeak-ng (apt-get install espeak-ng)
    ],
    extras_require={
        "test": [
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",  # the suite runs on every core (pytest.ini addopts, docs/performance.md)
            "hypothesis==6.170.15",
            "requests==2.34.2",
            "websocket-client==1.9.2",
            "playwright==1.65.2",
            "zxing-cpp==3.1.1",
            "gunicorn==27.0.1",
            "schemathesis==4.32.5",
            "vn-numberwords==0.2.0",  # only to compare sounds/announce.py with it (tests/test_voice_numbers.py)
            "mfusepy==3.1.1",  # tests/power_cut_disk.py: a FUSE disk that loses unsynced writes (apt-get install fuse3)
            "pypdf==7.1.0",  # reads the report PDFs back in tests/api/test_report_files.py
            "ruff==0.14.8",  # lint and format check, run by .ci/run (ruff.toml)
            "piper-tts==1.8.0",  # the optional neural voice, tested for real (tests/test_voice_sets.py)
            "onnx==1.23.1",  # only to make the small piper voice model that test runs
        ],
        "deploy": ["gunicorn==27.0.1"],  # deploy/gunicorn.conf.py, docs/deployment.md
        # a centre with several processes (docs/deployment.md): QUEUEKIOSK_DATABASE_URL=postgresql://...
        # and QUEUEKIOSK_MESSAGE_QUEUE=redis://...; one process on SQLite needs neither
        "postgres": ["psycopg[binary]==3.3.9"],
        "redis": ["redis==8.1.0"],
        # a natural offline voice (docs/display-and-voice.md): piper-tts with a Vietnamese voice model
        # file the centre puts on disk (sounds.piper_model); the server never downloads one
        "piper": ["piper-tts==1.8.0"],
    },
    entry_points={"console_scripts": ["queuekiosk=queuekiosk.server.cli:main"]},
)
