"""Notes to admins, through the outbox: whichever process has the news, the active sender
delivers it within Telegram's limits. Notes with the same key are told once, across
processes and restarts (the store keeps the keys)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence

from bot.errors import StoreError
from bot.feeds.policy import Notice
from bot.store import Store
from bot.store.aio import Offload

log = logging.getLogger(__name__)


def short_name(text: str) -> str:
    """A short stable name for a secret or a long text (never the text itself)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class AdminNotes:
    """Satisfies ``bot.control.context.Notify`` and ``bot.delivery.chats.Notify``."""

    def __init__(
        self,
        store: Store,
        admin_ids: Sequence[int],
        *,
        wake: Callable[[], None],
        offload: Offload,
    ) -> None:
        self._store = store
        self._admin_ids = list(admin_ids)
        self._wake = wake  # the sender's: a note is queued
        self._db = offload

    async def __call__(self, text: str, *, key: str | None = None) -> None:
        """A plain-text note to every admin's private chat; a store error is logged, never
        raised (a failed notice must never stop the service)."""
        if not self._admin_ids:
            return
        try:
            await self._db(
                self._store.enqueue_notice, key or f"note:{uuid.uuid4().hex}", text, self._admin_ids
            )
        except StoreError as exc:
            log.warning("admin_notify_failed", extra={"error": str(exc)})
        self._wake()

    async def feed_notice(self, notice: Notice) -> None:
        """A feed that keeps failing or went silent (``bot.feeds.policy``)."""
        await self(notice.text)
