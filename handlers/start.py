"""/start, with deep links, and /help."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.commands import Scope, command
from bot.formatting import escape
from bot.i18n import t
from bot.keyboards import main_menu
from bot.services.deeplinks import DeepLink, DeepLinkKind, parse_payload
from bot.settings import Settings
from handlers.makers import open_maker
from handlers.offers import open_offer
from models import User

router = Router(name=__name__)
router.message.filter(F.chat.type == "private")

COMMANDS = [
    command("start", "commands.start", Scope.PRIVATE),
    command("help", "commands.help", Scope.PRIVATE, Scope.GROUP),
]

# Until the feature owning a link kind lands, its links get an honest "soon" answer.
_LINK_SUBJECT_KEYS = {
    DeepLinkKind.JOIN: "deeplink.subject.challenge",
    DeepLinkKind.TEAM: "deeplink.subject.team",
    DeepLinkKind.MAKER: "deeplink.subject.maker",
    DeepLinkKind.OFFER: "deeplink.subject.offer",
}


async def open_deep_link(
    message: Message,
    link: DeepLink,
    session: AsyncSession,
    user_id: int,
    *,
    bot: Bot,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    if link.kind is DeepLinkKind.MAKER:
        await open_maker(message, session, user_id, link.target_id)
        return
    if link.kind is DeepLinkKind.OFFER:
        await open_offer(message, bot, session, user, settings, clock, link.target_id)
        return
    await message.answer(
        t("deeplink.not_yet", subject=t(_LINK_SUBJECT_KEYS[link.kind]), id=link.target_id)
    )


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    await state.clear()
    name = escape(message.from_user.first_name if message.from_user else "")
    await message.answer(t("start.greeting", name=name), reply_markup=main_menu())
    if command.args:
        link = parse_payload(command.args)
        if link is None:
            await message.answer(t("deeplink.invalid"))
        else:
            user_id = message.from_user.id if message.from_user else message.chat.id
            await open_deep_link(
                message, link, session, user_id, bot=bot, user=user, settings=settings, clock=clock
            )


@router.message(Command("help"))
async def help_command(message: Message) -> None:
    await message.answer(t("help.text"), reply_markup=main_menu())
