"""Small portable SQL helpers: insert-or-ignore and upsert, chosen by dialect."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.sql.schema import ScalarElementColumnDefault

# Old SQLite builds allow 999 bound parameters per statement; stay well below.
CHUNK = 500


def _insert_for(dialect: Dialect, table: Table) -> Any:
    # Both dialects spell ON CONFLICT the same way, but each needs its own construct.
    module = postgresql if dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless it breaks a unique key; True when it was inserted.

    Counted from an explicit ``RETURNING``: ``rowcount`` is -1 on psycopg 3 when the
    dialect adds a RETURNING of its own, and so cannot tell an insert from a conflict.
    """
    key = next(iter(table.primary_key.columns))
    stmt = _insert_for(conn.dialect, table).values(values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


def write_many(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """Insert many rows of the same columns, skipping those whose unique keys are there
    already, or with ``update``, updating those columns of the row with the same ``key``.

    The statement is compiled once per process and each value passes its column's bind
    processing once per distinct value, then the driver runs it for every row:
    SQLAlchemy's own handling of each row's parameters costs about five times the insert
    for narrow rows written by the thousand (spike hits), and most of a new item's
    bookkeeping (seen items, recent items)."""
    if not rows:
        return
    sql, order, positional, processors, defaults = _compiled(
        conn.dialect, table, tuple(rows[0]), tuple(key), tuple(update)
    )
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    columns = list(zip([_remembering(p) for p in processors], order, strict=True))
    try:
        values = [tuple(process(row[name]) for process, name in columns) for row in rows]
    except (TypeError, ValueError) as exc:  # a value its column refuses, as execute reports it
        raise StatementError(str(exc), sql, None, exc) from exc
    except KeyError as exc:
        raise StatementError(f"a row lacks the column {exc}", sql, None, exc) from exc
    if positional:
        params: list[Any] = values
    else:
        params = [dict(zip(order, v, strict=True)) for v in values]
    conn.exec_driver_sql(sql, params)


_Processor = Callable[[Any], Any] | None


@functools.lru_cache(maxsize=64)
def _compiled(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update: tuple[str, ...],
) -> tuple[str, tuple[str, ...], bool, tuple[_Processor, ...], dict[str, Any]]:
    """The SQL of ``write_many``'s statement, its parameters' order, whether they are
    positional, each one's bind processor, and the values of the columns the rows leave
    to their defaults."""
    stmt = _insert_for(dialect, table)
    if update:
        changes = {name: stmt.excluded[name] for name in update}
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=changes)
    else:
        stmt = stmt.on_conflict_do_nothing()
    compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
    order = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
    )
    defaults = {name: _default(table, name) for name in order if name not in columns}
    return str(compiled), order, compiled.positional, processors, defaults


def _default(table: Table, name: str) -> Any:
    default = table.c[name].default
    if not isinstance(default, ScalarElementColumnDefault):
        raise ValueError(f"write_many: give {table.name}.{name}, it has no constant default")
    return default.arg


def _remembering(processor: _Processor) -> Callable[[Any], Any]:
    """``processor`` remembering its results (a window's start repeats in every row)."""
    if processor is None:
        return lambda value: value
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        if value not in seen:
            seen[value] = processor(value)
        return seen[value]

    return process


def upsert(conn: Connection, table: Table, values: dict[str, Any], key: Sequence[str]) -> None:
    """Insert a row, or update every other column of the row with the same ``key``."""
    write_many(conn, table, [values], key=key, update=[name for name in values if name not in key])


def chunks(values: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
