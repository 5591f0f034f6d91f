"""Machine-written summaries: a local fake chat-completions endpoint, labels, fallbacks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.delivery.kinds import TopicAlert
from bot.delivery.llm import LlmError, LlmSummarizer
from bot.delivery.sender import Sender
from bot.models import Alert, Destination, Message
from bot.telegram.render import MACHINE_LABEL, render
from tests.fakes.outbox import START, FakeTime, MemoryOutbox, topic_body

ALERT_HTML = (
    '🔔 <b>Topic</b>\nVOA · 2024-06-28 08:53 CST\n<a href="https://x/1"><b>Title</b></a>'
    "\n\nLead sentence with <b>普京</b>.\n\n<i>Why:</i> 普京 (@putin · content)\n#topic"
)
ALERT_PLAIN = (
    "🔔 Topic\nVOA · 2024-06-28 08:53 CST\nTitle\n\nLead sentence with 普京.\n\n"
    "Why: 普京 (@putin · content)\n#topic"
)


class FakeLlm:
    """An OpenAI-compatible /v1/chat/completions on 127.0.0.1 with scripted answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.reply: Any = {
            "choices": [{"message": {"role": "assistant", "content": "普京与金正恩签署条约。"}}]
        }
        self.hold = threading.Event()
        self.hold.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append(json.loads(self.rfile.read(length)))
                fake.headers.append(dict(self.headers))
                fake.hold.wait(5)
                data = json.dumps(fake.reply).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm() -> Iterator[FakeLlm]:
    fake = FakeLlm()
    yield fake
    fake.close()


async def test_summarizer_posts_a_chat_completion(llm: FakeLlm) -> None:
    summarizer = LlmSummarizer(llm.url, model="test-model", api_key="sk-secret", timeout=2)
    try:
        assert await summarizer("标题\n\n正文") == "普京与金正恩签署条约。"
    finally:
        await summarizer.aclose()
    [request] = llm.requests
    assert request["model"] == "test-model"
    assert request["messages"][-1] == {"role": "user", "content": "标题\n\n正文"}
    assert llm.headers[0]["Authorization"] == "Bearer sk-secret"


@pytest.mark.parametrize("status, reply", [(500, {"error": "boom"}), (200, {"choices": []})])
async def test_summarizer_errors_are_classified(llm: FakeLlm, status: int, reply: Any) -> None:
    llm.status, llm.reply = status, reply
    summarizer = LlmSummarizer(llm.url, model="m", timeout=2)
    try:
        with pytest.raises(LlmError):
            await summarizer("text")
    finally:
        await summarizer.aclose()


def topic_alert(body: TopicAlert) -> Alert:
    return Alert("voa", "k", "topic", Destination(1), body, START)


def test_an_alert_renders_as_before_the_outbox_held_parts() -> None:
    message = render(topic_alert(topic_body()))
    assert (message.text, message.plain) == (ALERT_HTML, ALERT_PLAIN)


def test_machine_summary_replaces_the_extractive_one_and_is_labelled() -> None:
    body = replace(topic_body(), machine_summary="A <b>bold</b> & claim")
    out = render(topic_alert(body))
    assert MACHINE_LABEL in out.plain and "Lead sentence" not in out.plain
    assert "A &lt;b&gt;bold&lt;/b&gt; &amp; claim" in out.text
    assert out.plain.endswith("Why: 普京 (@putin · content)\n#topic")
    assert out.text.startswith("🔔 <b>Topic</b>\nVOA")


async def _send_one(summarizer: LlmSummarizer, limit: float) -> tuple[MemoryOutbox, str]:
    outbox, time = MemoryOutbox(), FakeTime()
    entry = outbox.add(1, "x", body=topic_body())
    entry.alert = replace(entry.alert, summary_input="Title\n\nBody")
    sent: list[str] = []

    class Sink:
        async def send(self, dest: object, message: Message, *, as_plain: bool = False) -> int:
            sent.append(message.plain)
            return 1

        async def edit(self, *args: object) -> None: ...

        async def aclose(self) -> None: ...

    sender = Sender(
        outbox,
        Sink(),
        clock=time.clock,
        sleep=time.sleep,  # type: ignore[arg-type]
        summarizer=summarizer,
        summary_timeout=limit,
    )
    await sender.drain()
    return outbox, sent[0]


async def test_sender_uses_the_machine_summary(llm: FakeLlm) -> None:
    summarizer = LlmSummarizer(llm.url, model="m", timeout=2)
    try:
        outbox, text = await _send_one(summarizer, limit=2)
    finally:
        await summarizer.aclose()
    assert MACHINE_LABEL in text and "普京与金正恩签署条约。" in text
    assert outbox.entries[1].status == "sent"


@pytest.mark.parametrize("fault", ["error", "timeout"])
async def test_sender_falls_back_to_the_extractive_summary(llm: FakeLlm, fault: str) -> None:
    if fault == "error":
        llm.status = 503
    else:
        llm.hold.clear()  # the endpoint answers only after our timeout
    summarizer = LlmSummarizer(llm.url, model="m", timeout=5)
    try:
        _, text = await _send_one(summarizer, limit=0.3)
    finally:
        llm.hold.set()
        await summarizer.aclose()
    assert text == ALERT_PLAIN
