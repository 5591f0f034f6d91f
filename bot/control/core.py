"""What each Telegram command does: the ``Control`` the updates reader calls.

Built from plain values and callables (the store, the admin ids, the current rules, a
reload function, the rules directory, a fetcher, the clock), so tests drive it without
Telegram. Every call passes the same gates, in order:

1. flood control per user (``bot.control.flood``);
2. admin commands: the caller's id must be in ``admin_ids``, checked on every call;
   a refusal is polite and logged with the user id;
3. argument length; then the command itself, whose bad input (``BadArgs``) becomes a
   clear reply. Anything unexpected is logged and answered with a short apology.

Changes to a group's subscriptions and mutes also need the caller to be an admin of that
group, asked of Telegram on every call (see ``bot.control.users``).

The bot's own membership changes (added to a chat, removed, blocked) are no command and
pass no gate: they keep the gone chats in step (``bot.control.members``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rapidfuzz import process

from bot.control.admin import ADMIN_COMMANDS
from bot.control.args import BadArgs, check_length
from bot.control.context import Call, Command, Deps, ReloadState
from bot.control.flood import Flood, Verdict
from bot.control.members import bot_added, bot_removed
from bot.control.users import CALLBACKS, USER_COMMANDS
from bot.errors import RulesError, StoreError
from bot.telegram.i18n import ZH, language, t
from bot.telegram.protocol import Caller, Membership, Menu, Reply
from bot.telegram.replies import plain

log = logging.getLogger(__name__)


class Control:
    """Satisfies ``bot.telegram.protocol.CommandHandler``."""

    def __init__(self, deps: Deps, *, flood: Flood | None = None) -> None:
        self.deps = deps
        self.commands: dict[str, Command] = {c.name: c for c in USER_COMMANDS + ADMIN_COMMANDS}
        self._callbacks = CALLBACKS
        self._flood = flood or Flood(deps.store)

    def reload_done(self, error: RulesError | None) -> None:
        """Record a reload's outcome (the watcher's or /reload's) for /status and /rules."""
        problems = tuple(str(p) for p in error.problems) if error else ()
        self.deps.last_reload = ReloadState(self.deps.clock(), problems)

    def menus(self) -> Sequence[Menu]:
        users = [c.name for c in self.commands.values() if not c.admin]
        everything = list(self.commands)
        admins = tuple(sorted(self.deps.admin_ids))
        out = []
        for lang in (None, ZH):
            code = lang or "en"
            out.append(Menu(lang, tuple((n, t(code, f"cmd.{n}")) for n in users)))
            if admins:
                entries = tuple((n, t(code, f"cmd.{n}")) for n in everything)
                out.append(Menu(lang, entries, chat_ids=admins))
        return out

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.deps.admin_ids

    async def _gate(self, caller: Caller, lang: str) -> Reply | None:
        """A flood answer, or None when the call may go ahead; None also for silence."""
        now = self.deps.clock().timestamp()
        try:
            verdict = await self.deps.offload(self._flood.check, caller.user_id, now)
        except StoreError as exc:  # the store is failing: let the call through to say so
            log.warning("flood_check_failed", extra={"user_id": caller.user_id, "error": str(exc)})
            return None
        if verdict is Verdict.OK:
            return None
        log.warning("command_flood", extra={"user_id": caller.user_id, "verdict": verdict.value})
        text = t(lang, "flood")
        return Reply(message=plain(text), notice=text) if verdict is Verdict.WARN else Reply()

    async def command(self, caller: Caller, name: str, args: str) -> Reply | None:
        lang = language(caller.language)
        gated = await self._gate(caller, lang)
        if gated is not None:
            return gated if gated.message else None
        command = self.commands.get(name.lower())
        if command is None:
            return self._unknown(caller, lang, name)
        if command.admin and not self.is_admin(caller.user_id):
            log.warning("admin_command_refused", extra={"user_id": caller.user_id, "command": name})
            return Reply(message=plain(t(lang, "admin.refused", name=command.name)))
        call = Call(self.deps, caller, lang)
        try:
            check_length(args, command.max_args)
            reply = await command.run(call, args.strip())
        except BadArgs as exc:
            return Reply(message=plain(t(lang, exc.key, **exc.values)))
        except Exception:  # one failing command must not stop the bot
            log.exception("command_failed", extra={"user_id": caller.user_id, "command": name})
            return Reply(message=plain(t(lang, "error.internal")))
        log.info(
            "command_handled",
            extra={"user_id": caller.user_id, "chat": str(caller.chat), "command": command.name},
        )
        return reply

    def _unknown(self, caller: Caller, lang: str, name: str) -> Reply:
        names = [
            n for n, c in self.commands.items() if not c.admin or self.is_admin(caller.user_id)
        ]
        shown = name[:32]
        text = t(lang, "unknown.command", name=shown) + ("" if lang == ZH else " ")
        best = process.extractOne(name.lower(), names, score_cutoff=70)
        text += t(lang, "unknown.closest", name=best[0]) if best else t(lang, "unknown.hint")
        return Reply(message=plain(text))

    async def callback(self, caller: Caller, data: str) -> Reply:
        lang = language(caller.language)
        gated = await self._gate(caller, lang)
        if gated is not None:
            return Reply(notice=gated.notice) if gated.notice else Reply()
        kind, _, rest = data.partition(":")
        handler = self._callbacks.get(kind)
        call = Call(self.deps, caller, lang)
        if handler is None or len(data.encode()) > 64:
            log.warning("callback_refused", extra={"user_id": caller.user_id, "kind": kind[:20]})
            return Reply(notice=call.t("bad.callback"))
        try:
            return await handler(call, rest)
        except BadArgs:
            log.warning("callback_refused", extra={"user_id": caller.user_id, "kind": kind})
            return Reply(notice=call.t("bad.callback"))
        except Exception:  # a failing button must not stop the bot
            log.exception("callback_failed", extra={"user_id": caller.user_id, "kind": kind})
            return Reply(notice=call.t("error.internal"))

    async def membership(self, change: Membership) -> None:
        """The bot added to a chat (a gone chat comes back) or removed (it goes)."""
        try:
            await (bot_added if change.present else bot_removed)(self.deps, change)
        except Exception:  # one failed update must not stop the bot
            log.exception("membership_failed", extra={"chat_id": str(change.chat)})
