"""Stable item identity: guid, else canonical link, else a hash of title and date.

A key must not change when a feed re-publishes the same article with a new tracking
parameter or fragment, and must never merge two different articles. So canonical links
only drop parameters that are known to be analytics-only; anything else may be the
article id (``?id=123``, ``?p=42``, ``?ID=25164257&BoardID=10``) and is kept, in order.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

# Analytics-only parameters: campaign tags, ad click ids, mail-list ids, share ids.
_TRACKING_EXACT = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "ysclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "__twitter_impression",
        "at_medium",  # BBC RSS links carry ?at_medium=RSS&at_campaign=...
        "at_campaign",
        "spm",  # Alibaba / Chinese portals' click-path tag
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_campaign", "pk_kwd", "pk_source", "pk_medium")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE = re.compile(r"\s+")


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def canonical_link(url: str) -> str:
    """The form of ``url`` used for identity (see the module docstring).

    Scheme and host are lower-cased, default ports and the fragment dropped, tracking
    parameters removed; path and other parameters are kept exactly (a double slash or a
    double encoding may be how the site addresses the article).
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url.split("#", 1)[0]
    scheme = parts.scheme.lower()
    netloc = _netloc(parts, scheme, port)
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _netloc(parts: SplitResult, scheme: str, port: int | None) -> str:
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]
    return f"{userinfo}@{host}" if userinfo else host


def _clean_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    if len(kept) == len(pairs):
        return query  # untouched: keep the site's own encoding of the query
    return urlencode(kept, doseq=False)


def normalize_title(title: str) -> str:
    """Title text for hashing: NFKC, case-folded, whitespace collapsed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", title)).strip().casefold()


def guid_key(guid: str | None) -> str | None:
    """The key an item has by its guid (``g:<guid>``), or None without one."""
    return "g:" + guid.strip() if guid and guid.strip() else None


def link_key(link: str | None) -> str | None:
    """The key an item has by its link (``l:<canonical link>``), or None without one."""
    return "l:" + canonical_link(link) if link and link.strip() else None


def item_key(
    *,
    guid: str | None,
    link: str | None,
    title: str | None,
    published: datetime | None,
    guid_unique: bool = True,
) -> str:
    """``g:<guid>``, else ``l:<canonical link>``, else ``h:<sha1 of title and date>``."""
    by_guid = guid_key(guid) if guid_unique else None
    if by_guid is not None:
        return by_guid
    by_link = link_key(link)
    if by_link is not None:
        return by_link
    stamp = published.astimezone(UTC).isoformat() if published is not None else ""
    basis = f"{normalize_title(title or '')}\n{stamp}"
    return "h:" + hashlib.sha1(basis.encode("utf-8"), usedforsecurity=False).hexdigest()
