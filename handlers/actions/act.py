"""/act (in private and in team groups), /me and the "log an action" menu button."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import actions, cards, contests
from bot.ui.callbacks.actions import (
    ActCategoryCb,
    ActLogCb,
    ActNameCb,
    ActNav,
    ActNavCb,
    ActUndoCb,
    MeCardCb,
    NameChoice,
)
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_caption, edit_markup, edit_text, message_of
from bot.ui.filters import Magic, MenuButton
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.notices import pledges as pledge_notices
from bot.ui.pictures.cards import CardFormat
from bot.ui.views import actions as views
from bot.ui.views import cards as card_views
from bot.ui.views.action_places import with_near_button
from models import User

COMMANDS = [
    command("act", "commands.act", Scope.PRIVATE, Scope.GROUP),
    command("me", "commands.me", Scope.PRIVATE),
]

GROUP_TYPES = {"group", "supergroup"}


def _in_group(message: Message) -> bool:
    return message.chat.type in GROUP_TYPES


async def act(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    translator: Translator,
    command: CommandObject | None = None,
) -> None:
    slug = (command.args or "").strip().lower() if command else ""
    if not slug:
        key = "act.choose_category_group" if _in_group(message) else "act.choose_category"
        await message.answer(t(key), reply_markup=views.categories_keyboard())
        return
    now = clock.now()
    try:
        result = await actions.log_action(
            session,
            user_id=user.id,
            slug=slug,
            chat_id=message.chat.id,
            now=now,
            tz=settings.tz,
        )
    except actions.UnknownActionError:
        await message.answer(
            t("act.unknown", slug=escape(slug[:40])), reply_markup=views.categories_keyboard()
        )
        return
    except actions.DailyCapError as capped:
        await message.answer(views.capped_text(capped.action, capped.logged_today, locale))
        return
    # In the log's transaction: the organiser is told once the log commits, by the sender.
    await pledge_notices.enqueue(session, translator, result.pledges_met, now)
    if _in_group(message):
        teams = [m.team.id for m in await contests.teams_of_chat(session, message.chat.id)]
        await message.reply(
            views.group_log_text(user.first_name, result, teams, locale),
            reply_markup=views.group_undo_keyboard(result.log_id),
        )
    else:
        keyboard = with_near_button(views.after_log_keyboard(result.log_id), result.action)
        await message.answer(views.log_text(result, locale), reply_markup=keyboard)


async def back_to_categories(query: CallbackQuery, callback_data: ActNavCb) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    in_group = query.message.chat.type in GROUP_TYPES
    key = "act.choose_category_group" if in_group else "act.choose_category"
    if callback_data.to is ActNav.AGAIN:
        await query.message.answer(t(key), reply_markup=views.categories_keyboard())
    else:
        await edit_text(query.message, t(key), reply_markup=views.categories_keyboard())


async def category_chosen(query: CallbackQuery, callback_data: ActCategoryCb, locale: str) -> None:
    await query.answer()
    if query.message is None or isinstance(query.message, InaccessibleMessage):
        return
    await edit_text(
        query.message,
        t("act.choose_action", category=views.category_label(callback_data.category)),
        reply_markup=views.actions_keyboard(callback_data.category, locale),
    )


async def action_chosen(
    query: CallbackQuery,
    callback_data: ActLogCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
    translator: Translator,
) -> None:
    message = query.message if isinstance(query.message, Message) else None
    chat_id = message.chat.id if message is not None else user.id
    now = clock.now()
    try:
        action = actions.action_at(callback_data.index)
        result = await actions.log_action(
            session,
            user_id=user.id,
            slug=action.slug,
            chat_id=chat_id,
            now=now,
            tz=settings.tz,
        )
    except actions.UnknownActionError:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    except actions.DailyCapError as capped:
        text = views.capped_text(capped.action, capped.logged_today, locale, html=False)
        await query.answer(text, show_alert=True)
        return
    await pledge_notices.enqueue(session, translator, result.pledges_met, now)
    # The toast goes after the message: the log, the inbox mark and the message then go
    # in one commit (bot.serving.middlewares.inbox), where a toast first would commit
    # once for itself and once more for the message, under SQLite's one writer.
    if message is not None and message.chat.type in GROUP_TYPES:
        # The keyboard stays for the rest of the group; the log is told in one line.
        teams = [m.team.id for m in await contests.teams_of_chat(session, message.chat.id)]
        await message.answer(
            views.group_log_text(user.first_name, result, teams, locale),
            reply_markup=views.group_undo_keyboard(result.log_id),
        )
    else:
        text = views.log_text(result, locale)
        keyboard = with_near_button(views.after_log_keyboard(result.log_id), result.action)
        if message is not None:
            await edit_text(message, text, reply_markup=keyboard)
        else:
            await bot.send_message(user.id, text, reply_markup=keyboard)
    await query.answer(t("act.logged_toast", co2=views.kg(result.co2e_g, locale)))


async def undo(
    query: CallbackQuery,
    callback_data: ActUndoCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    """Take a log back: the message that told it says so instead (in a group, for all)."""
    message = message_of(query)
    try:
        undone = await actions.undo_log(
            session, user_id=user.id, log_id=callback_data.log_id, now=clock.now(), tz=settings.tz
        )
    except actions.UndoGoneError:
        await query.answer(t("act.undo.gone"), show_alert=True)
        return
    except actions.UndoTooLateError:
        minutes = int(actions.UNDO_WINDOW.total_seconds() // 60)
        await query.answer(views.too_late_text(minutes, locale), show_alert=True)
        if message is not None and message.chat.type not in GROUP_TYPES:
            await edit_markup(message, reply_markup=views.after_log_keyboard())
        return
    await query.answer(t("act.undo.toast"))
    if message is None:
        return
    if message.chat.type in GROUP_TYPES:
        await edit_text(message, views.group_undone_text(user.first_name, undone, locale))
    else:
        await edit_text(
            message, views.undone_text(undone, locale), reply_markup=views.after_log_keyboard()
        )


async def me(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
) -> None:
    """My figures, with a card to post (square or story) a tap away."""
    card = await cards.me_card(session, user.id, clock.now(), settings.tz)
    await message.answer(
        views.me_text(card.figures, locale),
        reply_markup=card_views.me_screen_keyboard(card.figures),
    )


async def me_story(
    query: CallbackQuery,
    callback_data: MeCardCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
) -> None:
    """My week as a card to post: square as a photo, story-shaped as a file (a photo
    would be shrunk)."""
    await query.answer()
    card = await cards.me_card(session, user.id, clock.now(), settings.tz)
    picture = await card_views.me_picture(card, user.first_name, bot, locale, callback_data.shape)
    if callback_data.shape is CardFormat.SQUARE:
        await bot.send_photo(user.id, picture, caption=t("cards.me.square_caption"))
        return
    await bot.send_document(user.id, picture, caption=t("cards.me.story_caption"))


async def name_choice(
    query: CallbackQuery,
    callback_data: ActNameCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
) -> None:
    show = callback_data.choice is NameChoice.SHOW
    await actions.set_show_name(session, user.id, show)
    await query.answer(t("me.named" if show else "me.anonymous"))
    if isinstance(query.message, Message):
        figures = await actions.my_figures(session, user.id, clock.now(), settings.tz)
        keyboard = card_views.me_screen_keyboard(figures)
        await edit_caption(query.message, views.me_text(figures, locale), reply_markup=keyboard)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(act, MenuButton("menu.act"), Magic(F.chat.type == "private"))
    router.message.register(act, Command("act"))
    router.callback_query.register(back_to_categories, ActNavCb.filter())
    router.callback_query.register(category_chosen, ActCategoryCb.filter())
    router.callback_query.register(action_chosen, ActLogCb.filter())
    router.callback_query.register(undo, ActUndoCb.filter())
    router.message.register(me, Command("me"), Magic(F.chat.type == "private"))
    router.callback_query.register(name_choice, ActNameCb.filter())
    router.callback_query.register(me_story, MeCardCb.filter())
    return router
