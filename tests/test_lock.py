"""The instance lock: one process per SQLite database, released however the holder ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import AlreadyRunning, ConfigError, StoreError
from bot.service.lock import acquire_instance_lock, lock_path

ROOT = Path(__file__).resolve().parents[1]

HOLDER = """
import sys
from bot.service.lock import acquire_instance_lock
with acquire_instance_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()  # hold until the test closes our stdin (or kills us)
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'mediabot.db'}"


@pytest.fixture
def holder(url: str) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the lock until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "locked\n"  # waits until the lock is held
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def test_a_second_process_is_refused_with_a_clear_message(
    url: str, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(AlreadyRunning) as caught:
        acquire_instance_lock(url)
    message = str(caught.value)
    assert url in message
    assert f"process {holder.pid}" in message
    assert "only one `mediabot run`" in message
    assert caught.value.pid == holder.pid
    assert isinstance(caught.value, ConfigError)


def test_released_when_the_holder_exits(url: str, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    with acquire_instance_lock(url) as lock:
        assert lock.held


def test_released_when_the_holder_is_killed(url: str, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    assert holder.wait(timeout=30) == -signal.SIGKILL
    with acquire_instance_lock(url) as lock:
        assert lock.held
        assert lock.path is not None
        assert lock.path.read_text() == f"{os.getpid()}\n"  # the dead holder's PID is gone


def test_one_holder_at_a_time_within_a_process_too(url: str, tmp_path: Path) -> None:
    with acquire_instance_lock(url) as first:
        assert first.path == tmp_path / "state" / "mediabot.db.lock"
        assert first.path.read_text() == f"{os.getpid()}\n"
        with pytest.raises(AlreadyRunning, match=f"process {os.getpid()}"):
            acquire_instance_lock(url)
    assert not first.held
    first.release()  # idempotent
    with acquire_instance_lock(url) as again:
        assert again.held
    assert again.path is not None
    assert again.path.read_text() == ""  # cleared on release


def test_relative_paths_sit_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with acquire_instance_lock("sqlite:///data/mediabot.db") as lock:
        assert (tmp_path / "data" / "mediabot.db.lock").is_file()
        assert lock.held


@pytest.mark.parametrize(
    "database_url",
    ["sqlite://", "sqlite:///:memory:", "postgresql://bot:secret@db.example/mediabot"],
)
def test_no_lock_where_none_is_needed(database_url: str) -> None:
    assert lock_path(database_url) is None
    with acquire_instance_lock(database_url) as lock:
        assert not lock.held
        assert lock.path is None


def test_an_unwritable_folder_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(StoreError, match="cannot create the lock file"):
        acquire_instance_lock(f"sqlite:///{blocker / 'sub' / 'x.db'}")


def other_path(kind: str, database: Path, tmp_path: Path) -> Path:
    """Another path to ``database``: a symlink to it, to its folder, or a hard link."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    if kind == "symlink":
        (elsewhere / "link.db").symlink_to(database)
        return elsewhere / "link.db"
    if kind == "symlinked-folder":
        (elsewhere / "folder").symlink_to(database.parent, target_is_directory=True)
        return elsewhere / "folder" / database.name
    os.link(database, elsewhere / "hard.db")
    return elsewhere / "hard.db"


KINDS = ["symlink", "symlinked-folder", "hard-link"]


@pytest.mark.parametrize("kind", KINDS)
def test_another_path_to_the_same_file_is_refused(
    kind: str, url: str, tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """Before, the lock was keyed on the path: through a symlink, a second service ran on
    the same database (3 duplicate alerts in 40)."""
    database = tmp_path / "state" / "mediabot.db"
    assert database.is_file()  # the holder's lock made it, empty, for a new database
    other = other_path(kind, database, tmp_path)
    with pytest.raises(AlreadyRunning) as caught:
        acquire_instance_lock(f"sqlite:///{other}")
    message = str(caught.value)
    assert "in use by another mediabot" in message
    if kind == "hard-link":  # another name: only the lock on the file itself sees it
        assert f"same file {other}" in message and "by another path" in message
    else:  # symlinks resolve to the same lock file, which names the holder
        assert caught.value.pid == holder.pid


@pytest.mark.parametrize("kind", KINDS)
def test_the_other_path_locks_first_and_the_original_is_refused(
    kind: str, url: str, tmp_path: Path
) -> None:
    database = tmp_path / "state" / "mediabot.db"
    database.parent.mkdir()
    database.write_bytes(b"")
    other = other_path(kind, database, tmp_path)
    with acquire_instance_lock(f"sqlite:///{other}") as lock:
        assert lock.held
        with pytest.raises(AlreadyRunning):
            acquire_instance_lock(url)
    with acquire_instance_lock(url) as again:  # released: the original path is free now
        assert again.held


def test_distinct_databases_side_by_side_do_not_collide(tmp_path: Path) -> None:
    with (
        acquire_instance_lock(f"sqlite:///{tmp_path / 'a.db'}") as a,
        acquire_instance_lock(f"sqlite:///{tmp_path / 'b.db'}") as b,
    ):
        assert a.held and b.held
        assert a.path != b.path
    # A copy is another file, not another path to the same one.
    (tmp_path / "a.db").write_bytes(b"x")
    copy = tmp_path / "copy.db"
    copy.write_bytes((tmp_path / "a.db").read_bytes())
    with (
        acquire_instance_lock(f"sqlite:///{tmp_path / 'a.db'}"),
        acquire_instance_lock(f"sqlite:///{copy}") as c,
    ):
        assert c.held


def test_the_database_file_is_left_as_it_was(url: str, tmp_path: Path) -> None:
    database = tmp_path / "state" / "mediabot.db"
    database.parent.mkdir()
    database.write_bytes(b"SQLite format 3\x00" + b"\x01" * 100)
    before = database.read_bytes()
    with acquire_instance_lock(url):
        pass
    assert database.read_bytes() == before
