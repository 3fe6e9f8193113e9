"""Keeps aiogram's response models alive for the life of the process.

aiogram parses every Bot API answer as `Response[<the method's return type>]`, a pydantic
generic model built on first use and cached by pydantic in a weak-value cache. Nothing
else holds the class, so each garbage collection frees it and the next call rebuilds it:
about 30 ms of CPU every time, hundreds of times in a 10,000-message broadcast (found by
profiling `python -m benchmarks broadcast`). Holding the few types the bot receives makes
the cache hit every time. Importing this module is enough.
"""

from __future__ import annotations

from aiogram.methods.base import Response
from aiogram.types import Message, Update

PINNED: tuple[type, ...] = (
    Response[Message],  # sendMessage, sendPhoto, sendDocument…
    Response[Message | bool],  # editMessageText, editMessageReplyMarkup, editMessageCaption
    Response[bool],  # answerCallbackQuery, deleteMessage…
    Response[list[Update]],  # getUpdates
)
