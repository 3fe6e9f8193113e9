"""/challenges: the running challenges, a challenge's picture and top contributors,
join / leave, `/start join_<id>` links, and the organisers' delete button."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.core.weeks import week_of
from bot.services import cards, challenges
from bot.services.deeplinks import DeepLink, DeepLinkKind
from bot.services.users import NotOrganiserError, Roles
from bot.ui.callbacks.actions import ChallengeAction, ChallengeCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_caption, edit_text
from bot.ui.filters import DeepLinkTo, IsOrganiser, Magic, MenuButton
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.notices import pledges as pledge_notices
from bot.ui.pictures import progress_picture
from bot.ui.views import actions as views
from bot.ui.views import cards as card_views
from bot.ui.views.share import share_button
from bot.ui.views.start import greet
from models import User

COMMANDS = [command("challenges", "commands.challenges", Scope.PRIVATE)]


async def send_list(
    message: Message,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    organiser = await roles.organiser()
    found = await challenges.visible_challenges(
        session, user.id, clock.now(), settings.tz, everything=organiser
    )
    await message.answer(
        views.challenges_text(found, locale), reply_markup=views.challenges_keyboard(found)
    )


async def _caption(
    session: AsyncSession,
    roles: Roles,
    view: challenges.ChallengeView,
    now: datetime,
    settings: Settings,
    locale: str,
) -> tuple[str, InlineKeyboardMarkup]:
    week = week_of(now, settings.tz)
    contributors = await challenges.top_contributors(session, view.challenge.id, week)
    end_day = challenges.last_day(view.challenge, settings.tz)
    organiser = await roles.organiser()
    return (
        views.challenge_caption(view, contributors, end_day, locale),
        views.challenge_keyboard(view, organiser),
    )


async def send_detail(
    message: Message,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
    challenge_id: int,
) -> None:
    """The challenge's progress picture, with its details and buttons in the caption."""
    now = clock.now()
    view = await challenges.challenge_view(session, challenge_id, user.id, now, settings.tz)
    week = week_of(now, settings.tz)
    # Drawing takes tens of milliseconds of CPU: not on the event loop.
    picture = await asyncio.to_thread(
        progress_picture, views.picture_texts(view, week, locale), view.fraction
    )
    caption, keyboard = await _caption(session, roles, view, now, settings, locale)
    await message.answer_photo(
        BufferedInputFile(picture, filename=f"challenge-{view.challenge.id}.png"),
        caption=caption,
        reply_markup=keyboard,
    )


async def challenge_link(
    message: Message,
    link: DeepLink,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
    translator: Translator,
) -> None:
    """`/start join_<id>`: join the challenge the link names, then show it."""
    challenge_id = link.target_id
    # Joined before anything is said (nothing is written once a message went out).
    now = clock.now()
    try:
        joined = await challenges.join_challenge(session, challenge_id, user.id, now)
        earlier = await challenges.count_earlier_logs(
            session, challenge_id, user.id, now, settings.tz
        )
    except challenges.ChallengeNotFoundError:
        await greet(message, state)
        await message.answer(t("challenges.gone"))
        return
    except challenges.NotEligibleError as error:
        await greet(message, state)
        await message.answer(views.not_eligible_text(error))
        return
    await pledge_notices.enqueue(session, translator, earlier.pledges, now)
    await greet(message, state)
    await message.answer(_joined_text(joined, earlier))
    await send_detail(message, session, user, roles, clock, settings, locale, challenge_id)


def _joined_text(joined: bool, earlier: challenges.EarlierLogs, *, html: bool = True) -> str:
    """ "You're in", and what of this week already counts."""
    text = t("challenges.joined" if joined else "challenges.already_in")
    if earlier.counted:
        text += "\n" + t(
            "challenges.earlier_counted",
            actions=views.counted("count.eco_actions", earlier.counted),
        )
    return text


async def list_challenges(
    message: Message,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    await send_list(message, session, user, roles, clock, settings, locale)


async def list_from_button(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await send_list(query.message, session, user, roles, clock, settings, locale)


async def view_challenge(
    query: CallbackQuery,
    callback_data: ChallengeCb,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    try:
        await send_detail(
            query.message, session, user, roles, clock, settings, locale, callback_data.id
        )
    except challenges.ChallengeNotFoundError:
        await query.answer(t("challenges.gone"), show_alert=True)
        return
    await query.answer()


async def join_or_leave(
    query: CallbackQuery,
    callback_data: ChallengeCb,
    session: AsyncSession,
    user: User,
    roles: Roles,
    clock: Clock,
    settings: Settings,
    locale: str,
    translator: Translator,
) -> None:
    now = clock.now()
    earlier = challenges.EarlierLogs(0, [])
    try:
        if callback_data.action is ChallengeAction.JOIN:
            changed = await challenges.join_challenge(session, callback_data.id, user.id, now)
            earlier = await challenges.count_earlier_logs(
                session, callback_data.id, user.id, now, settings.tz
            )
            text = _joined_text(changed, earlier, html=False)
        else:
            changed = await challenges.leave_challenge(session, callback_data.id, user.id, now)
            text = t("challenges.left" if changed else "challenges.not_in")
        view = await challenges.challenge_view(session, callback_data.id, user.id, now, settings.tz)
    except challenges.ChallengeNotFoundError:
        await query.answer(t("challenges.gone"), show_alert=True)
        return
    except challenges.NotEligibleError as error:
        # Too long for an alert (Telegram cuts them at 200 characters): a message says
        # what would let them in.
        await query.answer()
        await query.bot.send_message(query.from_user.id, views.not_eligible_text(error))  # type: ignore[union-attr]
        return
    await pledge_notices.enqueue(session, translator, earlier.pledges, now)
    await query.answer(text, show_alert=earlier.counted > 0)
    message = query.message
    if isinstance(message, Message) and message.photo:
        caption, keyboard = await _caption(session, roles, view, now, settings, locale)
        await edit_caption(message, caption, reply_markup=keyboard)


async def card(
    query: CallbackQuery,
    callback_data: ChallengeCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
) -> None:
    """The challenge's card to post: days left, my part, a QR code of its join link."""
    try:
        figures = await cards.challenge_card(
            session, callback_data.id, user.id, clock.now(), settings.tz
        )
    except challenges.ChallengeNotFoundError:
        await query.answer(t("challenges.gone"), show_alert=True)
        return
    await query.answer()
    picture = await card_views.challenge_picture(figures, bot, locale)
    share = InlineKeyboardMarkup(
        inline_keyboard=[[share_button(DeepLink(DeepLinkKind.JOIN, callback_data.id))]]
    )
    await bot.send_photo(user.id, picture, caption=t("cards.challenge.caption"), reply_markup=share)


async def delete(
    query: CallbackQuery,
    callback_data: ChallengeCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    if callback_data.action is ChallengeAction.DELETE:
        await query.answer()
        await query.message.answer(
            t("challenges.confirm_delete"),
            reply_markup=views.confirm_delete_keyboard(callback_data.id),
        )
        return
    try:
        challenge = await challenges.delete_challenge(
            session, callback_data.id, user.id, settings.organiser_ids, clock.now()
        )
    except (challenges.ChallengeNotFoundError, NotOrganiserError):
        await query.answer(t("challenges.gone"), show_alert=True)
        return
    await query.answer()
    await edit_text(query.message, t("challenges.deleted", title=escape(challenge.title)))


async def delete_refused(query: CallbackQuery) -> None:
    await query.answer(t("organisers.only"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        challenge_link,
        CommandStart(deep_link=True),
        DeepLinkTo(DeepLinkKind.JOIN),
        Magic(F.chat.type == "private"),
    )
    router.message.register(
        list_challenges, MenuButton("menu.challenges"), Magic(F.chat.type == "private")
    )
    router.message.register(list_challenges, Command("challenges"), Magic(F.chat.type == "private"))
    router.callback_query.register(
        list_from_button, ChallengeCb.filter(F.action == ChallengeAction.LIST)
    )
    router.callback_query.register(
        view_challenge, ChallengeCb.filter(F.action == ChallengeAction.VIEW)
    )
    router.callback_query.register(
        join_or_leave,
        ChallengeCb.filter(F.action.in_({ChallengeAction.JOIN, ChallengeAction.LEAVE})),
    )
    router.callback_query.register(card, ChallengeCb.filter(F.action == ChallengeAction.CARD))
    router.callback_query.register(
        delete,
        ChallengeCb.filter(F.action.in_({ChallengeAction.DELETE, ChallengeAction.CONFIRM_DELETE})),
        IsOrganiser(),
    )
    router.callback_query.register(
        delete_refused,
        ChallengeCb.filter(F.action.in_({ChallengeAction.DELETE, ChallengeAction.CONFIRM_DELETE})),
    )
    return router
