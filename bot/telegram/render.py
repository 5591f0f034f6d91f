"""Render an alert as a Telegram message, at send time, from the parts the outbox holds.

One render function per kind of ``bot.delivery.kinds`` body (``RENDERERS``): topic alerts
and watches (``bot.telegram.render_topic``), digests (``bot.telegram.render_digest``), spike
alerts (``bot.telegram.render_spike``), admin notes, and rows rendered before the outbox
held parts. A new kind registers its function here. Every
message is built with ``bot.telegram.doc.Doc``, so every value is cleaned and escaped and
``Message.plain`` is what Telegram shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.kinds import (
    AlsoSource,
    DigestAlert,
    DigestLine,
    Notice,
    Rendered,
    SpikeAlert,
    TopicAlert,
)
from bot.models import Alert, Field, Item, Message, TopicMatch
from bot.telegram.doc import MAX_MESSAGE_UNITS, Doc, clean, utf16_len
from bot.telegram.i18n import EN, t
from bot.telegram.render_digest import render_digest, render_digest_part, split_digest
from bot.telegram.render_parts import ALSO_LABEL, hashtag, source_link
from bot.telegram.render_spike import render_spike
from bot.telegram.render_topic import MACHINE_LABEL, render_topic, topic_alert, why, with_also

__all__ = [
    "ALSO_LABEL",
    "MACHINE_LABEL",
    "MAX_MESSAGE_UNITS",
    "RENDERERS",
    "DigestLine",
    "also_note",
    "clean",
    "hashtag",
    "render",
    "render_alert",
    "render_digest",
    "split_digest",
    "topic_alert",
    "utf16_len",
    "watch_alert",
    "why",
    "with_also",
]


def also_note(source: str, link: str | None) -> Message:
    """What an "also" row says on its own: the one source it adds (logs and the store)."""
    doc = Doc().italic(ALSO_LABEL).add(" ")
    source_link(doc, source, link)
    return doc.whole()


def _topic(alert: Alert, body: TopicAlert) -> Message:
    return render_topic(body, alert.topic_id, alert.feed_id)


def _also(alert: Alert, body: AlsoSource) -> Message:
    return also_note(body.source, body.link)


def _digest(alert: Alert, body: DigestAlert) -> Message:
    return render_digest_part(body)


def _notice(alert: Alert, body: Notice) -> Message:
    return Doc().add(body.text).whole()


def _rendered(alert: Alert, body: Rendered) -> Message:
    return body.message


def _spike(alert: Alert, body: SpikeAlert) -> Message:
    return render_spike(body, alert.topic_id)


RENDERERS: dict[type, Callable[[Alert, Any], Message]] = {
    TopicAlert: _topic,
    AlsoSource: _also,
    DigestAlert: _digest,
    Notice: _notice,
    Rendered: _rendered,
    SpikeAlert: _spike,
}


def render(alert: Alert) -> Message:
    """The alert as it is sent now."""
    return RENDERERS[type(alert.body)](alert, alert.body)


def render_alert(
    *,
    item: Item,
    topic_id: str,
    topic_name: str,
    feed_name: str,
    match: TopicMatch,
    plain: Mapping[Field, str],
    tz: ZoneInfo,
    max_summary: int = 600,
) -> Message:
    """A topic alert straight from a match, as it is sent (see ``topic_alert``)."""
    body = topic_alert(
        item=item,
        topic_id=topic_id,
        topic_name=topic_name,
        feed_name=feed_name,
        match=match,
        plain=plain,
        tz=tz,
        max_summary=max_summary,
    )
    return render_topic(body, topic_id, item.feed_id)


def watch_alert(
    *,
    item: Item,
    watch_key: str,
    query: str,
    feed_name: str,
    match: TopicMatch,
    plain: Mapping[Field, str],
    tz: ZoneInfo,
    max_summary: int = 600,
    lang: str = EN,
) -> TopicAlert:
    """A personal watch's alert: a topic alert with the query as its heading, the same
    summary and "Why:" line, and a mute button that says it mutes the watch (``watch_key``,
    the alert's topic id), in ``lang``. Its near-duplicates and machine summary work as a
    topic's."""
    return topic_alert(
        item=item,
        topic_id=watch_key,
        topic_name="👁 " + query,
        feed_name=feed_name,
        match=match,
        plain=plain,
        tz=tz,
        max_summary=max_summary,
        mute_label=t(lang, "alert.mute_watch"),
    )
