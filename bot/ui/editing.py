"""Editing a message in place when a button is tapped.

A tap that asks for what the message already shows (a double tap, a button pressed
again on an old message) is a no-op for the person, but Telegram refuses such an edit
with "message is not modified": these helpers skip it when the message in hand already
shows the result, and treat the refusal as the no-op it is otherwise. A message that
cannot take the edit (older than Telegram allows, deleted, a photo under a text-only
answer) gets the answer as a new message instead, never an error.
"""

from __future__ import annotations

from collections.abc import Awaitable

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message

NOT_MODIFIED = "message is not modified"
# Telegram's refusals of an edit the message cannot take.
CANNOT_EDIT = (
    "message can't be edited",
    "message to edit not found",
    "there is no text in the message to edit",
    "there is no caption in the message to edit",
    "message is not editable",
)


def message_of(query: CallbackQuery) -> Message | None:
    """The message whose button was pressed, when the bot can still act on it (Telegram
    sends an InaccessibleMessage for one older than 48 hours)."""
    message = query.message
    if message is None or isinstance(message, InaccessibleMessage):
        return None
    return message


async def edit_text(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    if message.html_text == text and _same(message.reply_markup, reply_markup):
        return
    if message.text is None or not await _unless_unchanged(
        message.edit_text(text, reply_markup=reply_markup)
    ):
        await message.answer(text, reply_markup=reply_markup)


async def edit_caption(
    message: Message, caption: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    if message.html_text == caption and _same(message.reply_markup, reply_markup):
        return
    if message.text is not None:
        await edit_text(message, caption, reply_markup)
        return
    edit = message.edit_caption(caption=caption, reply_markup=reply_markup)
    if not await _unless_unchanged(edit):
        await message.answer(caption, reply_markup=reply_markup)


async def edit_markup(message: Message, reply_markup: InlineKeyboardMarkup | None = None) -> None:
    if _same(message.reply_markup, reply_markup):
        return
    await _unless_unchanged(message.edit_reply_markup(reply_markup=reply_markup))


async def _unless_unchanged(edit: Awaitable[object]) -> bool:
    """Run the edit; False when the message cannot take it."""
    try:
        await edit
    except TelegramBadRequest as error:
        if any(reason in error.message for reason in CANNOT_EDIT):
            return False
        if NOT_MODIFIED not in error.message:
            raise
    return True


def _same(shown: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    def plain(markup: InlineKeyboardMarkup | None) -> object:
        if markup is None or not markup.inline_keyboard:
            return None
        return markup.model_dump(mode="json", exclude_none=True)

    return plain(shown) == plain(new)


class AnswerOrRaise(AnswerCallbackQuery):
    """An answer to a press whose refusal is not hidden, for a caller that has another
    way to reach the person (the error handler, when the failed handler had already
    answered the press)."""
