"""Peer test suites: every shared feed file through the real fetch and parse, and our
titles, links and dates against what other feed parsers expect for the same files.

Each file is served by the local feed server, fetched by ``Fetcher`` and parsed by
``parse_feed`` (in worker processes, so the whole corpus takes seconds). Where a peer
ships expected output (gofeed ``testdata`` JSON, feed-rs ``.serde.json``, rss-parser-node
``test/output``), the items are compared field by field on what both sides extract.
``python -m tests.test_peer_feeds`` prints every difference; docs/feeds.md explains them.
"""

from __future__ import annotations

import asyncio
import html
import json
import multiprocessing
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from bot.errors import FeedError
from bot.feeds.fetch import Fetcher
from bot.feeds.parse import parse_feed
from tests.fakes.feedserver import FeedServer

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
SKIP_SUFFIXES = {".md", ".yml", ".yaml", ".txt", ".go", ".rs", ".swift", ".js", ".py", ".rst"}
CONTENT_TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8"}
TARGET = 0.98
SUITES = ("gofeed", "feed-rs", "rss-parser-node")

Row = tuple[str, str, datetime | None]  # title, link, published


@dataclass(frozen=True)
class Outcome:
    """What one served file became: items, a clear error, or an empty body (like a 304)."""

    url: str
    rows: tuple[Row, ...] = ()
    error: str | None = None
    empty: bool = False
    crash: str | None = None  # anything but a FeedError: a bug


def corpus() -> list[Path]:
    """Every file of the shared corpus but licences, notes and source code.

    The peers' expected outputs are included: they are JSON that is not a JSON Feed,
    which must give a clear error like any other document that is not a feed.
    """
    return [
        path
        for path in sorted(FEEDS.rglob("*"))
        if path.is_file()
        and not path.name.startswith(("LICENSE", "README"))
        and path.suffix.lower() not in SKIP_SUFFIXES
    ]


# -- fetch and parse everything ---------------------------------------------------------


def parse_outcome(body: bytes, url: str, headers: dict[str, str]) -> Outcome:
    """Parse one fetched body (runs in a worker process)."""
    try:
        feed = parse_feed(body, feed_id="peer", url=url, headers=headers)
    except FeedError as exc:
        return Outcome(url, error=f"{exc.kind}: {exc}")
    except Exception as exc:  # a crash is the finding, reported by path
        return Outcome(url, crash=f"{type(exc).__name__}: {exc}")
    if not all(item.key for item in feed.items):
        return Outcome(url, crash="an item without a key")
    return Outcome(url, rows=tuple((i.title, i.link, i.published) for i in feed.items))


async def fetch_and_parse(urls: list[str]) -> list[Outcome]:
    """Fetch and parse a share of the corpus (runs in a worker process)."""
    async with Fetcher(allow_private_networks=True) as fetcher:
        return [await _fetch_one(fetcher, url) for url in urls]


async def _fetch_one(fetcher: Fetcher, url: str) -> Outcome:
    try:
        result = await fetcher.fetch(url)
    except FeedError as exc:
        return Outcome(url, error=f"{exc.kind}: {exc}")
    if result.not_modified:
        return Outcome(url, empty=True)
    return parse_outcome(result.body, result.url, result.headers)


def work(urls: list[str]) -> list[Outcome]:
    return asyncio.run(fetch_and_parse(urls))


def run_corpus(paths: list[Path]) -> dict[Path, Outcome]:
    """Serve every file here; fetch and parse them in worker processes.

    The server's threads and the fetchers live in different processes so that they do
    not take turns on one interpreter lock; the whole corpus takes seconds.
    """
    workers = max(1, min(4, os.cpu_count() or 1))
    # spawn: forking a process that runs a server thread is unsafe (and warns on 3.12+).
    context = multiprocessing.get_context("spawn")
    with FeedServer() as server, ProcessPoolExecutor(workers, mp_context=context) as pool:
        urls = []
        for n, path in enumerate(paths):
            kind = CONTENT_TYPES.get(path.suffix.lower(), "application/xml")
            server.route(f"/{n}{path.suffix}", path.read_bytes(), content_type=kind)
            urls.append(server.url(f"/{n}{path.suffix}"))
        shares = [urls[i :: workers * 4] for i in range(workers * 4)]
        by_url = {o.url: o for share in pool.map(work, shares) for o in share}
    return {path: by_url[url] for path, url in zip(paths, urls, strict=True)}


@pytest.fixture(scope="module")
def outcomes() -> dict[Path, Outcome]:
    if not FEEDS.is_dir():
        pytest.skip("../shared/data/feeds is not beside this checkout")
    return run_corpus(corpus())


# -- the peers' expectations ------------------------------------------------------------


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _first_link(links: Any) -> str:
    for link in links or []:
        if isinstance(link, str) and link:
            return link
        if isinstance(link, dict) and link.get("href") and link.get("rel") in (None, "alternate"):
            return str(link["href"])
    return ""


def gofeed_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for item in data.get("items") or data.get("entries") or []:
        title = item.get("title") or ""
        link = item.get("link") or item.get("url") or _first_link(item.get("links"))
        when = next(
            (
                d
                for k in ("publishedParsed", "pubDateParsed", "updatedParsed", "date_published")
                if (d := _iso(item.get(k))) is not None
            ),
            None,
        )
        rows.append((str(title), str(link), when))
    return rows


def feed_rs_rows(data: dict[str, Any]) -> list[Row]:
    rows = []
    for entry in data.get("entries") or []:
        title = (entry.get("title") or {}).get("content") or ""
        when = _iso(entry.get("published")) or _iso(entry.get("updated"))
        rows.append((str(title), _first_link(entry.get("links")), when))
    return rows


def rss_parser_rows(data: dict[str, Any]) -> list[Row]:
    items = (data.get("feed") or {}).get("items") or []
    return [
        (str(i.get("title") or ""), str(i.get("link") or ""), _iso(i.get("isoDate"))) for i in items
    ]


def expectations() -> Iterator[tuple[str, Path, list[Row]]]:
    """(suite, input file, expected rows) for every peer expectation with its input."""
    gofeed = FEEDS / "gofeed" / "testdata"
    for expected in sorted(gofeed.rglob("*.json")):
        if "json" in expected.parent.parts[-1:]:
            continue  # JSON Feed inputs: their expectations are not beside them by stem
        source = expected.with_suffix(".xml")
        if source.is_file():
            yield "gofeed", source, gofeed_rows(_load(expected))
    for expected in sorted((FEEDS / "feed-rs").rglob("*.serde.json")):
        stem = expected.name.removesuffix(".serde.json")
        for source in (expected.with_name(stem + ".xml"), expected.with_name(stem + ".json")):
            if source.is_file():
                yield "feed-rs", source, feed_rs_rows(_load(expected))
    node = FEEDS / "rss-parser-node" / "test"
    for expected in sorted((node / "output").glob("*.json")):
        for source in sorted((node / "input").glob(expected.stem + ".*")):
            yield "rss-parser-node", source, rss_parser_rows(_load(expected))


def _load(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # one expected output was saved in Latin-1
        text = raw.decode("latin-1")
    data = json.loads(text)
    return data if isinstance(data, dict) else {}


# -- comparison -------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def same_title(ours: str, theirs: str) -> bool:
    # Our titles are plain text by design; peers may keep markup or entities.
    def norm(text: str) -> str:
        return " ".join(html.unescape(_TAG.sub("", html.unescape(text))).split())

    return norm(ours) == norm(theirs)


def same_link(ours: str, theirs: str, base: str) -> bool:
    # We resolve relative links against the feed URL; peers may leave them relative.
    # Some peers normalize URLs (host case, an empty path as "/"): the same URL still.
    theirs = theirs.strip()
    return _equivalent(ours) in (_equivalent(theirs), _equivalent(urljoin(base, theirs)))


def _equivalent(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    path = parts.path or ("/" if parts.netloc else "")
    return (parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment)


@dataclass
class Tally:
    compared: Counter[str] = field(default_factory=Counter)
    agreed: Counter[str] = field(default_factory=Counter)
    files: int = 0
    count_mismatch: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        total = sum(self.compared.values())
        return sum(self.agreed.values()) / total if total else 1.0


def compare(outcomes: dict[Path, Outcome]) -> dict[str, Tally]:
    tallies = {suite: Tally() for suite in SUITES}
    for suite, source, expected in expectations():
        outcome = outcomes.get(source)
        if outcome is None or not expected:
            continue
        tally = tallies[suite]
        tally.files += 1
        name = str(source.relative_to(FEEDS))
        if len(outcome.rows) != len(expected):
            tally.count_mismatch.append(f"{name}: ours {len(outcome.rows)}, {len(expected)}")
        for n, (ours, theirs) in enumerate(zip(outcome.rows, expected, strict=False)):
            _compare_row(tally, f"{name}#{n}", ours, theirs, outcome.url)
    return tallies


def _compare_row(tally: Tally, where: str, ours: Row, theirs: Row, base: str) -> None:
    checks = (
        (
            "title",
            ours[0],
            theirs[0],
            bool(ours[0] and theirs[0]) and same_title(ours[0], theirs[0]),
        ),
        (
            "link",
            ours[1],
            theirs[1],
            bool(ours[1] and theirs[1]) and same_link(ours[1], theirs[1], base),
        ),
        ("published", ours[2], theirs[2], ours[2] == theirs[2]),
    )
    for name, mine, other, same in checks:
        if not mine or not other:
            continue  # only what both extract
        tally.compared[name] += 1
        if same:
            tally.agreed[name] += 1
        else:
            tally.differences.append(f"{where} {name}: ours {mine!r} / theirs {other!r}")


def table(tallies: dict[str, Tally]) -> str:
    lines = ["suite            files  titles     links      dates      overall"]
    for suite, t in tallies.items():
        cells = [f"{t.agreed[k]}/{t.compared[k]}" for k in ("title", "link", "published")]
        lines.append(
            f"{suite:<16} {t.files:>5}  {cells[0]:<10} {cells[1]:<10} {cells[2]:<10} {t.ratio:.1%}"
        )
    return "\n".join(lines)


# -- tests ------------------------------------------------------------------------------


def test_every_file_is_fetched_and_parsed_to_items_or_a_clear_error(
    outcomes: dict[Path, Outcome],
) -> None:
    crashes = {str(p.relative_to(FEEDS)): o.crash for p, o in outcomes.items() if o.crash}
    assert crashes == {}
    for path, outcome in outcomes.items():
        assert outcome.empty or outcome.error or outcome.rows is not None, path
        if outcome.error:
            assert len(outcome.error) > len("parse: "), path
    parsed = sum(1 for o in outcomes.values() if o.rows)
    assert parsed > 1000 and len(outcomes) > 3000


def test_peer_agreement_per_suite(
    outcomes: dict[Path, Outcome], record_property: Callable[[str, object], None]
) -> None:
    tallies = compare(outcomes)
    print("\n" + table(tallies))
    for suite, tally in tallies.items():
        record_property(f"agreement_{suite}", f"{tally.ratio:.4f}")
        assert tally.files > 0, suite
        assert tally.ratio >= TARGET, (suite, tally.differences[:20])


@pytest.mark.parametrize(
    ("relative", "charset"),
    [
        ("derived-encodings/build_feed_2020-07.gb18030-declared-gb2312.xml", None),
        ("derived-encodings/build_feed_2020-07.gbk.xml", None),
        ("derived-encodings/build_feed_2020-07.gbk.xml", "utf-8"),  # the header lies too
        ("derived-encodings/by_tag_Matters_2025-02.big5.xml", None),
        ("derived-encodings/by_tag_Matters_2025-02.big5-nodecl.xml", "iso-8859-1"),
        ("rsparser-netnewswire/Tests/RSParserTests/Resources/kc0011.rss", None),
    ],
)
async def test_chinese_encodings_decode_to_readable_chinese_through_fetch(
    feed_server: FeedServer, relative: str, charset: str | None
) -> None:
    path = FEEDS / relative
    if not path.is_file():
        pytest.skip("../shared/data/feeds is not beside this checkout")
    kind = "application/xml" + (f"; charset={charset}" if charset else "")
    feed_server.route("/zh.xml", path.read_bytes(), content_type=kind)
    async with Fetcher(allow_private_networks=True) as fetcher:
        result = await fetcher.fetch(feed_server.url("/zh.xml"))
    feed = parse_feed(result.body, feed_id="zh", url=result.url, headers=result.headers)
    titles = [i.title for i in feed.items]
    assert titles and all(re.search(r"[\u4e00-\u9fff]", t) for t in titles[:5])
    assert not any("\ufffd" in t for t in titles)
    common = sum(t.count(c) for t in titles for c in "的是在了不")
    assert common > 0 or len(titles) < 5


def main() -> None:
    """Print the agreement table and every difference (for docs/feeds.md)."""
    tallies = compare(run_corpus(corpus()))
    print(table(tallies))
    for suite, tally in tallies.items():
        print(f"\n== {suite}: item counts differ in {len(tally.count_mismatch)} files")
        for line in tally.count_mismatch:
            print("  count", line)
        for line in tally.differences:
            print("  ", line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
