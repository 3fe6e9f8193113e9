"""Editing a message in place when a button is tapped.

A tap that asks for what the message already shows (a double tap, a button pressed
again on an old message) is a no-op for the person, but Telegram refuses such an edit
with "message is not modified": these helpers skip it when the message in hand already
shows the result, and treat the refusal as the no-op it is otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

NOT_MODIFIED = "message is not modified"


async def edit_text(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    if message.html_text == text and _same(message.reply_markup, reply_markup):
        return
    await _unless_unchanged(message.edit_text(text, reply_markup=reply_markup))


async def edit_caption(
    message: Message, caption: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    if message.html_text == caption and _same(message.reply_markup, reply_markup):
        return
    await _unless_unchanged(message.edit_caption(caption=caption, reply_markup=reply_markup))


async def edit_markup(message: Message, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    if _same(message.reply_markup, reply_markup):
        return
    await _unless_unchanged(message.edit_reply_markup(reply_markup=reply_markup))


async def _unless_unchanged(edit: Awaitable[object]) -> None:
    try:
        await edit
    except TelegramBadRequest as error:
        if NOT_MODIFIED not in error.message:
            raise


def _same(shown: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    def plain(markup: InlineKeyboardMarkup | None) -> object:
        if markup is None or not markup.inline_keyboard:
            return None
        return markup.model_dump(mode="json", exclude_none=True)

    return plain(shown) == plain(new)
