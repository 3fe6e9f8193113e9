"""/start without a link a feature takes (the greeting and the main menu), and /help.

Each feature opens its own deep links (`/start maker_<id>` in handlers/makers/directory.py,
and so on, with `DeepLinkTo`); what reaches this router is a plain /start or a payload no
feature recognised."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.ui.commands import Scope, command
from bot.ui.filters import Magic
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu
from bot.ui.views.start import greet

COMMANDS = [
    command("start", "commands.start", Scope.PRIVATE),
    command("help", "commands.help", Scope.PRIVATE, Scope.GROUP),
]


async def start(message: Message, command: CommandObject, state: FSMContext) -> None:
    await greet(message, state)
    if command.args:
        # Every well-formed link was taken by its feature's router before this one.
        await message.answer(t("deeplink.invalid"))


async def help_command(message: Message) -> None:
    await message.answer(t("help.text"), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    return router
