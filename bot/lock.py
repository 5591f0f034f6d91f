"""One service per SQLite database: an exclusive ``flock`` on ``<database file>.lock``.

Two ``mediabot run`` processes on one SQLite file would both drain the outbox and could
send an alert twice. The first takes the lock and writes its PID into the lock file; a
second one fails at once with ``AlreadyRunning`` naming the database and that PID.

The kernel drops the lock when its holder exits, however it exits (SIGKILL included), so
a crash never leaves a stale lock behind; the file itself stays, and is reused. ``flock``
works between processes and containers on one host sharing the same local file system;
it is not reliable on network file systems (neither is SQLite).

PostgreSQL needs no lock here: there the roles may run as many processes as wanted, and
they coordinate through the database itself (row leases, ``SKIP LOCKED``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from types import TracebackType

from bot.errors import AlreadyRunning, StoreError
from bot.store.engine import is_memory, parse_url, safe_url

log = logging.getLogger(__name__)


class InstanceLock:
    """A held instance lock (or none, for databases that need none); a context manager."""

    def __init__(self, path: Path | None, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent). The PID is cleared first, while still held."""
        fd, self._fd = self._fd, None
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


def lock_path(database_url: str) -> Path | None:
    """Where the lock of this database lives; None when it needs none."""
    url = parse_url(database_url)
    if url.get_backend_name() != "sqlite" or is_memory(url):
        return None  # PostgreSQL: row leases; in-memory SQLite: nothing to share
    assert url.database is not None
    database = url.database
    if database.startswith("file:"):  # a URI filename: file:path?mode=...
        database = database[len("file:") :].split("?", 1)[0]
        if not database:
            return None
    path = Path(database)
    return path.with_name(path.name + ".lock")


def acquire_instance_lock(database_url: str) -> InstanceLock:
    """Take the instance lock of ``database_url`` or raise ``AlreadyRunning`` at once."""
    path = lock_path(database_url)
    if path is None:
        return InstanceLock(None, None)
    where = safe_url(parse_url(database_url))
    fd = _open(path, where)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _read_pid(fd)
        os.close(fd)
        holder = f"process {pid}" if pid is not None else "another process"
        raise AlreadyRunning(
            f"{where} is in use by another mediabot ({holder}, lock file {path}); "
            "only one `mediabot run` may use a SQLite database at a time. Stop the other "
            "one first, or give this one its own MEDIABOT_DATABASE_URL.",
            pid=pid,
        ) from None
    except BaseException:
        os.close(fd)
        raise
    _write_pid(fd)
    log.debug("instance_lock_acquired", extra={"lock_file": str(path), "pid": os.getpid()})
    return InstanceLock(path, fd)


def _open(path: Path, where: str) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not inherited by child processes (O_CLOEXEC is Python's default).
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"cannot create the lock file {str(path)!r} for {where}: {exc.strerror or exc}"
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
