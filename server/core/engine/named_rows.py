"""Prepared statements whose rows are read by column name: the counter's hot path ("next").

``Prepared`` (prepared.py) hands back plain tuples, which is what issuing needs. A counter's
statements read their rows by name (``row.held_id``, ``row.kind``) and through SQLAlchemy's result
types (a date is text on SQLite), and carry values of their own (``status == "waiting"``,
``values(status="called")``). ``Named`` compiles the statement once per dialect as Prepared does,
sends those values as SQLAlchemy would, converts each column as SQLAlchemy's result would and gives
a named tuple per row. Where Prepared would go through ``Connection.execute`` (an ORM Session, a
connection not begun), so does this, and the rows are SQLAlchemy's own, read by the same names.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy import exc
from sqlalchemy.engine import Connection

from .prepared import Prepared


class Named(Prepared):
    def __init__(self, statement):
        super().__init__(statement)
        self._shapes = {}  # dialect -> (the statement's own values, a row maker)

    def _shape(self, dialect):
        try:
            return self._shapes[dialect]
        except KeyError:
            pass
        compiled = self.statement.compile(dialect=dialect)
        # bind names are the same in every compilation of one statement (Prepared's among them)
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        columns = compiled._result_columns
        maker = None
        if columns:
            row = namedtuple("Row", [column.keyname for column in columns])
            convert = [
                (index, processor)
                for index, column in enumerate(columns)
                if (processor := column.type._cached_result_processor(dialect, None)) is not None
            ]
            if not convert:
                maker = row._make
            else:

                def maker(raw, row=row, convert=convert):
                    values = list(raw)
                    for index, processor in convert:
                        values[index] = processor(values[index])
                    return row._make(values)

        self._shapes[dialect] = fixed, maker
        return fixed, maker

    def rows(self, conn: Connection, params: dict, answer: bool = True) -> list[tuple]:
        fixed = self._shape(conn.dialect)[0]
        return super().rows(conn, {**fixed, **params} if fixed else params, answer)

    def named(self, conn, params: dict) -> list:
        """The rows, each read by its columns' names."""
        if not (isinstance(conn, Connection) and conn.in_transaction() and self._for(conn.dialect) is not None):
            return list(conn.execute(self.statement, params))
        maker = self._shape(conn.dialect)[1]
        return [maker(raw) for raw in self.rows(conn, params)]

    def first(self, conn, params: dict):
        """The first row, or None."""
        rows = self.named(conn, params)
        return rows[0] if rows else None

    def one(self, conn, params: dict):
        """The one row (SQLAlchemy's errors when there is none or more)."""
        rows = self.named(conn, params)
        if len(rows) != 1:
            raise exc.NoResultFound("no row") if not rows else exc.MultipleResultsFound("more than one row")
        return rows[0]
