"""/addfeed, /removefeed, /pausefeed, /resumefeed: edits of the rule files.

The files stay the one source of truth: these commands change them (comments kept,
written atomically, validated first: ``bot.rules.edit``) and the rules watcher reloads
them, which starts or stops the feed's polling. A URL is fetched and parsed once before
it is added, so a page that is not a feed is refused with the reason.
"""

from __future__ import annotations

import asyncio
import logging

from rapidfuzz import process

from bot.control.args import BadArgs, feed_url, topic_id
from bot.control.context import Call
from bot.errors import FeedError, RulesError
from bot.feeds.read import probe_feed
from bot.rules.edit import NewFeed, add_feed, remove_feed, set_feed_enabled, suggest_feed_id
from bot.telegram.protocol import Reply
from bot.telegram.replies import Doc, plain
from bot.text.duration import parse_duration

log = logging.getLogger(__name__)

ADD_USAGE = (
    "Usage: /addfeed URL [id] [interval], e.g. "
    "/addfeed https://www.rfi.fr/cn/rss rfi-zh 15m (interval 30s..1d)"
)
MAX_PROBLEMS = 8


def _refusal(title: str, error: RulesError) -> Reply:
    doc = Doc().bold(title).line()
    for problem in error.problems[:MAX_PROBLEMS]:
        doc.add("• ").code(str(problem)[:300]).line()
    return Reply(message=doc.message())


def _split_add_args(args: str) -> tuple[str, str | None, str | None]:
    parts = args.split()
    if not parts or len(parts) > 3:
        raise BadArgs("bad.usage")
    url, ident, interval = parts[0], None, None
    for extra in parts[1:]:
        if parse_duration(extra) is not None:  # a number alone is seconds, as in rule files
            interval = extra
        else:
            ident = topic_id(extra)
    return url, ident, interval


async def addfeed(call: Call, args: str) -> Reply:
    try:
        raw_url, ident, interval = _split_add_args(args)
    except BadArgs as exc:
        if exc.key != "bad.usage":
            raise
        return Reply(message=plain(ADD_USAGE))
    url = feed_url(raw_url)
    if url is None:
        return Reply(message=plain(f"Not a feed URL: {raw_url[:200]}\n{ADD_USAGE}"))
    book = call.deps.rules.current()
    ident = ident or suggest_feed_id(url, {f.id for f in book.rules.feeds})
    try:
        parsed = await probe_feed(call.deps.fetcher, url, ident)
    except FeedError as exc:
        log.info("addfeed_refused", extra={"feed_id": ident, "error": str(exc)})
        return Reply(message=plain(f"Not added: {url} is not a usable feed: {exc}"))
    feed = NewFeed(ident, url, name=parsed.title, interval=interval)
    try:
        path = await asyncio.to_thread(add_feed, call.deps.rules_dir, feed)
    except RulesError as exc:
        return _refusal(f"Not added: {ident}", exc)
    doc = Doc().add("Added feed ").code(ident).add(f" ({parsed.title or url}, ")
    doc.add(f"{len(parsed.items)} items now) to ").code(path.name).line(".")
    doc.line("The rules reload on their own within seconds; /feeds shows it.")
    return Reply(message=doc.message())


def _unknown_feed(call: Call, ident: str) -> Reply | None:
    ids = [f.id for f in call.deps.rules.current().rules.feeds]
    if ident in ids:
        return None
    found = process.extract(ident, ids, limit=3, score_cutoff=50)
    doc = Doc().add("No feed ").code(ident).add(" in the rules.")
    if found:
        doc.add(" Did you mean: ")
        for index, (name, _, _) in enumerate(found):
            doc.add(", " if index else "").code(name)
        doc.add("?")
    return Reply(message=doc.line().line("See /feeds.").message())


def _feed_id(args: str) -> str | None:
    parts = args.split()
    if len(parts) != 1:
        return None
    return topic_id(parts[0])


async def _edit(call: Call, args: str, command: str, action: str) -> Reply:
    ident = _feed_id(args)
    if ident is None:
        return Reply(message=plain(f"Usage: /{command} ID (see /feeds)"))
    unknown = _unknown_feed(call, ident)
    if unknown is not None:
        return unknown
    rules_dir = call.deps.rules_dir
    try:
        if action == "remove":
            path = await asyncio.to_thread(remove_feed, rules_dir, ident)
        else:
            path = await asyncio.to_thread(set_feed_enabled, rules_dir, ident, action == "resume")
    except RulesError as exc:
        return _refusal(f"Not changed: {ident}", exc)
    done = {"remove": "Removed", "pause": "Paused", "resume": "Resumed"}[action]
    doc = Doc().add(f"{done} feed ").code(ident).add(" in ").code(path.name).line(".")
    doc.line("The rules reload on their own within seconds.")
    return Reply(message=doc.message())


async def removefeed(call: Call, args: str) -> Reply:
    return await _edit(call, args, "removefeed", "remove")


async def pausefeed(call: Call, args: str) -> Reply:
    return await _edit(call, args, "pausefeed", "pause")


async def resumefeed(call: Call, args: str) -> Reply:
    return await _edit(call, args, "resumefeed", "resume")
