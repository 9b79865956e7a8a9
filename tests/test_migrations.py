"""The Alembic migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queuekiosk.server.db import create_db_engine, migrate
from queuekiosk.server.models import Base


def test_migrations_match_the_models(db_url):
    engine = create_db_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "a model changed without a migration (alembic revision --autogenerate)"
