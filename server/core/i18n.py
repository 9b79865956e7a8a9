"""The one translation mechanism: every text a person reads, Vietnamese first, English second.

The words live in catalog files, one per language: ``server/core/messages/<language>.json``, a flat
JSON object from message key to text, with ``{name}`` fields filled from the parameters of the
error or page. Plain JSON rather than gettext/Babel because the pages already receive their
messages as JSON keyed by message key (``messages_for``), a key names a message rather than
its English source text (so correcting the English does not touch every caller), and it needs
no new dependency or compile step. A translator edits one file per language.

A count that a word agrees with is passed as a ``Count`` (or a plain int, made one):
``{n:citizen|citizens}`` in a text then says the word's form for 1 or for any other number
(English's rule; Vietnamese words have one form and need none, and vi.json uses no such form).

Loading refuses a key written twice in one file (the second would otherwise silently win) and
a key missing from any language; tests/test_i18n_catalogs.py checks the same on the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LANGUAGES = ("vi", "en")
CATALOG_FOLDER = Path(__file__).parent / "messages"


class CatalogError(ValueError):
    """A catalog file that would lose or hide a message."""


def _refuse_duplicate_keys(path: Path):
    def build(pairs: list[tuple[str, object]]) -> dict:
        entries: dict = {}
        for key, value in pairs:
            if key in entries:
                raise CatalogError(f"{path.name}: the key “{key}” is defined twice")
            entries[key] = value
        return entries

    return build


def load_catalog(path: Path) -> dict[str, str]:
    """One language's messages, refusing a key defined twice or a text that is not a string."""
    catalog = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_refuse_duplicate_keys(path))
    for key, text in catalog.items():
        if not isinstance(text, str):
            raise CatalogError(f"{path.name}: the message “{key}” is not a string")
    return catalog


def load_messages(folder: Path = CATALOG_FOLDER) -> dict[str, dict[str, str]]:
    """Each language's messages (language -> key -> text), in the order of the Vietnamese file.

    One flat dict per language rather than a {vi, en} dict per key: ~1,300 small dicts cost an idle
    server 0.2 MB (issue 21). The other languages share the Vietnamese file's key strings."""
    catalogs = {language: load_catalog(folder / f"{language}.json") for language in LANGUAGES}
    first = catalogs[LANGUAGES[0]]
    for language, catalog in catalogs.items():
        missing = sorted(set(first) ^ set(catalog))
        if missing:
            raise CatalogError(f"{language}.json and {LANGUAGES[0]}.json differ in the keys: {', '.join(missing)}")
    return {language: {key: catalog[key] for key in first} for language, catalog in catalogs.items()}


_CATALOGS: dict[str, dict[str, str]] = load_messages()
_FIRST = _CATALOGS[LANGUAGES[0]]


def has_message(key: str) -> bool:
    """Whether the catalogs have a message ``key``."""
    return key in _FIRST


def message_keys() -> list[str]:
    """Every message key, in the order of the Vietnamese file."""
    return list(_FIRST)


def message_text(key: str, language: str = "vi") -> str:
    """The message's text as written, fields unfilled (``translate`` fills them); Vietnamese for a
    language we have no text in. An unknown key raises KeyError."""
    return _CATALOGS.get(language, _FIRST)[key] or _FIRST[key]


class Phrase:
    """A message made in the core and said later, in the language of whoever hears it: the web layer
    turns it into text (``said``) for each answer (a setup's check names its problem this way)."""

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params):
        self.key, self.params = key, params

    def said(self, language: str) -> str:
        return translate(self.key, language, **self.params)

    def __str__(self) -> str:
        return self.said("vi")

    def __repr__(self) -> str:  # (a log line or a failed assertion shows what it says)
        return f"Phrase({self.key!r}, {self.params!r})"


class Count(str):
    """A count as its text ("1.234"), which in a catalog text also picks a word's form:
    ``{n:rating|ratings}`` says "rating" for 1 and "ratings" for any other count."""

    def __new__(cls, value: int, text: str | None = None):
        count = super().__new__(cls, str(value) if text is None else text)
        count.value = value
        return count

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            one, other = spec.split("|", 1)
            return one if self.value == 1 else other
        return super().__format__(spec)


class Localized(Phrase):
    """A name of the setup in each language it is given in (a service's ``name.vi`` / ``name.en``), as a
    message's parameter: said in the hearer's language, in Vietnamese where it has no English."""

    __slots__ = ("names",)

    def __init__(self, vi: str, en: str | None = None):
        super().__init__("")
        self.names = {"vi": vi, "en": en}

    def said(self, language: str) -> str:
        return self.names.get(language) or self.names["vi"]

    def __repr__(self) -> str:
        return f"Localized({self.names['vi']!r}, {self.names['en']!r})"


class Listed(Phrase):
    """Several phrases said one after another ("…; …", or with ``between``), each in the hearer's language."""

    __slots__ = ("phrases", "between")

    def __init__(self, phrases, between: str = "; "):
        super().__init__("")
        self.phrases, self.between = list(phrases), between

    def said(self, language: str) -> str:
        return self.between.join(phrase.said(language) for phrase in self.phrases)

    def __repr__(self) -> str:
        return f"Listed({self.phrases!r})"


# the patterns of the setup's and the API's fields (config_schema.Code, a user name, addresses), each
# with its sentence ("problem_<kind>"); another pattern is said with the pattern itself
# an e-mail sender: an address, or a name with the address in <>, as a From header has it
MAIL_SENDER = r"^(?:[^<>@]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$"
PATTERN_KINDS = {
    MAIL_SENDER: "mail_sender_form",
    r"^[A-Za-z0-9_-]{1,32}$": "code_form",
    r"^[A-Za-z0-9_.-]+$": "username_form",
    r"^https?://": "url_form",
    r"^(mailto:|https://)": "contact_form",
}


def problem_key(kind: str, ctx: dict | None = None) -> str:
    """The catalogue's sentence for what pydantic found wrong with a field (``kind``: its error type),
    "problem_invalid" for a kind it has none for; a text shorter than its least length but not empty (a
    password of 7 characters) is said to be too short, not empty."""
    if kind == "string_too_short" and (ctx or {}).get("min_length", 1) > 1:
        kind = "string_shorter_than"
    if kind == "string_pattern_mismatch":  # the forms the setup and the API ask for, in words (not a regex)
        kind = PATTERN_KINDS.get((ctx or {}).get("pattern"), kind)
    key = f"problem_{kind}"
    return key if has_message(key) else "problem_invalid"


def problem_of(kind: str, ctx: dict | None = None) -> Phrase:
    """What pydantic found wrong with a field, as the catalogue's Phrase ("problem_invalid" where it has
    no sentence for that kind); a choice's list without pydantic's English "or"."""
    ctx = dict(ctx or {})
    if kind == "literal_error" and isinstance(ctx.get("expected"), str):
        ctx["expected"] = ctx["expected"].replace("' or '", "', '")
    return Phrase(problem_key(kind, ctx), **ctx)


def problem_phrase(kind: str, ctx: dict, fallback: str) -> Phrase | str:
    """``problem_of``'s Phrase where the catalogue has a sentence for that kind of problem, else
    ``fallback`` (pydantic's own text, in English). The setup's own checks (server/core/config_schema.py
    ``_problem``) report kinds of their own, each with its sentence here."""
    phrase = problem_of(kind, ctx)
    return phrase if phrase.key != "problem_invalid" else fallback


WORD_FORMS = re.compile(r"\{(\w+):[^{}]*\|")  # a field that says a word's form for its count


def translate(key: str, language: str = "vi", /, **params) -> str:
    """The message in ``language``; a field with word forms takes a ``Count`` or a plain int. A value
    that cannot give a form (a str there) raises, as a text with a bad format spec does."""
    template = message_text(key, language)
    counted = set(WORD_FORMS.findall(template))
    params = {name: _said(value, language, name in counted) for name, value in params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError):  # a missing parameter must never turn an error into a crash
        return template


def _said(value, language: str, counted: bool):
    if isinstance(value, Phrase):
        return value.said(language)
    if counted and type(value) is int:
        return Count(value)
    return value


def pick_language(accept_language: str | None, default: str = "vi") -> str:
    """The first of our languages named in an Accept-Language header."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default


# --- pages ------------------------------------------------------------------------------------


def both(key: str, **params) -> dict[str, str]:
    """One message in every language, e.g. for a page that shows Vietnamese with English below."""
    return {language: translate(key, language, **params) for language in LANGUAGES}


def messages_for(*prefixes: str) -> dict[str, dict[str, str]]:
    """The raw texts ({language: text}) of the keys that start with one of ``prefixes``: what a page's
    JavaScript needs (made for each page rather than kept: a page asks for a few hundred)."""
    return {
        key: {language: _CATALOGS[language][key] for language in LANGUAGES}
        for key in _FIRST
        if key.startswith(prefixes)
    }


def install_jinja(app) -> None:
    """Make the messages available to every template (idempotent; each page blueprint calls it).

    ``t(key, lang="vi", **params)`` one language; ``bi(key, **params)`` Vietnamese with English
    below, as escaped HTML; ``messages_for(*prefixes)`` for a page's JSON block.
    """
    if "bi" in app.jinja_env.globals:
        return
    from markupsafe import Markup

    def t(key: str, lang: str = "vi", **params) -> str:
        return translate(key, lang, **params)

    def bi(key: str, **params) -> Markup:
        words = both(key, **params)
        return Markup('<span class="vi">{}</span><span class="en">{}</span>').format(words["vi"], words["en"])

    app.jinja_env.globals.update(t=t, bi=bi, messages_for=messages_for)
