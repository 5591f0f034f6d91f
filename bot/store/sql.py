"""Small portable SQL helpers: insert-or-ignore and upsert, chosen by dialect."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# Old SQLite builds allow 999 bound parameters per statement; stay well below.
CHUNK = 500


def _insert(conn: Connection, table: Table) -> Any:
    # Both dialects spell ON CONFLICT the same way, but each needs its own construct.
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless it breaks a unique key; True when it was inserted.

    Counted from an explicit ``RETURNING``: ``rowcount`` is -1 on psycopg 3 when the
    dialect adds a RETURNING of its own, and so cannot tell an insert from a conflict.
    """
    key = next(iter(table.primary_key.columns))
    stmt = _insert(conn, table).values(values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


def insert_many_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose unique keys are already there."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), list(rows))


def upsert(conn: Connection, table: Table, values: dict[str, Any], key: Sequence[str]) -> None:
    """Insert a row, or update every other column of the row with the same ``key``."""
    stmt = _insert(conn, table).values(values)
    changes = {name: stmt.excluded[name] for name in values if name not in key}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=changes))


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
