"""Admin reports (``/status``, ``/feeds``, ``/rules``, ``/reload``) as Telegram HTML.

Built with ``bot.telegram.replies.Doc``: every value escaped, long lists cut to fit.
Admin reports are in English: they quote rule files, ids and errors as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Message
from bot.telegram.replies import Doc

__all__ = [
    "FeedRow",
    "ReloadView",
    "StatusView",
    "TopicSummary",
    "feeds_report",
    "reloaded",
    "rules_report",
    "status_report",
]

MAX_PROBLEMS = 10
_ERROR_CHARS = 200


def _short(text: str, limit: int = _ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ReloadView:
    """The last reload: when, and its problems (none: it succeeded)."""

    when: str | None
    version: str
    problems: tuple[str, ...] = ()


def _reload(doc: Doc, view: ReloadView) -> None:
    doc.add("Rules: version ").code(view.version)
    if view.when is None:
        doc.line(" (as loaded at start)")
    elif not view.problems:
        doc.line(f" · last reload OK at {view.when}")
    else:
        doc.add(f" · last reload at {view.when} ").bold("FAILED").line(
            " (the rules above stay in use):"
        )
        for problem in view.problems[:MAX_PROBLEMS]:
            doc.add("• ").code(_short(problem, 300)).line()
        if len(view.problems) > MAX_PROBLEMS:
            doc.line(f"… and {len(view.problems) - MAX_PROBLEMS} more")


@dataclass(frozen=True, slots=True)
class ProcessLine:
    """One mediabot process as /status shows it."""

    host: str
    pid: int
    roles: str
    active: str  # the single-leader roles it leads now
    rules_version: str | None
    beat_ago: int  # seconds since its last heartbeat
    alive: bool


@dataclass(frozen=True, slots=True)
class StatusView:
    uptime: str
    reload: ReloadView
    feeds_ok: int
    feeds_failing: int
    feeds_paused: int
    feeds_pending: int
    items_hour: int
    items_day: int
    alerts_hour: int
    alerts_day: int
    outbox: int
    last_poll: str | None
    worst: tuple[tuple[str, int, str], ...]  # (feed id, consecutive errors, last error)
    processes: tuple[ProcessLine, ...] = ()
    gone: tuple[tuple[str, str, str], ...] = ()  # (chat, reason, since)
    next_digest: str | None = None  # the earliest slot of items held for a digest
    digest_items: int = 0  # items held for digests


def status_report(view: StatusView) -> Message:
    doc = Doc().bold("mediabot status").line()
    doc.line(f"Up {view.uptime}")
    _reload(doc, view.reload)
    doc.line(
        f"Feeds: {view.feeds_ok} ok · {view.feeds_failing} failing · "
        f"{view.feeds_paused} paused · {view.feeds_pending} not polled yet"
    )
    doc.line(f"Items seen: {view.items_hour} last hour · {view.items_day} last day")
    doc.line(f"Alerts sent: {view.alerts_hour} last hour · {view.alerts_day} last day")
    doc.line(f"Outbox: {view.outbox} queued")
    if view.next_digest:
        items = f"{view.digest_items} item" + ("" if view.digest_items == 1 else "s")
        doc.line(f"Digests: {items} held, next goes out {view.next_digest}")
    doc.line(f"Last poll: {view.last_poll or 'never'}")
    if view.worst:
        doc.line().bold("Failing feeds").line()
        for feed_id, errors, error in view.worst:
            doc.add("• ").code(feed_id).add(f" ({errors}×) ").line(_short(error))
    _processes(doc, view.processes, view.reload.version)
    if view.gone:
        doc.line().bold(f"Chats not sent to ({len(view.gone)})").line()
        for chat, reason, since in view.gone[:10]:
            doc.add("• ").code(chat).add(f" since {since}: ").line(_short(reason))
        doc.line("Send again with /resumechat CHAT.")
    return doc.message()


def _processes(doc: Doc, lines: Sequence[ProcessLine], version: str) -> None:
    if not lines:
        return
    alive = [p for p in lines if p.alive]
    versions = {p.rules_version for p in alive}
    doc.line().bold(f"Processes ({len(alive)} running)").line()
    for p in lines[:20]:
        lead = f", leads {p.active}" if p.active else ""
        state = f"beat {p.beat_ago}s ago" if p.alive else f"silent for {p.beat_ago}s"
        skew = " ⚠️" if p.alive and p.rules_version != version else ""
        doc.add("• ").code(f"{p.host}:{p.pid}").add(f" {p.roles}{lead} · {state} · rules ")
        doc.code(p.rules_version or "?").line(skew)
    if len(versions) > 1:
        doc.line("⚠️ Processes run different rules versions: check that they share the rules.")


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: str
    name: str
    url: str
    state: str  # ok | failing | paused | new
    interval: str
    last_success: str | None
    errors: int
    last_error: str | None


_ICONS = {"ok": "✅", "failing": "⚠️", "paused": "⏸", "new": "🆕"}


def feeds_report(rows: Sequence[FeedRow]) -> Message:
    doc = Doc().bold(f"Feeds ({len(rows)})").line()
    if not rows:
        doc.line("No feeds. Add one with /addfeed URL.")
    for row in rows:
        doc.line().add(_ICONS.get(row.state, "·") + " ").code(row.id).add(" ").bold(row.name)
        doc.line(f" · every {row.interval}")
        doc.line(row.url)
        if row.state == "failing":
            doc.line(f"{row.errors} failed poll(s) in a row: {_short(row.last_error or '')}")
        elif row.last_success:
            doc.line(f"last success {row.last_success}")
    doc.line().italic("/pausefeed ID · /resumefeed ID · /removefeed ID")
    return doc.message()


@dataclass(frozen=True, slots=True)
class TopicSummary:
    id: str
    name: str
    scope: str
    channels: tuple[str, ...]
    subscribers: int
    delivery: str


@dataclass(frozen=True, slots=True)
class SpikeSummary:
    id: str
    name: str
    watching: str  # "every entity (1000)", "3: 普京 · Vladimir Putin, …"
    rule: str  # "each 1h against the 7d before · ×3, at least 5 items"
    channels: tuple[str, ...]
    subscribers: int
    delivery: str


def _audience(doc: Doc, channels: Sequence[str], subscribers: int) -> None:
    destinations = list(channels)
    if subscribers:
        destinations.append(f"{subscribers} subscriber chat(s)")
    doc.line("  to: " + (", ".join(destinations) or "nobody yet"))


def rules_report(
    topics: Sequence[TopicSummary],
    feeds_total: int,
    reload: ReloadView,
    spikes: Sequence[SpikeSummary] = (),
) -> Message:
    head = f"Rules: {len(topics)} topics, {feeds_total} feeds"
    doc = Doc().bold(head + (f", {len(spikes)} spikes" if spikes else "")).line()
    _reload(doc, reload)
    for topic in topics:
        doc.line().add("• ").bold(topic.name).add(" ").code(topic.id).line()
        doc.line(f"  feeds: {topic.scope} · delivery: {topic.delivery}")
        _audience(doc, topic.channels, topic.subscribers)
    for spike in spikes:
        doc.line().add("📈 ").bold(spike.name).add(" ").code(spike.id).line()
        doc.line(f"  watches: {spike.watching}")
        doc.line(f"  {spike.rule} · delivery: {spike.delivery}")
        _audience(doc, spike.channels, spike.subscribers)
    return doc.message()


def reloaded(view: ReloadView, topics: int, feeds_total: int) -> Message:
    if view.problems:
        doc = Doc().bold("Reload failed").line(": the last good rules stay in use.")
        for problem in view.problems[:MAX_PROBLEMS]:
            doc.add("• ").code(_short(problem, 300)).line()
        if len(view.problems) > MAX_PROBLEMS:
            doc.line(f"… and {len(view.problems) - MAX_PROBLEMS} more")
        return doc.message()
    doc = Doc().bold("Rules reloaded").add(": version ").code(view.version)
    return doc.line(f" · {topics} topics, {feeds_total} feeds").message()
