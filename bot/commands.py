"""The bodies of the ``mediabot`` subcommands (entry layer: settings in, exit status out)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.app import App, make_fetcher
from bot.errors import FeedError, SendError, TokenRejected
from bot.feeds.inputs import InputFailure, load_inputs
from bot.lock import acquire_instance_lock
from bot.models import Destination, Hit, Item, Message, TopicMatch
from bot.pipeline import probe_feed
from bot.rules.edit import NewFeed, add_feed, remove_feed, suggest_feed_id
from bot.rules.explain import NearMiss, near_misses
from bot.rules.load import load_rules
from bot.rules.match import compile_matcher
from bot.settings import Role, Settings
from bot.store import Store
from bot.telegram.send import TelegramSink

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


async def run(settings: Settings, roles: Sequence[Role] | None = None) -> int:
    # The lock comes before App(): building the app migrates the database. (SQLite only:
    # PostgreSQL processes coordinate through the database, any number of them.)
    with acquire_instance_lock(settings.database_url):
        app = App(settings, roles=roles)
        try:
            await app.run()
        finally:
            await app.aclose()
    return EXIT_OK


async def once(settings: Settings, out: TextIO) -> int:
    with acquire_instance_lock(settings.database_url):
        app = App(settings, stdout=out)
        try:
            reports = await app.once()
        finally:
            await app.aclose()
    return EXIT_FAIL if any(not r.ok for r in reports) else EXIT_OK


def db_upgrade(settings: Settings, out: TextIO) -> int:
    with acquire_instance_lock(settings.database_url), Store(settings.database_url) as store:
        store.migrate()
    print("database schema is up to date", file=out)
    return EXIT_OK


def db_prune(settings: Settings, out: TextIO) -> int:
    # No instance lock: deleting old rows is safe beside a running service.
    with Store(settings.database_url) as store:
        pruned = store.prune(
            datetime.now(UTC),
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
        f"{len(r.topics)} topics (version {loaded.version})",
        file=out,
    )
    return EXIT_OK


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


# --- match: the rule author's dry run -------------------------------------------------------


async def match(
    settings: Settings,
    specs: Sequence[str],
    topics: Sequence[str],
    fmt: str,
    out: TextIO,
    *,
    explain: bool = False,
) -> int:
    rules = load_rules(settings.rules_dir).rules
    unknown = [t for t in topics if rules.topic(t) is None]
    if unknown:
        print(f"mediabot match: unknown topic id(s): {', '.join(unknown)}", file=sys.stderr)
        return EXIT_USAGE
    matcher = compile_matcher(rules)
    # A URL that is a feed of the rules is read as that feed, so its topic scopes apply.
    feed_of_url = {f.url: f.id for f in rules.feeds}
    items: list[Item] = []
    failures: list[InputFailure] = []
    async with make_fetcher(settings) as fetcher:
        for spec in specs:
            got, bad = await load_inputs([spec], fetcher)
            if spec in feed_of_url:
                got = [replace(i, feed_id=feed_of_url[spec]) for i in got]
            items += got
            failures += bad
    for failure in failures:
        print(f"mediabot match: {failure.source}: {failure.reason}", file=sys.stderr)
    wanted = set(topics) or None
    fired = 0
    progress = _Progress(len(items), sys.stderr)
    for item in items:
        progress.step()
        feed = rules.feed(item.feed_id)
        result = matcher.match(item, feed_tags=feed.tags if feed else (), topics=wanted)
        misses = near_misses(rules, result.plain, wanted) if explain else []
        for tm in result.topics:
            fired += 1
            if fmt == "jsonl":
                row = _jsonl_row(item, tm)
                if explain:
                    row["near_misses"] = [
                        _miss_dict(m) for m in misses if m.topic_id == tm.topic_id
                    ]
                print(json.dumps(row, ensure_ascii=False), file=out)
            else:
                _print_table_row(item, tm, rules.topic(tm.topic_id), out)
        if fmt == "table" and misses:
            _print_near_misses(item, misses, out)
    progress.done()
    if fmt == "table":
        print(f"{len(items)} items, {fired} matches, {len(failures)} unreadable", file=out)
    return EXIT_OK if items or not failures else EXIT_FAIL


def _miss_dict(miss: NearMiss) -> dict[str, Any]:
    return {
        "term": miss.term,
        "entity": miss.entity,
        "matched": miss.matched,
        "field": miss.field,
        "edits": miss.edits,
        "allowed": miss.allowed,
    }


def _print_near_misses(item: Item, misses: Sequence[NearMiss], out: TextIO) -> None:
    print(f"  near misses in {item.title[:60]!r}:", file=out)
    for m in misses:
        entity = f" (@{m.entity})" if m.entity else ""
        print(
            f"    {m.topic_id}: {m.term}{entity} ~ «{m.matched}»  [{m.field}, {m.edits} "
            f"edit{'s' if m.edits != 1 else ''}, {m.allowed} allowed]",
            file=out,
        )
    print("", file=out)


class _Progress:
    """``matched N/M`` on one refreshed stderr line, for long runs on a terminal only."""

    EVERY = 100

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.stream, self.count = total, stream, 0
        self.on = total >= 2 * self.EVERY and stream.isatty()

    def step(self) -> None:
        self.count += 1
        if self.on and self.count % self.EVERY == 0:
            self.stream.write(f"\rmatched {self.count}/{self.total} items")
            self.stream.flush()

    def done(self) -> None:
        if self.on:
            self.stream.write("\r\033[K")
            self.stream.flush()


def display_id(item: Item) -> str | int:
    """The input's own ``id`` (JSON Lines), as given; else the link, else the key."""
    if item.source_id is not None:
        return item.source_id
    return item.link or item.key


def _hit_dict(hit: Hit) -> dict[str, Any]:
    return {
        "term": hit.term,
        "entity": hit.entity,
        "matched": hit.matched,
        "field": hit.field,
        "edits": hit.edits,
    }


def distinct_hits(hits: Sequence[Hit]) -> list[Hit]:
    """One hit per (term, matched text, field, edits), strongest first: the matcher reports
    every occurrence (for bolding), a reader wants each reason once."""
    seen: set[tuple[str, str | None, str, str, int]] = set()
    out: list[Hit] = []
    for hit in hits:
        key = (hit.term, hit.entity, hit.matched, hit.field, hit.edits)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def _jsonl_row(item: Item, tm: TopicMatch) -> dict[str, Any]:
    return {
        "id": display_id(item),
        "link": item.link,
        "title": item.title,
        "feed": item.feed_id,
        "topic": tm.topic_id,
        "hits": [_hit_dict(h) for h in distinct_hits(tm.hits)],
    }


def _print_table_row(item: Item, tm: TopicMatch, topic: Any, out: TextIO) -> None:
    bold = out.isatty()
    name = f"  {topic.name}" if topic is not None else ""
    print(f"▶ {tm.topic_id}{name}", file=out)
    print(f"  {item.title}", file=out)
    print(f"  {item.link or item.key}  [{item.feed_id}]", file=out)
    for hit in distinct_hits(tm.hits):
        shown = f"\033[1m{hit.matched}\033[0m" if bold else f"«{hit.matched}»"
        entity = f" (@{hit.entity})" if hit.entity else ""
        edits = f", {hit.edits} edit{'s' if hit.edits > 1 else ''}" if hit.edits else ""
        print(f"    {hit.term}{entity} → {shown}  [{hit.field}{edits}]", file=out)
    print("", file=out)


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
