"""``mediabot demo``: the whole pipeline, offline, in a few seconds.

Three sample feeds shipped in this package (``data/``: Chinese, English and a Traditional
Chinese edition, written for the demo) are served on 127.0.0.1 by the command itself.
The demo's rules and a fresh SQLite database live in a temporary directory, removed at
the end. Then, through the same pipeline, store and sender as ``mediabot run``:

1. the Chinese and English feeds are polled: a treaty story fires a Chinese topic, a
   misspelled name (``Zelenksy``) fires an English one through its entity, chip stories
   are held for an hourly digest, and the rest (weather, sport, snacks) fires nothing;
2. the Traditional edition is polled: its copy of the treaty story is a near-duplicate,
   so the message already sent is edited to add "also: <source>";
3. the clock is moved to the next hour: the held chip stories go out as one digest.

Every message is printed as a chat would show it (the console sink), whatever token is
set: the demo never sends to Telegram.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO

from bot.clock import utc_now
from bot.config.settings import Settings
from bot.delivery.digest import DigestCollector
from bot.delivery.sender import Sender
from bot.service.app import App

DATA = files("bot.demo") / "data"
DOCUMENTS = {
    "/huanqiu.xml": ("huanqiu.xml", "application/rss+xml; charset=utf-8"),
    "/worldwire.xml": ("worldwire.xml", "application/rss+xml; charset=utf-8"),
    "/huanqiu-hk.atom": ("huanqiu-hk.atom", "application/atom+xml; charset=utf-8"),
}
FIRST_FEEDS = ("huanqiu-demo", "worldwire-demo")
LATER_FEEDS = ("huanqiu-hk-demo",)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = DOCUMENTS.get(self.path)
        if found is None:
            self.send_error(404)
            return
        body = (DATA / found[0]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", found[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo's output is the alerts."""


@contextlib.contextmanager
def serve_samples() -> Iterator[str]:
    """The sample documents on an ephemeral loopback port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def demo_settings(settings: Settings, work: Path, base: str) -> Settings:
    """The user's settings with what the demo needs: its own rules and database, the
    loopback feeds allowed, every sample item considered, the console as the chat."""
    rules = work / "rules"
    rules.mkdir()
    text = (DATA / "rules.yaml").read_text(encoding="utf-8").replace("{base}", base)
    (rules / "demo.yaml").write_text(text, encoding="utf-8")
    return settings.model_copy(
        update={
            "rules_dir": rules,
            "database_url": f"sqlite:///{work / 'demo.db'}",
            "allow_private_networks": True,
            "backfill": 50,
            "telegram_token": None,
            "parse_processes": 0,
            "metrics_addr": None,
            "roles": ("poller", "sender", "updates"),
        }
    )


async def run_demo(settings: Settings, out: TextIO) -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="mediabot-demo-"))
    try:
        with serve_samples() as base:
            app = App(demo_settings(settings, work, base), stdout=out)
            try:
                counts = await _steps(app, base, out)
            finally:
                await app.aclose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _say(out, f"Done in {time.monotonic() - started:.1f} s: {counts}.")
    _say(
        out,
        "Next: `mediabot match FILE --stats` dry-runs rules on your own items; "
        "docs/rules.md has the rule language; set MEDIABOT_TELEGRAM_TOKEN and "
        "`mediabot send-test @your_channel` to send for real.",
    )
    return 0


async def _steps(app: App, base: str, out: TextIO) -> str:
    rules = app.rules.current().rules
    by_id = {f.id: f for f in rules.feeds}
    _say(
        out,
        f"mediabot demo: sample feeds served on {base} (nothing leaves this machine); "
        f"{len(rules.topics)} topics: " + ", ".join(t.name for t in rules.topics) + ".",
    )
    _say(out, "1. Polling 环球快讯 (Chinese) and World Wire (English): instant alerts.")
    # One feed after the other, so the messages are numbered the same way on every run.
    first = []
    for feed_id in FIRST_FEEDS:
        first += await app.pipeline.poll_all([by_id[feed_id]], on_schedule=False)
    sent = await app.sender.drain()
    _say(out, "2. Polling the Traditional Chinese edition: a copy of a story already sent.")
    later = await app.pipeline.poll_all([by_id[f] for f in LATER_FEEDS], on_schedule=False)
    edits = await app.sender.drain()
    _say(out, "3. An hour later: the chip stories held for the hourly digest go out.")
    names = {t.id: t.name for t in rules.topics}
    digests = DigestCollector(
        app.store, tz=app.settings.tz, topic_name=names.get, clock=_an_hour_later
    ).collect()
    await Sender(app.store, app.sink, clock=_an_hour_later).drain()
    items = sum(r.new_items for r in first + later)
    return f"{items} items read, {sent} alerts, {edits} edit, {digests} digest"


def _an_hour_later() -> datetime:
    return utc_now() + timedelta(hours=1, minutes=1)


def _say(out: TextIO, text: str) -> None:
    print(f"\n{text}", file=out)
    if out is not sys.stdout:
        out.flush()
