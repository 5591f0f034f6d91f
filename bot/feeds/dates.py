"""Publication dates as feeds write them -> aware UTC ``datetime`` (or ``None``).

feedparser reads RFC 822 and W3C dates well but turns ``2024/05/01 12:00`` and
``2024年05月01日`` into 1 November: it reads the first number as a year and then
gives up on the rest. So dates are parsed here first, and feedparser's own reading is
only trusted for strings that do not look like these forms.

The rule is "the right instant or none": an ambiguous string (``01/05/2024``: January
or May?) gives ``None``, never a guess. Conventions for strings without a zone:

* a date with no time of day is midnight UTC, so its calendar day reads the same in UTC
  and in every Asian zone;
* a CJK-style date *with* a time (``2024年5月1日 12:00``, ``2024/05/01 12:00``) is read
  in UTC+8: such feeds come overwhelmingly from mainland China, Taiwan, Hong Kong and
  Singapore, which all keep UTC+8;
* any other zone-less time (``2024-05-01 12:00:00``) is UTC, as feedparser does.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

CJK_DEFAULT_ZONE = timezone(timedelta(hours=8))

_ZONE = (
    r"(?P<zone>Z|(?:GMT|UTC)?\s*[+-]\d{1,2}(?::?\d{2})?|GMT|UTC"
    r"|CST\s*\(?UTC\+8\)?|北京时间|北京時間)?"
)
_TIME = (
    r"(?:[T\s]*(?P<ampm>上午|下午|早上|晚上|中午)?\s*"
    r"(?P<hour>\d{1,2})\s*[:：时時]\s*(?P<minute>\d{1,2})(?:\s*[:：分]\s*(?P<second>\d{1,2}))?"
    r"(?:\.\d+)?\s*秒?)?"
)
# 2024年05月01日 / 2024年 7月 4日 [12:00[:00]] [zone]
_CJK = re.compile(
    r"^\s*(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号號]?"
    r"(?:\s*[（(]?\s*(?:星期|周|週|禮拜|礼拜)[一二三四五六日天]\s*[)）]?)?"
    + _TIME
    + r"\s*"
    + _ZONE
    + r"\s*$"
)
# 2024/05/01 12:00, 2024.5.1 (year first: never ambiguous)
_YMD = re.compile(
    r"^\s*(?P<year>\d{4})(?P<sep>[/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    + _TIME
    + r"\s*"
    + _ZONE
    + r"\s*$"
)
# RFC 822 with a "GMT+8" / "UTC+08:00" zone, which email.utils does not read
_RFC822_GMT_OFFSET = re.compile(
    r"^(?P<head>.*\d{1,2}:\d{2}(?::\d{2})?)\s*(?:GMT|UTC)\s*(?P<off>[+-]\d{1,2}(?::?\d{2})?)\s*$"
)
_LOOKS_CJK_OR_SLASHED = re.compile(r"[年月日]|^\s*\d{1,4}[/.]\d{1,2}[/.]\d{1,4}")


def parse_date(text: str | None) -> datetime | None:
    """Read a feed's date string; ``None`` when it cannot be read for certain."""
    if not text or not text.strip():
        return None
    text = text.strip()
    for reader in (_read_cjk, _read_rfc822, _read_iso):
        value = reader(text)
        if value is not None:
            return _sane(value)
    return None


def looks_cjk_or_slashed(text: str) -> bool:
    """True for date forms that feedparser misreads (so its reading must not be used)."""
    return bool(_LOOKS_CJK_OR_SLASHED.search(text))


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` value (a UTC struct_time) -> aware datetime."""
    if value is None:
        return None
    try:
        return _sane(datetime(*value[:6], tzinfo=UTC))
    except (TypeError, ValueError, OverflowError):
        return None


def _read_cjk(text: str) -> datetime | None:
    m = _CJK.match(text) or _YMD.match(text)
    if m is None:
        return None
    try:
        day = datetime(int(m["year"]), int(m["month"]), int(m["day"]))
    except ValueError:
        return None
    if m["hour"] is None:
        zone = _zone(m["zone"]) or UTC
        return day.replace(tzinfo=zone).astimezone(UTC)
    hour = _hour(int(m["hour"]), m["ampm"])
    minute, second = int(m["minute"]), int(m["second"] or 0)
    if hour is None or minute > 59 or second > 60:
        return None
    zone = _zone(m["zone"]) or CJK_DEFAULT_ZONE
    stamp = day.replace(hour=hour, minute=minute, second=min(second, 59), tzinfo=zone)
    return stamp.astimezone(UTC)


def _hour(hour: int, ampm: str | None) -> int | None:
    if (ampm in ("下午", "晚上") and hour < 12) or (ampm == "中午" and hour < 11):
        hour += 12
    return hour if hour <= 23 else None


def _zone(raw: str | None) -> timezone | None:
    if raw is None:
        return None
    raw = raw.strip().upper()
    if raw in ("Z", "GMT", "UTC"):
        return UTC
    if raw.startswith("CST") or "北京" in raw:
        return CJK_DEFAULT_ZONE
    m = re.search(r"([+-])(\d{1,2}):?(\d{2})?$", raw)
    if m is None:
        return None
    hours, minutes = int(m[2]), int(m[3] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if m[1] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _read_rfc822(text: str) -> datetime | None:
    m = _RFC822_GMT_OFFSET.match(text)
    if m is not None:
        zone = _zone(m["off"])
        head = _read_rfc822(m["head"] + " GMT")
        if zone is None or head is None:
            return None
        return head.replace(tzinfo=zone).astimezone(UTC)
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _read_iso(text: str) -> datetime | None:
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    if not re.match(r"^\d{4}-\d{2}-\d{2}", candidate):
        return None
    try:
        value = datetime.fromisoformat(candidate.replace("z", "Z"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _sane(value: datetime) -> datetime | None:
    # Years outside this window are typos or epoch-zero placeholders, not news.
    if not 1970 <= value.year <= 2200:
        return None
    return value
