"""Alembic environment for the mediabot store.

``bot.store.migrate`` runs it in-process and hands over an open connection through
``config.attributes["connection"]``, so the store's engine settings (SQLite pragmas,
transactions) apply to migrations too. Logging is left as the application set it up:
no ``fileConfig`` here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.store.engine import build_engine, parse_url
from bot.store.tables import metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    # Run by hand (e.g. ``alembic revision --autogenerate`` with a developer's ini file).
    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///data/mediabot.db"
    engine = build_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            _configure(conn)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
