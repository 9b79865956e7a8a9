"""The centre's setup as the server holds it, and loading and validating config.yaml.

The setup is plain frozen dataclasses: a running server needs no pydantic (about 10 MB of an idle
server's memory, issue 21). Every setup is checked whole before it is used, by the pydantic models
of server/core/config_schema.py (same names, fields and defaults; tests/test_config_runtime.py
compares the two), imported only to check one: config.yaml, a change in /admin, a setup imported.
A setup saved in the database was checked when it was saved and is read as plain data; one that
does not read so (saved by another version) is checked again. Every problem is reported as
``<file>: <key path>: <what is wrong>`` so the installer knows where to look.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from .i18n import Phrase, message_text, translate
from .notification_settings import NotificationSettings, _Data, _optional

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key path and problem. ``problems``:
    the same, one (key path, pydantic's error type, its context, the English text) each, where the
    checks gave them (for a problem said in the reader's language)."""

    def __init__(self, message: str, problems: list[tuple[str, str, dict, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


def _time(value) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _list_of(convert):
    return lambda values: [convert(value) for value in values]


@dataclass(frozen=True)
class LocalizedName(_Data):
    vi: str
    en: str | None = None

    def get(self, language: str) -> str:
        return (self.en if language == "en" else None) or self.vi


@dataclass(frozen=True)
class Hours(_Data):
    open: dt.time
    close: dt.time
    days: list[str] = field(default_factory=lambda: list(WEEKDAYS[:5]))
    holidays: list[dt.date] = field(default_factory=list)

    def is_open(self, local: dt.datetime) -> bool:
        return (
            WEEKDAYS[local.weekday()] in self.days
            and local.date() not in self.holidays
            and self.open <= local.time() < self.close
        )

    def next_opening(self, local: dt.datetime) -> dt.datetime:
        """The opening time of the first working day after ``local``'s day (same tzinfo as ``local``)."""
        day = local.date()
        for _ in range(400):  # a year of holidays at most
            day += dt.timedelta(days=1)
            if WEEKDAYS[day.weekday()] in self.days and day not in self.holidays:
                break
        return dt.datetime.combine(day, self.open, local.tzinfo)


Hours._convert = {"open": _time, "close": _time, "days": list, "holidays": _list_of(_date)}


@dataclass(frozen=True)
class Site(_Data):
    id: str
    name: str
    hours: Hours
    sms_name: str | None = None  # what its SMS begin with instead of ``name`` (notifications.py, a booking's code)
    timezone: str = "Asia/Ho_Chi_Minh"
    languages: list[Literal["vi", "en"]] = field(default_factory=lambda: ["vi", "en"])
    # the place name of the reports' official form ("Hà Đông, ngày … tháng … năm …"); unset: a
    # dotted blank, written by hand
    place: str | None = None
    # its street address, as citizens are told it ("Số 1 Quang Trung, phường Hà Đông"): said where a
    # retired site sends its citizens here
    address: str | None = None
    retired: bool = False  # no longer serves citizens (server/core/sites.py); its history stays
    moved_to: str | None = None  # the site that took over its work

    @functools.cached_property  # (a setup is never changed in place: a change makes a new Site)
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Site._convert = {"hours": Hours.of, "languages": list}
Site._order = (
    "id",
    "name",
    "sms_name",
    "timezone",
    "hours",
    "languages",
    "place",
    "address",
    "retired",
    "moved_to",
)  # the schema's order, for dumps


@dataclass(frozen=True)
class NumberRange(_Data):
    start: int
    end: int


@dataclass(frozen=True)
class Booking(_Data):
    """A service that takes bookings and same-day remote numbers (docs/bookings.md)."""

    slot_minutes: int = 15
    per_slot: int = 2  # places in one slot
    days_ahead: int = 7  # 0: today only
    grace_minutes: int = 10  # checked in later than slot start + this: a walk-in
    remote: bool = True  # same-day numbers taken from a phone
    remote_checkin_minutes: int = 60  # a remote number not checked in by then lapses
    sms_code: bool = False  # a one-time code by SMS (notifications.sms) confirms the phone before booking


@dataclass(frozen=True)
class Procedure(_Data):
    """A procedure ("thủ tục") a service's counter serves, picked by the clerk with the dossier code
    (server/core/dossiers.py): reports count the day's work by procedure."""

    code: str
    name: LocalizedName


Procedure._convert = {"name": LocalizedName.of}


@dataclass(frozen=True)
class Service(_Data):
    code: str
    name: LocalizedName
    numbers: NumberRange
    field: LocalizedName | None = None  # "lĩnh vực", used by the kiosk to group procedures
    # a few procedures of the service, shown under its name on the kiosk: "khai sinh, kết hôn, khai tử"
    examples: LocalizedName | None = None
    target_wait_minutes: int = 15
    default_service_minutes: float = 5.0
    # at most this many tickets a day (what the clerks can handle); past it the kiosk answers 429
    daily_limit: int | None = None
    booking: Booking | None = None  # None: walk-ins only
    procedures: list[Procedure] = dataclasses.field(default_factory=list)  # picked with the dossier code


Service._convert = {
    "name": LocalizedName.of,
    "field": _optional(LocalizedName.of),
    "examples": _optional(LocalizedName.of),
    "numbers": NumberRange.of,
    "default_service_minutes": float,
    "booking": _optional(Booking.of),
    "procedures": _list_of(Procedure.of),
}
Service._order = (
    "code",
    "name",
    "field",
    "examples",
    "numbers",
    "target_wait_minutes",
    "default_service_minutes",
    "daily_limit",
    "booking",
    "procedures",
)


@dataclass(frozen=True)
class Priority(_Data):
    code: str
    name: LocalizedName


Priority._convert = {"name": LocalizedName.of}


@dataclass(frozen=True)
class Policy(_Data):
    priority: Literal["strict", "interleave", "none"] = "interleave"
    normal_per_priority: int = 2
    max_wait_minutes: int | None = 45
    # tickets still waiting when the business day ends: "expire" marks them expired (an event
    # with the reason; reports count them as not called), "keep" leaves them waiting in their day
    end_of_day: Literal["expire", "keep"] = "expire"
    # "next" pressed while the counter's ticket was called and never started ("Bắt đầu"): the
    # citizen did not come ("no_show"), or was served without a service time ("served")
    unstarted_at_next: Literal["no_show", "served"] = "no_show"


@dataclass(frozen=True)
class Counter(_Data):
    number: int
    services: Literal["all"] | list[str]
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or translate("report_counter_n", "vi", number=self.number)  # "Quầy 3"


Counter._convert = {"services": lambda value: value if value == "all" else list(value)}
Counter._order = ("number", "name", "services")

DEFAULT_PHRASE = message_text("voice_default_phrase", "vi")
DEFAULT_PHRASE_EN = message_text("voice_default_phrase", "en")


@dataclass(frozen=True)
class Voice(_Data):
    """How a display announces a call (docs/display-and-voice.md)."""

    language: Literal["vi", "en", "vi+en"] = "vi"  # vi+en: the English sentence after the Vietnamese one
    repeat: int = 2  # how many times the Vietnamese sentence is said
    chime: bool = True  # a two-note chime before the words
    region: Literal["north", "south"] = "north"  # numbers: linh/nghìn (north) or lẻ/ngàn/tư (south)
    phrase: str = DEFAULT_PHRASE  # with exactly the fields {number} and {counter}
    phrase_en: str = DEFAULT_PHRASE_EN


SLIDE_TYPES = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".svg": "image",
    ".mp4": "video",
    ".webm": "video",
    ".ogv": "video",
}


@dataclass(frozen=True)
class Display(_Data):
    id: str
    name: str | None = None  # under the centre's name at the top of the screen
    name_en: str | None = None  # ... while the screen shows English (else `name` stays)
    counters: Literal["all"] | list[int] = "all"
    voice: Voice = field(default_factory=Voice)
    ticker: str | None = None
    ticker_en: str | None = None  # the ticker while the screen shows English (else `ticker` stays)
    slides: list[str] = field(default_factory=list)  # images/videos shown in turn
    slide_seconds: float = 10.0  # how long an image stays (a video plays to its end)
    layout: Literal["auto", "landscape", "portrait"] = "auto"  # auto: follows the screen's shape
    # lobby: `counters` (all by default); zone: a part of the lobby, its `counters` only; counter: the
    # counter-top screen of `counter`, its number and the next ones (docs/display-and-voice.md)
    mode: Literal["lobby", "zone", "counter"] = "lobby"
    counter: int | None = None


Display._convert = {
    "counters": Counter._convert["services"],
    "voice": Voice.of,
    "slides": list,
    "slide_seconds": float,
}


@dataclass(frozen=True)
class Sounds(_Data):
    """Where announcements come from (docs/display-and-voice.md)."""

    recordings: str = "recordings"  # the centre's own clips, replacing the shipped ones of the same name
    tts: Literal["auto", "pyttsx3", "espeak-ng", "piper", "none"] = "auto"  # for words that have no clip
    # a piper-tts Vietnamese voice on disk (x.onnx, its x.onnx.json beside it), beside config.yaml
    # unless absolute: said before the shipped espeak-ng clips; never downloaded (extra [piper])
    piper_model: str | None = None
    cache_mb: int = 200  # announcement WAVs kept in <instance>/announcements


@dataclass(frozen=True)
class RatingReason(_Data):
    code: str
    name: LocalizedName


RatingReason._convert = {"name": LocalizedName.of}

DEFAULT_RATING_REASONS = [
    {"code": "long_wait", "name": {"vi": "Thời gian chờ lâu", "en": "I waited too long"}},
    {"code": "attitude", "name": {"vi": "Thái độ phục vụ chưa tốt", "en": "Unfriendly service"}},
    {"code": "unclear", "name": {"vi": "Hướng dẫn chưa rõ ràng", "en": "Unclear explanations"}},
    {"code": "paperwork", "name": {"vi": "Thủ tục, giấy tờ phức tạp", "en": "Too much paperwork"}},
    {"code": "slow", "name": {"vi": "Giải quyết hồ sơ chậm", "en": "Slow handling of my file"}},
    {"code": "other", "name": {"vi": "Lý do khác", "en": "Something else"}},
]


@dataclass(frozen=True)
class RatingSettings(_Data):
    """The citizen rating tablet at each counter (docs/counter.md)."""

    ask_seconds: int = 30  # the tablet asks this long after "finish", then idles
    thanks_seconds: int = 5  # how long "Cảm ơn" stays
    window_minutes: int = 5  # the server takes a rating this long after the finish
    reasons: list[RatingReason] = field(
        default_factory=lambda: [RatingReason.of(r) for r in DEFAULT_RATING_REASONS]
    )  # offered after "Không hài lòng"; may be empty

    def reason(self, code: str) -> RatingReason | None:
        return next((r for r in self.reasons if r.code == code), None)


RatingSettings._convert = {"reasons": _list_of(RatingReason.of)}

# the printer drivers config accepts: plain data, so that the core imports nothing from printers/;
# printers/registry.py has a driver for each name (tests/test_printer_config.py checks both lists agree)
PRINTER_DRIVERS = ("network", "usb", "serial", "device", "cups", "file", "agent")

# The printer models python-escpos knows are the device part's data: the entry points (server/cli.py,
# server/wsgi.py) install its check (printers/profiles.py) so that config.yaml and the admin API refuse
# an unknown profile naming the field. Where none is installed (a program that never prints), any name passes.
_profile_problem: Callable[[str], Phrase | None] | None = None


def check_printer_profiles_with(problem: Callable[[str], Phrase | None]) -> None:
    """``problem(name)`` says why a printer's ``profile`` is wrong (a ``problem_*`` message of the
    catalogue), or None when it is right."""
    global _profile_problem
    _profile_problem = problem


@dataclass(frozen=True)
class Printer(_Data):
    """A ticket printer. Which keys a driver needs is in ``_DRIVER_KEYS``; docs/printing.md explains each."""

    id: str
    driver: str  # one of PRINTER_DRIVERS
    host: str | None = None  # network: the printer's address (it listens on port 9100)
    port: int = 9100
    timeout_seconds: float = 5.0
    vendor_id: int | None = None  # usb: e.g. 0x04b8 (Epson); `lsusb` shows both ids
    product_id: int | None = None
    device: str | None = None  # serial: /dev/ttyUSB0; device: /dev/usb/lp0
    baudrate: int = 9600
    queue: str | None = None  # cups: the queue name `lpstat -p` lists
    path: str | None = None  # file: the folder that receives each ticket's bytes and a PNG
    profile: str = "TM-T20II"  # python-escpos printer profile
    form: Literal["compact", "image"] = "compact"
    width_dots: int = 576  # 576 for 80 mm paper, 384 for 58 mm
    give_up_minutes: float = 10.0  # a ticket not printed by then is marked failed
    retry_seconds: float = 30.0  # the longest pause between tries of a printer that cannot print
    check_seconds: float = 30.0  # how often an idle printer is asked its status


Printer._convert = {
    "timeout_seconds": float,
    "give_up_minutes": float,
    "retry_seconds": float,
    "check_seconds": float,
    "vendor_id": _optional(int),
    "product_id": _optional(int),
}

_DRIVER_KEYS = {
    "network": ("host",),
    "usb": ("vendor_id", "product_id"),
    "serial": ("device",),
    "device": ("device",),
    "cups": ("queue",),
    "file": ("path",),
    "agent": (),
}
_DRIVER_ONLY_KEYS = ("host", "vendor_id", "product_id", "device", "queue", "path")


@dataclass(frozen=True)
class TicketLayout(_Data):
    """What every printed ticket carries besides the queue facts."""

    footer: str | None = None  # e.g. the centre's service slogan
    logo: str | None = None  # an image file, printed at the top
    tracking_url: str | None = None
    # the address phones reach the server at, for the QR code (default: the address the kiosk used)


@dataclass(frozen=True)
class Kiosk(_Data):
    id: str
    printer: str | None = None
    services: Literal["all"] | list[str] = "all"


Kiosk._convert = {"services": Counter._convert["services"]}


@dataclass(frozen=True)
class Limits(_Data):
    """Issuing and booking are public, so they are bounded: a caller past a limit gets 429 and a
    time to retry. Each site has its own limits, and counts its callers apart from other sites'.

    Limits are written like "30/minute" or "10/minute;200/day"; "off" (or null in config.yaml)
    switches one off (the admin API shows "off": in its JSON merge patch null restores the default).
    """

    tickets_per_address: str | None = "30/minute"  # one device: a kiosk PC, a phone, a script
    tickets_per_kiosk: str | None = "30/minute"  # one kiosk id, whatever address it comes from
    # booking needs no login (server/web/api/bookings.py): bookings and remote numbers from one
    # address (a phone books for a family, not a ward), and reading or cancelling bookings by code
    bookings_per_address: str | None = "5/minute;20/day"
    lookups_per_address: str | None = "60/minute"  # nobody guesses codes
    exempt_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])  # or networks
    # only devices holding a kiosk token (or signed-in staff) may issue: a laptop on the lobby
    # Wi-Fi cannot take numbers; each kiosk page is paired once with /kiosk/<id>#token=...
    require_kiosk_token: bool = False

    def exempt(self, address: str | None) -> bool:
        return _exempt(tuple(self.exempt_addresses), address or "")


Limits._convert = {"exempt_addresses": list}


@functools.lru_cache(maxsize=1024)
def _exempt(addresses: tuple[str, ...], address: str) -> bool:
    """``Limits.exempt``, worked out once per address (a centre's LAN has a few dozen), not at
    every issuing request."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(addresses))


@functools.lru_cache(maxsize=64)
def _networks(addresses: tuple[str, ...]) -> tuple:
    """Exempt addresses parsed once, not at every issuing request that asks ``Limits.exempt``."""
    return tuple(ipaddress.ip_network(address, strict=False) for address in addresses)


@dataclass(frozen=True)
class Config(_Data):
    site: Site
    services: list[Service]
    counters: list[Counter]
    priorities: list[Priority] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    displays: list[Display] = field(default_factory=list)
    printers: list[Printer] = field(default_factory=list)
    kiosks: list[Kiosk] = field(default_factory=list)
    ticket: TicketLayout = field(default_factory=TicketLayout)
    sounds: Sounds = field(default_factory=Sounds)
    rating: RatingSettings = field(default_factory=RatingSettings)
    limits: Limits = field(default_factory=Limits)
    # citizens told their turn is near (notifications.py)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    # lookups used all over the server
    # A setup is never changed in place (a saved change makes a new one): its lookups by key are dicts
    # made at the first use, not a walk of the list by a generator at each (issuing, calls, estimates)
    def _by(self, name: str, key: str) -> dict:
        table = self.__dict__.get(f"_by_{name}")
        if table is None:
            table = {}
            for item in getattr(self, name):
                table.setdefault(getattr(item, key), item)  # the first of a key, as the walk found it
            object.__setattr__(self, f"_by_{name}", table)  # frozen: out of the fields, eq and repr
        return table

    def service(self, code: str) -> Service | None:
        return self._by("services", "code").get(code)

    def counter(self, number: int) -> Counter | None:
        return self._by("counters", "number").get(number)

    def counter_services(self, counter: Counter) -> list[str]:
        return [s.code for s in self.services] if counter.services == "all" else list(counter.services)

    def served(self, code: str) -> bool:
        """Whether some counter is set up to serve the service (open now or not): without one, nobody
        would ever call its numbers."""
        codes = self.__dict__.get("_served")
        if codes is None:
            codes = frozenset(code for counter in self.counters for code in self.counter_services(counter))
            object.__setattr__(self, "_served", codes)  # frozen: out of the fields, eq and repr
        return code in codes

    def display(self, display_id: str) -> Display | None:
        return next((d for d in self.displays if d.id == display_id), None)

    def display_counters(self, display: Display) -> list[int]:
        if display.mode == "counter":
            return [display.counter]
        return [c.number for c in self.counters] if display.counters == "all" else list(display.counters)

    def kiosk_services(self, kiosk: Kiosk) -> list[str]:
        return [s.code for s in self.services] if kiosk.services == "all" else list(kiosk.services)

    def kiosk(self, kiosk_id: str) -> Kiosk | None:
        return self._by("kiosks", "id").get(kiosk_id)

    def printer(self, printer_id: str) -> Printer | None:
        return next((p for p in self.printers if p.id == printer_id), None)


Config._convert = {
    "site": Site.of,
    "services": _list_of(Service.of),
    "priorities": _list_of(Priority.of),
    "policy": Policy.of,
    "counters": _list_of(Counter.of),
    "displays": _list_of(Display.of),
    "printers": _list_of(Printer.of),
    "kiosks": _list_of(Kiosk.of),
    "ticket": TicketLayout.of,
    "sounds": Sounds.of,
    "rating": RatingSettings.of,
    "limits": Limits.of,
    "notifications": NotificationSettings.of,
}
Config._order = (
    "site",
    "services",
    "priorities",
    "policy",
    "counters",
    "displays",
    "printers",
    "kiosks",
    "ticket",
    "sounds",
    "rating",
    "limits",
    "notifications",
)


def checked(data, filename: str, context: dict) -> Config:
    """``data`` checked whole by config.yaml's models (server/core/config_schema.py), as the server
    holds it; ConfigError names ``filename``, the key path and the problem."""
    from .config_schema import validate

    return Config.of(validate(data, filename, context).model_dump())


def parse_config(
    data,
    filename: str = "<config>",
    config_dir: str | os.PathLike | None = None,
    live: bool = False,
    saved: dict | None = None,
) -> Config:
    """``config_dir``: where relative paths (display slides) start; default the folder of ``filename``.
    ``live``: checked as a setup edited live is (a service no counter serves yet is allowed): a setup
    exported from the database reads back. ``saved``: the saved setup's keys by section (config import),
    whose codes differing only in capitals were saved before and stay allowed."""
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}: (top level): expected a mapping of keys such as site, services, counters")
    if config_dir is None:
        config_dir = Path.cwd() if filename.startswith("<") else Path(filename).resolve().parent
    context = {"config_dir": str(config_dir), **({"live": True} if live else {}), **({"saved": saved} if saved else {})}
    return checked(data, filename, context)


def parse_stored(document: dict, config_dir: str | os.PathLike | None = None) -> Config:
    """A setup saved in the database: checked whole when it was saved, so read as plain data; one
    that does not read so (a key unknown here, one missing) is checked again, naming the problem."""
    try:
        return Config.of(document)
    except (TypeError, ValueError, KeyError, AttributeError):
        context = {"config_dir": str(config_dir or Path.cwd()), "stored": True, "live": True}
        return checked(document, "the setup saved in the database", context)


def load_config_apart(path: str | os.PathLike | None = None) -> Config:
    """``load_config`` with config.yaml read and checked in a child process: for a long-running
    server's first start on a new database (its setup is config.yaml's), so that the server holds
    the setup as plain data and never imports the checks (pydantic, about 9 MB it would keep).
    A problem is the same ConfigError; where the child cannot tell (it cannot start, or ends
    otherwise), the file is checked here as before."""
    if "pydantic" in sys.modules:  # loaded already (a test's fork of a server): a child saves nothing
        return load_config(path)
    return load_config_in_child(path)


def load_config_in_child(path: str | os.PathLike | None = None) -> Config:
    """``load_config`` run by a child process (``load_config_apart``)."""
    import json
    import subprocess

    path = config_path(path)
    root = __name__.rsplit(".", 3)[0]  # "queuekiosk"
    code = (
        "import sys\n"
        + (f"from {root}.printers.profiles import install\ninstall()\n" if _profile_problem is not None else "")
        + f"from {root}.server.core.config_schema import check_for_parent\nsys.exit(check_for_parent(sys.argv[1]))"
    )
    optimize = ["-" + "O" * sys.flags.optimize] if sys.flags.optimize else []
    try:
        done = subprocess.run(
            [sys.executable, *optimize, "-c", code, str(path)],
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return load_config(path)
    if done.returncode == 2:
        raise ConfigError(done.stderr.strip())
    if done.returncode != 0:
        return load_config(path)
    return Config.of(json.loads(done.stdout))


def config_path(path: str | os.PathLike | None = None) -> Path:
    """The configuration file: the one given, else $QUEUEKIOSK_CONFIG, else ./config.yaml."""
    return Path(path or os.environ.get("QUEUEKIOSK_CONFIG") or "config.yaml").resolve()


def instance_dir_for(config_path: Path | None) -> Path:
    """The instance folder (database, secret key, announcements): $QUEUEKIOSK_INSTANCE, else
    ``instance`` beside the configuration file."""
    if os.environ.get("QUEUEKIOSK_INSTANCE"):
        return Path(os.environ["QUEUEKIOSK_INSTANCE"]).resolve()
    base = config_path.parent if config_path else Path.cwd()
    return (base / "instance").resolve()


def yaml_data(text: str):
    """YAML text's data. libyaml's parser where PyYAML has it (its wheels do) takes a tenth of the
    pure-Python one's CPU (config.yaml: 25 -> 2.7 ms, at every start and command) and gives the same
    data, but for tabs, which it lets through where the pure-Python parser refuses them ("found
    character '\\t' that cannot start any token"): text with a tab, and text libyaml refuses (for the
    fuller message), goes to the pure-Python parser, as before."""
    import yaml  # only here: a start on a database with its setup reads no YAML

    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None and "\t" not in text:
        try:
            return yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def load_config(path: str | os.PathLike | None = None, live: bool = False, saved: dict | None = None) -> Config:
    path = config_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}") from None
    import yaml  # (its errors: yaml_data imports it only when a file is read)

    try:
        data = yaml_data(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown place)"
        raise ConfigError(f"{path}: {where}: not valid YAML: {getattr(error, 'problem', error)}") from None
    return parse_config(data, str(path), path.parent, live=live, saved=saved)
