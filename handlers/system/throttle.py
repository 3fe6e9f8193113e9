"""Answers updates the throttling middleware marked as part of a flood."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.services.throttling import ThrottleVerdict
from bot.ui.filters import Throttled
from bot.ui.i18n import t


async def throttled_message(message: Message, throttled: ThrottleVerdict) -> None:
    if throttled.notify:
        await message.answer(t("throttle.slow_down"))


async def throttled_callback(query: CallbackQuery) -> None:
    await query.answer(t("throttle.slow_down"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(throttled_message, Throttled())
    router.callback_query.register(throttled_callback, Throttled())
    return router
