"""A machine summarizer behind an OpenAI-compatible chat-completions endpoint (optional).

``LlmSummarizer(text)`` posts the item's title and body to ``{base_url}/chat/completions``
and returns the model's summary. Every failure (network, timeout, HTTP status, a reply
without text) raises ``LlmError``; the sender then keeps the extractive summary. The API
key is sent only in the Authorization header and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.errors import MediabotError

__all__ = ["LlmError", "LlmSummarizer"]

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You summarize news items for a media-monitoring alert. Write two or three plain "
    "sentences, at most 400 characters, in the language of the article. State only what the "
    "article says; no opinions, no markup, no preamble."
)
MAX_TOKENS = 300


class LlmError(MediabotError):
    """The summarizer endpoint failed or gave no usable summary."""


class LlmSummarizer:
    """Calls the endpoint; one client (connection pool) for the process's lifetime."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str,
        api_key: str | None = None,
        timeout: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout, transport=transport)

    async def __call__(self, text: str) -> str:
        payload = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
            "max_tokens": MAX_TOKENS,
            "temperature": 0.2,
        }
        try:
            response = await self._client.post(self._url, json=payload)
        except httpx.HTTPError as exc:
            raise LlmError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise LlmError(f"HTTP {response.status_code} from the summarizer")
        return _content(response)

    async def aclose(self) -> None:
        await self._client.aclose()


def _content(response: httpx.Response) -> str:
    try:
        data: Any = response.json()
        text = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LlmError("the summarizer's reply has no message content") from exc
    if not isinstance(text, str) or not text.strip():
        raise LlmError("the summarizer returned an empty summary")
    return text.strip()
