"""Last router: whatever no feature understood gets a helpful answer, never silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.ui.i18n import t
from bot.ui.keyboards import main_menu

router = Router(name=__name__)


@router.message(F.chat.type == "private", F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(t("fallback.unknown_command"))


@router.message(F.chat.type == "private", F.location | F.venue)
async def stray_location(message: Message) -> None:
    await message.answer(t("fallback.location"), reply_markup=main_menu())


@router.message(F.chat.type == "private")
async def anything_else(message: Message) -> None:
    await message.answer(t("fallback.not_understood"), reply_markup=main_menu())


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    # Forged, outdated, or from a feature that is gone: never act on it.
    await query.answer(t("fallback.stale_button"), show_alert=True)
