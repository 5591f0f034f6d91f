"""Hostile XML: the safety check takes linear time, and no parser path expands an entity."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from tests.fakes.feedserver import rss_document

ROOT = Path(__file__).resolve().parents[1]
SIZE = 2_000_000  # characters of each hostile document

# Shapes that made one of the prolog or markup scans quadratic (seconds to hours).
HOSTILE = {
    "unterminated entity declarations": "<!DOCTYPE rss [<!ENTITY a b "
    + "<!ENTITY a b " * (SIZE // 13),
    "unterminated entity value": '<!DOCTYPE rss [<!ENTITY a "' + "<!ENTITY b " * (SIZE // 11),
    "unterminated declarations": "<!DOCTYPE rss [" + "<!ELEMENT a " * (SIZE // 12),
    "many comments in the subset": "<!DOCTYPE rss [" + "<!-- x -->" * (SIZE // 10),
    "unterminated XML declarations": "<?xml " * (SIZE // 6),
    "unterminated comments": "<!--" * (SIZE // 4),
    "many doctypes": "<!DOCTYPE rss>" * (SIZE // 14) + "<rss/>",
    "a title of unterminated comments": (
        '<rss version="2.0"><channel><item><title><![CDATA['
        + "<!--" * (SIZE // 4)
        + "]]></title><link>https://example.com/a</link></item></channel></rss>"
    ),
    "an HTML page of unclosed link tags": "<html><head>" + "<link " * (SIZE // 6),
}


def test_hostile_documents_are_judged_faster_than_a_benign_one_of_their_size_is_parsed(
    tmp_path: Path,
) -> None:
    """Every hostile shape gets its verdict (items or a ParseError) in less time than a
    benign feed of the same size takes to parse: linear, not quadratic. Run in a child
    process with a generous time limit, so a quadratic scan fails the test, not the suite."""
    item = "<item><title>普京访问北京</title><link>https://example.com/a</link></item>"
    benign = '<rss version="2.0"><channel><title>T</title>' + item * (SIZE // len(item))
    documents = {"benign": benign + "</channel></rss>", **HOSTILE}
    for number, text in enumerate(documents.values()):
        (tmp_path / f"{number}.xml").write_text(text, encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from bot.errors import ParseError
        from bot.feeds.parse import parse_feed
        for number in range({len(documents)}):
            body = open(f"{tmp_path}/{{number}}.xml", "rb").read()
            started = time.perf_counter()
            try:
                parse_feed(body, feed_id="x")
            except ParseError:
                pass
            print(json.dumps(time.perf_counter() - started), flush=True)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    seconds = dict(zip(documents, map(json.loads, run.stdout.split()), strict=True))
    benign_seconds = seconds.pop("benign")
    slow = {name: round(t, 2) for name, t in seconds.items() if t > benign_seconds}
    assert not slow, f"slower than parsing a benign feed of the size ({benign_seconds:.2f} s)"


def _feed_with(prolog: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n{prolog}\n<rss version="2.0"><channel><title>T</title>'
        f"<item><title>A</title><link>https://example.com/a</link>"
        f"<description>{body}</description></item></channel></rss>"
    ).encode()


KILOBYTE_ENTITY = f'<!DOCTYPE rss [\n<!ENTITY a "{"x" * 1000}">\n]>'


@pytest.mark.parametrize(
    ("prolog", "body"),
    [
        (KILOBYTE_ENTITY, "&a;" * 3000),  # well-formed: expat would expand it
        (KILOBYTE_ENTITY, "<br>" + "&a;" * 3000),  # malformed: the loose parser would
        (f'<!DOCTYPE rss>\n<!--\n<!ENTITY a "{"x" * 1000}">\n-->', "&a;" * 3000),
        (f'<!DOCTYPE rss>\n<!ENTITY a "{"x" * 1000}">', "&a;" * 3000),
    ],
    ids=["strict-parser", "loose-parser", "declared-in-a-comment", "declared-outside"],
)
def test_declared_entities_are_never_expanded(prolog: str, body: str) -> None:
    """A flat entity of 1 kB referenced 3,000 times would be 3 MB of text from 12 kB."""
    document = _feed_with(prolog, body)
    (item,) = parse_feed(document, feed_id="x").items
    assert len(item.content) < len(document)
    assert "x" * 1000 not in item.content


@pytest.mark.parametrize(
    ("prolog", "error"),
    [
        (
            '<!-- <!DOCTYPE x> -->\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            r"unsafe XML: external entity &xxe;",
        ),
        (
            '<!-- <!DOCTYPE x> -->\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
            '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>',
            r"unsafe XML: entity &lol1; refers to other entities \(entity bomb\)",
        ),
        (
            '<!-- ]> -->\n<!DOCTYPE rss [<!-- ]> --><!ENTITY % p SYSTEM "http://x/">]>',
            r"unsafe XML: parameter entity %p",
        ),
        ('<!DOCTYPE rss [<!ENTITY % p "x"> %p;]>', r"unsafe XML: parameter entity reference %p;"),
        (
            '<!DOCTYPE rss [<!ENTITY a "]>"><!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            r"unsafe XML: external entity &xxe;",
        ),
    ],
    ids=["decoy-comment-xxe", "decoy-comment-bomb", "subset-end-in-comments", "pe-ref", "quoted"],
)
def test_comments_and_literals_do_not_hide_the_doctype(prolog: str, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_feed(_feed_with(prolog, "text"), feed_id="x")


def test_too_many_entity_declarations_are_refused() -> None:
    prolog = "<!DOCTYPE rss [" + "".join(f'<!ENTITY e{n} "x">' for n in range(65)) + "]>"
    with pytest.raises(ParseError, match=r"unsafe XML: 65 entity declarations \(limit 64\)"):
        parse_feed(_feed_with(prolog, "text"), feed_id="x")


def test_an_unterminated_prolog_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match=r"malformed entity declaration \(line 2\)"):
        parse_feed(b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a b <rss/>', feed_id="x")
    with pytest.raises(ParseError, match=r"the comment from line 2 never ends"):
        parse_feed(b'<?xml version="1.0"?>\n<!-- <rss version="2.0"></rss>', feed_id="x")


def test_a_doctype_without_entities_still_parses() -> None:
    netscape = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
        ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    (item,) = parse_feed(_feed_with(netscape, "caf&eacute; &amp; more"), feed_id="x").items
    assert item.title == "A" and "café & more" in item.content


def test_parse_errors_name_the_line_of_the_original_document() -> None:
    document = b"""<?xml version="1.0"?>
<!DOCTYPE x [
<!ENTITY a "b">
]>
<!-- a comment
over two lines -->
<notafeed>
<<<</notafeed>"""
    with pytest.raises(ParseError, match=r"XML parse error at line 8\b"):
        parse_feed(document, feed_id="x")


def test_feeds_without_a_doctype_are_handed_over_unchanged() -> None:
    document = rss_document([{"title": "A", "link": "https://example.com/a"}])
    (item,) = parse_feed(document, feed_id="x").items
    assert item.title == "A"
