"""Opening the database: URL checks, the data folder, SQLite pragmas, transactions.

Every error message names the database with its password hidden (``safe_url``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from bot.errors import StoreError

SUPPORTED = ("sqlite", "postgresql")
BUSY_TIMEOUT_MS = 10_000
# Connections opened through ``engine.execution_options(**WRITE)`` start their SQLite
# transaction with BEGIN IMMEDIATE: a writer takes the lock up front and waits its turn
# (busy timeout) instead of failing on a read-to-write lock upgrade.
WRITE = {"mediabot_write": True}
# Connections a PostgreSQL engine keeps open: at least as many as the threads that use the
# store at once (a poller: its database threads, bot.store.aio, and one per poll in flight).
# A connection over the pool is closed after its use: a busy poller would open one, and
# PostgreSQL start a backend for it, every few polls.
POOL_SIZE = 20


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The text may hold a password: never repeat it.
        raise StoreError(
            "invalid database URL: expected e.g. sqlite:///data/mediabot.db or "
            "postgresql://user@host/dbname"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r} in {safe_url(parsed)}: "
            "use sqlite:///path or postgresql://..."
        )
    return _pick_postgres_driver(parsed)


def safe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _pick_postgres_driver(url: URL) -> URL:
    """Plain ``postgresql://`` gets whichever driver is installed, psycopg 3 first.

    SQLAlchemy's own default for the bare name differs between releases.
    """
    if url.drivername != "postgresql":
        return url
    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return url.set(drivername=driver)
    return url


def is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url.query)


def sqlite_path(url: URL) -> Path | None:
    """The absolute path of a SQLite database file; None for memory, URI names and
    other databases."""
    if url.get_backend_name() != "sqlite" or is_memory(url):
        return None
    assert url.database is not None
    if url.database.startswith("file:"):
        return None
    return Path(url.database).absolute()


def build_engine(url: URL) -> Engine:
    """An engine for ``url``; for a SQLite file, its folder is created first."""
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        if is_memory(url):
            # One shared connection: each new connection to :memory: is a new, empty database.
            options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        else:
            _make_folder(url)
    else:
        options = {"pool_size": POOL_SIZE}
    try:
        engine = create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"no database driver for {safe_url(url)}: {exc} "
            "(PostgreSQL needs psycopg or psycopg2 installed)"
        ) from None
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _make_folder(url: URL) -> None:
    assert url.database is not None
    if url.database.startswith("file:"):  # a URI filename: leave it to SQLite
        return
    folder = Path(url.database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {str(folder)!r} for {safe_url(url)}: {exc.strerror or exc}"
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below): sqlite3's own handling skips it before
        # SELECT and DDL, which would break atomic reads and transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Safe with WAL: a power cut may lose the last commit, never corrupt the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("mediabot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
