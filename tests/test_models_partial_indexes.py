"""The partial indexes of server/core/models.py: each database is told the same predicate the
migrations gave it, and a server on SQLite never loads SQLAlchemy's PostgreSQL dialect for them."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.schema import CreateIndex

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.models import Base

PARTIAL = {
    "uq_tickets_held_by_counter": "status IN ('called', 'serving')",
    "ix_outbox_events_pending": "dispatched_at IS NULL",
}


def _index(name):
    return next(index for table in Base.metadata.tables.values() for index in table.indexes if index.name == name)


def test_each_partial_index_has_the_predicate_the_migrated_database_has(migrated_db_url):
    """The models' index made beside the migrated one (as a probe, rolled back) reads the same."""
    engine = create_db_engine(migrated_db_url)
    if engine.dialect.name == "postgresql":
        definition = "SELECT indexdef FROM pg_indexes WHERE indexname = %s"
    else:
        definition = "SELECT sql FROM sqlite_master WHERE name = ?"
    try:
        with engine.connect() as conn:
            for name, where in PARTIAL.items():
                made = str(CreateIndex(_index(name)).compile(dialect=engine.dialect))
                assert made.rstrip().endswith(f"WHERE {where}"), made
                with conn.begin() as transaction:
                    conn.exec_driver_sql(made.replace(name, f"{name}_probe", 1))
                    migrated = conn.exec_driver_sql(definition, (name,)).scalar_one()
                    probe = conn.exec_driver_sql(definition, (f"{name}_probe",)).scalar_one()
                    transaction.rollback()
                assert " ".join(probe.replace(f"{name}_probe", name).split()) == " ".join(migrated.split())
    finally:
        engine.dispose()


def test_the_models_on_sqlite_leave_the_postgresql_dialect_unloaded(tmp_path):
    code = (
        "import sys; from queuekiosk.server.core.db import create_db_engine; "
        f"engine = create_db_engine('sqlite:///{tmp_path}/a.db'); engine.connect().close(); "
        "print('sqlalchemy.dialects.postgresql' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
