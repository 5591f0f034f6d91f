"""Pieces alerts of every kind show: names and ids capped, the topic's hashtag, a time in the
configured zone, a source linked to its item, the "also:" label."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.telegram.doc import Doc, one_line, safe_url

__all__ = [
    "ALSO_LABEL",
    "ID_MAX",
    "MAX_ALSO_SHOWN",
    "NAME_MAX",
    "hashtag",
    "local_time",
    "source_link",
    "zone",
]

MAX_ALSO_SHOWN = 5
ALSO_LABEL = "also:"
NAME_MAX = 120
ID_MAX = 64  # rule ids are at most 64 characters (bot.rules.schema.MAX_ID)
_NOT_HASHTAG = re.compile(r"[^0-9A-Za-z_]+")


def hashtag(topic_id: str) -> str:
    """``russia-dprk`` -> ``#russia_dprk`` (hashtags allow only letters, digits and _)."""
    tag = _NOT_HASHTAG.sub("_", topic_id[:ID_MAX]).strip("_")
    if not any(ch.isalpha() for ch in tag):
        tag = f"topic_{tag}".rstrip("_")  # Telegram does not link an all-digit hashtag
    return f"#{tag}"


def local_time(when: datetime | None, tz: ZoneInfo) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the models promise UTC
    local = when.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def source_link(doc: Doc, source: str, link: str | None) -> None:
    name = one_line(source, NAME_MAX) or "source"
    url = safe_url(link or "")
    if url:
        doc.tag("a", name, href=url)
    else:
        doc.add(name)
