"""/start, with deep links, and /help."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services.deeplinks import DeepLink, DeepLinkKind, parse_payload
from bot.ui.commands import Scope, command
from bot.ui.filters import Magic
from bot.ui.formatting import escape
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu
from handlers import challenges, teams
from handlers.makers import open_maker
from handlers.offers import open_offer
from models import User

COMMANDS = [
    command("start", "commands.start", Scope.PRIVATE),
    command("help", "commands.help", Scope.PRIVATE, Scope.GROUP),
]

# Until the feature owning a link kind lands, its links get an honest "soon" answer
# (challenges and teams have landed: their links open the object).
_LINK_SUBJECT_KEYS = {
    DeepLinkKind.JOIN: "deeplink.subject.challenge",
    DeepLinkKind.TEAM: "deeplink.subject.team",
    DeepLinkKind.MAKER: "deeplink.subject.maker",
    DeepLinkKind.OFFER: "deeplink.subject.offer",
}


@dataclass(frozen=True, slots=True)
class LinkContext:
    """What the features opening a link need from the update."""

    session: AsyncSession
    user: User
    clock: Clock
    settings: Settings
    locale: str
    bot: Bot


async def open_deep_link(message: Message, link: DeepLink, context: LinkContext) -> None:
    if link.kind is DeepLinkKind.JOIN:
        await challenges.open_challenge_link(
            message,
            context.session,
            context.user,
            context.clock,
            context.settings,
            context.locale,
            link.target_id,
        )
        return
    if link.kind is DeepLinkKind.TEAM:
        await teams.open_team_link(message, context.session, context.bot, link.target_id)
        return
    if link.kind is DeepLinkKind.MAKER:
        await open_maker(message, context.session, context.user.id, link.target_id)
        return
    if link.kind is DeepLinkKind.OFFER:
        await open_offer(
            message,
            context.bot,
            context.session,
            context.user,
            context.settings,
            context.clock,
            link.target_id,
        )
        return
    await message.answer(
        t("deeplink.not_yet", subject=t(_LINK_SUBJECT_KEYS[link.kind]), id=link.target_id)
    )


async def start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
) -> None:
    await state.clear()
    name = escape(message.from_user.first_name if message.from_user else "")
    await message.answer(t("start.greeting", name=name), reply_markup=main_menu())
    if command.args:
        link = parse_payload(command.args)
        if link is None:
            await message.answer(t("deeplink.invalid"))
        else:
            context = LinkContext(session, user, clock, settings, locale, bot)
            await open_deep_link(message, link, context)


async def help_command(message: Message) -> None:
    await message.answer(t("help.text"), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    return router
