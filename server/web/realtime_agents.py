"""Socket.IO for kiosk agents (kiosk/agent.py): a kiosk PC that prints its kiosk's tickets itself says
``agent.hello`` for its kiosk, then fetches its printer's jobs (``print.fetch``), says how each went
(``print.done``) and how its printer is (``printer.report``). The connections, their principals and
limits are server/web/realtime.py's; its ``agents`` keeps each connection's site and printer (a
disconnect tells the spooler the agent has gone). Registered with realtime's handlers (server/web/app.py).
"""

from __future__ import annotations

from flask import request
from flask_socketio import join_room

from ...printers import jobs
from ...printers.content import for_every_agent
from ...printers.drivers import PRINTER_STATES, Status
from ..core import engine as q
from ..core.auth import may_act_as_kiosk, may_use_site, require_role
from ..core.i18n import Phrase
from ..core.socket_limits import EVENTS_BURST, EVENTS_PER_SECOND
from . import printing
from .extensions import socketio
from .realtime import agents, app_state, bounded, principals, refusal


@socketio.on("agent.hello")
@bounded
def on_agent_hello(data):
    """``{"kiosk": id or null, "printed": [job keys, or ids]}``: start printing for a kiosk.

    ``printed`` are jobs the agent printed without hearing the server confirm it (the server
    went away meanwhile): they are marked printed now, so they are never sent again.
    """
    from .socket_payloads import agent_hello

    state = app_state()
    site = state.site
    try:
        principal = require_role(principals.get(request.sid), "kiosk", "admin")
        may_use_site(principal, site)
        hello = agent_hello(data)  # refused: the kiosk and every other field wrong at once
        kiosk = _agent_kiosk(site, hello.kiosk or principal.kiosk)
        may_act_as_kiosk(principal, kiosk.id, bound=True)  # a kiosk page's token cannot take the printer's jobs
        printer = site.config.printer(kiosk.printer)
        for job in _job_ids(hello.printed, keys=True):  # only this printer's jobs
            state.write(jobs.finish_reported, job, printer_id=printer.id)
    except q.QueueError as error:
        return refusal(error)
    agents[request.sid] = (site.id, printer.id)
    join_room(printing.agent_room(site, printer.id))
    return {
        "ok": True,
        "keys": True,  # reported job keys are understood (kiosk/agent.py forgets them only then)
        "kiosk": kiosk.id,
        "printer": printer.id,
        "check_seconds": printer.check_seconds,
        "retry_seconds": printer.retry_seconds,
        "events_burst": EVENTS_BURST,  # what the connection may send: the agent keeps under it
        "events_per_second": EVENTS_PER_SECOND,
    }


@socketio.on("print.fetch")
@bounded
def on_print_fetch(data=None):
    """The oldest jobs still to print for this agent's printer, with their ESC/POS bytes (and their content
    as every agent reads it: printers.content.for_every_agent)."""
    state = app_state()
    printer_id = _agent_printer()
    printer = state.site.config.printer(printer_id)
    rows = state.read(jobs.oldest_pending, printer_id, 10)
    return {
        "jobs": [
            {
                "id": row.id,
                "key": jobs.job_key(row),
                "name": task.name,
                "data": task.data,
                "content": for_every_agent(row.content),
            }
            for row, task in ((row, state.spooler.task_for(printer, row)) for row in rows)
        ]
    }


@socketio.on("print.done")
@bounded
def on_print_done(data):
    """``{"job": id, "printed": true}``, or ``{"job": id, "printed": false, "error": "why"}``."""
    from .socket_payloads import print_done

    state = app_state()
    printer_id = _agent_printer()
    done = print_done(data)  # refused: the job and every other field wrong at once
    if done.printed:  # an agent reports on its own printer's jobs only
        state.write(jobs.finish, done.job, True, printer_id=printer_id)
    else:
        state.write(jobs.note_attempt, done.job, str(done.error or "not printed"), printer_id=printer_id)
    return {"ok": True}


@socketio.on("printer.report")
@bounded
def on_printer_report(data):
    """The agent's printer state: ``{"state": "paper_out", "detail": null}``."""
    printer_id = _agent_printer()
    if not isinstance(data, dict) or data.get("state") not in PRINTER_STATES:
        return refusal(q.Invalid("invalid_field", field="state", problem=", ".join(PRINTER_STATES)))
    detail = data.get("detail")
    app_state().spooler.report(printer_id, Status(data["state"], str(detail)[:200] if detail else None))
    return {"ok": True}


def _agent_printer() -> str:
    """The printer this connection's kiosk agent prints for (``agent.hello``)."""
    agent = agents.get(request.sid)
    if agent is None:
        raise q.QueueError("agent_hello_first")
    return agent[1]


def _agent_kiosk(site, kiosk_id):
    """The kiosk named, or the only kiosk whose printer is a kiosk agent's."""
    config = site.config
    agent_kiosks = [k for k in config.kiosks if k.printer and config.printer(k.printer).driver == "agent"]
    admin = "/admin" if site.id == app_state().first_site_id else f"/s/{site.id}/admin"  # where to add its printer
    if kiosk_id is None:
        if not agent_kiosks:  # fixed at the site's admin page: the agent asks again (not its token's fault)
            raise q.QueueError("no_agent_kiosk", admin=admin)
        if len(agent_kiosks) > 1:
            known = ", ".join(k.id for k in agent_kiosks)
            raise q.Invalid("invalid_field", field="kiosk", problem=Phrase("problem_agent_kiosk", known=known))
        return agent_kiosks[0]
    kiosk = config.kiosk(str(kiosk_id))
    if kiosk is None:
        raise q.NotFound("unknown_kiosk", kiosk=kiosk_id)
    if kiosk not in agent_kiosks:
        printer = config.printer(kiosk.printer) if kiosk.printer else None
        now = Phrase("agent_other_printer", printer=printer.id, driver=printer.driver) if printer else None
        raise q.QueueError("no_agent_printer", kiosk=kiosk.id, admin=admin, now=now or Phrase("agent_no_printer"))
    return kiosk


def _job_ids(values, keys: bool = False) -> list:
    """The job ids given (and with ``keys``, job keys: printers/jobs.py job_key), at most 100."""
    return [
        v
        for v in (values or [])
        if (isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 2**31 - 1) or (keys and isinstance(v, str))
    ][:100]
