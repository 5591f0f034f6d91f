"""The error tree. Errors are classified once, at the edge that sees them.

::

    MediabotError
    ├── ConfigError                 settings that cannot work (bad value, missing dir)
    │   └── AlreadyRunning          another mediabot owns this SQLite database
    ├── RulesError                  a rules set that cannot be loaded; carries every problem
    │   └── EditRefused             a rule-file edit that cannot be made (unknown id, taken URL)
    ├── FeedError                   one feed could not be polled; the others go on
    │   ├── FetchError              network, timeout, HTTP status, too large, redirects
    │   │   └── UnsafeURLError      refused by the private-network guard
    │   └── ParseError              not a feed, malformed beyond repair, unsafe XML
    ├── InputError                  an item file given to ``mediabot match`` cannot be read
    ├── StoreError                  the database cannot be opened or migrated
    │   └── LeaseLost               another process polls this feed now; nothing written
    └── SendError                   Telegram refused or failed a send
        ├── RetryLater              flood control (429) or a transient failure; retry after
        │   └── TokenRejected       Telegram refused the bot token (401/404): the queue is
        │                           kept and retried, but a person must check the token
        ├── ParseModeRefused        Telegram cannot parse our HTML; resend as plain text
        ├── ChatGone                bot blocked, kicked or chat not found (403/400)
        ├── ChatMoved               the group became a supergroup with a new id
        └── PermanentSendError      any other refusal (400); never retried blindly
"""

from __future__ import annotations

from dataclasses import dataclass


class MediabotError(Exception):
    """Base of every error mediabot raises on purpose."""


class ConfigError(MediabotError):
    """Settings that cannot work."""


class AlreadyRunning(ConfigError):
    """Another mediabot process holds the instance lock of this database."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a rule file: where it is and what is wrong."""

    file: str
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.severity}: {self.message}"


class RulesError(MediabotError):
    """A rules set that cannot be loaded. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EditRefused(RulesError):
    """A rule-file edit that cannot be made as asked (an unknown id, a taken URL); the
    files are unchanged and the rules themselves may be fine."""


class FeedError(MediabotError):
    """One feed could not be polled."""

    kind = "feed"


class FetchError(FeedError):
    kind = "fetch"

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class UnsafeURLError(FetchError):
    kind = "unsafe_url"


class ParseError(FeedError):
    kind = "parse"


class InputError(MediabotError):
    """An input given to ``mediabot match`` cannot be read."""


class StoreError(MediabotError):
    """The database cannot be opened or migrated."""


class LeaseLost(StoreError):
    """A poll's lease of its feed ran out and another process took the feed: the poll's
    result is not written, so the feed's state is the other poll's alone."""


class SendError(MediabotError):
    """Telegram refused or failed a send."""


class RetryLater(SendError):
    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class TokenRejected(RetryLater):
    """Telegram refused the bot token. Said as such, never as a network failure."""


class ParseModeRefused(SendError):
    """Telegram could not parse the message's HTML entities."""


class ChatGone(SendError):
    """The bot may no longer post to the chat (blocked, kicked, chat not found)."""


class ChatMoved(SendError):
    def __init__(self, message: str, *, new_chat_id: int) -> None:
        super().__init__(message)
        self.new_chat_id = new_chat_id


class PermanentSendError(SendError):
    """Any other refusal; the alert is marked failed with the reason."""
