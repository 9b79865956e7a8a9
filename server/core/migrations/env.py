"""Alembic environment: the server passes its own connection (see server/core/db.py:migrate)."""

from alembic import context
from sqlalchemy import create_engine

from queuekiosk.server.core.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection):
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:  # `alembic -x url=... revision --autogenerate` while developing
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///instance/dev.db")
    with create_engine(url).begin() as conn:
        run_migrations(conn)
