"""Last router: whatever no feature understood gets a helpful answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.ui.filters import Magic
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu


async def unknown_command(message: Message) -> None:
    await message.answer(t("fallback.unknown_command"))


async def stray_location(message: Message) -> None:
    await message.answer(t("fallback.location"), reply_markup=main_menu())


async def anything_else(message: Message) -> None:
    await message.answer(t("fallback.not_understood"), reply_markup=main_menu())


async def stale_button(query: CallbackQuery) -> None:
    # Forged, outdated, or from a feature that is gone: never act on it.
    await query.answer(t("fallback.stale_button"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        unknown_command, Magic(F.chat.type == "private"), Magic(F.text.startswith("/"))
    )
    router.message.register(
        stray_location, Magic(F.chat.type == "private"), Magic(F.location | F.venue)
    )
    router.message.register(anything_else, Magic(F.chat.type == "private"))
    router.callback_query.register(stale_button)
    return router
