"""What the settings are read from, checked before they are read: names and wording.

A misspelled name (``MEDIABOT_ADMIN_ID``, ``MEDIABOT_TOKEN``) would otherwise be ignored
and the setting silently left at its default, so every ``MEDIABOT_*`` name in the
environment or the ``.env`` file must be a real setting; ``MEDIABOT_TEST_*`` is kept for
the test suite. A refused value is described as ``NAME=given: what is accepted``, with
secrets never echoed.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PREFIX = "MEDIABOT_"
RESERVED = ("MEDIABOT_TEST_",)  # the test suite's own variables


def env_file_values(path: Path | None) -> dict[str, str]:
    """The ``MEDIABOT_*`` names a ``.env`` file sets, with their values (none when the file
    does not exist)."""
    if path is None or not path.is_file():
        return {}
    values = dotenv_values(path, encoding="utf-8")
    return {k: v or "" for k, v in values.items() if k.upper().startswith(PREFIX)}


def unknown_names(names: Iterable[str], known: Collection[str], *, where: str) -> list[str]:
    """One line per ``MEDIABOT_*`` name that is no setting, with the nearest real ones."""
    problems = []
    for raw in names:
        name = raw.upper()
        if not name.startswith(PREFIX) or name in known or name.startswith(RESERVED):
            continue
        hint = suggest(name, known)
        problems.append(
            f"{raw} (in {where}) is not a setting"
            + (f"; did you mean {hint}?" if hint else "; see .env.example for every setting")
        )
    return problems


def suggest(name: str, known: Collection[str]) -> str | None:
    """The nearest known name: by spelling, else the one that ends the same way
    (``MEDIABOT_TOKEN`` -> ``MEDIABOT_TELEGRAM_TOKEN``)."""
    tail = name.removeprefix(PREFIX)
    ends = sorted(k for k in known if k.endswith("_" + tail))
    if len(ends) == 1:
        return ends[0]
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


# What each kind of refusal accepts, where pydantic's own words do not say it.
_ACCEPTS = {
    "bool_parsing": "use true or false",
    "bool_type": "use true or false",
    "int_parsing": "use a whole number",
    "int_type": "use a whole number",
    "int_from_float": "use a whole number",
    "float_parsing": "use a number",
    "missing": "required",
}


def describe_errors(
    errors: Iterable[Mapping[str, Any]], secret: Collection[str], given: Mapping[str, str]
) -> list[str]:
    """``MEDIABOT_NAME=given: what is wrong and what is accepted``, one line per error.
    ``given`` holds the values as written (by name); else the value pydantic saw is shown."""
    lines = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        field = loc[0] if loc else ""
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        message = _ACCEPTS.get(str(err.get("type")), "") or message
        if not field:
            lines.append(message)
            continue
        name = PREFIX + field.upper()
        value = given.get(name, err.get("input"))
        if field in secret or isinstance(value, dict) or value is None:
            lines.append(f"{name}: {message}")
        else:
            lines.append(f"{name}={_shown(value)}: {message}")
    return lines


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text) if text != text.strip() or not text else text
