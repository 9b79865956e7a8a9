"""`queuekiosk migrate`, `config export|import`, `backup`, `restore` and `person-key change`: the
database, the setup saved in it and the key it hashes ID numbers with."""

import datetime as dt
from pathlib import Path

import click

from ..core.config import config_path
from ..core.i18n import Phrase
from ..core.running import servers_running
from .common import (
    CONFIG_HELP,
    database,
    database_engine,
    database_url,
    load,
    name_clashes_said,
    refusal_said,
    say,
    site_of,
)
from .running import refuse_while_running


@click.command("migrate")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def migrate_command(config_file):
    """Create the database, or bring it to this version's schema (after an upgrade: stop the
    server and make a copy with `queuekiosk backup FILE` first). A database without a saved
    setup gets the one of the configuration file."""
    from ..core.config import instance_dir_for
    from ..core.db import HEAD_REVISION, create_db_engine, migrate, prepare_database, schema_revision, session_factory

    path = config_path(config_file)
    instance_dir_for(path).mkdir(parents=True, exist_ok=True)  # where a new SQLite file goes
    engine = create_db_engine(database_url(path))
    refuse_while_running(servers_running(engine, instance_dir_for(path)))  # the servers' own start migrates
    before = schema_revision(engine)
    migrate(engine)
    site = prepare_database(engine, lambda: load(path), instance_dir_for(path), path.parent)
    with session_factory(engine)() as db:
        clashes = name_clashes_said(db)  # (migration 0017 left their index out)
    engine.dispose()
    setup = {"name": site.config.site.name, "version": site.version}
    if before == HEAD_REVISION:
        click.echo(say(("cli_db_current", setup)), err=True)
    else:
        click.echo(say(("cli_db_migrated", {**setup, "before": before or "0", "head": HEAD_REVISION})), err=True)
    if clashes:
        click.echo(clashes, err=True)


@click.group("config")
def config_group():
    """The centre's setup as a file: export it, or import one (the server picks it up at once)."""


CONFIG_SITE_HELP = "the site whose setup it is (`queuekiosk site list`); default: the first"


def _setup_site(config_file, site_id: str | None, writes: bool):
    """The saved setup of site ``site_id`` (default: the first) and the session factory."""
    path = config_path(config_file)
    site, Sessions = database(path, writes=writes)
    if site_id is not None:
        site, _ = site_of(Sessions, path, site_id)
    return site, Sessions


@config_group.command("export")
@click.option("--site", "site_id", default=None, help=CONFIG_SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def config_export(site_id, config_file):
    """Print the saved setup as YAML, in the form of config.yaml."""
    from ..core.setup_changes import export_document

    site, _ = _setup_site(config_file, site_id, writes=False)
    click.echo(_yaml(export_document(site.config)), nl=False)


def _yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


@config_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="show what would change, and change nothing")
@click.option(
    "--confirm",
    is_flag=True,
    help="save it even though a service with numbers waiting or bookings is left unserved, or its hours cancel bookings",
)
@click.option("--site", "site_id", default=None, help=CONFIG_SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def config_import(file, dry_run, confirm, site_id, config_file):
    """Replace the saved setup with FILE (checked whole first); prints the difference first.
    Running servers show the new setup within seconds, without a restart. A file that leaves a service
    no counter serves while numbers wait for it or bookings are held, or whose opening hours, working days or
    holidays leave bookings at a closed door, is refused unless --confirm (those bookings are then cancelled)."""
    import difflib

    from ..core.engine import QueueError
    from ..core.setup_changes import SECTIONS, export_document, replace_setup

    site, Sessions = _setup_site(config_file, site_id, writes=not dry_run)
    # what the admin may save live, an import may hold (an export reads back, with a look-alike pair saved before)
    saved = {
        section: {getattr(item, key) for item in getattr(site.config, section)} for section, key in SECTIONS.items()
    }
    new = load(file, live=True, saved=saved)
    old_text, new_text = _yaml(export_document(site.config)), _yaml(export_document(new))
    diff = list(
        difflib.unified_diff(
            old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), "saved setup", str(file)
        )
    )
    click.echo("".join(diff) or say("cli_no_difference") + "\n", nl=False)
    if dry_run or not diff:
        click.echo(say("cli_nothing_changed_dry" if dry_run else "cli_nothing_changed"), err=True)
        return
    try:
        with Sessions.begin() as db:
            change = replace_setup(db, site, new, by="command line", confirm=confirm)
    except QueueError as error:
        raise click.ClickException(refusal_said(error, "cli_nothing_changed")) from None
    click.echo(say(("cli_imported", {"file": str(file), "version": change.runtime.version})), err=True)
    if change.cancelled is not None:  # confirmed: the bookings its hours left at a closed door
        from ..core.periods import vn_date

        days = sorted({dt.date.fromisoformat(h.detail["booking"]["date"]) for h in change.cancelled.happened})
        count = len(change.cancelled.happened)
        click.echo(say(("cli_import_cancelled", {"count": count, "days": ", ".join(map(vn_date, days))})), err=True)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def backup_command(file, config_file):
    """Copy the database to FILE: safe while the server runs (SQLite online backup, or pg_dump)."""
    from ..core.backup import BackupError, backup

    try:
        backup(database_url(config_file), file)
    except BackupError as error:
        raise click.ClickException(_failed("cli_backup_failed", file, error, "cli_nothing_backed_up")) from None
    click.echo(say(("cli_backed_up", {"file": str(file.resolve())})), err=True)


def _failed(key: str, file: Path, error, nothing: str) -> str:
    """A backup's or restore's refusal: what failed on ``file`` and why (a BackupError's reason) in each
    language, what was not done, then the tool's own words on a line of their own."""
    reason = Phrase(error.said[0], **error.said[1])
    return say((key, {"file": str(file), "reason": reason}), nothing, detail=error.detail)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def restore_command(file, config_file, yes):
    """Replace the database with the backup FILE. Stop every server process first."""
    from ..core.backup import BackupError, restore
    from ..core.config import instance_dir_for
    from ..core.db import create_db_engine
    from ..core.env_values import shown_address
    from ..web.first_start import database_refusal

    url = database_url(config_file)
    engine = create_db_engine(url)
    path = config_path(config_file)
    try:
        running = servers_running(engine, instance_dir_for(path))
    except Exception as error:
        refusal = database_refusal(error, path)  # damaged (restore the backup: this command), or not reached
        if refusal is None:
            raise
        if refusal[0] == "cli_database_damaged":
            running = []  # a damaged database is what a restore mends; a server cannot run on it
        else:
            raise click.ClickException(say(refusal, "cli_nothing_done")) from None
    finally:
        engine.dispose()
    refuse_while_running(running)
    if not yes:
        asked = say(("cli_restore_confirm", {"url": shown_address(url), "file": str(file)}))
        if not click.confirm(asked.replace("\n", " / ")):
            raise click.ClickException(say("cli_aborted"))
    try:
        restore(url, file)
    except BackupError as error:
        # (a refused restore changed nothing: SQLite checks the file first, PostgreSQL undoes its one transaction)
        raise click.ClickException(_failed("cli_restore_failed", file, error, "cli_nothing_changed")) from None
    click.echo(say(("cli_restored", {"file": str(file.resolve())})), err=True)


@click.group("person-key")
def person_key_group():
    """The key that hashes citizens' ID card numbers and phones (QUEUEKIOSK_PERSON_KEY)."""


@person_key_group.command("change")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def person_key_change(config_file, yes):
    """Make QUEUEKIOSK_PERSON_KEY the key the database takes, in place of the one it was used with: a
    weak or leaked key replaced. Bookings made before are then found by their code only, no longer by
    ID card number. Refused while any server process of the installation runs: stop them all first,
    and start them all with the new key."""
    import os
    import time

    from ..core.bookings.people import PERSON_KEY_ENV
    from ..core.config import instance_dir_for
    from ..core.db import SchemaNotCurrent, check_schema
    from ..core.installation import (
        MAKE_KEY,
        RUNNING,
        bookings_to_check_in,
        change_person_key,
        fingerprint,
        lease_check_seconds,
        recorded_person_key,
        unleased_servers,
        weak_key,
    )
    from ..core.lease import Lease
    from ..web.first_start import database_refusal

    key = os.environ.get(PERSON_KEY_ENV, "").encode()
    if not key:  # never a key made here: it would be in no env file, and perhaps only root's to read
        raise click.ClickException(say("cli_person_key_unset", "cli_nothing_done"))
    path = config_path(config_file)
    folder = instance_dir_for(path)
    if weak_key(key):
        said = {"path": folder / "person_key", "make": MAKE_KEY}
        raise click.ClickException(say(("cli_person_key_weak", said), "cli_nothing_done"))
    engine = database_engine(path)
    alone = Lease(engine, folder, RUNNING)  # every running server holds it, shared
    try:
        check_schema(engine)
        if recorded_person_key(engine) == fingerprint(key):
            click.echo(say("cli_person_key_same", "cli_nothing_changed"), err=True)
            return
        _refuse_while_running(servers_running(engine, folder))
        if not yes:
            asked = say(("cli_person_key_change_confirm", {"bookings": bookings_to_check_in(engine)}))
            click.confirm(asked.replace("\n", " / "), abort=True)
        if not alone.try_take():  # a server started while the question was asked
            _refuse_while_running(alone.holders() or ["?"])
        if engine.dialect.name == "postgresql":  # a server whose lease PostgreSQL dropped (a restart) finds
            time.sleep(2 * lease_check_seconds() + 1)  # it cannot take it again, and says so, within this
            _refuse_while_running(unleased_servers(engine))
        change_person_key(engine, key)
    except SchemaNotCurrent as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        refusal = database_refusal(error, path)  # damaged (restore the backup), or not reached
        if refusal is None:
            raise
        raise click.ClickException(say(refusal, "cli_nothing_done")) from None
    finally:
        alone.release()
        engine.dispose()
    click.echo(say("cli_person_key_changed"), err=True)


def _refuse_while_running(processes: list[str]) -> None:
    refuse_while_running(processes, "cli_person_key_running")
