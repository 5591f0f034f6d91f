"""Schema migrations: Alembic, run in-process, no ini file needed on the user's side.

To change the schema, edit ``bot/store/tables.py`` and add the next revision by hand in
``migrations/versions/`` (``0002_<what>.py``, ``down_revision = "0001"``, the same layout
as ``0001_initial.py``); ``tests/test_store.py`` fails while the two disagree.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import StoreError
from bot.store.engine import WRITE, safe_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: PostgreSQL processes starting together take turns migrating.
_PG_LOCK_KEY = 0x6D656469  # "medi"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision; a no-op when it is there already."""
    where = safe_url(engine.url)
    try:
        with engine.execution_options(**WRITE).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            before = current_revision(conn)
            command.upgrade(alembic_config(conn), "head")
            after = current_revision(conn)
    except CommandError as exc:
        raise StoreError(
            f"cannot migrate {where}: {exc} (was it written by a newer mediabot?)"
        ) from None
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {where}: {describe(exc)}") from exc
    if before != after:
        log.info("store_migrated", extra={"from_revision": before, "to_revision": after})
    else:
        log.debug("store_up_to_date", extra={"revision": after})


def describe(exc: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement dump and help link."""
    orig = getattr(exc, "orig", None)
    return str(orig).strip() if orig is not None else type(exc).__name__
