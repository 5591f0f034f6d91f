"""Bot API method bodies for the fake; called with the ``Api`` lock held."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tests.fakes.telegram_api import BOT_USER, ApiError, ChatKey, Sent, chat_object

if TYPE_CHECKING:
    from tests.fakes.telegram_api import Api


def need_chat(chat: ChatKey | None) -> ChatKey:
    if chat is None:
        raise ApiError(400, "Bad Request: chat_id is empty")
    return chat


def _message(sent: Sent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": sent.message_id,
        "from": BOT_USER,
        "chat": chat_object(sent.chat),
        "date": sent.date,
    }
    if sent.method == "sendPhoto":
        out["photo"] = [{"file_id": "photo1", "file_unique_id": "u1", "width": 1, "height": 1}]
        out["caption"] = sent.text
        if sent.entities:
            out["caption_entities"] = sent.entities
    else:
        out["text"] = sent.text
        if sent.entities:
            out["entities"] = sent.entities
    if sent.thread is not None:
        out["message_thread_id"] = sent.thread
        out["is_topic_message"] = True
    if sent.reply_markup:
        out["reply_markup"] = sent.reply_markup
    return out


def _thread(params: dict[str, Any]) -> int | None:
    value = params.get("message_thread_id")
    return int(value) if value not in (None, "") else None


def send_message(api: Api, chat: ChatKey | None, params: dict[str, Any]) -> dict[str, Any]:
    key = need_chat(chat)
    source = str(params.get("text", ""))
    parse_mode = params.get("parse_mode") or None
    parsed = api.parse(source, parse_mode)
    markup = api.load_json(params.get("reply_markup"))
    api.check_markup(markup)
    sent = Sent(
        chat=key,
        message_id=api.next_id(key),
        text=parsed.text,
        parse_mode=parse_mode,
        entities=parsed.entities,
        reply_markup=markup or None,
        thread=_thread(params),
        date=int(time.time()),
        source=source,
    )
    api.sent.append(sent)
    return _message(sent)


def edit_message_text(api: Api, chat: ChatKey | None, params: dict[str, Any]) -> dict[str, Any]:
    key = need_chat(chat)
    message_id = int(params.get("message_id") or 0)
    found = [s for s in api.sent if s.chat == key and s.message_id == message_id]
    if not found:
        raise ApiError(400, "Bad Request: message to edit not found")
    sent = found[0]
    parsed = api.parse(str(params.get("text", "")), params.get("parse_mode") or None)
    markup = api.load_json(params.get("reply_markup")) or None
    api.check_markup(markup)
    if (
        parsed.text == sent.text
        and parsed.entities == sent.entities
        and markup == sent.reply_markup
    ):
        raise ApiError(
            400,
            "Bad Request: message is not modified: specified new message content and reply "
            "markup are exactly the same as a current content and reply markup of the message",
        )
    sent.edits.append(sent.text)
    sent.text, sent.entities, sent.reply_markup = parsed.text, parsed.entities, markup
    sent.source = str(params.get("text", ""))
    return _message(sent)


def send_photo(api: Api, chat: ChatKey | None, params: dict[str, Any]) -> dict[str, Any]:
    key = need_chat(chat)
    if not params.get("photo"):
        raise ApiError(400, "Bad Request: there is no photo in the request")
    caption = str(params.get("caption") or "")
    parse_mode = params.get("parse_mode") or None
    parsed = api.parse(caption, parse_mode, limit=1024) if caption else None
    sent = Sent(
        chat=key,
        message_id=api.next_id(key),
        text=parsed.text if parsed else "",
        parse_mode=parse_mode,
        entities=parsed.entities if parsed else [],
        reply_markup=api.load_json(params.get("reply_markup")) or None,
        thread=_thread(params),
        date=int(time.time()),
        method="sendPhoto",
        source=caption,
    )
    api.sent.append(sent)
    return _message(sent)


def remember(log: list[dict[str, Any]], params: dict[str, Any]) -> bool:
    log.append(dict(params))
    return True


def set_commands(api: Api, params: dict[str, Any]) -> bool:
    api.commands = list(api.load_json(params.get("commands")) or [])
    return True


# What Telegram leaves out unless asked for by name (``allowed_updates``).
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def _wanted(api: Api, update: dict[str, Any]) -> bool:
    kind = next(k for k in update if k != "update_id")
    if api.allowed_updates:
        return kind in api.allowed_updates
    return kind not in _NOT_BY_DEFAULT


def get_updates(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    offset = int(params.get("offset") or 0)
    timeout = min(float(params.get("timeout") or 0), 30.0)
    limit = int(params.get("limit") or 100)
    allowed = api.load_json(params.get("allowed_updates"))
    if allowed is not None:
        api.allowed_updates = list(allowed)
    if offset:
        # Telegram forgets confirmed updates once a later offset is asked for.
        api.updates = [u for u in api.updates if u["update_id"] >= offset]

    def pending() -> list[dict[str, Any]]:
        # A kind not asked for is never delivered.
        return [u for u in api.updates if u["update_id"] >= offset and _wanted(api, u)]

    def ready() -> bool:
        return api.closed or bool(pending())

    # ``polling`` counts the long polls waiting right now: a test can wait for the bot
    # to be listening, and stop it mid-poll.
    api.polling += 1
    api._cond.notify_all()
    try:
        api._cond.wait_for(ready, timeout)
    finally:
        api.polling -= 1
    return pending()[:limit]


_ADMIN_RIGHTS = [
    "can_be_edited",
    "is_anonymous",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_post_messages",
    "can_edit_messages",
    "can_pin_messages",
    "can_manage_topics",
]


def chat_member(api: Api, chat: ChatKey | None, params: dict[str, Any]) -> dict[str, Any]:
    key = need_chat(chat)
    user_id = int(params.get("user_id") or 0)
    status = api.chat_members.get((key, user_id), "administrator")
    user = (
        BOT_USER
        if user_id == BOT_USER["id"]
        else {
            "id": user_id,
            "is_bot": False,
            "first_name": "User",
        }
    )
    return member_json(status, user)


def member_json(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ChatMember object with the fields Telegram sends for ``status``."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update({right: right != "is_anonymous" for right in _ADMIN_RIGHTS})
        member["can_be_edited"] = False
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    return member
