"""HTTP for announcements: the preview an installer listens to, and the WAV files displays play.

GET /api/v1/announcements/preview?number=1023&counter=5[&display=lobby]
    {"text", "text_en"?, "audio_url", "display"}: the announcement made now, as that display
    (default: the first display) would say it.
GET /api/v1/announcements/<key>.wav[?display=lobby&number=1023&counter=5]
    an announcement's audio (``audio_url`` of ``ticket.called``/``ticket.recalled`` and of
    the preview); the name is a hash of its content, so it may be cached for ever. A call's
    carries its display, number and counter: it is made at the first ask, in any process.
GET /api/v1/announcements/forms/<form>.wav?display=lobby[&number=1023&counter=5]
    the pieces a display's player joins when calls pile up (display/static/display.js):
    ``chime`` (the display's chime alone), ``once`` (the sentence once, no chime) and ``short``
    ("một nghìn không trăm hai mươi ba quầy năm", once, no chime); a redirect to the ``<key>.wav`` above.
GET /api/v1/announcements/kiosk/<kiosk>/guide.wav?screen=services&items=HT,CT&lang=vi
    the kiosk's current screen read aloud for a blind or low-vision citizen (kiosk/static/kiosk.js):
    its question, then each choice with the key that picks it ("Phím 1: Hộ tịch."), then how to
    choose; ``items``: the choices on screen in order (service codes, field keys ``f1``, priority
    codes, an empty item for "no priority"). A redirect to the ``<key>.wav`` above.
GET /api/v1/announcements/kiosk/<kiosk>/tickets/<ticket_id>.wav?lang=vi
    the number the kiosk just issued, read aloud with its service; a redirect likewise.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote_plus

from flask import Blueprint, current_app, jsonify, redirect, request, send_file

from ..server.core.config import Voice
from ..server.core.errors import Invalid, NotFound
from ..server.core.i18n import has_message, message_text, pick_language, translate
from .voice import URL_PREFIX, Announcer

log = logging.getLogger("queuekiosk.voice")
bp = Blueprint("announcements", __name__, url_prefix="/api/v1/announcements")

ANNOUNCER = "queuekiosk.voice"  # app.extensions key of the app's Announcer (set by the app factory)
ANNOUNCERS = "queuekiosk.voices"  # {a site's sounds (JSON): its Announcer}, for sites whose sounds differ
_ANNOUNCERS_LOCK = threading.Lock()
MAX_NUMBER = 999_999_999
_KEY = re.compile(r"^[0-9a-f]{32}$")
# a call said while other calls wait: the number and the counter only, about 3 s (the screen shows
# the rest), so that calls pressed together are each heard within 20 s (docs/display-and-voice.md)
# (the words are the catalog's voice_short_phrase, as the default phrase's are voice_default_phrase)
SHORT_PHRASE = {language: message_text("voice_short_phrase", language) for language in ("vi", "en")}
FORMS = ("chime", "once", "short")


def make_announcer(state, site=None) -> Announcer:
    """The announcer of a serving app (``state``: its AppState) for ``site`` (default: the first
    site's, made at start-up), with its start-up report in the log."""
    made = Announcer((site or state.site).config, state.config_dir, state.instance_dir)
    made.startup_report()
    return made


def announcer(app=None, site=None) -> Announcer | None:
    """The announcer of ``site`` (default: the request's, ``state.site``): the app's own (the first
    site's), or, for a site whose ``sounds`` differ (its own recordings, TTS, piper voice), one made
    for those the first time it is asked for and kept. Announcements are cached by their content
    (the clips' paths included), so the sites share the cache folder."""
    app = app or current_app
    first = app.extensions.get(ANNOUNCER)
    state = app.extensions.get("queuekiosk")
    if first is None or state is None:
        return first
    site = site or state.site
    if site.config.sounds == first.config.sounds:
        return first
    others = app.extensions.setdefault(ANNOUNCERS, {})
    key = site.config.sounds.model_dump_json()
    made = others.get(key)
    if made is None:  # new sounds: a site's own, or a site's changed ones (PATCH /admin/site, config import)
        with _ANNOUNCERS_LOCK:
            if key not in others:
                # sounds no site has any more (changed since): their announcers go
                in_use = {s.config.sounds.model_dump_json() for s in list(state.sites.values())}
                for stale in [k for k in others if k not in in_use]:
                    others.pop(stale, None)
                others[key] = make_announcer(state, site)
            made = others[key]
    return made


def voice_notes(app=None, site=None) -> list[dict]:
    """What the supervisor's dashboard shows about the voice of ``site`` (default: the request's):
    nothing while any call can be spoken."""
    voice = announcer(app, site)
    if voice is None:
        return []
    notes = []
    if voice.library.tts_problem:
        notes.append(
            {
                "item": "voice",
                "message": translate("system_voice_clips_only", "vi"),
                "message_en": translate("system_voice_clips_only", "en"),
                "detail": voice.library.tts_problem,
            }
        )
    voice_set = voice.current_voice_set()
    if voice_set is not None and not voice_set.complete:  # named at start-up; shown until the set is whole
        count = len(voice_set.missing) + len(voice_set.problems)
        notes.append(
            {
                "item": "voice_set",
                "message": translate("system_voice_set_incomplete", "vi", name=voice_set.name, n=count),
                "message_en": translate("system_voice_set_incomplete", "en", name=voice_set.name, n=count),
                "detail": "; ".join([*(f"{name}.wav" for name in voice_set.missing), *voice_set.problems])[:1000],
            }
        )
    neural_problem = voice.neural_problem or voice.library.neural_problem  # at start-up, or since
    if neural_problem:
        notes.append(
            {
                "item": "voice_neural",
                "message": translate("system_voice_neural_unusable", "vi"),
                "message_en": translate("system_voice_neural_unusable", "en"),
                "detail": neural_problem,
            }
        )
    return notes


def voice_of(config, display_id: str | None) -> Voice:
    display = config.display(display_id) if display_id else None
    return display.voice if display else Voice()


def _problem(key: str, **params) -> str:
    return translate(
        key if has_message(key) else "problem_invalid", pick_language(request.headers.get("Accept-Language")), **params
    )


def _int_arg(name: str, minimum: int) -> int:
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        raise Invalid("invalid_field", field=name, problem=_problem("problem_missing"))
    if not re.fullmatch(r"\s*\d+\s*", raw):
        raise Invalid("invalid_field", field=name, problem=_problem("problem_int_parsing"))
    value = int(raw)
    if value < minimum:
        raise Invalid("invalid_field", field=name, problem=_problem("problem_greater_than_equal", ge=minimum))
    if value > MAX_NUMBER:
        raise Invalid(
            "invalid_field",
            field=name,
            problem=_problem("problem_less_than_equal", le=f"{MAX_NUMBER:,}".replace(",", ".")),
        )
    return value


@bp.get("/preview")
def preview():
    """The text and audio of a call, so that an installer hears it before the centre opens."""
    config = current_app.extensions["queuekiosk"].site.config
    number = _int_arg("number", 0)
    counter = _int_arg("counter", 1)
    display_id = request.args.get("display")
    if display_id is not None and config.display(display_id) is None:
        raise Invalid(
            "invalid_field",
            field="display",
            problem=_problem("problem_unknown_display", known=", ".join(d.id for d in config.displays) or "—"),
        )
    if display_id is None and config.displays:
        display_id = config.displays[0].id
    spoken = announcer().announce(voice_of(config, display_id), number, counter)
    return jsonify({**spoken.payload(), "display": display_id})


@bp.get("/<key>.wav")
def audio(key: str):
    """An announcement's WAV. A call's (``?display=&number=&counter=``, ``call_audio_url``) is made
    at its first ask: from the plan its call left in this process, else from the call's display,
    number and counter (another server process made the call, or the file was pruned since)."""
    voice = announcer()
    path = voice.path_of(key) if _KEY.match(key) else None
    if path is None:
        raise NotFound("not_found", path=request.path)
    if not path.is_file() and not voice.make_pending(key):
        again = _call_again(voice)
        if again is not None and again[0].key not in (None, key):
            _follow_saved_setup()  # the display's voice may have been changed in another process just now
            again = _call_again(announcer())
        if again is None or again[0].key is None:
            raise NotFound("not_found", path=request.path)
        spoken, number, counter = again
        if spoken.key != key:  # the display's voice or a clip changed since the call: said as it is now
            response = redirect(call_audio_url(spoken.key, request.args.get("display"), number, counter))
            response.cache_control.no_store = True
            return response
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=365 * 24 * 3600)
    response.cache_control.immutable = True
    return response


def _call_again(voice: Announcer):
    """(the announcement made now, number, counter) of the call named by the query (``display``, ``number``,
    ``counter``), or None without one. An unknown display is a 404: its calls are gone."""
    if "number" not in request.args or "counter" not in request.args:
        return None
    config = current_app.extensions["queuekiosk"].site.config
    display_id = request.args.get("display")
    if display_id is not None and config.display(display_id) is None:
        raise NotFound("not_found", path=request.path)
    number, counter = _int_arg("number", 0), _int_arg("counter", 1)
    return voice.announce(voice_of(config, display_id), number, counter), number, counter


def _follow_saved_setup() -> None:
    """This process takes the setup saved last by any process (it would within a poll anyway)."""
    from ..server.web.live_setup import reload_if_changed

    try:
        reload_if_changed(current_app.extensions["queuekiosk"])
    except Exception:  # noqa: BLE001 - a database fault: the call is said as this process knows it
        log.warning("announcements: could not check the saved setup", exc_info=True)


def call_audio_url(key: str, display_id: str | None, number: int, counter: int, site=None) -> str:
    """A call's ``audio_url``: its WAV's address with the call's display, number and counter, so that
    any server process can make it when first asked (``audio``), under the site's prefix unless the
    site (default: the request's) is the first one."""
    state = current_app.extensions.get("queuekiosk")
    prefix = URL_PREFIX
    if state is not None:
        site_id = site.id if site is not None else state.site_id
        if site_id != state.first_site_id:
            prefix = f"/api/v1/sites/{site_id}/announcements/"
    query = f"display={quote_plus(display_id)}&" if display_id else ""  # urlencode's, without its generality
    return f"{prefix}{key}.wav?{query}number={number}&counter={counter}"


def call_announcement(voice_maker: Announcer, site, display_id: str | None, voice: Voice, number: int, counter: int):
    """``announcement`` of a call as ``display_id`` (None: no display, the default voice) says it:
    its texts and ``audio_url``, whose WAV is made when first asked for, not in the call's request."""
    spoken = voice_maker.announce(voice, number, counter, ready=False)
    payload = spoken.payload()
    if spoken.key:
        payload["audio_url"] = call_audio_url(spoken.key, display_id, number, counter, site)
    return payload


def _is_wav(path) -> bool:
    try:
        with open(path, "rb") as file:
            head = file.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def voice_in_form(voice: Voice, form: str) -> Voice:
    """The display's voice said once without its chime; ``short``: the short phrase, one language."""
    once = voice.model_copy(update={"repeat": 1, "chime": False})
    if form != "short":
        return once
    return once.model_copy(
        update={
            "language": "en" if voice.language == "en" else "vi",
            "phrase": SHORT_PHRASE["vi"],
            "phrase_en": SHORT_PHRASE["en"],
        }
    )


@bp.get("/forms/<form>.wav")
def form_audio(form: str):
    """A piece of a burst of calls, as a redirect to its cached WAV (made now if new)."""
    config = current_app.extensions["queuekiosk"].site.config
    if form not in FORMS:
        raise NotFound("not_found", path=request.path)
    display_id = request.args.get("display", "")
    if config.display(display_id) is None:
        raise Invalid(
            "invalid_field",
            field="display",
            problem=_problem("problem_unknown_display", known=", ".join(d.id for d in config.displays) or "—"),
        )
    voice = voice_of(config, display_id)
    if form == "chime":
        path = announcer().library.find("chime") if voice.chime else None
        if path is None or not _is_wav(path):  # a recordings folder's chime.wav is sent as it is: a WAV only
            raise NotFound("not_found", path=request.path)
        return send_file(path, mimetype="audio/wav", conditional=True, max_age=300)
    spoken = announcer().announce(voice_in_form(voice, form), _int_arg("number", 0), _int_arg("counter", 1))
    if spoken.audio_url is None:  # no clip and no TTS for some word: the call is shown only
        raise NotFound("not_found", path=request.path)
    response = redirect(spoken.audio_url)
    response.cache_control.no_store = True
    return response


# --- the kiosk's voice: its screens and the number it issued, for a citizen who cannot read them

KIOSK_SCREENS = ("fields", "services", "priority")
KIOSK_ITEMS_MAX = 40


def _kiosk_region(config) -> str:
    return config.displays[0].voice.region if config.displays else "north"


def _kiosk_language() -> str:
    lang = request.args.get("lang", "vi")
    if lang not in ("vi", "en"):
        raise Invalid("invalid_field", field="lang", problem=_problem("problem_literal_error", expected="'vi', 'en'"))
    return lang


def _say(language: str, sentences: list) -> object:
    """A redirect to the cached WAV of ``sentences`` ((catalog key or template, values) pairs)."""
    config = current_app.extensions["queuekiosk"].site.config
    made = [(message_text(key, language) if has_message(key) else key, values) for key, values in sentences]
    key = announcer().utterance(language, _kiosk_region(config), made)
    if key is None:  # no clip, no TTS for some text: the screen shows it only
        raise NotFound("not_found", path=request.path)
    response = redirect(f"/api/v1/announcements/{key}.wav")
    response.cache_control.no_store = True
    return response


def _kiosk_data(kiosk_id: str) -> dict:
    from ..kiosk.web import kiosk_page_data

    config = current_app.extensions["queuekiosk"].site.config
    data = kiosk_page_data(config, kiosk_id, True)
    if data is None:
        raise NotFound("unknown_kiosk", kiosk=kiosk_id)
    return data


@bp.get("/kiosk/<kiosk_id>/guide.wav")
def kiosk_guide(kiosk_id: str):
    """The kiosk's screen read aloud: its question, each choice with its key, how to choose."""
    data = _kiosk_data(kiosk_id)
    language = _kiosk_language()
    screen = request.args.get("screen", "services")
    if screen not in KIOSK_SCREENS:
        raise Invalid(
            "invalid_field",
            field="screen",
            problem=_problem("problem_literal_error", expected=", ".join(KIOSK_SCREENS)),
        )
    items = request.args.get("items", "").split(",")[:KIOSK_ITEMS_MAX]
    names = {"fields": {**data["fields"], **data["services"]}, "services": data["services"]}.get(
        screen, data["priorities"]
    )
    question = {"fields": "kiosk_choose_field", "services": "kiosk_choose_service"}.get(
        screen, "kiosk_priority_question"
    )
    sentences: list = [(question, {})]
    for index, item in enumerate(items, start=1):
        if screen == "priority" and item == "":
            name = (
                f"{message_text('kiosk_priority_none', language)}, {message_text('kiosk_priority_none_hint', language)}"
            )
        elif item in names:
            name = names[item][language] or names[item]["vi"]
        else:
            raise Invalid("invalid_field", field="items", problem=_problem("problem_invalid"))
        # keys 1-9 pick a choice; a 10th and later are read (they can be touched) without a key
        sentences.append(
            ("kiosk_speech_key", {"key": index, "name": name}) if index <= 9 else ("{name}.", {"name": name})
        )
    sentences.append(("kiosk_speech_how", {}))
    return _say(language, sentences)


@bp.get("/kiosk/<kiosk_id>/tickets/<ticket_id>.wav")
def kiosk_ticket(kiosk_id: str, ticket_id: str):
    """The number the kiosk issued, said with its service and the people ahead."""
    from ..kiosk.web import ticket_view

    data = _kiosk_data(kiosk_id)
    language = _kiosk_language()
    view = ticket_view(ticket_id)
    if view is None:
        raise NotFound("not_found", path=request.path)
    service = data["services"].get(view["service"]) or {"vi": view["service"], "en": view["service"]}
    return _say(
        language,
        [
            ("kiosk_speech_ticket", {"number": int(view["display"]), "service": service[language] or service["vi"]}),
            ("kiosk_speech_ahead", {"n": int(view.get("waiting_ahead") or 0)}),
            ("kiosk_please_wait", {}),
        ],
    )
