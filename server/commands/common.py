"""What the commands share: their messages (Vietnamese first, English on the next line), the
configuration file and the database they work on, and the site they name."""

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

    def said(language: str) -> str:
        sentences = [
            translate(part, language) if isinstance(part, str) else translate(part[0], language, **part[1])
            for part in parts
        ]
        # "… thử lại; điểm chưa được thay đổi": a sentence's full stop goes where another follows
        return "; ".join([sentence.removesuffix(".") for sentence in sentences[:-1]] + sentences[-1:])

    vi, en = said("vi"), said("en")
    return "\n".join([vi] + ([en] if en != vi else []) + ([detail] if detail else []))


def refusal(nothing_done: str, error: ValueError) -> str:
    """``nothing_done`` and what was wrong, Vietnamese then English where the error carries its problem as
    a Phrase (auth.AccountRefused), else with the error's own text below."""
    problem = getattr(error, "problem", None)
    if problem is None:
        return say(nothing_done, detail=str(error))
    return say(nothing_done, (problem.key, problem.params))


def load(path: Path, nothing: str = "cli_nothing_done", live: bool = False):
    """config.yaml's setup; ``live``: checked as a setup edited in /admin (config import of an export)."""
    if not path.is_file():  # named as such, not as "the configuration has errors"
        raise click.ClickException(say(("cli_config_missing", {"path": str(path.resolve())}), nothing))
    try:
        return load_config(path, live=live)
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
    engine = create_db_engine(url)
    try:
        if writes:
            site = prepare_database(engine, lambda: load(path), instance_dir_for(path), path.parent)
        else:
            site = open_database(engine, path.parent)
    except SchemaNotCurrent as error:
        raise click.ClickException(str(error)) from None
    return site, session_factory(engine)


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
