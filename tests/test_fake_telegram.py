"""The fake Bot API answers like Telegram, so tests that pass against it mean something."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.telegram import FakeTelegram, SendLimits
from tests.fakes.telegram_html import HtmlRefused, parse_html


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


def call(
    tg: FakeTelegram,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    form: bool = False,
) -> tuple[int, dict[str, Any]]:
    url = f"{tg.url}{token or tg.token}/{method}"
    if form:
        from urllib.parse import urlencode

        body, ctype = urlencode(params or {}).encode(), "application/x-www-form-urlencoded"
    else:
        body, ctype = json.dumps(params or {}).encode(), "application/json"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.load(err)


def test_envelopes_for_token_and_method(tg: FakeTelegram) -> None:
    assert call(tg, "getMe") == (200, {"ok": True, "result": tg_bot()})
    assert call(tg, "getMe", token="1:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = call(tg, "noSuchMethod")
    assert (status, body["ok"], body["error_code"]) == (404, False, 404)


def tg_bot() -> dict[str, Any]:
    return {"id": 123456, "is_bot": True, "first_name": "mediabot", "username": "mediabot_test_bot"}


def test_send_message_returns_a_message_and_records_it(tg: FakeTelegram) -> None:
    params = {
        "chat_id": "-1001",
        "text": "<b>R&amp;D</b> &#128640;",
        "parse_mode": "HTML",
        "message_thread_id": "5",
    }
    status, body = call(tg, "sendMessage", params, form=True)
    assert status == 200
    result = body["result"]
    assert result["text"] == "R&D 🚀"
    assert result["chat"] == {"id": -1001, "type": "group", "title": "Chat -1001"}
    assert result["message_thread_id"] == 5
    assert result["entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert call(tg, "sendMessage", params)[1]["result"]["message_id"] == 2
    assert call(tg, "sendMessage", {**params, "chat_id": 9})[1]["result"]["message_id"] == 1
    assert [s.thread for s in tg.messages(-1001)] == [5, 5]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", "Unclosed start tag"),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("<b>x<i>y</b></i>", "Unmatched end tag"),
        ("<b>open", "Can't find end tag"),
        ("R&D", "Unsupported HTML entity"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("</b>", "Unexpected end tag"),
        ('<span class="x">s</span>', 'Unsupported start tag "span"'),
    ],
)
def test_html_telegram_refuses_is_refused(tg: FakeTelegram, html: str, reason: str) -> None:
    status, body = call(tg, "sendMessage", {"chat_id": 1, "text": html, "parse_mode": "HTML"})
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: ")
    assert reason in body["description"]
    assert tg.messages(1) == []


def test_html_telegram_accepts_is_parsed() -> None:
    parsed = parse_html(
        '<b>b</b><strong>s</strong><i>i</i><u>u</u><s>x</s><a href="https://e.com/?a=1&amp;b=2">l</a>'
        '<code>c</code><pre>p</pre><tg-spoiler>t</tg-spoiler><span class="tg-spoiler">q</span>'
        "<blockquote>z</blockquote>&lt;&gt;&quot;&amp;&#x41;"
    )
    assert parsed.text == 'bsiuxlcptqz<>"&A'
    assert {
        "type": "text_link",
        "offset": 5,
        "length": 1,
        "url": "https://e.com/?a=1&b=2",
    } in parsed.entities
    with pytest.raises(HtmlRefused):
        parse_html("<a>no href</a>")


def test_length_is_counted_in_utf16_units_after_parsing(tg: FakeTelegram) -> None:
    ok = "<b>" + "x" * 4096 + "</b>"
    assert call(tg, "sendMessage", {"chat_id": 1, "text": ok, "parse_mode": "HTML"})[0] == 200
    status, body = call(tg, "sendMessage", {"chat_id": 1, "text": "🚀" * 2049})
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    status, body = call(tg, "sendMessage", {"chat_id": 1, "text": "<b> </b>", "parse_mode": "HTML"})
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


def test_buttons_telegram_refuses_are_refused(tg: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "m" * 65}]]}
    status, body = call(
        tg,
        "sendMessage",
        {"chat_id": 1, "text": "t", "reply_markup": json.dumps(markup)},
        form=True,
    )
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


def test_faults_are_per_chat_and_counted(tg: FakeTelegram) -> None:
    tg.flood(5, retry_after=9, times=2)
    tg.migrate(-77, new_chat_id=-10077)
    assert call(tg, "sendMessage", {"chat_id": 6, "text": "x"})[0] == 200
    status, body = call(tg, "sendMessage", {"chat_id": 5, "text": "x"})
    assert (status, body["parameters"]) == (429, {"retry_after": 9})
    assert call(tg, "sendMessage", {"chat_id": 5, "text": "x"})[0] == 429
    assert call(tg, "sendMessage", {"chat_id": 5, "text": "x"})[0] == 200
    status, body = call(tg, "sendMessage", {"chat_id": -77, "text": "x"})
    assert (status, body["parameters"]) == (400, {"migrate_to_chat_id": -10077})
    assert [c.status for c in tg.calls_to(5)] == [429, 429, 200]


def test_enforced_limits_answer_429(tg: FakeTelegram) -> None:
    with FakeTelegram(enforce_limits=True, limits=SendLimits(per_chat_interval=30.0)) as strict:
        assert call(strict, "sendMessage", {"chat_id": 1, "text": "a"})[0] == 200
        status, body = call(strict, "sendMessage", {"chat_id": 1, "text": "b"})
        assert status == 429 and body["parameters"]["retry_after"] >= 29
        assert call(strict, "sendMessage", {"chat_id": 2, "text": "c"})[0] == 200
        assert strict.limit_violations == 1


def test_gate_holds_a_request_until_released(tg: FakeTelegram) -> None:
    gate = tg.gate(chat=3)
    results: list[int] = []
    worker = threading.Thread(
        target=lambda: results.append(call(tg, "sendMessage", {"chat_id": 3, "text": "x"})[0])
    )
    worker.start()
    assert not tg.wait_for(1, chat=3, timeout=0.2)
    gate.set()
    assert tg.wait_for(1, chat=3, timeout=5)
    worker.join(5)
    assert results == [200]


def test_edit_and_not_modified(tg: FakeTelegram) -> None:
    call(tg, "sendMessage", {"chat_id": 1, "text": "old"})
    assert call(tg, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "new"})[0] == 200
    status, body = call(tg, "editMessageText", {"chat_id": 1, "message_id": 1, "text": "new"})
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    status, body = call(tg, "editMessageText", {"chat_id": 1, "message_id": 9, "text": "x"})
    assert body["description"] == "Bad Request: message to edit not found"
    assert tg.messages(1)[0].edits == ["old"]


def test_updates_commands_and_callbacks(tg: FakeTelegram) -> None:
    first = tg.push_update({"message": {"text": "/start"}})
    tg.push_update({"message": {"text": "/help"}})
    assert [u["update_id"] for u in call(tg, "getUpdates", {"timeout": 0})[1]["result"]] == [
        first,
        first + 1,
    ]
    assert call(tg, "getUpdates", {"offset": first + 2, "timeout": 0})[1]["result"] == []
    assert tg.updates == []
    commands = [{"command": "start", "description": "Start"}]
    assert (
        call(tg, "setMyCommands", {"commands": json.dumps(commands)}, form=True)[1]["result"]
        is True
    )
    assert tg.commands == commands
    assert (
        call(tg, "answerCallbackQuery", {"callback_query_id": "q1", "text": "ok"})[1]["result"]
        is True
    )
    assert tg.callback_answers == [{"callback_query_id": "q1", "text": "ok"}]
    assert call(tg, "deleteWebhook")[1]["result"] is True
    assert call(tg, "getChat", {"chat_id": "@News"})[1]["result"]["type"] == "channel"
    member = call(tg, "getChatMember", {"chat_id": -1001, "user_id": 123456})[1]["result"]
    assert member["status"] == "administrator" and member["can_post_messages"] is True


def test_send_photo_accepts_multipart(tg: FakeTelegram) -> None:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n-1001\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n<b>chart</b>\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="parse_mode"\r\n\r\nHTML\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="c.png"\r\n'
        "Content-Type: image/png\r\n\r\n",
    ]
    body = "".join(parts).encode() + b"\x89PNG\r\n\x1a\n0000" + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{tg.url}{tg.token}/sendPhoto",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        result = json.load(response)["result"]
    assert result["caption"] == "chart" and result["photo"]
    [sent] = tg.messages(-1001)
    assert (sent.method, sent.text) == ("sendPhoto", "chart")
