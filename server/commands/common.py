"""What the commands share: their messages (Vietnamese first, English on the next line), the
configuration file and the database they work on, and the site they name."""

import sys
from pathlib import Path

import click

from ..core.config import ConfigError, config_path, load_config
from ..core.i18n import translate

CONFIG_HELP = "the centre's configuration file (default: $QUEUEKIOSK_CONFIG, else ./config.yaml)"
SITE_HELP = (
    "the site it belongs to (`queuekiosk site list`); without it an admin or province account belongs to "
    "the whole installation and any other to the first site"
)


def say(*parts, detail: str | None = None) -> str:
    """A message of the command, Vietnamese first and English on the next line, from the catalogs
    (server/core/messages, keys cli_*). Each part is a key or (key, params), joined with "; ";
    ``detail`` (a cause in its own words, such as the list of problems of a config file) follows."""
    vi, en = _said(parts, "vi"), _said(parts, "en")
    return "\n".join([vi] + ([en] if en != vi else []) + ([detail] if detail else []))


def _said(parts, language: str) -> str:
    sentences = [
        translate(part, language) if isinstance(part, str) else translate(part[0], language, **part[1])
        for part in parts
    ]
    # "… thử lại; điểm chưa được thay đổi": a sentence's full stop goes where another follows
    return "; ".join([sentence.removesuffix(".") for sentence in sentences[:-1]] + sentences[-1:])


def refusal_said(refusal, nothing: str) -> str:
    """A refusal of the core (a QueueError) said, with every other field it names (``others``: each refused
    field at once, as /admin says them), then what was not done."""
    others = [(refusal.code, other) for other in refusal.params.get("others", [])]
    said = refusal.params.get("message_key", refusal.code)  # (a sentence of its own for the code)
    return say((said, refusal.params), *others, nothing)


def table_header(*keys: str) -> str:
    """A table's header: its columns' names in Vietnamese, then in English on the next line, tab-separated."""
    return "\n".join("\t".join(translate(key, language) for key in keys) for language in ("vi", "en"))


def name_clashes_said(db) -> str | None:
    """The accounts whose names differ only in case (a database from before they were unique regardless
    of case), named in a message; None when there are none."""
    from ..core.auth import name_clashes

    groups = name_clashes(db)
    return say(("cli_name_clashes", {"groups": "; ".join(", ".join(group) for group in groups)})) if groups else None


# ctx.meta (shared by a command's contexts): the language the command line was asked to speak (the keypad's
# --lang); without it Vietnamese, the language of each message's first line
LANGUAGE = "queuekiosk.language"


def remember_language(ctx: click.Context, _param, value: str) -> str:
    """An option's callback: its value (vi, en) is the language of the command's error prefix."""
    ctx.meta[LANGUAGE] = value
    return value


class _Prefixed:
    """click's "Error: " before a message said in the command line's language ("Lỗi: " in Vietnamese,
    cli_error): click writes its own in English whatever the message's language."""

    language = "vi"

    def show(self, file=None) -> None:
        ctx = getattr(self, "ctx", None)
        if ctx is not None:  # a usage error: click's usage line and hint first, as click shows them
            names = ctx.command.get_help_option_names(ctx) if ctx.command.get_help_option(ctx) else []
            hint = f"Try '{ctx.command_path} {max(names, key=len)}' for help.\n" if names else ""
            click.echo(f"{ctx.get_usage()}\n{hint}", file=file, err=True, color=ctx.color)
        said = translate("cli_error", self.language, message=self.format_message())
        click.echo(said, file=file, err=True, color=ctx.color if ctx is not None else self.show_color)


class _SaidError(_Prefixed, click.ClickException):
    """A refusal of a command (a click.ClickException) shown after the prefix of its language."""


class _SaidUsageError(_Prefixed, click.UsageError):
    """A usage error said in Vietnamese, then in English (``said_usage``)."""


def said_error(error: click.ClickException, meta: dict) -> click.ClickException:
    """Any error of a command as it is shown: a usage error ``said_usage``, and each after the "Error: " of
    the command line's language (``meta``: its context's, where an option may have set LANGUAGE)."""
    if isinstance(error, click.UsageError):
        error = said_usage(error)
    elif not isinstance(error, _SaidError):
        said = _SaidError(error.format_message())
        said.exit_code = error.exit_code
        error = said
    if isinstance(error, _Prefixed):
        error.language = meta.get(LANGUAGE) or _asked_language(sys.argv[1:])
    return error


def _asked_language(args: list[str]) -> str:
    """The language ``--lang`` asks for anywhere on the command line: a usage error (an unknown option)
    is raised while click reads the line, before ``remember_language`` has heard of it. The last one
    given, as click takes it."""
    language = "vi"
    for i, arg in enumerate(args):
        if arg == "--":
            break
        value = arg.partition("=")[2] if arg.startswith("--lang=") else None
        if arg == "--lang" and i + 1 < len(args):
            value = args[i + 1]
        if value in ("vi", "en"):
            language = value
    return language


def said_usage(error: click.UsageError) -> click.UsageError:
    """click's own usage error (a missing or unknown option, no such command, a value it cannot read)
    said as the command line's other messages are: in Vietnamese, then in English, from the catalogs
    (cli_usage_*, cli_value_*); a value refused is named in click's own words after the English (they
    name the value). The same usage line, hint ("Try 'queuekiosk user add --help' for help.") and exit
    code (2)."""
    if isinstance(error, (_SaidUsageError, click.exceptions.NoArgsIsHelpError)):
        return error
    parts = _usage_parts(error)
    if parts[0] == "cli_usage_wrong":  # a kind this does not know: click's own words in English
        return _SaidUsageError(f"{_said(parts, 'vi')}\n{error.format_message()}", ctx=error.ctx)
    if isinstance(error, click.BadParameter) and not isinstance(error, click.MissingParameter):
        key, params = parts[0]
        if "\n" in error.message:  # ours, from say(): already in both languages
            vi, en = (
                f"{translate(key, lang, **params)}: {line}"
                for lang, line in zip(("vi", "en"), error.message.split("\n", 1))
            )
        else:
            vi, en = _said(parts, "vi"), f"{translate(key, 'en', **params)}: {error.message}"
        return _SaidUsageError(f"{vi}\n{en}", ctx=error.ctx)
    return _SaidUsageError(say(*parts), ctx=error.ctx)


def _usage_parts(error: click.UsageError) -> list:
    """What ``said_usage`` says in Vietnamese: keys and their parameters, as ``say`` takes them."""
    if isinstance(error, click.MissingParameter):
        param_type = error.param_type or (error.param.param_type_name if error.param else "option")
        if param_type == "argument":
            return [("cli_usage_missing_argument", {"argument": _param_name(error)})]
        return [("cli_usage_missing_option", {"option": _param_name(error)}), *_value_hint(error.param)]
    if isinstance(error, click.BadParameter):
        return [("cli_usage_bad_value", {"option": _param_name(error)}), *_value_hint(error.param)]
    if isinstance(error, (click.NoSuchOption, click.exceptions.NoSuchCommand)):
        option = isinstance(error, click.NoSuchOption)
        parts = [
            ("cli_usage_no_option", {"option": error.option_name})
            if option
            else ("cli_usage_no_command", {"command": error.command_name})
        ]
        if error.possibilities:
            parts.append(("cli_usage_did_you_mean", {"possible": ", ".join(error.possibilities)}))
        return parts
    if isinstance(error, click.BadOptionUsage):  # its kind is in click's own words only (no ctx, no param)
        if "does not take a value" in error.message:
            return [("cli_usage_takes_no_value", {"option": error.option_name})]
        if "requires" in error.message:
            return [("cli_usage_needs_value", {"option": error.option_name})]
    if error.message.startswith("Got unexpected extra argument"):  # click's ctx.fail, in its own words
        return [("cli_usage_extra", {"args": error.message.partition("(")[2].rpartition(")")[0]})]
    return ["cli_usage_wrong"]


def _param_name(error: click.BadParameter) -> str:
    """The option (--token) or argument (NAME) a bad or missing value is for."""
    hint = error.param_hint
    if hint is not None:
        return " / ".join(hint) if isinstance(hint, (list, tuple)) else str(hint).strip("'\"")
    param = error.param
    if param is None:
        return "?"
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


def _value_hint(param) -> list:
    """What a value of ``param`` must be, where its type says it (a choice, a number in a range, a date)."""
    kind = getattr(param, "type", None)
    if isinstance(kind, click.Choice):
        return [("cli_value_choice", {"choices": ", ".join(str(choice) for choice in kind.choices)})]
    if isinstance(kind, (click.IntRange, click.FloatRange)) and (kind.min is not None or kind.max is not None):
        if kind.min is not None and kind.max is not None:
            return [("cli_value_between", {"min": kind.min, "max": kind.max})]
        return [
            ("cli_value_at_least", {"min": kind.min}) if kind.max is None else ("cli_value_at_most", {"max": kind.max})
        ]
    if isinstance(kind, click.types.IntParamType):
        return ["cli_value_integer"]
    if isinstance(kind, click.types.FloatParamType):
        return ["cli_value_number"]
    if isinstance(kind, click.DateTime):
        forms = (form.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD") for form in kind.formats)
        return [("cli_value_date", {"form": " / ".join(forms)})]
    return []


def refusal(nothing_done: str, error: ValueError) -> str:
    """``nothing_done`` and what was wrong, Vietnamese then English where the error carries its problem as
    a Phrase (auth.AccountRefused), else with the error's own text below."""
    problem = getattr(error, "problem", None)
    if problem is None:
        return say(nothing_done, detail=str(error))
    return say(nothing_done, (problem.key, problem.params))


def load(path: Path, nothing: str = "cli_nothing_done", live: bool = False, saved: dict | None = None):
    """config.yaml's setup; ``live``: checked as a setup edited in /admin (config import of an export);
    ``saved``: the saved setup's keys by section (parse_config's)."""
    if not path.is_file():  # named as such, not as "the configuration has errors"
        raise click.ClickException(say(("cli_config_missing", {"path": str(path.resolve())}), nothing))
    try:
        return load_config(path, live=live, saved=saved)
    except ConfigError as error:
        raise click.ClickException(say("cli_config_errors", nothing, detail=str(error))) from None


def database(path: Path, writes: bool = True):
    """Engine, site and session factory for commands that work on the database directly.

    A new, empty database is created and seeded from the configuration file when the command
    writes; an existing one is only checked (one small query) and its saved setup is used.
    A command that only reads (``writes=False``) writes nothing, ever."""
    from ..core.config import instance_dir_for
    from ..core.db import SchemaNotCurrent, create_db_engine, open_database, prepare_database, session_factory

    url = database_url(path)
    if no_sqlite_file(url) and not path.is_file():  # run outside the centre's folder: make nothing there
        load(path)
    if not writes and no_sqlite_file(url):
        raise click.ClickException(say(("cli_no_database", {"url": url})))
    new_file = no_sqlite_file(url)
    engine = create_db_engine(url)
    try:
        if writes:
            site = prepare_database(engine, lambda: load(path), instance_dir_for(path), path.parent)
        else:
            site = open_database(engine, path.parent)
    except SchemaNotCurrent as error:
        raise click.ClickException(str(error)) from None
    if new_file:  # a production server's users added here would be in a database it never reads
        click.echo(say(("cli_new_database", {"url": url})), err=True)
    return site, session_factory(engine)


def database_engine(path: Path):
    """The engine of the database the server of ``path`` uses, as it is: nothing made, migrated or
    loaded (its schema not yet checked, ``check_schema``); a SQLite file not there is said."""
    from ..core.db import create_db_engine

    url = database_url(path)
    if no_sqlite_file(url):
        raise click.ClickException(say(("cli_no_database", {"url": url})))
    return create_db_engine(url)


def no_sqlite_file(url: str) -> bool:
    """A SQLite database whose file is not there yet (opening it would create it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file()


def current_config(path: Path):
    """The setup saved in the database when there is one, else the configuration file; writes nothing."""
    from sqlalchemy.exc import OperationalError

    from ..core.db import SchemaNotCurrent, create_db_engine, open_database

    url = database_url(path)
    if no_sqlite_file(url):
        return load(path)
    engine = create_db_engine(url)
    try:
        return open_database(engine, path.parent).config
    except (SchemaNotCurrent, OperationalError):
        return load(path)
    finally:
        engine.dispose()


def site_of(Session, path: Path, site_id: str | None, role: str | None = None):
    """The runtime of site ``site_id`` (``--site``), and the id a new account gets: an admin or
    province account without ``--site`` belongs to the whole installation (None), any other to the
    first site; ``site`` is the first site's runtime when no --site is given. No new account
    (``role`` given) at a retired site."""
    from ..core.db import site_setup

    if role == "province" and site_id is not None:
        raise click.ClickException(say("cli_province_no_site"))
    with Session() as db:
        runtime = site_setup(db, path.parent, site_id)
    if runtime is None or (site_id is not None and runtime.id != site_id):
        raise click.ClickException(say(("cli_no_site", {"site": site_id})))
    if site_id is None and role in ("admin", "province"):
        return runtime, None
    if role is not None and runtime.config.site.retired:  # a new account there could never act
        raise click.ClickException(say(("site_retired_new_account", {"site": runtime.config.site.name})))
    return runtime, runtime.id


def database_url(config_file) -> str:
    from ..core.config import instance_dir_for
    from ..core.db import default_database_url

    return default_database_url(instance_dir_for(config_path(config_file)))
