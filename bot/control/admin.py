"""Admin reports: /status, /feeds, /rules, /reload (the caller was checked by ``Control``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.control.admin_feeds import addfeed, pausefeed, removefeed, resumefeed
from bot.control.admin_tools import stats, test
from bot.control.context import Call, Command
from bot.models import FeedState
from bot.rules.model import FeedRule, Spike
from bot.spikes.windows import compact
from bot.telegram.protocol import Reply
from bot.telegram.render_spike import watched_label
from bot.telegram.replies import plain
from bot.telegram.replies_admin import (
    FeedRow,
    ProcessLine,
    ReloadView,
    SpikeSummary,
    StatusView,
    TopicSummary,
    feeds_report,
    reloaded,
    rules_report,
    status_report,
)
from bot.text.duration import format_duration

WORST = 5
# A process whose last heartbeat is older than this is shown as silent (it beats every 15 s).
PROCESS_ALIVE = timedelta(seconds=60)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _uptime(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"


def _reload_view(call: Call) -> ReloadView:
    state = call.deps.last_reload
    when = call.local(state.when) if state.when else None
    return ReloadView(when, call.deps.rules.current().version, state.problems)


def feed_state_name(feed: FeedRule, state: FeedState | None) -> str:
    if not feed.enabled:
        return "paused"
    if state is None or state.last_poll is None:
        return "new"
    return "failing" if state.consecutive_errors else "ok"


async def status(call: Call, args: str) -> Reply:
    deps, now = call.deps, call.now()
    feeds = deps.rules.current().rules.feeds
    states = {s.feed_id: s for s in await deps.db.feed_states()}
    kinds = [feed_state_name(f, states.get(f.id)) for f in feeds]
    polls = [s.last_poll for s in states.values() if s.last_poll is not None]
    failing = sorted(
        (s for f in feeds if f.enabled and (s := states.get(f.id)) and s.consecutive_errors),
        key=lambda s: (-s.consecutive_errors, s.feed_id),
    )
    view = StatusView(
        uptime=_uptime(now - deps.started_at),
        reload=_reload_view(call),
        feeds_ok=kinds.count("ok"),
        feeds_failing=kinds.count("failing"),
        feeds_paused=kinds.count("paused"),
        feeds_pending=kinds.count("new"),
        items_hour=await deps.db.items_seen_since(now - HOUR),
        items_day=await deps.db.items_seen_since(now - DAY),
        alerts_hour=await deps.db.alerts_sent_since(now - HOUR),
        alerts_day=await deps.db.alerts_sent_since(now - DAY),
        outbox=await deps.db.outbox_depth(),
        next_digest=call.local(slot) if (slot := await deps.db.next_digest_time()) else None,
        digest_items=await deps.db.digest_items_held(),
        last_poll=call.local(max(polls)) if polls else None,
        worst=tuple((s.feed_id, s.consecutive_errors, s.last_error or "") for s in failing[:WORST]),
        processes=tuple(
            ProcessLine(
                host=p.host,
                pid=p.pid,
                roles=p.roles,
                active=p.active,
                rules_version=p.rules_version,
                beat_ago=max(0, int((now - p.heartbeat).total_seconds())),
                alive=now - p.heartbeat <= PROCESS_ALIVE,
            )
            for p in await deps.db.running_processes()
        ),
        gone=tuple(
            (str(chat), reason, call.local(since))
            for chat, reason, since in await deps.db.gone_chats()
        ),
    )
    return Reply(message=status_report(view))


async def resumechat(call: Call, args: str) -> Reply:
    """Send to a chat again that had blocked or removed the bot."""
    text = args.strip()
    if not text:
        return Reply(
            message=plain("Usage: /resumechat CHAT (a chat id such as -1001234567890, or @name)")
        )
    chat: int | str = int(text) if text.lstrip("-").isdigit() else text
    if isinstance(chat, str) and not chat.startswith("@"):
        return Reply(message=plain(f"Not a chat: {text!r}. Give a chat id or @name."))
    if await call.deps.db.resume_chat(chat):
        return Reply(message=plain(f"Alerts go to {chat} again."))
    return Reply(message=plain(f"{chat} was not stopped; nothing to resume."))


def _interval(feed: FeedRule) -> str:
    if feed.interval is None:
        return "default interval"
    return format_duration(feed.interval)


def _ago(now: datetime, when: datetime | None, call: Call) -> str | None:
    return call.local(when) if when else None


async def feeds(call: Call, args: str) -> Reply:
    now = call.now()
    states = {s.feed_id: s for s in await call.deps.db.feed_states()}
    rows = []
    for feed in call.deps.rules.current().rules.feeds:
        state = states.get(feed.id)
        rows.append(
            FeedRow(
                id=feed.id,
                name=feed.name or (state.title if state else None) or feed.id,
                url=feed.url,
                state=feed_state_name(feed, state),
                interval=_interval(feed),
                last_success=_ago(now, state.last_success if state else None, call),
                errors=state.consecutive_errors if state else 0,
                last_error=state.last_error if state else None,
            )
        )
    return Reply(message=feeds_report(rows))


async def rules(call: Call, args: str) -> Reply:
    book = call.deps.rules.current()
    subscribed: dict[str, int] = {}
    for _, topic_id in await call.deps.db.subscriptions():
        subscribed[topic_id] = subscribed.get(topic_id, 0) + 1
    ruleset = book.rules
    topics = [
        TopicSummary(
            id=t.id,
            name=t.name or t.id,
            scope=", ".join(t.feeds) if t.feeds else "all feeds",
            channels=tuple(str(d) for d in t.channels),
            subscribers=subscribed.get(t.id, 0),
            delivery=t.delivery,
        )
        for t in ruleset.topics
    ]
    spikes = [
        SpikeSummary(
            id=s.id,
            name=s.name,
            watching=_watching(s),
            rule=(
                f"each {compact(s.window)} against the {compact(s.baseline)} before"
                f" · ×{s.factor:g}, at least {s.min_items} items"
            ),
            channels=tuple(str(d) for d in s.channels),
            subscribers=subscribed.get(s.id, 0),
            delivery=s.delivery,
        )
        for s in ruleset.spikes
    ]
    report = rules_report(topics, len(ruleset.feeds), _reload_view(call), spikes)
    return Reply(message=report)


WATCHED_SHOWN = 5  # names /rules lists per spike


def _watching(spike: Spike) -> str:
    labels = [watched_label(w) for w in spike.watch]
    shown = ", ".join(labels[:WATCHED_SHOWN])
    more = len(labels) - WATCHED_SHOWN
    return f"{len(labels)}: {shown}" + (f", … and {more} more" if more > 0 else "")


async def reload(call: Call, args: str) -> Reply:
    error = await call.deps.reload()
    problems = tuple(str(p) for p in error.problems) if error else ()
    call.deps.last_reload.when = call.now()
    call.deps.last_reload.problems = problems
    book = call.deps.rules.current()
    view = ReloadView(call.local(call.now()), book.version, problems)
    return Reply(message=reloaded(view, len(book.rules.topics), len(book.rules.feeds)))


ADMIN_COMMANDS: tuple[Command, ...] = (
    Command("status", status, admin=True),
    Command("feeds", feeds, admin=True),
    Command("addfeed", addfeed, admin=True, max_args=2200),
    Command("removefeed", removefeed, admin=True),
    Command("pausefeed", pausefeed, admin=True),
    Command("resumefeed", resumefeed, admin=True),
    Command("rules", rules, admin=True),
    Command("reload", reload, admin=True),
    Command("test", test, admin=True, max_args=3000),
    Command("stats", stats, admin=True),
    Command("resumechat", resumechat, admin=True),
)
