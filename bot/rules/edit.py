"""Edit the feeds list in the rule files: add, remove, pause and resume a feed.

A feed is edited in whichever file holds it; a new feed goes to the file that holds the
feeds list (``feeds.yaml`` first), or to a new ``feeds.yaml``. Only the edited feed's
lines change; its neighbours' comments and blank lines stay where they belong. The file is
read, validated with the whole directory and written atomically by ``bot.rules.rulefile``.
Every function raises ``RulesError`` when the edit cannot be made, saying why.
"""

from __future__ import annotations

import copy
import difflib
import logging
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.rules.load import rule_files
from bot.rules.rulefile import RuleDoc, read_doc, refuse, save_doc
from bot.rules.schema import ID

__all__ = ["NewFeed", "add_feed", "remove_feed", "set_feed_enabled", "suggest_feed_id"]

log = logging.getLogger(__name__)

DEFAULT_FILE = "feeds.yaml"
# One edit at a time in this process: two admins adding feeds at once must not lose one.
_LOCK = threading.Lock()
MAX_SUGGESTED_ID = 40


@dataclass(frozen=True, slots=True)
class NewFeed:
    id: str
    url: str
    name: str | None = None
    interval: str | None = None  # as written in YAML, e.g. "10m"
    tags: tuple[str, ...] = ()


def _feeds_of(doc: RuleDoc) -> CommentedSeq | None:
    if isinstance(doc.data, dict) and isinstance(doc.data.get("feeds"), list):
        feeds: CommentedSeq = doc.data["feeds"]
        return feeds
    return None


def _index_of(feeds: CommentedSeq, feed_id: str) -> int | None:
    for index, node in enumerate(feeds):
        if isinstance(node, dict) and node.get("id") == feed_id:
            return index
    return None


def _find(rules_dir: Path, feed_id: str) -> tuple[RuleDoc, CommentedSeq, int]:
    for path in rule_files(rules_dir):
        doc = read_doc(path)
        feeds = _feeds_of(doc)
        index = _index_of(feeds, feed_id) if feeds is not None else None
        if feeds is not None and index is not None:
            return doc, feeds, index
    raise refuse(rules_dir, f"no feed with id {feed_id!r}{_nearest(rules_dir, feed_id)}")


def _nearest(rules_dir: Path, feed_id: str) -> str:
    """``; did you mean 'voa-zh'?`` or the ids there are: for a refusal's message."""
    ids = [
        str(node.get("id"))
        for path in rule_files(rules_dir)
        for node in _feeds_of(read_doc(path)) or []
        if isinstance(node, dict) and node.get("id")
    ]
    close = difflib.get_close_matches(feed_id, ids, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    if not ids:
        return f" (there are no feeds in {rules_dir})"
    shown = ", ".join(ids[:10]) + (", …" if len(ids) > 10 else "")
    return f" (feeds: {shown})"


def _home_for_new_feeds(rules_dir: Path) -> RuleDoc:
    """The file holding the feeds list (``feeds.yaml`` first), or a new ``feeds.yaml``."""
    candidates = []
    for path in rule_files(rules_dir):
        doc = read_doc(path)
        if isinstance(doc.data, dict) and "feeds" in doc.data:
            candidates.append(doc)
    candidates.sort(key=lambda d: d.path.name not in (DEFAULT_FILE, "feeds.yml"))
    if candidates:
        return candidates[0]
    return RuleDoc.new(rules_dir / DEFAULT_FILE, "feeds:\n")


def _save(rules_dir: Path, doc: RuleDoc, action: str, feed_id: str) -> Path:
    save_doc(rules_dir, doc)
    log.info(
        "rules_file_edited", extra={"file": str(doc.path), "action": action, "feed_id": feed_id}
    )
    return doc.path


def _feed_node(feed: NewFeed) -> CommentedMap:
    node = CommentedMap()
    node["id"] = feed.id
    node["url"] = feed.url
    if feed.name:
        node["name"] = feed.name
    if feed.interval:
        node["interval"] = feed.interval
    if feed.tags:
        tags = CommentedSeq(feed.tags)
        tags.fa.set_flow_style()
        node["tags"] = tags
    return node


def add_feed(rules_dir: Path, feed: NewFeed) -> Path:
    """Append a feed to the feeds list; the file written. Refuses a taken id or URL."""
    with _LOCK:
        for path in rule_files(rules_dir):
            for node in _feeds_of(read_doc(path)) or []:
                if isinstance(node, dict) and node.get("id") == feed.id:
                    raise refuse(path, f"a feed with id {feed.id!r} already exists")
                if isinstance(node, dict) and str(node.get("url", "")).strip() == feed.url:
                    raise refuse(path, f"feed {node.get('id')!r} already has this URL")
        doc = _home_for_new_feeds(rules_dir)
        feeds = _feeds_of(doc)
        if feeds is None:
            feeds = CommentedSeq()
            doc.data["feeds"] = feeds
        feeds.append(_feed_node(feed))
        _copy_separator(feeds)
        return _save(rules_dir, doc, "add", feed.id)


def _copy_separator(feeds: CommentedSeq) -> None:
    """Give a new last item the blank line(s) the items before it are separated by."""
    last = len(feeds) - 1
    before = feeds.ca.items.get(last - 1) if last >= 1 else None
    if before and before[1] and all(t.value.strip() == "" for t in before[1]):
        feeds.ca.items[last] = copy.deepcopy(before)


def remove_feed(rules_dir: Path, feed_id: str) -> Path:
    """Delete a feed (and the comment lines just above it); the file written.

    Topics that scope to the feed by id would no longer load cleanly; the loader only
    warns about that, so the removal goes ahead.
    """
    with _LOCK:
        doc, feeds, index = _find(rules_dir, feed_id)
        if index == 0:
            _drop_first_item_comment(doc, feeds)
        del feeds[index]
        return _save(rules_dir, doc, "remove", feed_id)


def _drop_first_item_comment(doc: RuleDoc, feeds: CommentedSeq) -> None:
    """The comment lines right above the first item are about it: they go with it.

    ruamel.yaml keeps them with the ``feeds:`` key; lines set off by a blank line (about
    the whole list) stay. The next item's blank separator goes too, so the list does not
    start with an empty line.
    """
    key_comment = doc.data.ca.items.get("feeds")
    tokens = key_comment[3] if key_comment and len(key_comment) > 3 else None
    if tokens:
        kept = list(tokens)
        while kept and kept[-1].value.strip():
            kept.pop()
        key_comment[3] = kept or None
        feeds.ca.comment = [None, kept] if kept else None
    following = feeds.ca.items.get(1)
    if following and following[1] and all(not t.value.strip() for t in following[1]):
        del feeds.ca.items[1]


def set_feed_enabled(rules_dir: Path, feed_id: str, enabled: bool) -> Path:
    """Pause (``enabled: false``) or resume a feed; the file written.

    Resuming removes the ``enabled`` key (true is the default) rather than leaving noise.
    """
    with _LOCK:
        doc, feeds, index = _find(rules_dir, feed_id)
        node: CommentedMap = feeds[index]
        if enabled:
            if "enabled" not in node:
                return doc.path
            _pop_key(node, "enabled")
        elif "enabled" in node:
            node["enabled"] = False
        else:
            # After url: never last, where a trailing comment of the item would land above it.
            node.insert(min(2, len(node)), "enabled", False)
        return _save(rules_dir, doc, "resume" if enabled else "pause", feed_id)


def _pop_key(node: CommentedMap, key: str) -> None:
    """Remove a key, keeping any comment that was attached after it."""
    keys = list(node)
    position = keys.index(key)
    comment = node.ca.items.pop(key, None)
    del node[key]
    if comment and position == len(keys) - 1 and position > 0:
        node.ca.items[keys[position - 1]] = comment


def suggest_feed_id(url: str, taken: Collection[str]) -> str:
    """A free feed id from the URL's host: ``https://www.rfi.fr/cn/rss`` -> ``rfi-fr``."""
    host = (urlsplit(url).hostname or "feed").lower()
    host = re.sub(r"^(www|feeds?|rss)\.", "", host)
    base = re.sub(r"[^a-z0-9]+", "-", host).strip("-")[:MAX_SUGGESTED_ID].strip("-") or "feed"
    if not ID.match(base):
        base = f"feed-{base}"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}-{n}", n + 1
    return ident
