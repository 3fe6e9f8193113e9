"""/moderation: organisers approve or reject the listings makers registered with /maker.
Checked on every update (IsOrganiser, and again in the service); anyone else is told no."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import makers, offers
from bot.services.makers import (
    AlreadyModeratedError,
    InvalidFieldError,
    MakerNotFoundError,
)
from bot.services.offers import OfferNotFoundError
from bot.services.users import NotOrganiserError
from bot.ui.callbacks.makers import ModerationAction, ModerationCb
from bot.ui.callbacks.offers import (
    OfferModerationAction,
    OfferModerationCb,
)
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, message_of
from bot.ui.filters import IsOrganiser, Magic
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import makers as maker_notices
from bot.ui.notices import offers as offer_notices
from bot.ui.views import events as event_views
from bot.ui.views import makers as maker_views
from bot.ui.views import offers as offer_views
from bot.ui.views import relay as relay_views
from bot.ui.views.actions import counted
from models import User

COMMANDS = [command("moderation", "commands.moderation", Scope.ORGANISER)]

SHOWN = 10


class ModerationFlow(StatesGroup):
    reason = State()


def _buttons(maker_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("moderation.button.approve"),
        callback_data=ModerationCb(action=ModerationAction.APPROVE, maker_id=maker_id),
    )
    builder.button(
        text=t("moderation.button.reject"),
        callback_data=ModerationCb(action=ModerationAction.REJECT, maker_id=maker_id),
    )
    return builder.as_markup()


async def moderation_command(
    message: Message,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    waiting, total = await makers.pending_listings(
        session, user.id, settings.organiser_ids, limit=SHOWN
    )
    if waiting:
        await message.answer(t("moderation.header", count=counted("count.listings", total)))
    owners = await makers.owner_names(session, waiting)
    for maker in waiting:
        text = t("moderation.item", id=maker.id, owner=maker_views.owner_link(maker, owners))
        text += "\n\n"
        await message.answer(text + maker_views.card_text(maker), reply_markup=_buttons(maker.id))
    reported = await send_reported_offers(message, session, user, settings, clock)
    proposed = await event_views.send_proposals(
        message, session, user, settings, clock.now(), locale
    )
    relayed = await relay_views.send_reported_conversations(message, session, user, settings)
    if not waiting and not reported and not proposed and not relayed:
        await message.answer(t("moderation.empty"))


async def moderation_refused(message: Message) -> None:
    await message.answer(t("moderation.refused"))


async def moderation_button(
    query: CallbackQuery,
    callback_data: ModerationCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    state: FSMContext,
    clock: Clock,
    bot: Bot,
    translator: Translator,
) -> None:
    message = query.message
    now = clock.now()
    try:
        if callback_data.action is ModerationAction.APPROVE:
            maker = await makers.approve_listing(
                session, callback_data.maker_id, user.id, settings.organiser_ids, now
            )
        else:
            maker = await makers.check_can_reject(
                session, callback_data.maker_id, user.id, settings.organiser_ids
            )
    except NotOrganiserError:
        await query.answer(t("moderation.refused"), show_alert=True)
        return
    except MakerNotFoundError:
        await query.answer(t("moderation.not_found"), show_alert=True)
        return
    except AlreadyModeratedError:
        await query.answer(t("moderation.already"), show_alert=True)
        return
    if callback_data.action is ModerationAction.APPROVE:
        # In the decision's transaction: the owner is told once it commits, by the sender.
        await maker_notices.enqueue(session, translator, maker, now)
    await query.answer()
    if message is not None and not isinstance(message, InaccessibleMessage):
        await edit_markup(message, reply_markup=None)
    # The organiser who pressed the button, in their own private chat (/moderation is
    # private only): a reply, sent directly even when the pressed message is inaccessible.
    target = query.from_user.id
    if callback_data.action is ModerationAction.APPROVE:
        await bot.send_message(target, t("moderation.approved", name=escape(maker.name)))
        return
    await state.set_state(ModerationFlow.reason)
    await state.update_data(reject_maker_id=maker.id)
    await bot.send_message(target, t("moderation.ask_reason", name=escape(maker.name)))


async def moderation_button_refused(query: CallbackQuery) -> None:
    await query.answer(t("moderation.refused"), show_alert=True)


async def rejection_reason(
    message: Message,
    session: AsyncSession,
    user: User,
    settings: Settings,
    state: FSMContext,
    clock: Clock,
    translator: Translator,
) -> None:
    data = await state.get_data()
    maker_id = data.get("reject_maker_id")
    if not isinstance(maker_id, int):
        await state.set_state(None)
        await message.answer(t("moderation.not_found"), reply_markup=main_menu())
        return
    if not message.text:
        await message.answer(t("wizard.error.not_text"))
        return
    now = clock.now()
    try:
        maker = await makers.reject_listing(
            session, maker_id, user.id, settings.organiser_ids, message.text, now
        )
    except InvalidFieldError as error:
        await message.answer(t(f"wizard.error.{error.code}", limit=makers.REASON_LIMIT))
        return
    except NotOrganiserError:
        await state.set_state(None)
        await message.answer(t("moderation.refused"))
        return
    except (MakerNotFoundError, AlreadyModeratedError):
        await state.set_state(None)
        await message.answer(t("moderation.already"))
        return
    # In the decision's transaction: the owner is told once it commits, by the sender.
    await maker_notices.enqueue(session, translator, maker, now)
    await state.set_state(None)
    await state.update_data(reject_maker_id=None)
    await message.answer(
        t("moderation.rejected", name=escape(maker.name)), reply_markup=main_menu()
    )


REPORTS_SHOWN = 10


async def send_reported_offers(
    message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock
) -> int:
    """The /moderation hub's offers part: reported offers, most reported first."""
    reported = await offers.reported_offers(
        session, user.id, settings.organiser_ids, limit=REPORTS_SHOWN
    )
    if not reported:
        return 0
    await message.answer(t("offers.moderation.header", count=len(reported)))
    zone, now = offer_views.zone_of(user, settings), clock.now()
    for entry in reported:
        text, markup = offer_views.reported_offer(entry, zone, now)
        await message.answer(text, reply_markup=markup)
    return len(reported)


async def offer_moderation_button(
    query: CallbackQuery,
    callback_data: OfferModerationCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    try:
        if callback_data.action is OfferModerationAction.REMOVE:
            offer, notices = await offers.remove_offer(
                session, callback_data.offer_id, user.id, settings.organiser_ids, clock.now()
            )
            text = t("offers.moderation.removed", title=escape(offer.title))
        else:
            await offers.dismiss_reports(
                session, callback_data.offer_id, user.id, settings.organiser_ids
            )
            notices = []
            text = t("offers.moderation.dismissed")
    except NotOrganiserError:
        await query.answer(t("moderation.refused"), show_alert=True)
        return
    except OfferNotFoundError:
        await query.answer(t("offers.moderation.gone"), show_alert=True)
        return
    await offer_notices.enqueue(session, translator, notices, clock.now(), settings)
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    await bot.send_message(query.from_user.id, text)


async def offer_moderation_refused(query: CallbackQuery) -> None:
    await query.answer(t("moderation.refused"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        moderation_command, Command("moderation"), Magic(F.chat.type == "private"), IsOrganiser()
    )
    router.message.register(moderation_refused, Command("moderation"))
    router.callback_query.register(moderation_button, ModerationCb.filter(), IsOrganiser())
    router.callback_query.register(moderation_button_refused, ModerationCb.filter())
    router.message.register(
        rejection_reason,
        StateFilter(ModerationFlow.reason),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    router.callback_query.register(
        offer_moderation_button, OfferModerationCb.filter(), IsOrganiser()
    )
    router.callback_query.register(offer_moderation_refused, OfferModerationCb.filter())
    return router
