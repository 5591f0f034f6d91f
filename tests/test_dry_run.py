"""`mediabot match` as a rule author's loop: streaming inputs, the --stats report, and
--explain showing only the near-misses that would have changed the outcome."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

RULES = """\
entities:
  pyongyang:
    name: Pyongyang
    aliases: [Pyongyang, 平壤]
topics:
  - id: sanctions
    name: Sanctions
    any: [ban*, sanctions, embargo]
  - id: dprk-sanctions
    name: DPRK sanctions
    any: [sanctions]
    all: ["@pyongyang"]
  - id: tiny
    name: Tiny
    any: [ban, tariff]
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "topics.yaml").write_text(RULES, encoding="utf-8")
    return folder


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    return path


ITEMS = [
    {"id": "1", "title": "Central bank raises rates", "content": "The bank said so."},
    {"id": "2", "title": "Export ban widened", "content": "A ban on chips."},
    {"id": "3", "title": "New sanctions on Pyongyang", "content": "平壤回应。"},
    {"id": "4", "title": "Weather", "content": "Sunny."},
]


def test_stats_report_per_topic_and_term(cli: Cli, rules: Path, tmp_path: Path) -> None:
    items = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    result = cli("match", str(items), "--stats", "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("4 items read")
    assert "sanctions  Sanctions: 3 items (75.0 %)" in out
    # the quickest way to see that ban* catches "bank"
    (ban,) = [line for line in out.splitlines() if line.strip().startswith("ban*")]
    assert "2 items" in ban and "50.0 %" in ban and "bank 2" in ban and "ban 2" in ban
    assert "e.g. Central bank raises rates" in out
    assert "never hit: embargo" in out
    assert "dprk-sanctions  DPRK sanctions: 1 items (25.0 %)" in out
    assert "Weather" not in out  # no item rows: a report


def test_stats_as_json_lines(cli: Cli, rules: Path, tmp_path: Path) -> None:
    items = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    result = cli("match", str(items), "--stats", "--format", "jsonl", "--rules", str(rules))
    rows = {r["topic"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["sanctions"]["items"] == 3 and rows["sanctions"]["share"] == 0.75
    terms = {t["term"]: t for t in rows["sanctions"]["terms"]}
    assert terms["ban*"]["matched"] == {"bank": 2, "ban": 2}
    assert rows["sanctions"]["never_hit"] == ["embargo"]
    assert rows["dprk-sanctions"]["terms"][1]["term"] == "@pyongyang"


def test_explain_shows_only_near_misses_that_change_the_outcome(
    cli: Cli, rules: Path, tmp_path: Path
) -> None:
    items = write_jsonl(
        tmp_path / "items.jsonl",
        [
            # sanctions fires through "ban*": its "sanktons" (2 edits) changes nothing
            {"id": "a", "title": "Sanktons and a ban", "content": ""},
            # no topic fires; "sanktons" would make `sanctions` fire: shown
            {"id": "b", "title": "New sanktons announced", "content": ""},
            # dprk-sanctions needs Pyongyang too: the typo alone would not fire it
            {"id": "c", "title": "EU embargo and sanktons", "content": ""},
            # short terms (ban, tariff) are left out: "can", "tarif" are not shown
            {"id": "d", "title": "We can see a tarif", "content": ""},
        ],
    )
    result = cli("match", str(items), "--explain", "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    misses = [line.strip() for line in result.stdout.splitlines() if " ~ «" in line]
    assert misses == [
        "sanctions: sanctions ~ «sanktons»  [title, 2 edits, 1 allowed] would fire it"
    ]
    assert "near-misses in 'New sanktons announced'" in result.stdout
    assert "no near-misses" not in result.stdout


def test_explain_says_when_there_are_none(cli: Cli, rules: Path, tmp_path: Path) -> None:
    items = write_jsonl(tmp_path / "items.jsonl", ITEMS)
    result = cli("match", str(items), "--explain", "--rules", str(rules))
    assert "no near-misses" in result.stdout


def test_explain_in_json_lines_marks_near_misses_as_not_fired(
    cli: Cli, rules: Path, tmp_path: Path
) -> None:
    items = write_jsonl(tmp_path / "i.jsonl", [{"id": "b", "title": "New sanktons", "content": ""}])
    result = cli("match", str(items), "--explain", "--format", "jsonl", "--rules", str(rules))
    (row,) = map(json.loads, result.stdout.splitlines())
    assert row["fired"] is False and row["topic"] == "sanctions"
    assert row["near_misses"][0]["matched"] == "sanktons"


def _peak_rss_mb(args: list[str]) -> float:
    """Peak RSS of one ``mediabot`` run, measured in a fresh parent that runs only it."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return int(proc.stdout.strip()) / 1024


def test_a_large_json_lines_file_is_matched_in_bounded_memory(rules: Path, tmp_path: Path) -> None:
    body = "<p>" + "The central bank weighs a ban on exports. 央行考虑禁止出口。 " * 3 + "</p>"
    # Fields the reader does not use (an export's raw page) make the file big and the
    # matching quick.
    raw = "x" * 4000
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as f:
        for n in range(6_000):
            f.write(json.dumps({"id": n, "title": f"Item {n}", "content": body, "raw": raw}))
            f.write("\n")
    small = write_jsonl(tmp_path / "small.jsonl", ITEMS)
    size_mb = big.stat().st_size / 2**20
    assert size_mb > 20
    base = _peak_rss_mb(["match", str(small), "--stats", "--rules", str(rules)])
    peak = _peak_rss_mb(["match", str(big), "--stats", "--rules", str(rules)])
    # Holding the file would add its size (bytes) and more (decoded text and items).
    assert peak - base < size_mb / 2, (base, peak, size_mb)
