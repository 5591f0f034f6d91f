"""Extractive summaries: the sentence around the strongest hit, plus the lead.

The summary is cut from the content's plain text (paragraphs one per line) and never
rewritten, so what a reader sees in bold is exactly what matched. Boilerplate lines
(photo captions and credits, "click here" prompts, bare datelines, relay footers) are never
picked. The result is at most ``max_chars`` characters; a cut ends at a sentence or word
boundary and is marked with "…".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.models import Field, Hit
from bot.text.sentences import split_sentences

__all__ = ["Summary", "summarize"]

ELLIPSIS = "…"

_BOILERPLATE = re.compile(
    r"点击这里|點擊這裡|点击此处|點擊此處|点击查看|點擊查看|阅读原文|閱讀原文|获取更多RSS|獲取更多RSS|"
    r"click here|read more|subscribe to|sign up for",
    re.IGNORECASE,
)
_CAPTION = re.compile(
    r"^\W{0,3}(图片|圖片|图像|圖像|照片|资料照片|資料照片|资料图|資料圖|图|圖|视频|視頻|"
    r"photo|image|picture|file photo|video)\s*(来源|來源|提供|credit|source|:|：|/)"
    r"|getty images|reuters/|/reuters|\bvia (reuters|afp|getty|ap)\b|afp photo|\bap photo"
    r"|图片来源|圖片來源|图像来源|圖像來源",
    re.IGNORECASE,
)
_DATE_ONLY = re.compile(
    r"^\W*((mon|tue|wed|thu|fri|sat|sun)\w*,?\s+)?\d{1,2}\s+\w{3,9}\s+\d{4}"
    r"(\s+\d{1,2}:\d{2}(:\d{2})?)?(\s+(gmt|utc|[+-]\d{4}))?\W*$",
    re.IGNORECASE,
)
_TIMESTAMP = re.compile(
    r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?([T\s]*\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2}|GMT|UTC)?$",
    re.IGNORECASE,
)
_HAS_WORDS = re.compile(r"\w{2}")
# A dateline ("华盛顿 — ", "LONDON -") or byline-sized fragment is not a lead sentence.
_DATELINE = re.compile(r"^.{0,40}[—–-]+\s*$")
_MIN_LEAD = 6
_MIN_UNENDED_LEAD = 40  # a line without a full stop must be long to count as a lead
_PREAMBLE_MAX = 4  # lines above a dateline that may be captions and dates


@dataclass(frozen=True, slots=True)
class Summary:
    """Summary text and the spans of it to show in bold (sorted, non-overlapping)."""

    text: str
    bold: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int


def _is_boilerplate(line: str) -> bool:
    stripped = line.strip()
    if not stripped or not _HAS_WORDS.search(stripped):
        return True
    if _DATE_ONLY.match(stripped) or _TIMESTAMP.match(stripped) or _DATELINE.match(stripped):
        return True
    if len(stripped) <= 200 and _BOILERPLATE.search(stripped):
        return True
    return len(stripped) <= 300 and bool(_CAPTION.search(stripped))


def _preamble_lines(lines: Sequence[str]) -> int:
    """How many leading lines precede a dateline ("华盛顿 — "): photo captions, a date."""
    seen = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if _DATELINE.match(line.strip()):
            return index + 1
        seen += 1
        if seen >= _PREAMBLE_MAX:
            break
    return 0


def _sentences(content: str) -> list[_Piece]:
    """Sentence spans of the content, boilerplate lines left out."""
    pieces: list[_Piece] = []
    offset = 0
    lines = content.split("\n")
    skip = _preamble_lines(lines)
    for index, line in enumerate(lines):
        if index >= skip and not _is_boilerplate(line):
            for start, end in split_sentences(line):
                if _HAS_WORDS.search(line[start:end]):
                    pieces.append(_Piece(offset + start, offset + end))
        offset += len(line) + 1
    return pieces


def _containing(pieces: Sequence[_Piece], hit: Hit) -> int | None:
    for index, piece in enumerate(pieces):
        if piece.start <= hit.start < piece.end:
            return index
    return None


def _same_text(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"\W+", "", s).casefold()

    short, long = sorted((key(a), key(b)), key=len)
    # One mostly repeats the other: a lead that is the title, a sentence inside another.
    return bool(short) and short in long and len(short) >= 0.8 * len(long)


def _strongest(pieces: Sequence[_Piece], hits: Sequence[Hit]) -> int | None:
    """Index of the sentence holding the first content hit that is not in boilerplate."""
    for hit in hits:
        if hit.field == "content":
            index = _containing(pieces, hit)
            if index is not None:
                return index
    return None


def _choose(content: str, title: str, hits: Sequence[Hit]) -> tuple[list[_Piece], _Piece | None]:
    """The sentences to show, in document order, and the one that must stay if space is short."""
    pieces = _sentences(content)
    if not pieces:
        return [], None
    strongest = _strongest(pieces, hits)
    lead = 0
    while lead < len(pieces) - 1 and not _good_lead(_text(content, pieces[lead]), title):
        lead += 1
    if strongest is None or strongest == lead:
        return [pieces[lead]], pieces[lead]
    main, first = pieces[strongest], pieces[lead]
    if _same_text(_text(content, first), _text(content, main)):
        return [main], main
    return ([first, main] if first.start < main.start else [main, first]), main


def _good_lead(sentence: str, title: str) -> bool:
    """A lead that repeats the title, or is a mere fragment (byline, label), adds nothing."""
    if _same_text(sentence, title):
        return False
    if _ends_sentence(sentence):
        return len(sentence) >= _MIN_LEAD
    return len(sentence) >= _MIN_UNENDED_LEAD


def _text(content: str, piece: _Piece) -> str:
    return content[piece.start : piece.end]


def _joiner(content: str, left: _Piece, right: _Piece) -> str:
    between = content[left.end : right.start]
    if between.strip():
        return f" {ELLIPSIS} "  # sentences were skipped
    return " " if not _is_cjk_end(content[left.end - 1]) else ""


def _is_cjk_end(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _assemble(
    content: str, chosen: Sequence[_Piece], hits: Sequence[Hit]
) -> tuple[str, list[tuple[int, int]]]:
    parts: list[str] = []
    bold: list[tuple[int, int]] = []
    length = 0
    for index, piece in enumerate(chosen):
        if index:
            sep = _joiner(content, chosen[index - 1], piece)
            parts.append(sep)
            length += len(sep)
        for hit in hits:
            if hit.field == "content" and piece.start <= hit.start and hit.end <= piece.end:
                bold.append((length + hit.start - piece.start, length + hit.end - piece.start))
        parts.append(_text(content, piece))
        length += len(parts[-1])
    return "".join(parts), _merge(bold)


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _safe_cut(text: str, index: int) -> int:
    """Move ``index`` left until it does not split a character from its marks or a pair."""
    while 0 < index < len(text):
        ch = text[index]
        if unicodedata.combining(ch) or ch in "\u200d\ufe0f\ufe0e" or "\udc00" <= ch <= "\udfff":
            index -= 1
        elif text[index - 1] == "\u200d":
            index -= 1  # the character after a zero-width joiner belongs to the emoji
        else:
            break
    return index


def _cut_end(text: str, limit: int) -> int:
    """Where to end ``text`` so it fits in ``limit``: a sentence end, else a word boundary."""
    head = text[:limit]
    spans = split_sentences(head)
    ends = [end for _, end in spans[:-1]]
    if spans and _ends_sentence(head[: spans[-1][1]]):
        ends.append(spans[-1][1])
    good = [end for end in ends if end >= limit // 2]
    if good:
        return good[-1]
    if _mid_word(text, limit):
        space = head.rfind(" ", limit // 2)
        if space > 0:
            return space
    return _safe_cut(text, limit)


def _mid_word(text: str, index: int) -> bool:
    def latin(ch: str) -> bool:
        return ch.isalnum() and not _is_cjk_end(ch)

    return 0 < index < len(text) and latin(text[index - 1]) and latin(text[index])


def _ends_sentence(text: str) -> bool:
    return bool(text) and text.rstrip()[-1:] in "。！？；….!?\"'”’」』）)》】"


def _clip(
    text: str, bold: Sequence[tuple[int, int]], focus: tuple[int, int], max_chars: int
) -> Summary:
    """Cut ``text`` to ``max_chars`` keeping ``focus`` (a span) in view."""
    if len(text) <= max_chars:
        return Summary(text, tuple(bold))
    begin = 0
    budget = max_chars - 1  # room for the trailing ellipsis
    if focus[1] > budget:
        # Start a little before the hit so it reads in context; mark the cut at the front.
        begin = _safe_cut(text, max(0, focus[0] - budget // 3))
        space = text.find(" ", begin, focus[0])
        if space != -1 and space - begin < 30:
            begin = space + 1
        budget -= 1
    window = text[begin:]
    end = _cut_end(window, budget) if len(window) > budget + 1 else len(window)
    body = window[:end].rstrip()
    prefix = ELLIPSIS if begin else ""
    suffix = ELLIPSIS if begin + len(body) < len(text) else ""
    shift = len(prefix) - begin
    clipped = (
        (max(s + shift, len(prefix)), min(e + shift, len(prefix) + len(body))) for s, e in bold
    )
    return Summary(prefix + body + suffix, tuple((s, e) for s, e in clipped if s < e))


def summarize(plain: Mapping[Field, str], hits: Sequence[Hit], *, max_chars: int = 600) -> Summary:
    """The extractive summary of one item for one topic's hits (offsets into ``plain``)."""
    content = plain.get("content", "") or ""
    chosen, main = _choose(content, plain.get("title", "") or "", hits)
    if main is None or max_chars <= 1:
        return Summary("")
    text, bold = _assemble(content, chosen, hits)
    if len(text) > max_chars and len(chosen) > 1:
        text, bold = _assemble(content, [main], hits)  # too long for both: keep the hit
    # Offsets within `main`: right whenever a cut is needed, since only `main` is then shown.
    focus = _focus(content, main, hits)
    return _clip(text, bold, focus, max_chars)


def _focus(content: str, main: _Piece, hits: Sequence[Hit]) -> tuple[int, int]:
    """The span (in the assembled text) that a cut must keep: the strongest hit, if shown."""
    for hit in hits:
        if hit.field == "content" and main.start <= hit.start and hit.end <= main.end:
            return (hit.start - main.start, hit.end - main.start)
    return (0, 0)


MACHINE_INPUT_MAX = 4000


def machine_input(plain: Mapping[Field, str], *, max_chars: int = MACHINE_INPUT_MAX) -> str:
    """What a machine summarizer is given: the title, a blank line, the body (capped)."""
    text = f"{plain.get('title', '').strip()}\n\n{plain.get('content', '').strip()}".strip()
    return text[:max_chars]
