"""Three changes to feedparser that make it faster on news feeds, with the
same output: applied once, by ``bot.feeds.parse``, in every process that parses.

Each one checks that feedparser is the version it was written against (the names and the
source line it changes); on another version it leaves feedparser as it is.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

import feedparser
import feedparser.mixin

_tuned = False


def tune_feedparser() -> None:
    """Apply the three changes, once per process."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    _speed_up_cp1252_fixup()
    _repair_only_c1_text()
    _bound_author_email_search()


def _speed_up_cp1252_fixup() -> None:
    """Give feedparser the same Windows-1252 repair table as a list, not a dict.

    feedparser ends every element with ``text.translate(_cp1252)``, mapping the C1 controls
    U+0080..U+009F to the characters Windows-1252 puts there. ``str.translate`` looks each
    character of a non-ASCII text up in the table, and a dict raises and clears a
    ``KeyError`` for every character it lacks: half of feedparser's time on article-sized
    items with Chinese text. A list indexed by code point (identity but for the C1 range)
    answers without one for every BMP character, and out-of-range characters still map to
    themselves, so the output is the same (``tests/test_parse_workers.py`` checks it),
    about twice as fast. Only the ``mixin`` module's name is rebound; ``feedparser.html``
    keeps its dict for its own membership tests.
    """
    current = getattr(feedparser.mixin, "_cp1252", None)
    if not isinstance(current, dict):  # another feedparser version: leave it be
        return
    table: list[int | str] = list(range(0x10000))
    for code, char in current.items():
        table[code] = char
    feedparser.mixin._cp1252 = table


# The longest author text feedparser searches for an e-mail address; see below.
# The repair as ``_FeedParserMixin.pop`` writes it, and the guard put before it.
_REPAIR = "output = output.translate(_cp1252)"
_C1_SEARCH = "_mediabot_c1_search"


def _repair_only_c1_text() -> None:
    """Let feedparser's Windows-1252 repair run only on text that has something to repair.

    The repair (the last step of ``_FeedParserMixin.pop``, which ends every element)
    changes nothing but the C1 controls, yet walks every character of every element: even
    with the list table it was 0.34 ms of the 0.55 ms a 9 kB Chinese article took to parse.
    Whether a text has a C1 control at all, a regular expression says in microseconds.
    ``pop`` is compiled again from feedparser's own source with that one line guarded (its
    file and line numbers kept for tracebacks); where the line is not there exactly once,
    ``pop`` stays as it is.
    """
    mixin = feedparser.mixin._FeedParserMixin
    pop = mixin.pop
    try:
        lines, first = inspect.getsourcelines(pop)
        filename = inspect.getsourcefile(pop)
    except (OSError, TypeError):
        return
    source = textwrap.dedent("".join(lines))
    if filename is None or source.count(_REPAIR) != 1:
        return
    guarded = source.replace(_REPAIR, f"if {_C1_SEARCH}(output): {_REPAIR}")
    code = compile("\n" * (first - 1) + guarded, filename, "exec", dont_inherit=True)
    module_globals = vars(feedparser.mixin)
    module_globals[_C1_SEARCH] = re.compile("[\x80-\x9f]").search
    defined: dict[str, Any] = {}
    exec(code, module_globals, defined)  # noqa: S102 - feedparser's own source, one line guarded
    guarded_pop = defined["pop"]
    guarded_pop.__qualname__ = pop.__qualname__
    guarded_pop.__wrapped__ = pop
    mixin.pop = guarded_pop


AUTHOR_SCAN_CHARS = 1000


def _bound_author_email_search() -> None:
    """Let feedparser search only the first ``AUTHOR_SCAN_CHARS`` of an author's text.

    feedparser looks for an e-mail address in every ``author`` / ``publisher`` text with a
    regular expression that backtracks, quadratic in the text's length: 16 kB take 1.4 s,
    and the 1 MB author of a hostile feed over an hour of a parser's time. Items keep at
    most ``MAX_AUTHOR_CHARS`` of an author anyway (``bot.feeds.entries``), so the text is
    cut before the search; nothing shorter changes.
    """
    mixin = getattr(feedparser.mixin, "_FeedParserMixin", None)
    original = getattr(mixin, "_sync_author_detail", None)
    if mixin is None or original is None:  # another feedparser version: leave it be
        return

    def sync_author_detail(self: Any, key: str = "author") -> None:
        context = self._get_context()
        value = context.get(key)
        if isinstance(value, str) and len(value) > AUTHOR_SCAN_CHARS:
            context[key] = value[:AUTHOR_SCAN_CHARS]
        original(self, key)

    mixin._sync_author_detail = sync_author_detail
