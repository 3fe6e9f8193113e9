"""A Bot API call as data: kept in the outbox with the transaction that decides it, and
made again, exactly, by the sender if the process that decided it died before it could.

A call is stored as `{"method": "sendMessage", "params": {...}}`: the parameters as the
JSON transport sends them (defaults such as the parse mode resolved, markups as plain
objects). A file the call uploads is stored as bytes beside it (outbox_blobs), and its
parameter names the blob: `{"blob": 12}`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, methods
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.methods import (
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendLocation,
    SendMessage,
    SendPhoto,
    SendVenue,
    TelegramMethod,
)
from aiogram.types import BufferedInputFile, InputFile

# What a person would miss if it were lost: messages and edits of messages. Not the
# spinner's answer to a press (Telegram refuses it after a few seconds anyway), nor
# questions the bot asks Telegram (getChatMember…).
DURABLE: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    SendPhoto,
    SendDocument,
    SendLocation,
    SendVenue,
    EditMessageText,
    EditMessageCaption,
    EditMessageReplyMarkup,
)
BLOB = "blob"


@dataclass(slots=True)
class StoredCall:
    method: str
    params: dict[str, Any]
    # Parameter name -> (bytes, file name) of the files the call uploads.
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def as_json(self, blob_ids: dict[str, int]) -> dict[str, Any]:
        params = dict(self.params)
        for name, blob_id in blob_ids.items():
            params[name] = {BLOB: blob_id}
        return {"method": self.method, "params": params}


def is_durable(method: TelegramMethod[Any]) -> bool:
    return isinstance(method, DURABLE)


def chat_of(method: TelegramMethod[Any]) -> int | None:
    """The chat a durable call goes to (None for an inline message's edit, or a channel
    named by its username: those are not kept)."""
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


async def encode(bot: Bot, method: TelegramMethod[Any]) -> StoredCall:
    """The call as JSON-ready parameters, with the bytes of the files it uploads."""
    files: dict[str, InputFile] = {}
    params: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False, exclude_none=True).items():
        if isinstance(value, InputFile):
            files[key] = value
            continue
        prepared = bot.session.prepare_value(value, bot=bot, files={}, _dumps_json=False)
        if prepared is not None:
            params[key] = prepared
    contents: dict[str, tuple[bytes, str]] = {}
    for key, file in files.items():
        chunks = [chunk async for chunk in file.read(bot)]
        contents[key] = (b"".join(chunks), file.filename or key)
    return StoredCall(method.__api_method__, params, contents)


@functools.cache
def _methods() -> dict[str, type[TelegramMethod[Any]]]:
    found: dict[str, type[TelegramMethod[Any]]] = {}
    for value in vars(methods).values():
        if isinstance(value, type) and issubclass(value, TelegramMethod):
            name = getattr(value, "__api_method__", None)
            if isinstance(name, str):
                found[name] = value
    return found


def decode(call: dict[str, Any], files: dict[int, tuple[bytes, str]]) -> TelegramMethod[Any]:
    """The method object again; `files` holds the stored blobs by id."""
    params = dict(call["params"])
    for key, value in params.items():
        if isinstance(value, dict) and set(value) == {BLOB}:
            data, name = files[int(value[BLOB])]
            params[key] = BufferedInputFile(data, filename=name)
    return _methods()[str(call["method"])].model_validate(params)


def blob_ids(call: dict[str, Any]) -> list[int]:
    """The blobs a stored call needs."""
    return [
        int(value[BLOB])
        for value in call["params"].values()
        if isinstance(value, dict) and set(value) == {BLOB}
    ]


@dataclass(frozen=True, slots=True)
class Failure:
    """What a refused or failed call means for a message kept in the outbox."""

    # "blocked": the person cannot be reached; "refused": the call itself is wrong and
    # making it again cannot help; "retry": delivery unknown or refused for now.
    verdict: str
    retry_after: float = 0.0


UNREACHABLE_HINTS = ("chat not found", "user is deactivated", "bot was kicked", "have no rights")


def failure(error: TelegramAPIError) -> Failure:
    if isinstance(error, TelegramRetryAfter):
        return Failure("retry", float(error.retry_after))
    if isinstance(error, TelegramForbiddenError):
        return Failure("blocked")
    if isinstance(error, TelegramBadRequest):
        if any(hint in error.message.lower() for hint in UNREACHABLE_HINTS):
            return Failure("blocked")
        return Failure("refused")
    return Failure("retry")
