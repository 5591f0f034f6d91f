"""Benchmark: the cost of one ``lease_due`` call on PostgreSQL as the feed table grows.

A poller's tick asks for the few feeds it has room for, most overdue first
(``SELECT … ORDER BY next_poll_not_before NULLS FIRST, feed_id LIMIT n FOR UPDATE SKIP
LOCKED``). Without an index in that order PostgreSQL reads and sorts every due row on
every call; with the partial index ``ix_feed_state_due`` (migration 0008) it reads the
first ``n`` free rows of the index and stops.

For each table size, on a fresh database: half the feeds overdue by up to an hour, the
other half never polled (due at once), then ROUNDS calls leasing 5 feeds each, timed one by
one, first with the index, then with it dropped (the baseline, same data, same script).
Prints the median and 90th percentile per call and the ratio.

Usage: ``MEDIABOT_TEST_POSTGRES_URL=postgresql+psycopg://… python bench/lease.py [FEEDS…]``
(``eval "$(bash .ci/postgres start)"`` gives a throwaway cluster).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # after the path tweak
from sqlalchemy.engine import make_url

from bot.store import Store

ROUNDS = 200
BATCH = 5


def fresh_database(url: str, name: str) -> str:
    server = make_url(url).set(database="postgres")
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def timed_calls(store: Store) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        _, ids = store.lease_due("bench", BATCH, 3600.0)
        times.append(time.perf_counter() - started)
        if len(ids) != BATCH:
            raise SystemExit(f"leased {len(ids)} feeds, not {BATCH}")
    return times


def measure(url: str, feeds: int) -> tuple[list[float], list[float]]:
    url = fresh_database(url, f"mediabot_lease_{feeds}")
    with Store(url) as store:
        store.migrate()
        store.sync_feeds({f"feed-{n:06d}": 300.0 for n in range(feeds)})
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE feed_state SET next_poll_not_before = "
                    "now() - random() * interval '1 hour' WHERE random() < 0.5"
                )
            )
            conn.execute(text("ANALYZE feed_state"))
        with_index = timed_calls(store)
        with engine.begin() as conn:
            conn.execute(text("UPDATE feed_state SET lease_until = NULL, leased_by = NULL"))
            conn.execute(text("DROP INDEX ix_feed_state_due"))
            conn.execute(text("ANALYZE feed_state"))
        without = timed_calls(store)
        engine.dispose()
    return with_index, without


def main() -> None:
    url = os.environ.get("MEDIABOT_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit('set MEDIABOT_TEST_POSTGRES_URL (eval "$(bash .ci/postgres start)")')
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    print(f"lease_due, {BATCH} feeds a call, {ROUNDS} calls; half the feeds overdue, half new")
    for feeds in sizes:
        with_index, without = measure(url, feeds)
        med, base = statistics.median(with_index), statistics.median(without)
        p90 = statistics.quantiles(with_index, n=10)[-1]
        base90 = statistics.quantiles(without, n=10)[-1]
        print(
            f"{feeds:>7} feeds: with the index {1000 * med:.2f} ms (p90 {1000 * p90:.2f}), "
            f"without {1000 * base:.2f} ms (p90 {1000 * base90:.2f}): {base / med:.1f}x faster"
        )


if __name__ == "__main__":
    main()
