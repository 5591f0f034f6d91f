"""The bodies of the ``mediabot`` subcommands (entry layer: settings in, exit status out)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.cli import dry_run
from bot.clock import utc_now
from bot.config.settings import Role, Settings
from bot.errors import FeedError, SendError, TokenRejected
from bot.feeds.read import probe_feed
from bot.ingest.pipeline import PollReport
from bot.models import Destination, Message
from bot.rules.edit import NewFeed, add_feed, remove_feed, suggest_feed_id
from bot.rules.load import load_rules
from bot.rules.model import RuleSet
from bot.rules.schema import Context, parse_interval
from bot.service.app import App
from bot.service.lock import acquire_instance_lock
from bot.service.parts import make_fetcher
from bot.store import Store
from bot.telegram.send import TelegramSink
from bot.text.duration import largest_units

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

log = logging.getLogger(__name__)


async def run(settings: Settings, roles: Sequence[Role] | None = None) -> int:
    # The lock comes before App(): building the app migrates the database. (SQLite only:
    # PostgreSQL processes coordinate through the database, any number of them.)
    with acquire_instance_lock(settings.database_url):
        app = App(settings, roles=roles)
        warn_placeholders(app.rules.current().rules)
        try:
            await app.run()
        finally:
            await app.aclose()
    return EXIT_OK


# Chats from the examples (shipped rules, README, DESIGN): nobody's real channel.
_PLACEHOLDER_CHATS = re.compile(
    r"^(?:@(?:mediabot_demo|demo_desk|kp_watch|your_\w*|\w*example\w*)|"
    r"-100(?:1234567890|9876543210|123))$",
    re.I,
)


def placeholder_chats(rules: RuleSet) -> dict[str, list[str]]:
    """Chat -> the topics (and spikes) that send there, for each chat that is an example's
    placeholder."""
    found: dict[str, list[str]] = {}
    senders = [(t.id, t.channels) for t in rules.topics] + [
        (s.id, s.channels) for s in rules.spikes
    ]
    for entry_id, channels in senders:
        for dest in channels:
            if _PLACEHOLDER_CHATS.match(str(dest.chat)):
                found.setdefault(str(dest.chat), []).append(entry_id)
    return found


def warn_placeholders(rules: RuleSet) -> None:
    for chat, topics in placeholder_chats(rules).items():
        log.warning(
            "placeholder_channel",
            extra={
                "chat": chat,
                "topics": ",".join(topics),
                "hint": "an example chat nobody owns: put your own channel in these topics' "
                "channels, or remove it",
            },
        )


async def once(settings: Settings, out: TextIO, *, force: bool = False) -> int:
    with acquire_instance_lock(settings.database_url):
        app = App(settings, stdout=out)
        try:
            reports = await app.once(force=force)
        finally:
            await app.aclose()
    for line in skipped_lines(reports, settings.tz, utc_now()):
        print(line, file=sys.stderr)
    return EXIT_FAIL if any(not r.ok for r in reports) else EXIT_OK


def skipped_lines(reports: Sequence[PollReport], tz: ZoneInfo, now: datetime) -> list[str]:
    """What ``once`` did not poll, why, and when it will: one line per feed."""
    lines = []
    for r in reports:
        if not r.skipped:
            continue
        when = ""
        if r.due is not None:
            left = max(0.0, (r.due - now).total_seconds())
            shown = r.due.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
            when = f"; due {shown} (in {_span(left)})"
        lines.append(f"mediabot once: skipped {r.feed_id}: {r.error or 'not due'}{when}")
    if any(r.skipped and r.due is not None for r in reports):
        lines.append("mediabot once: `mediabot once --force` polls the waiting feeds now")
    return lines


def _span(seconds: float) -> str:
    """``4m 10s``, ``2h 5m``: how long until something happens, for people."""
    return " ".join(f"{count}{unit}" for count, unit in largest_units(seconds, ("h", "m", "s")))


def db_upgrade(settings: Settings, out: TextIO) -> int:
    with acquire_instance_lock(settings.database_url), Store(settings.database_url) as store:
        store.migrate()
    print("database schema is up to date", file=out)
    return EXIT_OK


def db_prune(settings: Settings, out: TextIO) -> int:
    # No instance lock: deleting old rows is safe beside a running service.
    with Store(settings.database_url) as store:
        pruned = store.prune(
            utc_now(),
            seen_days=settings.seen_retention_days,
            outbox_days=settings.outbox_retention_days,
        )
    print(f"deleted: {pruned.seen} seen items, {pruned.outbox} sent or failed alerts", file=out)
    return EXIT_OK


def rules_check(settings: Settings, out: TextIO) -> int:
    loaded = load_rules(settings.rules_dir)  # RulesError is reported by the caller, exit 1
    for warning in loaded.warnings:
        print(str(warning), file=sys.stderr)
    r = loaded.rules
    print(
        f"rules OK: {len(loaded.files)} files, {len(r.feeds)} feeds, {len(r.entities)} entities, "
        f"{len(r.topics)} topics{_spikes_part(r)} (version {loaded.version})",
        file=out,
    )
    return EXIT_OK


def _spikes_part(rules: RuleSet) -> str:
    n = len(rules.spikes)
    return f", {n} spike{'s' if n != 1 else ''}" if n else ""


def config(settings: Settings, out: TextIO) -> int:
    for key, value in settings.redacted().items():
        print(f"{key}={value}", file=out)
    return EXIT_OK


def feeds_list(settings: Settings, out: TextIO) -> int:
    rules = load_rules(settings.rules_dir).rules
    for feed in rules.feeds:
        state = "" if feed.enabled else "  (disabled)"
        tags = ",".join(feed.tags)
        interval = f"{int(feed.interval)}s" if feed.interval else "default"
        print(f"{feed.id}\t{feed.url}\t{interval}\t{tags}{state}", file=out)
    return EXIT_OK


async def feeds_add(
    settings: Settings,
    url: str,
    ident: str | None,
    interval: str | None,
    name: str | None,
    tags: Sequence[str],
    check: bool,
    out: TextIO,
) -> int:
    if interval is not None:
        # Checked before anything is fetched or written: the rules' own interval grammar.
        ctx = Context("--interval")
        if parse_interval(ctx, interval, None) is None:
            reason = ctx.problems[0].message.removeprefix(f"bad interval {interval!r}: ")
            print(f"mediabot feeds add: --interval {interval}: {reason}", file=sys.stderr)
            return EXIT_USAGE
    rules = load_rules(settings.rules_dir).rules
    ident = ident or suggest_feed_id(url, {f.id for f in rules.feeds})
    title = None
    if check:
        async with make_fetcher(settings) as fetcher:
            try:
                parsed = await probe_feed(fetcher, url, ident)
            except FeedError as exc:
                print(f"mediabot feeds add: not added: {url}: {exc}", file=sys.stderr)
                return EXIT_FAIL
        title = parsed.title
        print(f"{url}: {parsed.title or 'untitled'}, {len(parsed.items)} items", file=out)
    feed = NewFeed(ident, url, name=name or title, interval=interval, tags=tuple(tags))
    path = add_feed(settings.rules_dir, feed)  # RulesError: reported by the caller
    print(f"added feed {ident} to {path}", file=out)
    return EXIT_OK


def feeds_remove(settings: Settings, ident: str, out: TextIO) -> int:
    path = remove_feed(settings.rules_dir, ident)
    print(f"removed feed {ident} from {path}", file=out)
    return EXIT_OK


# --- match: the rule author's dry run (bot.cli.dry_run) ----------------------------------------

match = dry_run.match


# --- send-test ----------------------------------------------------------------------------

_SEND_HINTS = {
    "ChatGone": "the chat does not exist for this bot, or the bot was removed or blocked: add the "
    "bot to the chat (as an admin for channels) and check the id (channels: -100… or @name)",
    "PermanentSendError": "Telegram refused the message; check the chat id and the bot's rights",
    "RetryLater": "Telegram asked to wait or the network failed; try again shortly",
}


async def send_test(settings: Settings, chat: str, thread: int | None, out: TextIO) -> int:
    if settings.telegram_token is None:
        print("mediabot send-test: MEDIABOT_TELEGRAM_TOKEN is not set", file=sys.stderr)
        return EXIT_USAGE
    dest = Destination(int(chat) if chat.lstrip("-").isdigit() else chat, thread)
    sink = TelegramSink(
        settings.telegram_token.get_secret_value(), api_url=settings.telegram_api_url
    )
    text = "mediabot test message: this chat can receive alerts."
    try:
        message_id = await sink.send(dest, Message(text=text, plain=text), as_plain=True)
    except TokenRejected as exc:
        # A verdict on the settings, not on the chat or the network: no hint about either.
        print(f"mediabot send-test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SendError as exc:
        hint = _SEND_HINTS.get(type(exc).__name__, "")
        print(
            f"mediabot send-test: {dest}: {exc}" + (f"\n  hint: {hint}" if hint else ""),
            file=sys.stderr,
        )
        return EXIT_FAIL
    finally:
        await sink.aclose()
    print(f"sent test message {message_id} to {dest}", file=out)
    return EXIT_OK
