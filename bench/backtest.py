"""Benchmark: a rule author's backtest, ``mediabot match --stats`` over a big JSON Lines file.

Writes a JSON Lines file of at least SIZE megabytes (default 150) from the real archive's
items (../shared/data/archive/items.jsonl, its records repeated with fresh ids; synthetic
Chinese and English items when the archive is absent), then runs ``mediabot match --stats``
on it with the shipped rules in a child process and prints:

- items/s end to end (reading, HTML to text, normalizing, matching, tallying);
- the child's peak RSS, against the file's size and against the same command's peak on a
  file of a few items (the baseline: interpreter, rules, matcher): the ratio shows that
  memory does not grow with the input.

Usage: ``python bench/backtest.py [SIZE_MB]``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "archive" / "items.jsonl"


def _records() -> list[dict[str, object]]:
    if ARCHIVE.is_file():
        with ARCHIVE.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    sentence = "普京与金正恩在平壤会谈。 The talks in Pyongyang covered a treaty. "
    body = "<p>" + sentence * 20 + "</p>"
    return [{"title": f"Synthetic item {n}", "link": "", "html": body} for n in range(1000)]


def write_file(path: Path, size_mb: float) -> int:
    records = _records()
    count, written, target = 0, 0, size_mb * 2**20
    with path.open("w", encoding="utf-8") as f:
        while written < target:
            for record in records:
                line = json.dumps({**record, "id": f"r{count}"}, ensure_ascii=False) + "\n"
                f.write(line)
                written += len(line.encode())
                count += 1
                if written >= target:
                    break
    return count


def run(
    path: Path, python: str = sys.executable, cwd: Path = ROOT, rules: Path = ROOT / "rules"
) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and report of ``mediabot match --stats`` on ``path``,
    run by ``python`` (an interpreter with mediabot installed) in ``cwd``."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout\n"
        "took = time.perf_counter() - t\n"
        "print(out)\n"
        "print(took, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    args = [python, "-m", "bot", "match", str(path), "--stats", "--rules", str(rules)]
    out = subprocess.run(  # noqa: S603 -- our own interpreter and command
        [python, "-c", probe, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report, _, last = out.rstrip("\n").rpartition("\n")
    seconds, rss_kb = last.split()
    return float(seconds), int(rss_kb) / 1024, report


def main() -> None:
    size_mb = float(sys.argv[1]) if len(sys.argv) > 1 else 150.0
    with tempfile.TemporaryDirectory(prefix="mediabot-backtest-") as tmp:
        big, small = Path(tmp) / "big.jsonl", Path(tmp) / "small.jsonl"
        items = write_file(big, size_mb)
        small_items = write_file(small, 0.01)
        file_mb = big.stat().st_size / 2**20
        _, base_rss, _ = run(small)
        seconds, peak_rss, _ = run(big)
    print(f"input: {file_mb:.0f} MB of JSON Lines, {items} items")
    print(f"throughput: {items / seconds:.0f} items/s end to end ({seconds:.1f} s)")
    print(
        f"peak RSS: {peak_rss:.0f} MB; baseline ({small_items} items) {base_rss:.0f} MB; "
        f"growth {peak_rss - base_rss:.0f} MB = {(peak_rss - base_rss) / file_mb:.3f}x the file"
    )
    print(f"self RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
