"""config.yaml's checks: pydantic models of the setup, imported only to validate one (a config.yaml
read, a change in /admin, a setup imported, a saved setup that does not read as plain data).

The server holds the result as the plain frozen dataclasses of server/core/config.py, with the same
names, fields and defaults (tests/test_config_runtime.py compares the two): a running server needs
no pydantic (about 10 MB of an idle server's memory, issue 21). The notifications' models are in
server/core/notification_settings_schema.py, and how a problem is said in server/core/config_problems.py.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import config as runtime
from .config import (
    _DRIVER_KEYS,
    _DRIVER_ONLY_KEYS,
    DEFAULT_PHRASE,
    DEFAULT_PHRASE_EN,
    DEFAULT_RATING_REASONS,
    PRINTER_DRIVERS,
    SLIDE_TYPES,
    WEEKDAYS,
    ConfigError,
)
from .config_problems import _CrossReferenceError, _problem, _problems
from .i18n import Phrase
from .notification_settings_schema import NotificationSettings
from .web_address import web_address

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# text the screens show, in one Unicode form: "ế" typed decomposed (some Mac and Word sources) is stored composed
Text = Annotated[str, AfterValidator(nfc)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(nfc)]  # spaces alone: none

# Guards against a slip (a paragraph pasted into a name), not what a screen shows whole: official names of
# procedures run to 120 characters, and the kiosk fits a long name to its button. Applied only to a value a
# change in /admin or the API writes (new_too_long), never to a whole setup: config.yaml,
# `config import` and a setup saved before these limits read as they are (docs/configuration.md).
NAME_MAX = 150  # a service's, a priority's, a field's, a rating reason's, a display's name
PROCEDURE_MAX = 300  # a procedure's official name, and a service's examples (a few of them)
COUNTER_NAME_MAX = 60
SITE_NAME_MAX = 120
# a site's own name for its SMS (site.sms_name): short enough that an SMS never needs it cut; checked everywhere
SMS_NAME_MAX = 40
ONE_LINE_MAX = {"address": 200, "sms_name": SMS_NAME_MAX}  # a site's texts said inside a sentence (Site._one_line)
TICKER_MAX = 500
LENGTH_LIMITS = {  # where in the setup (``[]``: each item of a list, ``*``: vi and en) -> at most
    "services[].name.*": NAME_MAX,
    "services[].field.*": NAME_MAX,
    "services[].examples.*": PROCEDURE_MAX,
    "services[].procedures[].name.*": PROCEDURE_MAX,
    "priorities[].name.*": NAME_MAX,
    "rating.reasons[].name.*": NAME_MAX,
    "counters[].name": COUNTER_NAME_MAX,
    "displays[].name": NAME_MAX,
    "displays[].name_en": NAME_MAX,
    "displays[].ticker": TICKER_MAX,
    "displays[].ticker_en": TICKER_MAX,
    "site.name": SITE_NAME_MAX,
}


def _texts(data, steps: list[str], path: str = ""):
    """(path, text) of each text at ``steps`` (a LENGTH_LIMITS key split at its dots) in ``data``."""
    if not steps:
        if isinstance(data, str):
            yield path, data
        return
    step, rest = steps[0], steps[1:]
    if step.endswith("[]"):
        items = data.get(step[:-2]) if isinstance(data, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else ()):
            yield from _texts(item, rest, f"{path}{step[:-2]}[{i}].")
    elif isinstance(data, dict):
        for key in ("vi", "en") if step == "*" else (step,):
            yield from _texts(data.get(key), rest, f"{path}{key}.")


def new_too_long(document: dict, stored: dict) -> list[tuple[str, int]]:
    """(path, limit) of each text of ``document`` over its LENGTH_LIMITS that ``stored`` does not already hold
    in the same kind of field (one saved before the limits stays until someone edits it), counted in letters
    as NFC writes them (Vietnamese pasted decomposed has a code point per accent)."""
    found = []
    for where, limit in LENGTH_LIMITS.items():
        steps = where.split(".")
        kept = {nfc(text) for _, text in _texts(stored, steps)}
        found += [
            (path.rstrip("."), limit)
            for path, text in _texts(document, steps)
            if len(nfc(text).strip()) > limit and nfc(text) not in kept
        ]
    return found


def _known(values) -> str | Phrase:
    """What there is to choose from, for a problem naming an unknown one ("none" when nothing)."""
    return ", ".join(str(v) for v in sorted(values)) or Phrase("problem_none")


def _typed_time(value):
    """A time as people type it, in 24 hours: 8:00, 8h, 16h30, 7g30, 0800, 800 or a lone hour 8 is read as
    08:00, 16:30 ... (digits of any script, "０８:３０" too); anything else goes on to pydantic (08:00:00 as
    saved, or a mistake it names). A number is refused: YAML reads an unquoted 7:30 as 450 and 0730 as octal."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _problem("time_as_number")
    if isinstance(value, str):
        typed = re.fullmatch(r"\s*(\d{1,2})\s*(?:[:hHgG.]\s*(\d{2})?)?\s*", value) or re.fullmatch(
            r"\s*(\d{1,2})(\d{2})\s*", value
        )
        if typed:
            return f"{int(typed[1]):02d}:{int(typed[2] or 0):02d}"
    return value


def _local_time(value: dt.time) -> dt.time:
    if value.tzinfo is not None:  # the site's timezone says where; a time with its own zone is a mistake
        raise _problem("time_with_zone")
    return value


LocalTime = Annotated[dt.time, BeforeValidator(_typed_time), AfterValidator(_local_time)]


def _each_once(values: list | str) -> list | str:
    """A list of services or counters names each once: a counter serving HT twice is a typo, and the
    database keeps one row a pair (saving it failed with the database's error)."""
    twice = [str(v) for i, v in enumerate(values) if v in values[:i]] if isinstance(values, list) else []
    if twice:
        raise _problem("listed_twice", items=", ".join(dict.fromkeys(twice)))
    return values


def _without_repeats(values: list | str) -> list | str:
    """A kiosk's services or a display's counters, each once: a repeat there changes nothing, and a setup
    saved with one before it was checked must still take later changes, so it is dropped, not refused."""
    return list(dict.fromkeys(values)) if isinstance(values, list) else values


class _Strict(BaseModel):
    # extra="forbid" turns a misspelt key into an error instead of a silently ignored setting
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedName(_Strict):
    vi: Name
    en: Text | None = None


class Hours(_Strict):
    open: LocalTime
    close: LocalTime
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = list(WEEKDAYS[:5])
    holidays: list[dt.date] = []

    @field_validator("close")
    @classmethod
    def _close_after_open(cls, close: dt.time, info: ValidationInfo) -> dt.time:
        """Named at the closing time (the form shows it under that field); not when the opening time is wrong."""
        open_ = info.data.get("open")
        if open_ is not None and close <= open_:
            raise _problem("close_before_open", open=f"{open_:%H:%M}", close=f"{close:%H:%M}")
        return close

    @field_validator("days")
    @classmethod
    def _some_working_day(cls, days: list) -> list:
        if not days:  # the centre would never open: the kiosk closed every day
            raise _problem("no_working_day")
        return days


class Site(_Strict):
    id: Code
    name: Name
    # what its SMS begin with instead of ``name`` ("TTHCC Phúc La"); unset: the official name, cut to fit
    sms_name: str | None = None  # (its length: ``_one_line``)
    timezone: str = "Asia/Ho_Chi_Minh"
    hours: Hours
    languages: list[Literal["vi", "en"]] = ["vi", "en"]
    # the place name of the reports' official form ("Hà Đông, ngày … tháng … năm …"); unset: a
    # dotted blank, written by hand
    place: str | None = Field(default=None, max_length=80)
    # its street address, as citizens are told it: said at the sites whose citizens are sent here
    address: str | None = None  # (its length: ``_one_line``)
    # a site that no longer serves citizens (communes merged, Decree 118/2025): its history stays in the
    # reports; ``moved_to`` names the site that took over its work. Set by `queuekiosk site retire` and
    # /admin's sites (server/core/sites.py); a setup file's own is ignored on import, refused as a seed
    retired: bool = False
    moved_to: Code | None = None

    @field_validator("address", "sms_name")
    @classmethod
    def _one_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Said inside a sentence ("… (địa chỉ: …)", "<sms_name>: Mời Ông/Bà …"): without spaces around it,
        not blank, one line; its length counted after the spaces are dropped, in letters as NFC writes them (a
        name pasted with a trailing space, or with its accents decomposed, is not refused for them)."""
        if value is None:
            return None
        value = nfc(value.strip())
        if not value:
            raise _problem("string_too_short")
        if any(mark in value for mark in "\r\n\v\f\x85\u2028\u2029"):
            raise _problem("one_line")
        limit = ONE_LINE_MAX[info.field_name]
        if len(value) > limit:
            raise _problem("string_too_long", max_length=limit)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise _problem("unknown_timezone", zone=value) from None
        return value

    @model_validator(mode="after")
    def _moved_only_when_retired(self):
        if self.moved_to is not None and not self.retired:
            raise _problem("moved_to_not_retired")
        return self


class NumberRange(_Strict):
    start: int = Field(ge=1)
    end: int = Field(ge=1)

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: int, info: ValidationInfo) -> int:
        """Named at the end (the form shows it under "Số cuối")."""
        start = info.data.get("start")
        if start is not None and end < start:
            raise _problem("range_end_below_start", start=start, end=end)
        return end


class Booking(_Strict):
    """A service that takes bookings and same-day remote numbers (docs/bookings.md)."""

    slot_minutes: int = Field(default=15, ge=5, le=240)
    per_slot: int = Field(default=2, ge=1, le=100)  # places in one slot
    days_ahead: int = Field(default=7, ge=0, le=60)  # 0: today only
    grace_minutes: int = Field(default=10, ge=0, le=120)  # checked in later than slot start + this: a walk-in
    remote: bool = True  # same-day numbers taken from a phone
    remote_checkin_minutes: int = Field(default=60, ge=5, le=600)  # a remote number not checked in by then lapses
    sms_code: bool = False  # a one-time code by SMS (notifications.sms) confirms the phone before booking


class Procedure(_Strict):
    """A procedure ("thủ tục") a service's counter serves, picked by the clerk with the dossier code
    (server/core/dossiers.py): reports count the day's work by procedure."""

    code: Code
    name: LocalizedName


class Service(_Strict):
    code: Code
    name: LocalizedName
    field: LocalizedName | None = None  # "lĩnh vực", used by the kiosk to group procedures
    # a few procedures of the service, shown under its name on the kiosk: "khai sinh, kết hôn, khai tử"
    examples: LocalizedName | None = None
    numbers: NumberRange
    target_wait_minutes: int = Field(default=15, ge=1)
    default_service_minutes: float = Field(default=5.0, gt=0)
    # at most this many tickets a day (what the clerks can handle); past it the kiosk answers 429
    daily_limit: int | None = Field(default=None, ge=1)
    booking: Booking | None = None  # None: walk-ins only
    procedures: list[Procedure] = []  # what its clerks pick at the counter with the dossier code (mã hồ sơ)


class Priority(_Strict):
    code: Code
    name: LocalizedName


class Policy(_Strict):
    priority: Literal["strict", "interleave", "none"] = "interleave"
    normal_per_priority: int = Field(default=2, ge=1)
    max_wait_minutes: int | None = Field(default=45, ge=1)
    # tickets still waiting when the business day ends: "expire" marks them expired (an event
    # with the reason; reports count them as not called), "keep" leaves them waiting in their day
    end_of_day: Literal["expire", "keep"] = "expire"
    # "next" pressed while the counter's ticket was called and never started ("Bắt đầu"): the
    # citizen did not come ("no_show"), or was served without a service time ("served")
    unstarted_at_next: Literal["no_show", "served"] = "no_show"


class Counter(_Strict):
    number: int = Field(ge=1)
    name: Text | None = None
    # none: a counter that takes only the numbers transferred to it (and one whose service was removed)
    services: Literal["all"] | list[Code]

    @field_validator("services")
    @classmethod
    def services_each_once(cls, services):
        return _each_once(services)


def _phrase(value: str) -> str:
    """A spoken sentence with exactly the fields {number} and {counter}."""
    import string

    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as error:
        raise _problem("phrase_unusable", error=str(error), example=DEFAULT_PHRASE) from None
    if sorted(fields) != ["counter", "number"]:
        found = ", ".join("{" + f + "}" for f in fields) or Phrase("problem_none")
        # the fields are parameters: a catalogue's text has no braces of its own
        raise _problem("phrase_fields", number="{number}", counter="{counter}", field="{field}", found=found)
    return value


class Voice(_Strict):
    """How a display announces a call (docs/display-and-voice.md)."""

    language: Literal["vi", "en", "vi+en"] = "vi"  # vi+en: the English sentence after the Vietnamese one
    repeat: int = Field(default=2, ge=1, le=5)  # how many times the Vietnamese sentence is said
    chime: bool = True  # a two-note chime before the words
    region: Literal["north", "south"] = "north"  # numbers: linh/nghìn (north) or lẻ/ngàn/tư (south)
    phrase: Annotated[str, AfterValidator(_phrase)] = DEFAULT_PHRASE
    phrase_en: Annotated[str, AfterValidator(_phrase)] = DEFAULT_PHRASE_EN


def _slide(value: str, info: ValidationInfo) -> str:
    """A local image or video file; a relative path starts at the folder of config.yaml."""
    suffix = Path(value).suffix.lower()
    if suffix not in SLIDE_TYPES:
        raise _problem("slide_type", file=value, types=", ".join(sorted(SLIDE_TYPES)))
    if (info.context or {}).get("stored"):
        return value  # checked when it was saved; a missing file is the display's to report
    base = Path((info.context or {}).get("config_dir") or Path.cwd())
    path = base / value
    if not path.is_file():
        raise _problem("slide_missing", path=str(path))
    return value


class Display(_Strict):
    id: Code
    name: Text | None = None  # under the centre's name at the top of the screen
    name_en: Text | None = None  # ... while the screen shows English (else `name` stays)
    counters: Literal["all"] | list[int] = "all"
    voice: Voice = Voice()
    ticker: Text | None = None
    ticker_en: Text | None = None  # the ticker while the screen shows English (else `ticker` stays)
    slides: list[Annotated[str, AfterValidator(_slide)]] = []  # images/videos shown in turn
    slide_seconds: float = Field(default=10, ge=2, le=3600)  # how long an image stays (a video plays to its end)
    layout: Literal["auto", "landscape", "portrait"] = "auto"  # auto: follows the screen's shape
    # lobby: `counters` (all by default); zone: a part of the lobby, its `counters` only; counter: the
    # counter-top screen of `counter`, its number and the next ones (docs/display-and-voice.md)
    mode: Literal["lobby", "zone", "counter"] = "lobby"
    counter: int | None = None

    @field_validator("counters")
    @classmethod
    def counters_each_once(cls, counters):
        return _without_repeats(counters)

    @model_validator(mode="after")
    def _mode(self):
        if self.mode == "counter" and self.counter is None:
            raise _problem("display_needs_counter")
        if self.mode != "counter" and self.counter is not None:
            raise _problem("display_counter_only", mode=self.mode)
        if self.mode == "zone" and (self.counters == "all" or not self.counters):
            raise _problem("display_zone_needs_counters")
        return self


class Sounds(_Strict):
    """Where announcements come from (docs/display-and-voice.md)."""

    recordings: str = "recordings"  # the centre's own clips, replacing the shipped ones of the same name
    tts: Literal["auto", "pyttsx3", "espeak-ng", "piper", "none"] = "auto"  # for words that have no clip
    # a piper-tts Vietnamese voice on disk (x.onnx, its x.onnx.json beside it), beside config.yaml
    # unless absolute: said before the shipped espeak-ng clips; never downloaded (extra [piper])
    piper_model: str | None = None
    cache_mb: int = Field(default=200, ge=10)  # announcement WAVs kept in <instance>/announcements


class RatingReason(_Strict):
    code: Code
    name: LocalizedName


class RatingSettings(_Strict):
    """The citizen rating tablet at each counter (docs/counter.md)."""

    ask_seconds: int = Field(default=30, ge=5, le=600)  # the tablet asks this long after "finish", then idles
    thanks_seconds: int = Field(default=5, ge=1, le=60)  # how long "Cảm ơn" stays
    window_minutes: int = Field(default=5, ge=1, le=120)  # the server takes a rating this long after the finish
    reasons: list[RatingReason] = Field(
        default_factory=lambda: [RatingReason(**r) for r in DEFAULT_RATING_REASONS], max_length=12
    )  # offered after "Không hài lòng"; may be empty

    @model_validator(mode="after")
    def _consistent(self):
        codes = [r.code for r in self.reasons]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise _problem("reason_codes_twice", codes=", ".join(twice))
        if self.window_minutes * 60 < self.ask_seconds:
            raise _problem("rating_window", window_minutes=self.window_minutes, ask_seconds=self.ask_seconds)
        return self


class Printer(_Strict):
    """A ticket printer. Which keys a driver needs is in ``_DRIVER_KEYS``; docs/printing.md explains each."""

    id: Code
    driver: Literal[PRINTER_DRIVERS]
    host: str | None = None  # network: the printer's address (it listens on port 9100)
    port: int = Field(default=9100, ge=1, le=65535)
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    vendor_id: int | None = None  # usb: e.g. 0x04b8 (Epson); `lsusb` shows both ids
    product_id: int | None = None
    device: str | None = None  # serial: /dev/ttyUSB0; device: /dev/usb/lp0
    baudrate: int = Field(default=9600, ge=1200)
    queue: str | None = None  # cups: the queue name `lpstat -p` lists
    path: str | None = None  # file: the folder that receives each ticket's bytes and a PNG
    profile: str = "TM-T20II"  # python-escpos printer profile
    form: Literal["compact", "image"] = "compact"
    width_dots: int = Field(default=576, ge=200, le=1024)  # 576 for 80 mm paper, 384 for 58 mm
    give_up_minutes: float = Field(default=10, gt=0)  # a ticket not printed by then is marked failed
    retry_seconds: float = Field(default=30, gt=0)  # the longest pause between tries of a printer that cannot print
    check_seconds: float = Field(default=30, gt=0)  # how often an idle printer is asked its status

    @field_validator("vendor_id", "product_id", mode="before")
    @classmethod
    def _hex_or_int(cls, value):
        if isinstance(value, str):
            try:
                return int(value, 0)
            except ValueError:
                raise _problem("not_a_device_number", value=value) from None
        return value

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str, info: ValidationInfo) -> str:
        if (info.context or {}).get("stored"):
            return value  # checked when it was saved: a start needs none of python-escpos's profiles
        problem = runtime._profile_problem(value) if runtime._profile_problem is not None else None
        if problem is not None:  # the device part's Phrase (printers/profiles.py)
            raise _problem(problem.key.removeprefix("problem_"), **problem.params)
        return value

    @model_validator(mode="after")
    def _driver_keys(self):
        needed = _DRIVER_KEYS[self.driver]
        missing = [key for key in needed if getattr(self, key) is None]
        if missing:
            raise _problem("driver_needs_keys", driver=self.driver, keys=", ".join(missing))
        stray = [key for key in _DRIVER_ONLY_KEYS if key not in needed and getattr(self, key) is not None]
        if stray:
            raise _problem("driver_stray_keys", driver=self.driver, keys=", ".join(stray))
        return self


class TicketLayout(_Strict):
    """What every printed ticket carries besides the queue facts."""

    footer: str | None = None  # e.g. the centre's service slogan
    logo: str | None = None  # an image file, printed at the top
    tracking_url: str | None = None
    # the address phones reach the server at, for the QR code (default: the address the kiosk used)

    @field_validator("tracking_url")
    @classmethod
    def _an_address_to_join(cls, value: str | None) -> str | None:
        if value is not None and not web_address(value, base=True):
            raise _problem("tracking_url")
        return value


class Kiosk(_Strict):
    id: Code
    printer: Code | None = None
    services: Literal["all"] | list[Code] = "all"

    @field_validator("services")
    @classmethod
    def services_each_once(cls, services):
        return _without_repeats(services)


class Limits(_Strict):
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
    exempt_addresses: list[str] = ["127.0.0.1", "::1"]  # addresses or networks (192.168.1.0/24)
    # only devices holding a kiosk token (or signed-in staff) may issue: a laptop on the lobby
    # Wi-Fi cannot take numbers; each kiosk page is paired once with /kiosk/<id>#token=...
    require_kiosk_token: bool = False

    @field_validator("tickets_per_address", "tickets_per_kiosk", "bookings_per_address", "lookups_per_address")
    @classmethod
    def _limit(cls, value: str | None) -> str | None:
        from limits import parse_many

        if value is not None and value.strip().lower() == "off":
            return None
        if value is not None:
            try:
                parse_many(value)
            except ValueError:
                raise _problem("not_a_limit", value=value) from None
        return value

    @field_validator("exempt_addresses")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise _problem("not_a_network", value=value) from None
        return values


class Config(_Strict):
    site: Site
    services: list[Service] = Field(min_length=1)
    priorities: list[Priority] = []
    policy: Policy = Policy()
    counters: list[Counter] = Field(min_length=1)
    displays: list[Display] = []
    printers: list[Printer] = []
    kiosks: list[Kiosk] = []
    ticket: TicketLayout = TicketLayout()
    sounds: Sounds = Sounds()
    rating: RatingSettings = RatingSettings()
    limits: Limits = Limits()
    notifications: NotificationSettings = NotificationSettings()  # citizens told their turn is near (notifications.py)

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo):
        problems: list[tuple[str, str, dict]] = []  # (key path, kind, its parameters), as _problem's

        # "ht" beside "HT": two items the kiosk, the reports and the transfers show alike, refused as /admin
        # refuses adding one (setup_changes.add_item). Not in a change of a saved setup ("edit", "stored"):
        # /admin checks the key it adds, and a pair saved before never blocks another change. An import
        # ("saved": the saved setup's keys, by section) refuses only a pair not both saved: an export imports again
        alike = not ({"edit", "stored"} & set(info.context or {}))
        saved = (info.context or {}).get("saved") or {}

        def unique(items, attr, section):
            seen, first = set(), {}
            kept = saved.get(section, ())
            for i, item in enumerate(items):
                value = getattr(item, attr)
                folded = value.casefold() if isinstance(value, str) else value
                if value in seen:
                    problems.append((f"{section}[{i}].{attr}", "used_twice", {"value": value}))
                elif alike and folded in first and not (value in kept and first[folded] in kept):
                    problems.append((f"{section}[{i}].{attr}", "code_exists", {"item": first[folded]}))
                seen.add(value)
                first.setdefault(folded, value)
            return seen

        service_codes = unique(self.services, "code", "services")
        counter_numbers = unique(self.counters, "number", "counters")
        printer_ids = unique(self.printers, "id", "printers")
        unique(self.priorities, "code", "priorities")
        unique(self.displays, "id", "displays")
        unique(self.kiosks, "id", "kiosks")

        ranges = sorted((s.numbers.start, s.numbers.end, i) for i, s in enumerate(self.services))
        for (s1, e1, i1), (s2, e2, i2) in zip(ranges, ranges[1:]):
            if s2 <= e1:
                other = {"other": self.services[i1].code, "other_start": s1, "other_end": e1}
                problems.append((f"services[{i2}].numbers.start", "range_overlaps", {"start": s2, "end": e2, **other}))

        def known(values, valid, path, kind, **whose):
            if values == "all":
                return
            for j, value in enumerate(values):
                if value not in valid:
                    problems.append((f"{path}[{j}]", kind, {**whose, "value": value, "known": _known(valid)}))

        for i, counter in enumerate(self.counters):
            known(
                counter.services,
                service_codes,
                f"counters[{i}].services",
                "counter_unknown_service",
                counter=counter.number,
            )
        for i, display in enumerate(self.displays):
            known(
                display.counters,
                counter_numbers,
                f"displays[{i}].counters",
                "display_unknown_counter",
                display=display.id,
            )
            if display.counter is not None and display.counter not in counter_numbers:
                params = {"display": display.id, "value": display.counter, "known": _known(counter_numbers)}
                problems.append((f"displays[{i}].counter", "display_unknown_counter", params))
        for i, kiosk in enumerate(self.kiosks):
            known(kiosk.services, service_codes, f"kiosks[{i}].services", "kiosk_unknown_service", kiosk=kiosk.id)
            if kiosk.printer is not None and kiosk.printer not in printer_ids:
                params = {"kiosk": kiosk.id, "value": kiosk.printer, "known": _known(printer_ids)}
                problems.append((f"kiosks[{i}].printer", "kiosk_unknown_printer", params))
        served = {
            c for counter in self.counters for c in (service_codes if counter.services == "all" else counter.services)
        }
        # in config.yaml a service nobody serves is a mistake; edited live it is a step of setting
        # one up (add the service, then its counter), and the kiosk says nobody serves it yet
        for i, service in enumerate(self.services if not (info.context or {}).get("live") else ()):
            if service.code not in served:
                problems.append((f"services[{i}]", "service_not_served", {"service": service.code}))
        if problems:
            raise _CrossReferenceError(problems)
        return self


def validate(data, filename: str, context: dict) -> Config:
    """``data`` checked whole; ConfigError names ``filename``, the key path and the problem."""
    try:
        return Config.model_validate(data, context=context)
    except ValidationError as error:
        problems = _problems(error)
        text = "\n".join(f"{filename}: {path}: {message}" for path, _kind, _ctx, message in problems)
        raise ConfigError(text, problems) from None


def check_for_parent(path: str) -> int:
    """config.load_config_apart's child: the setup of ``path`` as JSON on standard output (0), or
    its ConfigError's message on standard error (2)."""
    import json
    import sys

    from .config import load_config

    try:
        config = load_config(path)
    except ConfigError as error:
        sys.stderr.write(str(error))
        return 2
    sys.stdout.write(json.dumps(config.model_dump(mode="json")))
    return 0
