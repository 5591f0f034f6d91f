"""The store's own health: failures in a row make it report itself failing until a
transaction works again, and a SQLite file deleted or replaced under it is noticed."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import StoreError
from bot.models import Destination
from bot.store import Store
from bot.store.health import StoreHealth


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "mediabot.db"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[Store]:
    with Store(f"sqlite:///{db_path}", health=StoreHealth(after=3, seconds=60, clock=clock)) as s:
        s.migrate()
        yield s


@pytest.fixture
def changes(store: Store) -> list[str | None]:
    seen: list[str | None] = []
    store.health.watch(seen.append)
    return seen


def rename_table(db_path: Path, old: str, new: str) -> None:
    """Another program changes the schema under the running store."""
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"ALTER TABLE {old} RENAME TO {new}")


def fail_once(store: Store) -> str:
    with pytest.raises(StoreError) as info:
        store.outbox_depth()
    return str(info.value)


def test_failures_in_a_row_make_the_store_failing_until_a_call_works(
    store: Store, db_path: Path, changes: list[str | None]
) -> None:
    rename_table(db_path, "outbox", "outbox_aside")
    fail_once(store)
    fail_once(store)
    assert store.check() is None and changes == []  # two failures may be weather
    fail_once(store)
    problem = store.check()
    assert problem is not None
    assert problem.startswith("3 database calls in a row failed over 0 s; the last: cannot read")
    assert "no such table: outbox" in problem
    fail_once(store)
    assert changes == [problem]  # told once, however many failures follow
    rename_table(db_path, "outbox_aside", "outbox")
    assert store.outbox_depth() == 0
    assert store.check() is None and changes == [problem, None]


def test_a_success_between_failures_starts_the_count_again(
    store: Store, db_path: Path, changes: list[str | None]
) -> None:
    rename_table(db_path, "outbox", "outbox_aside")
    fail_once(store)
    fail_once(store)
    assert store.seen_count() == 0  # another table still works
    fail_once(store)
    assert store.check() is None and store.health.failures == 1 and changes == []


def test_failures_that_go_on_long_enough_make_the_store_failing(
    store: Store, db_path: Path, clock: Clock
) -> None:
    rename_table(db_path, "outbox", "outbox_aside")
    fail_once(store)
    clock.now = 59.0
    fail_once(store)
    assert store.check() is None
    clock.now = 60.0
    fail_once(store)  # the third would do as well: this one is 60 s after the first
    assert (store.check() or "").startswith("3 database calls in a row failed over 60 s")


def test_a_deleted_database_file_is_noticed_at_once_and_nothing_goes_into_it(
    store: Store, db_path: Path, changes: list[str | None]
) -> None:
    backup = db_path.with_name("kept.db")
    os.link(db_path, backup)
    db_path.unlink()
    expected = (
        f"the database file {db_path} was deleted or replaced while mediabot was running; "
        "restart to recreate it — queued alerts in the old file are lost"
    )
    assert store.check() == expected
    assert fail_once(store) == expected
    with pytest.raises(StoreError):
        store.subscribe(Destination(7), "taiwan")  # writes are refused too
    assert not db_path.exists()  # no fresh, empty database was made at the path
    assert changes == [expected]
    os.link(backup, db_path)  # the very file is back
    assert store.check() == expected  # until a transaction works again
    assert store.outbox_depth() == 0
    assert store.check() is None and changes == [expected, None]


def test_a_database_file_replaced_by_another_is_noticed(store: Store, db_path: Path) -> None:
    copy = db_path.with_name("copy.db")
    shutil.copyfile(db_path, copy)
    os.replace(copy, db_path)
    problem = fail_once(store)
    assert "was deleted or replaced while mediabot was running" in problem
    assert store.check() == problem


def test_a_store_on_a_new_file_takes_its_identity_once_created(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with Store(f"sqlite:///{path}") as store:
        store.migrate()
        path.unlink()
        assert store.check() is not None


def test_a_memory_store_has_no_file_to_watch() -> None:
    with Store("sqlite://") as store:
        store.migrate()
        assert store.outbox_depth() == 0
        assert store.check() is None
