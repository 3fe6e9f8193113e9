"""The relay conversation of a reservation (issue #16): "💬 Message the giver" / "💬 Message
{name}" / "↩️ Reply" enter a writing mode for that conversation, where each text or place
sent is relayed to the other side until "Done" or /cancel; either side can report or
block; moderators settle reports from /moderation. bot/services/relay.py decides who may
write and when; each relayed message is queued (bot/ui/notices/relay.py) in the
transaction that stores it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import relay
from bot.services.relay import (
    RelayClosedError,
    RelayNotFoundError,
    RelayRateLimitedError,
    RelayTextError,
)
from bot.services.users import NotOrganiserError
from bot.ui.callbacks.relay import RelayAction, RelayCb, RelayModerationAction, RelayModerationCb
from bot.ui.editing import edit_markup, message_of
from bot.ui.filters import IsOrganiser, Magic
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import relay as relay_notices
from bot.ui.views import relay as relay_views
from models import User

# Where the conversation being written to is kept while in the writing mode.
DATA_KEY = "relay_reservation_id"


class RelayFlow(StatesGroup):
    writing = State()


async def _leave(state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data({DATA_KEY: None})


async def write_button(
    query: CallbackQuery,
    callback_data: RelayCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """ "Message…" or "Reply": the writing mode for this conversation, if it is open."""
    try:
        talk = await relay.start_writing(
            session, callback_data.reservation_id, user.id, clock.now()
        )
    except RelayNotFoundError:
        await query.answer(t("relay.not_found"), show_alert=True)
        return
    except RelayClosedError as closed:
        await query.answer(relay_views.closed_text(closed.reason), show_alert=True)
        return
    await state.set_state(RelayFlow.writing)
    await state.update_data({DATA_KEY: talk.reservation_id})
    await query.answer()
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id,
        relay_views.writing_prompt(talk),
        reply_markup=relay_views.writing_keyboard(talk.reservation_id),
    )


async def done_button(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    if await state.get_state() == RelayFlow.writing.state:
        await _leave(state)
        text = t("relay.writing.left")
    else:
        text = t("relay.writing.not_writing")
    await query.bot.send_message(query.from_user.id, text, reply_markup=main_menu())  # type: ignore[union-attr]


async def relayed_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    translator: Translator,
) -> None:
    """A text or a place sent in the writing mode: relayed, or the reason why not."""
    reservation_id = (await state.get_data()).get(DATA_KEY)
    if not isinstance(reservation_id, int):
        await _leave(state)
        await message.answer(t("relay.not_found"), reply_markup=main_menu())
        return
    place = message.location or (message.venue.location if message.venue else None)
    if place is None and message.text is None:
        await message.answer(
            t("relay.error.unsupported"), reply_markup=relay_views.writing_keyboard(reservation_id)
        )
        return
    now = clock.now()
    try:
        if place is not None:
            # Already rounded when the update arrived (bot/services/geo/privacy.py).
            relayed = await relay.send(
                session,
                reservation_id,
                user.id,
                now,
                latitude=place.latitude,
                longitude=place.longitude,
            )
        else:
            relayed = await relay.send(session, reservation_id, user.id, now, text=message.text)
    except RelayNotFoundError:
        await _leave(state)
        await message.answer(t("relay.not_found"), reply_markup=main_menu())
        return
    except RelayClosedError as closed:
        await _leave(state)
        await message.answer(relay_views.closed_text(closed.reason), reply_markup=main_menu())
        return
    except RelayRateLimitedError as limited:
        await message.answer(relay_views.rate_limited_text(limited.minutes))
        return
    except RelayTextError as error:
        await message.answer(
            relay_views.text_error(error.code),
            reply_markup=relay_views.writing_keyboard(reservation_id),
        )
        return
    talk = relayed.conversation
    queued = await relay_notices.enqueue(session, translator, relayed, now)
    key = "relay.sent" if queued else "relay.unreachable"
    await message.answer(
        t(key, name=escape(talk.other_name)),
        reply_markup=relay_views.writing_keyboard(talk.reservation_id),
    )


async def block_button(
    query: CallbackQuery, callback_data: RelayCb, session: AsyncSession, user: User
) -> None:
    """Asks first: a block cannot be undone."""
    try:
        talk = await relay.conversation(session, callback_data.reservation_id, user.id)
    except RelayNotFoundError:
        await query.answer(t("relay.not_found"), show_alert=True)
        return
    except RelayClosedError as closed:
        await query.answer(relay_views.closed_text(closed.reason), show_alert=True)
        return
    await query.answer()
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id,
        t("relay.block.ask", name=escape(talk.other_name)),
        reply_markup=relay_views.block_confirm_keyboard(talk.reservation_id),
    )


async def block_confirmed(
    query: CallbackQuery,
    callback_data: RelayCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    try:
        talk, new = await relay.block(session, callback_data.reservation_id, user.id, clock.now())
    except RelayNotFoundError:
        await query.answer(t("relay.not_found"), show_alert=True)
        return
    except RelayClosedError as closed:
        await query.answer(relay_views.closed_text(closed.reason), show_alert=True)
        return
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    data = await state.get_data()
    if data.get(DATA_KEY) == talk.reservation_id:
        await _leave(state)
    key = "relay.block.done" if new else "relay.block.already"
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id, t(key, name=escape(talk.other_name)), reply_markup=main_menu()
    )


async def report_button(
    query: CallbackQuery, callback_data: RelayCb, session: AsyncSession, user: User, clock: Clock
) -> None:
    try:
        _, new = await relay.report(session, callback_data.reservation_id, user.id, clock.now())
    except RelayNotFoundError:
        await query.answer(t("relay.not_found"), show_alert=True)
        return
    except RelayClosedError as closed:
        await query.answer(relay_views.closed_text(closed.reason), show_alert=True)
        return
    await query.answer(t("relay.report.thanks" if new else "relay.report.already"), show_alert=True)


async def moderation_button(
    query: CallbackQuery,
    callback_data: RelayModerationCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    close = callback_data.action is RelayModerationAction.CLOSE
    try:
        settled = await relay.settle_report(
            session, callback_data.report_id, user.id, settings.organiser_ids, close
        )
    except NotOrganiserError:
        await query.answer(t("moderation.refused"), show_alert=True)
        return
    if not settled:
        await query.answer(t("relay.moderation.gone"), show_alert=True)
        return
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    key = "relay.moderation.closed" if close else "relay.moderation.dismissed"
    await query.bot.send_message(query.from_user.id, t(key))  # type: ignore[union-attr]


async def moderation_refused(query: CallbackQuery) -> None:
    await query.answer(t("moderation.refused"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(write_button, RelayCb.filter(F.action == RelayAction.WRITE))
    router.callback_query.register(done_button, RelayCb.filter(F.action == RelayAction.DONE))
    router.callback_query.register(block_button, RelayCb.filter(F.action == RelayAction.BLOCK))
    router.callback_query.register(
        block_confirmed, RelayCb.filter(F.action == RelayAction.BLOCK_CONFIRMED)
    )
    router.callback_query.register(report_button, RelayCb.filter(F.action == RelayAction.REPORT))
    router.callback_query.register(moderation_button, RelayModerationCb.filter(), IsOrganiser())
    router.callback_query.register(moderation_refused, RelayModerationCb.filter())
    router.message.register(
        relayed_message,
        StateFilter(RelayFlow.writing),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    return router
