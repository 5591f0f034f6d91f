"""/mute, /unmute and the alert's mute button: silence a topic in one chat for a while.

A watch is muted the same way: ``/mute watch N [duration]``, ``/unmute watch N`` (N as
/watches numbers it, in the thread it was made in), or its alert's button.

A mute belongs to the chat (and forum thread) where it was asked for; in a group or
channel only its admins may set it. The alert's button mutes for a day, or lifts a mute
in force, so a second press undoes the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.control.args import BadArgs, describe_duration, duration, topic_id
from bot.control.context import Call
from bot.control.topics import mutable, mutable_by_ref, short, suggest, topic_name
from bot.control.watchrefs import missing, watches_here
from bot.models import Button
from bot.rules.model import Topic
from bot.telegram.protocol import Reply, topic_ref
from bot.telegram.replies import Doc, plain, unknown_topic
from bot.watches import watch_id_of, watch_key

ALERT_MUTE = timedelta(days=1)
CHOICES = ("30m", "2h", "8h", "1d", "7d")
MAX_WATCH_DIGITS = 6


async def may_change(call: Call) -> bool:
    """Private chats are the user's own; elsewhere ask Telegram, every time."""
    return call.caller.private or await call.caller.is_chat_admin()


def _refused(call: Call) -> Reply:
    text = call.t("mute.admin")
    return Reply(message=plain(text), notice=text, alert=True)


async def _set(call: Call, topic: Topic, span: timedelta) -> datetime:
    until = call.now() + span
    for dest in call.caller.destinations():
        await call.deps.db.mute(dest, topic.id, until)
    return until


async def _lift(call: Call, topic: Topic) -> bool:
    now = call.now()
    lifted = [await call.deps.db.unmute(d, topic.id, now) for d in call.caller.destinations()]
    return any(lifted)


def _unknown(call: Call, ident: str) -> Reply:
    doc = unknown_topic(Doc(), call.lang, ident, suggest(call.deps.rules.current().rules, ident))
    return Reply(message=doc.message())


def _unknown_or_usage(call: Call, ident: str, usage: str) -> Reply:
    """``/mute watch`` without a number (and no topic ``watch``) is the watch form half
    written: show how it goes rather than "no topic watch"."""
    if ident == "watch":
        return Reply(message=plain(call.t(usage)))
    return _unknown(call, ident)


def _is_watch_ref(parts: list[str]) -> bool:
    """``watch N ...``: a watch by its number (``watch`` alone is a topic id)."""
    return len(parts) >= 2 and parts[0].lower() == "watch" and parts[1].isdigit()


async def _numbered_watch(call: Call, number_text: str) -> Topic | str:
    """This thread's watch ``number_text`` as a topic to mute, or why there is none."""
    if len(number_text) > MAX_WATCH_DIGITS:
        return call.t("unwatch.not", number=number_text)
    number = int(number_text)
    here = await watches_here(call)
    row = here.number(number)
    if row is None:
        return await missing(call, here, number)
    return Topic(id=watch_key(row.id), name="👁 " + row.query)


async def mute(call: Call, args: str) -> Reply:
    parts = args.split()
    topic: Topic | None
    if _is_watch_ref(parts):
        found = await _numbered_watch(call, parts[1])
        if isinstance(found, str):
            return Reply(message=plain(found))
        topic, parts = found, parts[1:]
    else:
        topic = None
    if not parts or len(parts) > 2:
        return Reply(message=plain(call.t("mute.usage")))
    if topic is None:
        ident = topic_id(parts[0])
        topic = mutable(call.deps.rules.current().rules, ident)
        if topic is None:
            return _unknown_or_usage(call, ident, "mute.usage")
    if len(parts) == 1:
        return _choices(call, topic)
    span = duration(parts[1])
    if not await may_change(call):
        return _refused(call)
    until = await _set(call, topic, span)
    return Reply(
        message=plain(call.t("mute.done", name=topic_name(topic), until=call.local(until)))
    )


def _choices(call: Call, topic: Topic) -> Reply:
    ref = topic_ref(topic.id)
    row = tuple(
        Button(describe_duration(duration(c), call.lang), callback_data=f"mute:{ref}:{c}")
        for c in CHOICES
    )
    text = call.t("mute.choose", name=short(topic_name(topic)))
    return Reply(message=plain(text, (row,)))


async def unmute(call: Call, args: str) -> Reply:
    parts = args.split()
    topic: Topic | None = None
    if _is_watch_ref(parts) and len(parts) == 2:
        found = await _numbered_watch(call, parts[1])
        if isinstance(found, str):
            return Reply(message=plain(found))
        topic = found
    elif len(parts) != 1:
        return Reply(message=plain(call.t("unmute.usage")))
    if topic is None:
        ident = topic_id(parts[0])
        topic = mutable(call.deps.rules.current().rules, ident)
        if topic is None:
            return _unknown_or_usage(call, ident, "unmute.usage")
    if not await may_change(call):
        return _refused(call)
    key = "unmute.done" if await _lift(call, topic) else "unmute.not"
    return Reply(message=plain(call.t(key, name=topic_name(topic))))


async def _watch(call: Call, ref: str) -> Topic | None:
    """The chat's watch that a watch alert's button names (``bot.watches.watch_key``), as
    a topic to mute: its key and its query as the name. None if not this chat's."""
    watch_id = watch_id_of(ref)
    if watch_id is None:
        return None
    for row in await call.deps.db.watches_of(call.caller.chat.chat):
        if row.id == watch_id:
            return Topic(id=ref, name="👁 " + row.query)
    return None


async def on_mute(call: Call, rest: str) -> Reply:
    """``mute:<topic>`` (the alert's button) or ``mute:<topic>:<duration>`` (a choice);
    ``<topic>`` may be a watch's key: its alerts have the same button."""
    ref, _, choice = rest.partition(":")
    topic = mutable_by_ref(call.deps.rules.current().rules, ref) or await _watch(call, ref)
    if topic is None:
        raise BadArgs("bad.callback")
    span = duration(choice) if choice else None
    if not await may_change(call):
        return Reply(notice=call.t("mute.admin"), alert=True)
    name = short(topic_name(topic))
    if span is not None:
        text = call.t("mute.done", name=name, until=call.local(await _set(call, topic, span)))
        return Reply(notice=text, edit=plain(text))
    muted = await call.deps.db.mutes_of(call.caller.chat, call.now())
    if topic.id in muted and await _lift(call, topic):
        return Reply(notice=call.t("unmute.done", name=name))
    await _set(call, topic, ALERT_MUTE)
    span_text = describe_duration(ALERT_MUTE, call.lang)
    return Reply(notice=call.t("mute.toast", name=name, duration=span_text))
