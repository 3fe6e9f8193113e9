"""Answers updates the throttling middleware marked as part of a flood."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.services.throttling import ThrottleVerdict
from bot.ui.filters import Throttled
from bot.ui.i18n import t

router = Router(name=__name__)


@router.message(Throttled())
async def throttled_message(message: Message, throttled: ThrottleVerdict) -> None:
    if throttled.notify:
        await message.answer(t("throttle.slow_down"))


@router.callback_query(Throttled())
async def throttled_callback(query: CallbackQuery) -> None:
    await query.answer(t("throttle.slow_down"))
