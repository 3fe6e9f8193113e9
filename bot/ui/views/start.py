"""The greeting every /start begins with, deep link or not."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.ui.formatting import escape
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu


async def greet(message: Message, state: FSMContext) -> None:
    """/start leaves any wizard, then greets by name with the main menu."""
    await state.clear()
    name = escape(message.from_user.first_name if message.from_user else "")
    await message.answer(t("start.greeting", name=name), reply_markup=main_menu())
