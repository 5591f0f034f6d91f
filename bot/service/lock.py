"""One service per SQLite database, whatever path leads to it.

Two ``mediabot run`` processes on one SQLite file would both drain the outbox and could
send an alert twice. The first takes two exclusive ``flock`` locks; a second one fails at
once with ``AlreadyRunning``:

- on the database file itself. A lock belongs to the file, not to a name for it, so every
  path to the same file meets it: a symlink, a symlinked folder, a hard link, a bind
  mount. (The file is created empty if it does not exist yet; SQLite takes an empty file
  for a new database.) SQLite locks with ``fcntl``, which on Linux is independent of
  ``flock``; but closing any descriptor of the file drops the ``fcntl`` locks this process
  holds on it, so the lock is released only after the process's connections are closed.
- on ``<database file>.lock`` beside the file, its path with symlinks resolved. It holds
  the PID of the process that owns the database, for the message the second one gives.

The kernel drops both when their holder exits, however it exits (SIGKILL included), so
a crash never leaves a stale lock behind; the ``.lock`` file itself stays, and is reused.
``flock`` works between processes and containers on one host sharing the same local file
system; it is not reliable on network file systems (neither is SQLite).

PostgreSQL needs no lock here: there the roles may run as many processes as wanted, and
they coordinate through the database itself (row leases, ``SKIP LOCKED``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bot.errors import AlreadyRunning, StoreError
from bot.store.engine import is_memory, parse_url, safe_url

log = logging.getLogger(__name__)


class InstanceLock:
    """A held instance lock (or none, for databases that need none); a context manager."""

    def __init__(self, path: Path | None, fd: int | None, database_fd: int | None = None) -> None:
        self.path = path
        self._fd = fd
        self._database_fd = database_fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent). The PID is cleared first, while still held.

        Call it after this process's connections to the database are closed (see the
        module docstring)."""
        fd, self._fd = self._fd, None
        database_fd, self._database_fd = self._database_fd, None
        if database_fd is not None:
            os.close(database_fd)  # which drops its lock
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        log.debug("instance_lock_released", extra={"lock_file": str(self.path)})

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"InstanceLock({str(self.path)!r}, held={self.held})"


def database_path(database_url: str) -> Path | None:
    """The SQLite file of ``database_url``, symlinks resolved; None when there is none."""
    url = parse_url(database_url)
    if url.get_backend_name() != "sqlite" or is_memory(url):
        return None  # PostgreSQL: row leases; in-memory SQLite: nothing to share
    assert url.database is not None
    database = url.database
    if database.startswith("file:"):  # a URI filename: file:path?mode=...
        database = database[len("file:") :].split("?", 1)[0]
        if not database:
            return None
    return Path(database).resolve()


def lock_path(database_url: str) -> Path | None:
    """Where the PID lock of this database lives; None when it needs none."""
    path = database_path(database_url)
    return None if path is None else path.with_name(path.name + ".lock")


def acquire_instance_lock(database_url: str) -> InstanceLock:
    """Take the instance lock of ``database_url`` or raise ``AlreadyRunning`` at once."""
    database = database_path(database_url)
    if database is None:
        return InstanceLock(None, None)
    path = database.with_name(database.name + ".lock")
    where = safe_url(parse_url(database_url))
    fd = _open(path, where, "lock file")
    try:
        _lock(fd, lambda: _held_by_pid(fd, where, path))
        database_fd = _open(database, where, "database file")
        try:
            _lock(database_fd, lambda: _held_through_another_path(where, database))
        except BaseException:
            os.close(database_fd)
            raise
    except BaseException:
        os.close(fd)
        raise
    _write_pid(fd)
    log.debug("instance_lock_acquired", extra={"lock_file": str(path), "pid": os.getpid()})
    return InstanceLock(path, fd, database_fd)


def _lock(fd: int, refusal: Callable[[], AlreadyRunning]) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise refusal() from None


def _held_by_pid(fd: int, where: str, path: Path) -> AlreadyRunning:
    pid = _read_pid(fd)
    holder = f"process {pid}" if pid is not None else "another process"
    return AlreadyRunning(
        f"{where} is in use by another mediabot ({holder}, lock file {path}); {_ONLY_ONE}",
        pid=pid,
    )


def _held_through_another_path(where: str, database: Path) -> AlreadyRunning:
    return AlreadyRunning(
        f"{where} is in use by another mediabot that reached the same file {database} "
        f"by another path (a hard link or a bind mount); {_ONLY_ONE}"
    )


_ONLY_ONE = (
    "only one `mediabot run` may use a SQLite database at a time. Stop the other one "
    "first, or give this one its own MEDIABOT_DATABASE_URL."
)


def _open(path: Path, where: str, what: str) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not inherited by child processes (O_CLOEXEC is Python's default).
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot create the {what} {str(path)!r} for {where}: {exc.strerror or exc}"
        ) from None


def _write_pid(fd: int) -> None:
    with contextlib.suppress(OSError):  # the PID is a courtesy; the lock is what counts
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
