"""Durations as people write them: one grammar and one unit table for settings, rule
files and commands.

Grammar: a number (whole or decimal) and a unit, blanks allowed around and between them:
``30s``, ``10m``, ``1.5h``, ``2 d``, ``1w``. Units, in any case: ``ms``, ``s``, ``m`` or
``min``, ``h``, ``d``, ``w``. A number without a unit is seconds where a caller allows one
(``MEDIABOT_*`` settings, a feed's ``interval``); a command argument (``/mute``) needs its
unit. Each caller checks its own range and words its own error, naming what was given and
what is accepted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

# Seconds per unit: the one table. ``format_duration`` writes the largest whole unit.
UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_WRITTEN = ("d", "h", "m")  # the units format_duration writes, largest first
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(UNITS, key=len, reverse=True)) + r")?\s*$",
    re.IGNORECASE,
)
EXAMPLES = "30s, 10m, 2h, 1d"


def parse_duration(value: object, *, bare: bool = True) -> float | None:
    """Seconds, or None when ``value`` is not a duration.

    A number (``int`` or ``float``, not ``bool``) and a text without a unit are seconds
    when ``bare``; without ``bare`` only a text with its unit is a duration. Infinite and
    NaN values are not durations.
    """
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = _float(value) if bare else None
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        unit = m.group(2)
        if unit is not None or bare:
            number = _float(m.group(1))
            seconds = None if number is None else number * UNITS[(unit or "s").lower()]
    return seconds if seconds is not None and math.isfinite(seconds) else None


def format_duration(seconds: float) -> str:
    """``600.0`` -> ``10m``: the largest unit that divides it, else seconds."""
    for unit in _WRITTEN:
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def largest_units(seconds: float, units: Sequence[str]) -> list[tuple[int, str]]:
    """``seconds`` rounded to the last of ``units`` (names from ``UNITS``, largest first),
    as the largest unit it reaches and, when not zero, the next one: 5400 seconds in
    ``("d", "h", "m")`` are ``[(1, "h"), (30, "m")]``; nothing at all is ``[(0, "m")]``.
    What people read: how long something lasted or how long until it happens."""
    step = UNITS[units[-1]]
    left = round(seconds / step)
    counts = []
    for unit in units:
        count, left = divmod(left, round(UNITS[unit] / step))
        counts.append((count, unit))
    for i, (count, _) in enumerate(counts):
        if count:
            return [c for c in counts[i : i + 2] if c[0]]
    return [counts[-1]]


def _float(value: int | float | str) -> float | None:
    try:
        return float(value)
    except OverflowError:  # an int of hundreds of digits
        return None
