"""Label values for the metrics: bounded, so a caller cannot grow the number of series."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label_value(text: str | None, default: str = "other") -> str:
    """A bounded label value: ``PermanentSendError`` -> ``permanent_send_error``.

    Anything that is not a short identifier (a message, a URL) becomes ``default``, so a
    caller passing free text by mistake cannot grow the number of series without bound.
    """
    if not text:
        return default
    value = _CAMEL.sub("_", text.strip()).lower().replace("-", "_")
    return value if _LABEL.match(value) else default
