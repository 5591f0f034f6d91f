"""``mediabot spikes``: the dry run over inputs in any order, as DESIGN §5 writes it."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Cli
from tests.spike_material import ENTITIES, trump_bodies

T0 = datetime(2026, 10, 1, tzinfo=UTC)
BURST = datetime(2026, 10, 2, 14, 0, tzinfo=UTC)


def write_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    spikes = (
        "spikes:\n  - id: surges\n    name: Surges\n    watch: ['@trump', '@putin']\n"
        "    window: 1h\n    baseline: 1d\n    factor: 3\n    min_items: 4\n"
    )
    (rules / "rules.yaml").write_text(ENTITIES + spikes, encoding="utf-8")
    return rules


def write_items(tmp_path: Path) -> tuple[Path, list[str]]:
    """A JSON Lines archive, shuffled: a background of one item every three hours for two
    days, a burst of six in one hour, a syndicated copy in the burst, an undated item."""
    bodies = trump_bodies(24)
    rows = []
    for k in range(16):
        at = T0 + timedelta(hours=3 * k, minutes=10)
        rows.append(
            {
                "id": f"bg-{k}",
                "title": bodies[k].title,
                "content": bodies[k].html,
                "published": at.isoformat(),
            }
        )
    burst = []
    for k in range(6):
        at = BURST + timedelta(minutes=7 * k + 2)
        body = bodies[16 + k]
        burst.append(f"burst-{k}")
        rows.append(
            {
                "id": f"burst-{k}",
                "title": body.title,
                "content": body.html,
                "published": at.isoformat(),
                "feed": "wire",
            }
        )
    copy = bodies[16]
    rows.append(
        {
            "id": "copy-0",
            "title": "【转载】" + copy.title,
            "content": copy.html,
            "published": (BURST + timedelta(minutes=50)).isoformat(),
            "feed": "relay",
        }
    )
    rows.append({"id": "undated", "title": bodies[23].title, "content": bodies[23].html})
    random.Random(7).shuffle(rows)  # noqa: S311 -- test order, not security
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path, burst


def test_jsonl_has_one_line_per_window_that_fires(tmp_path: Path, cli: Cli) -> None:
    rules = write_rules(tmp_path)
    items, burst = write_items(tmp_path)
    result = cli("spikes", "--rules", str(rules), "--format", "jsonl", str(items))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {
            "spike": "surges",
            "entity": "trump",
            "window_end": "2026-10-02T15:00:00+00:00",
            "count": 6,  # the syndicated copy counts once with its original
            # one background item per three hours: a day of them is 8, a third an hour
            "baseline": 0.333,
            "items": burst,
        }
    ]
    assert "1 items have no date and were not placed in time" in result.stderr


def test_the_table_and_a_spike_choice(tmp_path: Path, cli: Cli) -> None:
    rules = write_rules(tmp_path)
    items, _ = write_items(tmp_path)
    result = cli("spikes", "--rules", str(rules), "--spike", "surges", str(items))
    assert result.returncode == 0, result.stderr
    assert "▶ surges  trump  2026-10-02 14:00–15:00 UTC  6 items (usual 0.33)" in result.stdout
    assert result.stdout.rstrip().endswith(
        "24 items, 23 counted for watched names, 1 windows fired"
    )
    wrong = cli("spikes", "--rules", str(rules), "--spike", "surge", str(items))
    assert wrong.returncode == 2
    assert "unknown spike id(s): surge (spikes: surges)" in wrong.stderr


def test_rules_without_spikes_are_a_usage_error(tmp_path: Path, cli: Cli) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(ENTITIES, encoding="utf-8")
    result = cli("spikes", "--rules", str(rules), str(tmp_path))
    assert result.returncode == 2
    assert "the rules define no spikes" in result.stderr


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path, cli: Cli) -> None:
    """``mediabot spikes … | head``: the rest of the output is dropped, without a traceback."""
    rules = write_rules(tmp_path)
    items, _ = write_items(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "spikes", "--rules", str(rules), str(items)],
        cwd=cli.cwd,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first line
        stderr = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
