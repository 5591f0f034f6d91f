"""Commands for everyone: /start, /help, /topics, /subscribe, /unsubscribe, /mysubs, /mute.

Subscriptions and mutes belong to the chat (and forum thread) the command was given in,
as Telegram reported it; callback data only ever names a topic and a page, and is
checked like typed input. In a group, only the group's admins may change them.

Callback data (at most 64 bytes). ``<topic>`` is the topic's ref
(``bot.telegram.protocol.topic_ref``): its id, or a digest of an id too long to fit; a ref
names one id exactly, never a prefix of one:

- ``topics:<page>``: show that page of /topics;
- ``sub:<topic>:<view>`` / ``unsub:<topic>:<view>``: change, then redraw the view:
  a /topics page number, ``m`` for /mysubs, ``x`` for a one-off confirmation;
- ``mute:<topic>``: the alert's button: mute for a day, or unmute when muted;
- ``mute:<topic>:<duration>``: a choice offered by ``/mute ID``;
- ``mute:watch.<id>``: a watch alert's button (``bot.control.mutes``);
- ``unwatch:<N>``: a /watches button (``bot.control.watches``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.control.admin import ADMIN_COMMANDS
from bot.control.args import BadArgs, topic_ids
from bot.control.context import Call, Command
from bot.control.mutes import may_change, mute, on_mute, unmute
from bot.control.topics import describe, mutable, short, suggest, topic_name
from bot.control.trends import trends
from bot.control.watches import WATCH_COMMANDS, on_unwatch
from bot.models import Button
from bot.telegram.protocol import Reply, find_topic, topic_ref
from bot.telegram.replies import (
    Doc,
    Suggestion,
    TopicRow,
    plain,
    topics_page,
    unknown_topic,
)

PAGE_SIZE = 6
ONE_OFF = "x"
MYSUBS = "m"

# --- /start, /help ---------------------------------------------------------------------------


def _intro(call: Call) -> Doc:
    doc = Doc().line(call.t("start.intro")).line().line(call.t("start.how"))
    if not call.caller.private:
        doc.line(call.t("start.group"))
    return doc


def _topics_button(call: Call) -> tuple[tuple[Button, ...], ...]:
    return ((Button(call.t("button.topics"), callback_data="topics:0"),),)


async def start(call: Call, args: str) -> Reply:
    return Reply(message=_intro(call).message(_topics_button(call)))


async def help_(call: Call, args: str) -> Reply:
    doc = _intro(call).line().bold(call.t("help.commands")).line()
    for command in USER_COMMANDS:
        doc.add(f"/{command.name} — ").line(call.t(f"cmd.{command.name}"))
    if call.caller.user_id in call.deps.admin_ids:
        doc.line().bold(call.t("help.admin")).line()
        for command in ADMIN_COMMANDS:
            doc.add(f"/{command.name} — ").line(call.t(f"cmd.{command.name}"))
    return Reply(message=doc.message(_topics_button(call)))


# --- /topics ---------------------------------------------------------------------------------


async def _topics_view(call: Call, page: int) -> Reply:
    rules = call.deps.rules.current().rules
    mine = set(await call.deps.db.topics_of(call.caller.chat))
    pages = max(1, -(-len(rules.topics) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = rules.topics[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [TopicRow(x.id, topic_name(x), describe(x, rules), x.id in mine) for x in shown]
    buttons: list[tuple[Button, ...]] = [
        (
            Button(
                ("✅ " if r.subscribed else "➕ ") + short(r.name), callback_data=_toggle(r, page)
            ),
        )
        for r in rows
    ]
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("◀", callback_data=f"topics:{page - 1}"))
    if page < pages - 1:
        nav.append(Button("▶", callback_data=f"topics:{page + 1}"))
    if nav:
        buttons.append(tuple(nav))
    return Reply(message=topics_page(call.lang, rows, page, pages, tuple(buttons)))


def _toggle(row: TopicRow, view: int | str) -> str:
    return f"{'unsub' if row.subscribed else 'sub'}:{topic_ref(row.id)}:{view}"


async def topics(call: Call, args: str) -> Reply:
    return await _topics_view(call, 0)


# --- subscribe / unsubscribe -----------------------------------------------------------------


def _refused(call: Call) -> Reply:
    return Reply(message=plain(call.t("sub.group_admin")), notice=call.t("sub.group_admin"))


async def subscribe(call: Call, args: str) -> Reply:
    return await _change(call, args, subscribe=True)


async def unsubscribe(call: Call, args: str) -> Reply:
    return await _change(call, args, subscribe=False)


async def _change(call: Call, args: str, *, subscribe: bool) -> Reply:
    command = "subscribe" if subscribe else "unsubscribe"
    ids = topic_ids(args)
    if not ids:
        return Reply(message=plain(call.t("sub.usage", command=command)))
    if not await may_change(call):
        return _refused(call)
    doc = Doc()
    buttons: list[tuple[Button, ...]] = []
    for ident in ids:
        suggestions = await _apply(call, doc, ident, subscribe)
        for s in suggestions:
            data = f"sub:{topic_ref(s.id)}:{ONE_OFF}"
            buttons.append((Button("➕ " + short(s.name), callback_data=data),))
    return Reply(message=doc.message(tuple(buttons) if subscribe else ()))


async def _apply(call: Call, doc: Doc, ident: str, subscribe: bool) -> list[Suggestion]:
    """Make the change and say so; for an unknown topic, say so and return suggestions.

    A spike's id is subscribed to as a topic's is: its alerts then come to this chat too."""
    store, dest = call.deps.db, call.caller.chat
    rules = call.deps.rules.current().rules
    topic = mutable(rules, ident)
    name = topic_name(topic) if topic else ident
    if subscribe and topic is not None:
        done = await store.subscribe(dest, ident)
        doc.line(call.t("sub.done" if done else "sub.already", name=name))
        return []
    # Unsubscribing works for dormant topics too: they may be gone from the rules.
    if not subscribe and await store.unsubscribe(dest, ident):
        doc.line(call.t("unsub.done", name=name))
        return []
    if not subscribe and topic is not None:
        doc.line(call.t("unsub.not", id=ident))
        return []
    suggestions = suggest(rules, ident)
    unknown_topic(doc, call.lang, ident, suggestions)
    return suggestions if subscribe else []


# --- /mysubs ---------------------------------------------------------------------------------


async def _mysubs_view(call: Call) -> Reply:
    store, dest = call.deps.db, call.caller.chat
    rules = call.deps.rules.current().rules
    ids = await store.topics_of(dest)
    if not ids:
        return Reply(message=plain(call.t("mysubs.none"), _topics_button(call)))
    muted = await store.mutes_of(dest, call.now())
    doc = Doc().bold(call.t("mysubs.title")).line()
    buttons = []
    for ident in ids:
        topic = mutable(rules, ident)
        name = topic_name(topic) if topic else ident
        doc.add("• ").bold(name).add(" ").code(ident)
        if topic is None:
            doc.italic(" — " + call.t("mysubs.dormant"))
        if ident in muted:
            doc.italic(" — " + call.t("mysubs.muted", until=call.local(muted[ident])))
        doc.line()
        label = call.t("mysubs.unsub_button", name=short(name))
        buttons.append((Button(label, callback_data=f"unsub:{topic_ref(ident)}:{MYSUBS}"),))
    return Reply(message=doc.message(tuple(buttons)))


async def mysubs(call: Call, args: str) -> Reply:
    return await _mysubs_view(call)


# --- callbacks -------------------------------------------------------------------------------


def _page(value: str) -> int:
    if not value.isdigit() or len(value) > 4:
        raise BadArgs("bad.callback")
    return int(value)


async def on_topics(call: Call, rest: str) -> Reply:
    view = await _topics_view(call, _page(rest))
    return Reply(edit=view.message)


async def on_sub(call: Call, rest: str) -> Reply:
    return await _on_change(call, rest, subscribe=True)


async def on_unsub(call: Call, rest: str) -> Reply:
    return await _on_change(call, rest, subscribe=False)


async def _on_change(call: Call, rest: str, *, subscribe: bool) -> Reply:
    ref, _, view = rest.partition(":")
    if view not in (ONE_OFF, MYSUBS):
        _page(view)
    rules = call.deps.rules.current().rules
    known = [t.id for t in rules.topics] + [s.id for s in rules.spikes]
    if not subscribe:  # a dormant topic, gone from the rules, can still be left
        known += await call.deps.db.topics_of(call.caller.chat)
    ident = find_topic(ref, known)
    if ident is None:
        raise BadArgs("bad.callback")  # never a topic the data does not name exactly
    if not await may_change(call):
        return Reply(notice=call.t("sub.group_admin"), alert=True)
    doc = Doc()
    await _apply(call, doc, ident, subscribe)
    notice = doc.message().plain
    if view == ONE_OFF:
        return Reply(notice=notice, edit=doc.message())
    redrawn = await _mysubs_view(call) if view == MYSUBS else await _topics_view(call, _page(view))
    return Reply(notice=notice, edit=redrawn.message)


USER_COMMANDS: tuple[Command, ...] = (
    Command("start", start),
    Command("help", help_),
    Command("topics", topics),
    Command("subscribe", subscribe),
    Command("unsubscribe", unsubscribe),
    Command("mysubs", mysubs),
    Command("mute", mute),
    Command("unmute", unmute),
    Command("trends", trends),
    *WATCH_COMMANDS,
)

CALLBACKS: dict[str, Callable[[Call, str], Awaitable[Reply]]] = {
    "topics": on_topics,
    "sub": on_sub,
    "unsub": on_unsub,
    "mute": on_mute,
    "unwatch": on_unwatch,
}
