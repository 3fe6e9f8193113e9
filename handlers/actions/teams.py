"""Teams: `/team CODE` run by a group admin, the "join the team" button, `/start team_<id>`,
and `/leaderboard` (in private and in team groups)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import contests, leaderboard
from bot.services.deeplinks import DeepLink, DeepLinkKind
from bot.ui.callbacks.actions import TeamJoinCb, TeamLeaveCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_text
from bot.ui.filters import DeepLinkTo, Magic
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t
from bot.ui.views import actions as views
from bot.ui.views.start import greet
from models import User

logger = logging.getLogger(__name__)

COMMANDS = [
    command("team", "commands.team", Scope.GROUP),
    command("team", "commands.my_teams", Scope.PRIVATE),
    command("leaderboard", "commands.leaderboard", Scope.PRIVATE, Scope.GROUP),
]

# Alerts hold 200 characters; team names up to 128 would not fit in the longest text.
ALERT_NAME_LIMIT = 48
ADMIN_STATUSES = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR}


async def _is_group_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Asked of Telegram every time: admin rights change outside the bot's sight."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:
        logger.warning("getChatMember failed in %s", chat_id, exc_info=True)
        return False
    return member.status in ADMIN_STATUSES


async def _username(bot: Bot) -> str | None:
    return (await bot.me()).username


async def team(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User,
    clock: Clock,
    bot: Bot,
) -> None:
    code = (command.args or "").strip()
    if not code:
        memberships = await contests.teams_of_chat(session, message.chat.id)
        if not memberships:
            await message.answer(t("team.usage"))
            return
        for membership in memberships:
            members = await contests.member_count(session, membership.team.id)
            await message.answer(
                t(
                    "team.status",
                    team=escape(membership.team.name),
                    contest=escape(membership.contest.name),
                    members=views.counted("count.members", members),
                ),
                reply_markup=views.team_join_keyboard(membership.team.id, await _username(bot)),
            )
        return
    if not await _is_group_admin(bot, message.chat.id, user.id):
        await message.answer(t("team.admin_only"))
        return
    try:
        registered, contest, created = await contests.register_team(
            session, code, message.chat.id, message.chat.title or "", user.id, clock.now()
        )
    except contests.ContestNotFoundError:
        await message.answer(t("team.unknown_code", code=escape(code[:20])))
        return
    except contests.ContestClosedError:
        await message.answer(t("team.contest_closed"))
        return
    key = "team.registered" if created else "team.already"
    await message.answer(
        t(key, team=escape(registered.name), contest=escape(contest.name)),
        reply_markup=views.team_join_keyboard(registered.id, await _username(bot)),
    )


async def my_teams(message: Message, session: AsyncSession, user: User) -> None:
    """In private, /team lists the person's teams, each with a leave button."""
    memberships = await contests.member_teams(session, user.id)
    await message.answer(
        views.my_teams_text(memberships), reply_markup=views.my_teams_keyboard(memberships)
    )


async def leave(
    query: CallbackQuery, callback_data: TeamLeaveCb, session: AsyncSession, user: User
) -> None:
    """Only the tapper's own membership can go: the service deletes (user, team) or
    refuses."""
    try:
        team = await contests.leave_team(session, callback_data.team_id, user.id)
    except contests.TeamNotFoundError:
        await query.answer(t("team.gone"), show_alert=True)
        return
    except contests.NotMemberError as error:
        await query.answer(
            t("team.not_member", team=truncate(error.team_name, ALERT_NAME_LIMIT)), show_alert=True
        )
        return
    await query.answer(t("team.left", team=truncate(team.name, ALERT_NAME_LIMIT)), show_alert=True)
    if isinstance(query.message, Message):
        memberships = await contests.member_teams(session, user.id)
        await edit_text(
            query.message,
            views.my_teams_text(memberships),
            reply_markup=views.my_teams_keyboard(memberships),
        )


async def team_link(
    message: Message, link: DeepLink, state: FSMContext, session: AsyncSession
) -> None:
    """`/start team_<id>`: the team's card with its join button."""
    await greet(message, state)
    try:
        found, contest = await contests.team_with_contest(session, link.target_id)
    except contests.TeamNotFoundError:
        await message.answer(t("team.gone"))
        return
    members = await contests.member_count(session, found.id)
    await message.answer(
        t(
            "team.status",
            team=escape(found.name),
            contest=escape(contest.name),
            members=views.counted("count.members", members),
        ),
        reply_markup=views.team_join_keyboard(found.id, None),
    )


async def join(
    query: CallbackQuery,
    callback_data: TeamJoinCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """Whoever taps joins (for themselves only); the answer is a private toast."""
    try:
        joined, created = await contests.join_team(
            session, callback_data.team_id, user.id, clock.now()
        )
    except contests.TeamNotFoundError:
        await query.answer(t("team.gone"), show_alert=True)
        return
    except contests.ContestClosedError:
        await query.answer(t("team.contest_closed"), show_alert=True)
        return
    except contests.AlreadyInTeamError as other:
        await query.answer(
            t("team.other_team", team=truncate(other.team_name, ALERT_NAME_LIMIT)), show_alert=True
        )
        return
    key = "team.joined" if created else "team.already_member"
    await query.answer(t(key, team=truncate(joined.name, ALERT_NAME_LIMIT)), show_alert=True)


async def show_leaderboard(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    chat_id = message.chat.id if message.chat.type != "private" else None
    board = await leaderboard.weekly_leaderboard(
        session, user.id, clock.now(), settings.tz, chat_id=chat_id
    )
    await message.answer(views.leaderboard_text(board, locale))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        team_link,
        CommandStart(deep_link=True),
        DeepLinkTo(DeepLinkKind.TEAM),
        Magic(F.chat.type == "private"),
    )
    router.message.register(team, Command("team"), Magic(F.chat.type.in_({"group", "supergroup"})))
    router.message.register(my_teams, Command("team"))
    router.callback_query.register(leave, TeamLeaveCb.filter())
    router.callback_query.register(join, TeamJoinCb.filter())
    router.message.register(show_leaderboard, Command("leaderboard"))
    return router
