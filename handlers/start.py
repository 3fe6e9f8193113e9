"""/start without a link a feature takes (the greeting and the main menu), and /help.

Each feature opens its own deep links (`/start maker_<id>` in handlers/makers/directory.py,
and so on, with `DeepLinkTo`); what reaches this router is a plain /start or a payload no
feature recognised."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.services.users import Roles
from bot.ui.commands import CommandSpec, Scope, command
from bot.ui.filters import Magic
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu
from bot.ui.views.help import help_text
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


async def help_command(
    message: Message,
    commands: Sequence[CommandSpec],
    roles: Roles | None = None,
) -> None:
    """Every command of this kind of chat, grouped; an organiser's own on top."""
    group = message.chat.type != "private"
    organiser = not group and roles is not None and await roles.organiser()
    text = help_text(commands, organiser=organiser, group=group)
    await message.answer(text, reply_markup=None if group else main_menu())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart(), Magic(F.chat.type == "private"))
    router.message.register(help_command, Command("help"))
    return router
