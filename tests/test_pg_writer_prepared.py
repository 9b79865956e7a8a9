"""The PostgreSQL group writer's ticket statement stays prepared while the rest of the process reads
(server/core/pg_writer.py): psycopg forgets a connection's prepared statements at every ROLLBACK, and
a read ends with one, so the writer keeps a connection of its own that the reads never get. Asked of
the writer's own backend (pg_prepared_statements), on a real PostgreSQL server."""

from __future__ import annotations

import gevent
import pytest
from sqlalchemy import text

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import outbox

pytestmark = pytest.mark.postgres


def prepared_ticket_statement(writer, site) -> tuple[int, int]:
    """On the writer's connection: how many statements are prepared there that insert tickets,
    and how many times they were planned (each execution of a prepared statement counts)."""

    def look(conn, _site):
        return conn.execute(
            text(
                "SELECT count(*), coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
                " WHERE statement ILIKE '%INSERT INTO tickets%'"
            )
        ).one()

    found, plans = writer.submit(look, site, (), {})
    return int(found), int(plans)


def every_pooled_connection_reads(engine) -> None:
    """Each connection the pool would hand out runs a read that ends, as reads do, by rolling back."""
    connections = [engine.connect() for _ in range(engine.pool.size() + 2)]
    for conn in connections:
        conn.execute(text("SELECT 1")).scalar()
    for conn in connections:
        conn.close()


def test_the_writer_s_ticket_statement_stays_prepared_while_others_read(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    service = next(iter(queue.site.service_ids))

    def tickets(count: int) -> None:
        for _ in range(count):  # one after another: a batch each, as a kiosk's tickets come
            outcome = writer.submit(outbox.recording(q.issue), queue.site, (service,), {"check_hours": False})
            assert isinstance(outcome, q.Outcome)

    tickets(8)  # psycopg prepares a statement at its sixth run on a connection
    found, plans_before = prepared_ticket_statement(writer, queue.site)
    assert found == 1, "the ticket statement is not prepared on the writer's connection after 8 tickets"

    readers = [gevent.spawn(every_pooled_connection_reads, queue.engine) for _ in range(3)]
    gevent.joinall(readers, raise_error=True)
    tickets(3)

    found, plans_after = prepared_ticket_statement(writer, queue.site)
    assert found == 1, "the reads' rollbacks wiped the writer's prepared ticket statement"
    assert plans_after >= plans_before + 3  # the three tickets since ran the prepared statement
    with queue.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tickets")).scalar() == 11
