"""Every process serves the setup saved last, and every open screen shows it within 2 s.

The saved setup of each site has a version (``site_setups.version``). The process that saves a change
takes the new runtime at once; every other process (gunicorn workers, other machines) notices the new
version within ``POLL_SECONDS`` by one small query, which also brings the sites added meanwhile (by
POST /api/v1/admin/sites in another process, or ``queuekiosk site add``). Each process, once it holds
the new setup, tells its own Socket.IO clients ``config.changed``; they subscribe again and redraw
from the fresh snapshot. A process tells only its own clients (``realtime.process_room``), so no
client asks before the process it is connected to has the new setup, and none hears it twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from ..core import models as m
from ..core.db import read_bare, site_setup
from ..core.sites import link_successors
from .resync import disconnect_own_clients, tell_own_clients

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


def adopt(state, runtime) -> None:
    """Serve ``runtime`` (a new setup of its site, or a new site) from now on, and tell this process's clients."""
    known = state.sites.get(runtime.id)
    if known is not None and runtime.version <= known.version:
        return
    state.sites[runtime.id] = runtime
    if known is None:
        _start_site(state, runtime)
    else:
        spooler = state.spoolers.get(runtime.id)
        if spooler is not None:
            spooler.use_site(runtime)  # printers added, changed or removed
    log.info("site %s: setup version %d in use", runtime.id, runtime.version)
    tell_own_clients("config.changed", {"site": runtime.id, "version": runtime.version}, runtime.id)
    _link_retired(state, told=runtime.id)


def _link_retired(state, told: str | None = None) -> None:
    """Each retired site's successor, from the sites served here; the open pages of a retired site whose
    successor changed (the site it names retired too, reopened or was renamed) redraw, as at a change
    of its own setup."""
    for site_id in link_successors(state.sites):
        if site_id != told and state.limits is not None:  # (inside create_app: no page is open yet)
            version = state.sites[site_id].version
            tell_own_clients("config.changed", {"site": site_id, "version": version}, site_id)


def _start_site(state, runtime) -> None:
    """A site this process did not serve yet: its printers and its day-end loop (once the background
    work runs)."""
    from .printing import make_spooler

    if state.limits is None:  # still inside create_app: it makes the spoolers itself
        return
    state.spoolers[runtime.id] = make_spooler(state, runtime.id)
    if state.background:
        start_site_work(state, runtime.id)


def start_site_work(state, site_id: str) -> None:
    """A site's own greenlets in a serving process (``AppState.spawn_for``): its printers, and its day
    ending at its midnight."""
    from .housekeeping import site_day_end_loop

    spooler = state.spoolers.get(site_id)
    if spooler is not None:
        spooler.start()
    state.spawn_for(site_id, site_day_end_loop, state, site_id)


# every process reads this every POLL_SECONDS: built once and run on a Core connection, on SQLite
# straight on the cursor (read_bare: an ORM session, a statement built at each poll, then SQLAlchemy's
# BEGIN and ROLLBACK around it were most of an idle server's CPU)
_SAVED_VERSIONS = (
    select(m.site_setups.c.site_id, m.site_setups.c.version, func.min(m.services.c.id))
    .outerjoin(m.services, m.services.c.site_id == m.site_setups.c.site_id)
    .group_by(m.site_setups.c.site_id, m.site_setups.c.version)
)


def saved_versions(state) -> dict[str, int]:
    """Every site's saved setup version, the first site (the one config.yaml seeded) first."""
    with state.reads.connect() as conn:
        rows = read_bare(conn, _SAVED_VERSIONS)
    rows.sort(key=lambda row: (row[2] is None, row[2] or 0, row[0]))
    return {site_id: version for site_id, version, _ in rows}


def adopt_new_sites(state) -> list[str]:
    """Serve the sites saved in the database that this process does not serve yet; their ids.

    Called by the process that creates a site (POST /api/v1/admin/sites) right after its commit;
    every other process finds the new site within ``POLL_SECONDS`` (``follow_saved_setup``), or at
    once when a request names it."""
    versions = saved_versions(state)
    new = [site_id for site_id in versions if site_id not in state.sites]
    for site_id in new:
        with state.reads.connect() as conn:
            runtime = site_setup(conn, state.config_dir, site_id)
        # (another request or the poll, adopting it too, may have started it while this one read)
        if runtime is not None and runtime.id not in state.sites:
            state.sites[runtime.id] = runtime
            _start_site(state, runtime)
            log.info("site %s: served from now on (setup version %d)", runtime.id, runtime.version)
    if new:
        _link_retired(state)
    return new


def forget_site(state, site_id: str) -> None:
    """A site removed (DELETE /api/v1/admin/sites/{id}, ``queuekiosk site remove``; by this process or
    another): served no more. Its own greenlets end now (its printers, its day-end loop), its open
    pages are disconnected (connecting again, they hear that the site does not exist: their pages say
    so), the installation-wide loops pass it by; a request under its addresses, or a Socket.IO event of
    a connection to it, is a 404 ``site_unknown`` as for any unknown site (``AppState.site``)."""
    if site_id == state.first_site_id:  # (never removed: sites.remove_site refuses it)
        return
    if state.sites.pop(site_id, None) is None:
        return
    work = state.site_work.pop(site_id, None)  # its day-end loop slept until its midnight, its printers'
    if work is not None:  # greenlets until their next look: they end now, here as in every other process
        work.kill(block=False)
    state.spoolers.pop(site_id, None)
    state.predictors.pop(site_id, None)
    log.info("site %s: removed, no longer served", site_id)
    disconnect_own_clients(site_id)
    _link_retired(state)


def reload_if_changed(state) -> None:
    served = list(state.sites)  # (one this process adds while the look is on its way is not in its answer)
    versions = saved_versions(state)
    for site_id in served:
        if site_id not in versions:
            forget_site(state, site_id)  # removed by another process or the command line
    if any(site_id not in state.sites for site_id in versions):
        adopt_new_sites(state)
    for site_id, version in versions.items():
        known = state.sites.get(site_id)
        if known is not None and version > known.version:
            with state.reads.connect() as conn:
                runtime = site_setup(conn, state.config_dir, site_id)
            adopt(state, runtime)


def follow_saved_setup(state) -> None:
    import gevent

    failing = False
    while True:
        gevent.sleep(POLL_SECONDS)
        try:
            reload_if_changed(state)
            failing = False
        except Exception as error:  # a busy or unreachable database: try again next time (said once)
            if not failing:
                log.warning("could not check the saved setup (trying again every %.1f s): %s", POLL_SECONDS, error)
            failing = True


def adopt_site(state, runtime) -> None:
    """A site this process just created or changed (POST/PATCH /api/v1/admin/sites, after the commit):
    served at once here; the other processes follow within ``POLL_SECONDS``."""
    adopt(state, runtime)
