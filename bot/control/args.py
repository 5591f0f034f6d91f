"""Command arguments: ids, durations, URLs and lengths, checked before anything runs.

A bad argument raises ``BadArgs`` with an ``bot.telegram.i18n`` key and its values, so
the reply says exactly what is wrong in the user's language.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from bot.rules.schema import ID, MAX_ID
from bot.text.duration import parse_duration

MAX_IDS = 10
MAX_URL = 2000
MIN_MUTE = timedelta(minutes=1)
MAX_MUTE = timedelta(days=30)


class BadArgs(ValueError):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def check_length(args: str, limit: int) -> None:
    if len(args) > limit:
        raise BadArgs("bad.too_long", length=len(args), limit=limit)


def topic_id(value: str) -> str:
    """A syntactically valid id (lowercased: ids are lowercase and phones capitalise)."""
    ident = value.strip().lower()
    if len(ident) > MAX_ID or not ID.match(ident):
        raise BadArgs("bad.id", value=value[:MAX_ID])
    return ident


def topic_ids(args: str) -> list[str]:
    """``a b,c`` -> ``["a", "b", "c"]``: several ids at once, each checked."""
    parts = [p for p in re.split(r"[\s,]+", args.strip()) if p]
    if len(parts) > MAX_IDS:
        raise BadArgs("bad.too_many", limit=MAX_IDS)
    return list(dict.fromkeys(topic_id(p) for p in parts))


def duration(value: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1w`` -> a timedelta within 1 minute .. 30 days; the unit
    is needed (``bot.text.duration``)."""
    seconds = parse_duration(value, bare=False)
    if seconds is None or not MIN_MUTE.total_seconds() <= seconds <= MAX_MUTE.total_seconds():
        raise BadArgs("bad.duration", value=value[:20])
    return timedelta(seconds=seconds)


def describe_duration(span: timedelta, lang: str) -> str:
    minutes = int(span.total_seconds() // 60)
    zh = lang == "zh"
    if minutes % 1440 == 0:
        n = minutes // 1440
        return f"{n} 天" if zh else f"{n} day" + ("s" if n > 1 else "")
    if minutes % 60 == 0:
        n = minutes // 60
        return f"{n} 小时" if zh else f"{n} h"
    return f"{minutes} 分钟" if zh else f"{minutes} min"


def feed_url(value: str) -> str | None:
    """The URL if it is an absolute http(s) URL without spaces, else None."""
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
