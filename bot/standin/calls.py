"""What the stand-in records: one `RecordedCall` per Bot API call, and readers of what a
call put in front of people (its text, its buttons)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.core.telegram_html import strip

JsonDict = dict[str, Any]

SEND_METHODS: tuple[str, ...] = (
    "sendMessage",
    "sendPhoto",
    "sendLocation",
    "sendVenue",
    "sendDocument",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "editMessageMedia",
)
"""Methods that put something in front of a user (what ``reply_to``/``click`` wait for)."""

_T = TypeVar("_T")


def copy_json(value: _T) -> _T:
    """A deep copy through JSON (what a client would get)."""
    copied: _T = json.loads(json.dumps(value))
    return copied


def int_param(params: JsonDict, key: str) -> int | None:
    """An integer parameter, given as a number or a string of digits."""
    value = params.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


@dataclass
class RecordedCall:
    """One Bot API call as the stand-in saw it (params decoded, uploads in ``files``).

    ``status`` is the HTTP status answered (0 when the connection was dropped or the client
    went away before the answer; a getUpdates long poll is 200 from its arrival); ``result``
    is the ``result`` field answered, ``error`` the description of an error answer. ``at`` is
    ``time.monotonic()`` at arrival. ``done`` is False while the call is still being answered
    (long polls, stalls).
    """

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 0
    result: Any = None
    error: str | None = None
    done: bool = True

    @property
    def ok(self) -> bool:
        return self.done and 200 <= self.status < 300 and self.error is None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        if value is None and isinstance(self.result, dict):
            chat = self.result.get("chat")
            value = chat.get("id") if isinstance(chat, dict) else None
        return int_param({"chat_id": value}, "chat_id")

    @property
    def text(self) -> str:
        return plain_text(self)

    def __repr__(self) -> str:
        shown = self.text or self.error or ""
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"<{self.method} chat={self.chat_id} status={self.status} {shown!r}>"


def plain_text(call: RecordedCall) -> str:
    """The text (or caption) a call sent, HTML tags stripped and entities unescaped."""
    params = call.params
    if isinstance(params.get("media"), dict):  # editMessageMedia: the caption is the media's
        params = params["media"]
    raw = params.get("text")
    if raw is None:
        raw = params.get("caption")
    if raw is None:
        return ""
    raw = str(raw)
    if str(params.get("parse_mode") or "").lower() == "html":
        return strip(raw)
    return raw


def _markup(call: RecordedCall) -> JsonDict:
    markup = call.params.get("reply_markup")
    return markup if isinstance(markup, dict) else {}


def buttons(call: RecordedCall) -> list[list[tuple[str, str | None]]]:
    """Inline keyboard rows of a call as (text, callback_data or url)."""
    rows = _markup(call).get("inline_keyboard") or []
    return [
        [
            (str(button.get("text", "")), button.get("callback_data") or button.get("url"))
            for button in row
        ]
        for row in rows
    ]


def reply_keyboard(call: RecordedCall) -> list[list[tuple[str, bool]]]:
    """Reply keyboard rows of a call as (text, request_location)."""
    rows = _markup(call).get("keyboard") or []
    result: list[list[tuple[str, bool]]] = []
    for row in rows:
        cells: list[tuple[str, bool]] = []
        for button in row:
            if isinstance(button, str):
                cells.append((button, False))
            else:
                cells.append((str(button.get("text", "")), bool(button.get("request_location"))))
        result.append(cells)
    return result
