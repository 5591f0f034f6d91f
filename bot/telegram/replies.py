"""Command replies as Telegram HTML messages, built with ``bot.telegram.doc.Doc`` as alerts
are: a reply never exceeds Telegram's 4,096 units (a long list is cut at a piece boundary
with "…", so no tag is ever left open). Texts come from ``bot.telegram.i18n``; admin
reports are in ``bot.telegram.replies_admin``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import FIELDS, Field, Hit, Message
from bot.telegram.doc import Buttons, Doc
from bot.telegram.i18n import t

__all__ = ["Doc", "Suggestion", "TestHit", "TopicRow", "plain", "topics_page"]


def plain(text: str, buttons: Buttons = ()) -> Message:
    """A reply of plain text (escaped for HTML mode)."""
    return Doc().add(text).message(buttons)


@dataclass(frozen=True, slots=True)
class TopicRow:
    id: str
    name: str
    description: str
    subscribed: bool


def topics_page(
    lang: str, rows: Sequence[TopicRow], page: int, pages: int, buttons: Buttons
) -> Message:
    """One page of ``/topics``: each topic's name, id and a one-line description."""
    doc = Doc().bold(t(lang, "topics.title"))
    if pages > 1:
        doc.add(" · " + t(lang, "topics.page", page=page + 1, pages=pages))
    doc.line()
    if not rows:
        return doc.line(t(lang, "topics.none")).message(buttons)
    for row in rows:
        doc.line()
        doc.add("✅ " if row.subscribed else "▫️ ").bold(row.name).add(" ").code(row.id).line()
        if row.description:
            doc.line(row.description)
    doc.line().italic(t(lang, "topics.legend"))
    return doc.message(buttons)


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    name: str


def unknown_topic(doc: Doc, lang: str, topic_id: str, suggestions: Sequence[Suggestion]) -> Doc:
    """Append "no such topic", the closest ids and where to look."""
    doc.line(t(lang, "sub.unknown", id=topic_id))
    if suggestions:
        doc.line(t(lang, "sub.suggest"))
        for s in suggestions:
            doc.add("• ").code(s.id).line(f" {s.name}" if s.name != s.id else "")
    return doc.line(t(lang, "sub.browse"))


@dataclass(frozen=True, slots=True)
class TestHit:
    """One topic that fires in a dry run, with the text its hits are shown in."""

    topic_id: str
    topic_name: str
    hits: tuple[Hit, ...]
    plain: dict[Field, str]


def _snippet(doc: Doc, text: str, hits: Sequence[Hit], width: int = 60) -> None:
    """The text around the hits, hits in bold; far-apart hits get their own windows."""
    spans = sorted({(h.start, h.end) for h in hits})
    cursor = None
    for start, end in spans[:6]:
        if cursor is not None and start < cursor:
            continue  # overlaps the previous hit
        lead = max(0, start - width) if cursor is None else max(cursor, start - width)
        if cursor is None or lead > cursor:
            doc.add(("…" if lead > 0 else "") + text[lead:start].replace("\n", " "))
        else:
            doc.add(text[cursor:start].replace("\n", " "))
        doc.bold(text[start:end])
        cursor = end
    if cursor is not None:
        tail = text[cursor : cursor + width].replace("\n", " ")
        doc.add(tail + ("…" if cursor + width < len(text) else ""))
    doc.line()


def test_result(title: str, fired: Sequence[TestHit], items: int) -> Message:
    """``/test``: the topics that would fire, their hits, and the text with hits in bold."""
    doc = Doc().bold("Dry run").add(f" · {title} · {items} item(s) · ")
    doc.line(f"{len(fired)} topic match(es)" if fired else "no topic fires")
    for result in fired[:10]:
        doc.line().add("▶ ").bold(result.topic_name).add(" ").code(result.topic_id).line()
        for field_name in FIELDS:
            hits = [h for h in result.hits if h.field == field_name]
            if hits:
                doc.italic(field_name + ": ")
                _snippet(doc, result.plain.get(field_name, ""), hits)
        terms = []
        for hit in result.hits:
            label = hit.term + (f" (@{hit.entity})" if hit.entity else "")
            label += f" → {hit.matched}" if hit.matched.casefold() != hit.term.casefold() else ""
            label += f", {hit.edits} edit(s)" if hit.edits else ""
            if label not in terms:
                terms.append(label)
        doc.italic("hits: ").line("; ".join(terms[:8]))
    if len(fired) > 10:
        doc.line(f"… and {len(fired) - 10} more")
    return doc.message()
