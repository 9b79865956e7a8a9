"""`queuekiosk site ...`: the sites an installation serves."""

import click

from ..core.config import config_path
from .common import CONFIG_HELP, database, refusal_said, say, table_header


@click.group()
def site():
    """The sites this installation serves (a province and its commune centres)."""


@site.command("add")
@click.argument("site_id", metavar="ID")
@click.option("--name", required=True, help="its name as people know it")
@click.option("--timezone", default=None, help="an IANA time zone, e.g. Asia/Ho_Chi_Minh (default: the first site's)")
@click.option("--open", "opens", default=None, help="opening time, e.g. 07:30 (default: the first site's)")
@click.option("--close", "closes", default=None, help="closing time, e.g. 17:00")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_add(site_id, name, timezone, opens, closes, config_file):
    """Add a site ID (lower-case letters, digits, dashes: it is part of its addresses /s/ID/...).
    Its setup starts as a copy of the first site's, without printers; running servers serve it
    within a second."""
    from ..core import errors, sites

    path = config_path(config_file)
    first, Session = database(path)
    hours = None
    if opens or closes:
        hours = {**first.config.site.hours.model_dump(mode="json")}
        hours.update({k: v for k, v in (("open", opens), ("close", closes)) if v})
    try:
        with Session.begin() as db:
            sites.create_site(db, site_id, name, timezone, hours, template=first.id, config_dir=path.parent)
    except errors.QueueError as refusal:
        raise click.ClickException(refusal_said(refusal, "cli_no_site_added")) from None
    click.echo(say(("cli_site_added", {"site": site_id})), err=True)


@site.command("retire")
@click.argument("site_id", metavar="ID")
@click.option("--moved-to", "moved_to", default=None, metavar="SITE", help="the site its citizens go to now")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_retire(site_id, moved_to, config_file):
    """Retire site ID (communes merged): it gives no numbers and takes no bookings, its accounts and
    devices stop working, its history stays in the reports. Refused while it has numbers or bookings
    from today on not served. Running servers follow within a second."""
    patch = {"retired": True, **({"moved_to": moved_to} if moved_to else {})}  # (else where it sent them stays)
    _change_lifecycle(site_id, patch, "cli_site_retired", config_file)


@site.command("reopen")
@click.argument("site_id", metavar="ID")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_reopen(site_id, config_file):
    """Reopen a retired site ID: it serves again as before."""
    _change_lifecycle(site_id, {"retired": False}, "cli_site_reopened", config_file)


def _change_lifecycle(site_id: str, patch: dict, done: str, config_file) -> None:
    from ..core import errors, sites

    path = config_path(config_file)
    _, Session = database(path)
    try:
        with Session.begin() as db:
            was = sites.site_view(db, site_id)["retired"]
            sites.change_site_fields(db, site_id, patch, config_dir=path.parent, by="command line")
    except errors.QueueError as refusal:
        raise click.ClickException(say((refusal.code, refusal.params), "cli_site_not_changed")) from None
    if not was and not patch["retired"]:
        done = "cli_site_not_retired"  # reopening a site that serves: nothing was done
    click.echo(say((done, {"site": site_id})), err=True)


@site.command("remove")
@click.argument("site_id", metavar="ID")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_remove(site_id, config_file):
    """Remove site ID, added by mistake: only one that never had a number or a booking (retire one that
    served instead), is not the first site nor where a retired site sends its citizens, and has no
    account or device token that still works (disable and revoke them first; they go with it). Running
    servers stop serving it within a second."""
    from ..core import errors, sites

    _, Session = database(config_path(config_file))
    try:
        with Session.begin() as db:
            sites.remove_site(db, site_id, by="command line")
    except errors.QueueError as refusal:
        raise click.ClickException(say((refusal.code, refusal.params), "cli_site_not_removed")) from None
    click.echo(say(("cli_site_removed", {"site": site_id})), err=True)


@site.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_list(config_file):
    """List the sites: id, time zone, hours, name, and "retired" (with where its citizens go) for a retired one."""
    from ..core import sites

    _, Session = database(config_path(config_file), writes=False)
    with Session() as db:
        for row in sites.list_sites(db):
            hours = row["hours"] or {}
            opening = f"{str(hours.get('open', ''))[:5]}-{str(hours.get('close', ''))[:5]}"
            retired = f"\tretired{' -> ' + row['moved_to'] if row['moved_to'] else ''}" if row["retired"] else ""
            click.echo(f"{row['id']}\t{row['timezone']}\t{opening}\t{row['name']}{retired}")


@site.command("compare")
@click.option(
    "--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the first day, e.g. 2025-01-01"
)
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the last day, included")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_compare(first_day, last_day, config_file):
    """Every site side by side over whole days, as /reports shows the province: site, issued, served,
    average and 90th percentile wait (minutes), within target wait (%), % hài lòng, bookings not cancelled
    and how many of them checked in. It counts each past
    day not counted yet once and keeps it: run it over the past year after an upgrade, and the
    province's first look is quick."""
    from ..core.reports.sites import compare_sites

    if last_day < first_day:
        raise click.BadParameter(say("period_end_before_start"), param_hint="--to")
    _, Session = database(config_path(config_file))
    with Session.begin() as db:
        report = compare_sites(db, first_day.date(), last_day.date())

    def shown(value, scale=1.0):
        return "-" if value is None else f"{value / scale:.1f}"

    columns = ("sup_sites_site", "report_col_issued", "report_col_served", "report_col_wait_avg")
    bookings = (
        "report_col_sites_bookings",
        "report_col_sites_checked_in",
    )  # last: a script reading by place still works
    click.echo(
        table_header(
            *columns, "report_col_wait_p90", "report_col_target_met_pct", "report_col_satisfied_pct", *bookings
        )
    )
    for row in [
        *report["sites"],
        {**report["total"], "site": "total", "wait": {"p90": None, **report["total"]["wait"]}},
    ]:
        click.echo(
            f"{row['site']}\t{row['issued']}\t{row['served']}\t{shown(row['wait']['avg'], 60)}\t"
            f"{shown(row['wait']['p90'], 60)}\t{shown(row['target_met_pct'])}\t{shown(row['ratings']['satisfied_pct'])}\t"
            f"{row['bookings']['booked']}\t{row['bookings']['checked_in']}"
        )
