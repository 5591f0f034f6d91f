"""/watch, /watches, /unwatch: personal alerts, each chat its own, in the query language.

A watch belongs to the chat it was made in (alerts go to that chat and forum thread
only); in a group only its admins may add or remove one, asked of Telegram every time.
Admins of the bot see and remove every chat's: ``/watches all``, ``/unwatch CHAT N``.

``/watch QUERY`` checks the query (``bot.rules.query``) against the current rules' entities,
stores it within the chat's limit, and answers with its number, the query as the rules
language writes it, and what it would have caught in the last week (``bot.watches.preview``).
Bad input is answered and nothing is stored.

In a forum group a watch belongs to its thread: /watches there lists that thread's watches
(and says how many the other threads have), and ``/unwatch N`` removes only those
(``bot.control.watchrefs``); numbers still count per chat, as the limit does.

Callback data: ``unwatch:<N>`` (a button of /watches: remove, then redraw the list).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.control.args import BadArgs
from bot.control.context import Call, Command
from bot.control.mutes import may_change
from bot.control.topics import short
from bot.control.watchrefs import missing, watches_here
from bot.models import Button
from bot.rules.query import QueryError, as_rules, compile_query, meaning, parse_query
from bot.store import WatchRow
from bot.store.watches import RECENT_DAYS, RECENT_LIMIT
from bot.telegram.protocol import Reply
from bot.telegram.replies import Doc, plain
from bot.watches import Preview, preview, watch_key

MAX_QUERY_ARGS = 2000  # longer than any query allowed, so the query's own limit answers
MAX_NUMBER_DIGITS = 6


def _refused(call: Call) -> Reply:
    text = call.t("watch.admin")
    return Reply(message=plain(text), notice=text, alert=True)


def _bad_query(call: Call, exc: QueryError) -> Reply:
    text = call.t(f"watch.{exc.reason}", **exc.values) if exc.reason != "empty" else ""
    if exc.reason == "empty":
        text = call.t("watch.usage")
    elif exc.reason == "unknown_entity" and exc.values.get("closest"):
        text += " " + call.t("watch.closest", closest=exc.values["closest"])
    return Reply(message=plain(text))


async def _synced(call: Call) -> None:
    """This process's pollers (if any) match the change at once; others on their tick."""
    book = call.deps.watches
    if book is not None:
        await call.deps.offload(book.refresh)


async def watch(call: Call, args: str) -> Reply:
    deps = call.deps
    if deps.max_watches == 0:
        return Reply(message=plain(call.t("watch.off")))
    rules = deps.rules.current().rules
    try:
        query = parse_query(args)
        compile_query(query, rules.entities, key=watch_key(0))
    except QueryError as exc:
        return _bad_query(call, exc)
    if not await may_change(call):
        return _refused(call)
    same = await _same(call, meaning(query))
    if same is not None:
        return Reply(message=plain(call.t("watch.duplicate", number=same.number, query=same.query)))
    now = call.now()
    row = await deps.db.add_watch(
        call.caller.chat, query.text, call.caller.user_id, deps.max_watches, now
    )
    if row is None:
        return Reply(message=plain(call.t("watch.limit", limit=deps.max_watches)))
    await _synced(call)
    recent = await deps.db.recent_items(now - timedelta(days=RECENT_DAYS))
    topic = compile_query(query, rules.entities, key=watch_key(row.id))
    found = await asyncio.to_thread(preview, topic, rules, recent)
    capped = len(recent) >= RECENT_LIMIT
    return Reply(message=_saved(call, row, as_rules(query), found, capped).message())


async def _same(call: Call, wanted: frozenset[object]) -> WatchRow | None:
    """This thread's watch that already asks for ``wanted`` (``meaning``): a second would
    double every alert."""
    for row in (await watches_here(call)).rows:
        try:
            if meaning(parse_query(row.query)) == wanted:
                return row
        except QueryError:
            continue
    return None


def _saved(call: Call, row: WatchRow, rules_text: str, found: Preview, capped: bool) -> Doc:
    doc = Doc().bold(call.t("watch.saved", number=row.number, query=row.query)).line()
    doc.line(call.t("watch.understood")).code(rules_text).line()
    doc.line()
    if not found.count and not capped:
        doc.line(call.t("watch.preview_none", days=RECENT_DAYS))
    else:
        key = "watch.preview_capped" if capped else "watch.preview"
        doc.line(call.t(key, days=RECENT_DAYS, count=found.count, limit=RECENT_LIMIT))
        for item in found.examples:
            doc.add("• ").add(short(item.title or item.link, 120)).line()
    return doc.line().add(call.t("watch.where", number=row.number))


# --- /watches --------------------------------------------------------------------------------


async def _list(call: Call) -> Reply:
    deps = call.deps
    here = await watches_here(call)
    total, others = len(here.rows) + len(here.elsewhere), len(here.elsewhere)
    if not here.rows:
        if others:
            text = call.t("watches.none_here", others=others, total=total, limit=deps.max_watches)
            return Reply(message=plain(text))
        return Reply(message=plain(call.t("watches.none")))
    muted = await deps.db.mutes_of(call.caller.chat, call.now())
    if others:
        doc = Doc().bold(call.t("watches.thread_title", count=len(here.rows))).line()
    else:
        doc = Doc().bold(call.t("watches.title", count=total, limit=deps.max_watches)).line()
    buttons = []
    for row in here.rows:
        doc.add(f"{row.number}. ").code(row.query)
        key = watch_key(row.id)
        if key in muted:
            doc.italic(" — " + call.t("watches.muted", until=call.local(muted[key])))
        if not _compiles(call, row):
            doc.italic(" — " + call.t("watches.dormant"))
        doc.line()
        label = call.t("watches.remove_button", number=row.number, query=short(row.query, 30))
        buttons.append((Button(label, callback_data=f"unwatch:{row.number}"),))
    if others:
        doc.line(call.t("watches.elsewhere", others=others, total=total, limit=deps.max_watches))
    doc.line().add(call.t("watches.mute_hint"))
    return Reply(message=doc.message(tuple(buttons)))


def _compiles(call: Call, row: WatchRow) -> bool:
    try:
        compile_query(parse_query(row.query), call.deps.rules.current().rules.entities, key="w")
    except QueryError:
        return False
    return True


async def _list_all(call: Call) -> Reply:
    rows = await call.deps.db.all_watches()
    doc = Doc().bold(call.t("watches.all_title", count=len(rows))).line()
    for row in rows:
        doc.code(str(row.destination.chat)).add(f" {row.number}. ").code(row.query)
        if row.destination.thread is not None:
            doc.italic(" — " + call.t("watches.thread", thread=row.destination.thread))
        doc.line()
    return Reply(message=doc.message())


async def watches(call: Call, args: str) -> Reply:
    if not args:
        return await _list(call)
    if args.lower() == "all":
        if call.caller.user_id not in call.deps.admin_ids:
            return Reply(message=plain(call.t("admin.refused", name="watches all")))
        return await _list_all(call)
    return Reply(message=plain(call.t("watches.usage")))


# --- /unwatch --------------------------------------------------------------------------------


def _number(text: str) -> int:
    if not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        raise BadArgs("unwatch.usage")
    return int(text)


def _chat(text: str) -> int | str:
    if text.startswith("@") and 1 < len(text) <= 100:
        return text
    if text.lstrip("-").isdigit() and len(text) <= 20:
        return int(text)
    raise BadArgs("unwatch.usage")


async def _remove(call: Call, chat: int | str, number: int) -> str:
    row = await call.deps.db.remove_watch(chat, number, watch_key)
    if row is None:
        return call.t("unwatch.not", number=number)
    await _synced(call)
    return call.t("unwatch.done", number=row.number, query=row.query)


async def _remove_here(call: Call, number: int) -> str:
    """Watch ``number`` of this chat, if it was made in this thread (``watchrefs``)."""
    here = await watches_here(call)
    if here.number(number) is None:
        return await missing(call, here, number)
    return await _remove(call, call.caller.chat.chat, number)


async def unwatch(call: Call, args: str) -> Reply:
    parts = args.split()
    if len(parts) == 2:
        if call.caller.user_id not in call.deps.admin_ids:
            return Reply(message=plain(call.t("admin.refused", name="unwatch CHAT N")))
        return Reply(message=plain(await _remove(call, _chat(parts[0]), _number(parts[1]))))
    if len(parts) != 1:
        return Reply(message=plain(call.t("unwatch.usage")))
    number = _number(parts[0])
    if not await may_change(call):
        return _refused(call)
    return Reply(message=plain(await _remove_here(call, number)))


async def on_unwatch(call: Call, rest: str) -> Reply:
    """``unwatch:<N>``: a /watches button."""
    try:
        number = _number(rest)
    except BadArgs:
        raise BadArgs("bad.callback") from None
    if not await may_change(call):
        return Reply(notice=call.t("watch.admin"), alert=True)
    notice = await _remove_here(call, number)
    redrawn = await _list(call)
    return Reply(notice=notice, edit=redrawn.message)


WATCH_COMMANDS: tuple[Command, ...] = (
    Command("watch", watch, max_args=MAX_QUERY_ARGS),
    Command("watches", watches),
    Command("unwatch", unwatch),
)
