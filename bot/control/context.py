"""The values every command works with: dependencies, the call, the command table entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock, utc_now
from bot.errors import RulesError
from bot.feeds.fetch import Fetcher
from bot.rules.book import Rules
from bot.store import Store
from bot.store.aio import AsyncStore, Offload, to_thread
from bot.telegram.i18n import t
from bot.telegram.protocol import Caller, Reply
from bot.watches import WatchBook

MAX_ARGS = 300


@dataclass(slots=True)
class ReloadState:
    """The outcome of the last rules reload (None: none since start)."""

    when: datetime | None = None
    problems: tuple[str, ...] = ()


class Notify(Protocol):
    """Tell every admin; notes with the same ``key`` are told once."""

    def __call__(self, text: str, *, key: str | None = None) -> Awaitable[None]: ...


@dataclass(slots=True)
class Deps:
    store: Store
    admin_ids: frozenset[int]
    rules: Rules
    reload: Callable[[], Awaitable[RulesError | None]]
    rules_dir: Path
    fetcher: Fetcher
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    started_at: datetime = field(default_factory=utc_now)
    clock: Clock = utc_now
    last_reload: ReloadState = field(default_factory=ReloadState)
    offload: Offload = to_thread  # where store calls run (bot.store.aio)
    notify: Notify | None = None  # None: admins are not told (tests, tools)
    # Personal watches: this process's compiled ones (refreshed after a change, so a
    # poller in this process matches a new watch at once), and the most one chat may have.
    watches: WatchBook | None = None
    max_watches: int = 20
    # The store as coroutines: what commands use, so the event loop never waits on it.
    db: AsyncStore = field(init=False)

    def __post_init__(self) -> None:
        self.db = AsyncStore(self.store, self.offload)


@dataclass(frozen=True, slots=True)
class Call:
    """One command or button press: the dependencies, the caller and their language."""

    deps: Deps
    caller: Caller
    lang: str

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def now(self) -> datetime:
        return self.deps.clock()

    def local(self, when: datetime) -> str:
        local = when.astimezone(self.deps.tz)
        return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


Run = Callable[[Call, str], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    run: Run
    admin: bool = False
    max_args: int = MAX_ARGS
