"""Shared fixtures: paths to the shared test material, the fakes, a CLI runner."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.store import Store
from bot.telegram.send import TelegramSink
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "voa-2024-06-28.md"
ARCHIVE = SHARED / "data" / "archive"


@pytest.fixture
def seed_path() -> Path:
    if not SEED.is_file():
        pytest.skip("../shared/seed is not beside this checkout")
    return SEED


@pytest.fixture
def archive_dir() -> Path:
    if not (ARCHIVE / "items").is_dir():
        pytest.skip("../shared/data/archive is not beside this checkout")
    return ARCHIVE


POSTGRES_URL = os.environ.get("MEDIABOT_TEST_POSTGRES_URL", "")
# CI sets this: there a PostgreSQL test that cannot run is a failure, not a skip.
POSTGRES_REQUIRED = os.environ.get("MEDIABOT_TEST_POSTGRES_REQUIRED", "") not in ("", "0")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards.

    From the server named by MEDIABOT_TEST_POSTGRES_URL (``.ci/postgres start`` makes one);
    skipped without it, except where MEDIABOT_TEST_POSTGRES_REQUIRED is set.
    """
    if not POSTGRES_URL:
        if POSTGRES_REQUIRED:
            pytest.fail(
                "MEDIABOT_TEST_POSTGRES_REQUIRED is set but MEDIABOT_TEST_POSTGRES_URL is not"
            )
        pytest.skip("set MEDIABOT_TEST_POSTGRES_URL to run the PostgreSQL tests (.ci/postgres)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"mb_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if POSTGRES_REQUIRED:
            raise
        pytest.skip(f"PostgreSQL not usable here: {exc}")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on SQLite, then on PostgreSQL: the test runs on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def tg(telegram: FakeTelegram) -> FakeTelegram:
    return telegram


@pytest.fixture
async def sink(telegram: FakeTelegram) -> AsyncIterator[TelegramSink]:
    """A real python-telegram-bot sink talking to the fake Bot API."""
    opened = TelegramSink(telegram.token, api_url=telegram.url)
    yield opened
    await opened.aclose()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in a temporary folder."""
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as opened:
        opened.migrate()
        yield opened


@pytest.fixture
def shipped_rules(tmp_path: Path) -> Path:
    """A copy of the shipped rules without their feeds (tests add their own feeds file)."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    for feeds in target.rglob("feeds.y*ml"):
        feeds.unlink()
    return target


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Cli:
    """Runs ``python -m bot`` in a clean environment inside a temporary working directory."""

    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = 120, **env: str) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Service:
    """A ``mediabot`` process started in the background, its output in ``log``."""

    proc: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then the exit status (the process must stop within ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@contextmanager
def running(cli: Cli, *args: str, **env: str) -> Iterator[Service]:
    """Run ``python -m bot ARGS`` in the background for the body of a ``with``; killed if
    still running at the end."""
    log = cli.cwd / "service.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=cli.cwd,
            env={**cli.env, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield Service(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIABOT_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MEDIABOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'state' / 'mediabot.db'}"
    return Cli(cwd=work, env=env)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes: for another process's output,
    where there is no event to await."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
