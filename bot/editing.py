"""Editing a message in place when a button is tapped."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message


async def edit_text(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """`message.edit_text`, where an edit into the very same content (a double tap, a
    button pressed again) is the no-op the person expects: Telegram answers it with
    "message is not modified"."""
    if message.html_text == text and _same(message.reply_markup, reply_markup):
        return
    try:
        await message.edit_text(text, reply_markup=reply_markup)
    except TelegramBadRequest as error:
        if "message is not modified" not in error.message:
            raise


def _same(shown: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    def plain(markup: InlineKeyboardMarkup | None) -> object:
        return None if markup is None else markup.model_dump(mode="json", exclude_none=True)

    return plain(shown) == plain(new)
