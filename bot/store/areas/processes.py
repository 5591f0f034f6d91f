"""The processes sharing the database, each with its heartbeat row (``bot.store.processes``)."""

from __future__ import annotations

from bot.store import processes
from bot.store.database import Database


class Processes(Database):
    """This process's row, and every process running."""

    def beat(self, row: processes.ProcessRow) -> None:
        """Write this process's row: its roles, what it leads, its rules version, now."""
        with self._write() as conn:
            processes.beat(conn, row)

    def forget_process(self, process_id: str) -> None:
        with self._write() as conn:
            processes.remove(conn, process_id)

    def running_processes(self) -> list[processes.ProcessRow]:
        """Every process that has beaten in the last day, by host and pid."""
        with self._read() as conn:
            return processes.listing(conn)
