"""An event's organiser tools (attendance and its export, the check-in QR code and button,
a new time, place or capacity, cancelling) and the review of proposals in /moderation.
The organiser (or any organiser) is checked in the service on every tap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import events
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.services.events import (
    AlreadyReviewedError,
    Change,
    CheckinError,
    EventClosedError,
    EventFieldError,
    EventNotFoundError,
)
from bot.services.geo.geocoding import Geocoder
from bot.services.qrcodes import qr_png
from bot.services.users import NotOrganiserError
from bot.ui.callbacks.events import (
    EventAction,
    EventCb,
    EventModerationAction,
    EventModerationCb,
)
from bot.ui.editing import edit_markup, message_of
from bot.ui.filters import IsOrganiser, Magic
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, current_translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import events as event_notices
from bot.ui.places import (
    LocationProblem,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
)
from bot.ui.views import events as views
from bot.ui.views.actions import counted
from models import User

PRIVATE = Magic(F.chat.type == "private")
EDITS = {
    EventAction.EDIT_TIME: "time",
    EventAction.EDIT_PLACE: "place",
    EventAction.EDIT_CAPACITY: "capacity",
}


class EventManage(StatesGroup):
    # One state for every change; the conversation's data says which (`edit_field`).
    edit = State()


async def _refused(query: CallbackQuery) -> None:
    await query.answer(t("events.not_found"), show_alert=True)


async def manage_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    try:
        event = await events.manageable(
            session, callback_data.event_id, user.id, settings.organiser_ids
        )
    except EventNotFoundError:
        await _refused(query)
        return
    await query.answer()
    await bot.send_message(
        query.from_user.id,
        t("events.manage.title", title=escape(event.title)),
        reply_markup=views.manage_keyboard(event, clock.now()),
    )


async def attendance_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    try:
        seen = await events.attendance(
            session, callback_data.event_id, user.id, settings.organiser_ids
        )
    except EventNotFoundError:
        await _refused(query)
        return
    await query.answer()
    await bot.send_message(query.from_user.id, views.attendance_text(seen))


async def export_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    try:
        data = await events.attendance_csv(
            session,
            callback_data.event_id,
            user.id,
            settings.organiser_ids,
            t("events.attendance.anonymous"),
        )
    except EventNotFoundError:
        await _refused(query)
        return
    await query.answer()
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename=f"event-{callback_data.event_id}-attendance.csv"),
        caption=t("events.attendance.export_caption"),
    )


async def checkin_qr_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    """The QR code to print at the venue: scanning it checks the person in."""
    try:
        event = await events.manageable(
            session, callback_data.event_id, user.id, settings.organiser_ids
        )
    except EventNotFoundError:
        await _refused(query)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.CHECKIN, event.checkin_code))
    png = await asyncio.to_thread(qr_png, url, event.title)
    await bot.send_photo(
        query.from_user.id,
        BufferedInputFile(png, filename=f"event_{event.id}_checkin.png"),
        caption=t("events.manage.checkin_qr_caption", title=escape(event.title)),
    )


async def open_checkin_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    now = clock.now()
    try:
        event, notices = await events.open_checkin(
            session, callback_data.event_id, user.id, settings.organiser_ids, now
        )
    except EventNotFoundError:
        await _refused(query)
        return
    except EventClosedError:
        await query.answer(t("events.manage.closed"), show_alert=True)
        return
    except CheckinError as error:
        await query.answer(t(f"events.manage.checkin_{error.code}"), show_alert=True)
        return
    await event_notices.enqueue(session, translator, notices, now, settings)
    await query.answer()
    await bot.send_message(
        query.from_user.id,
        t(
            "events.manage.checkin_opened",
            title=escape(event.title),
            count=counted("count.people", len(notices)),
        ),
    )


async def cancel_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    try:
        event = await events.manageable(
            session, callback_data.event_id, user.id, settings.organiser_ids
        )
    except EventNotFoundError:
        await _refused(query)
        return
    await query.answer()
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("events.manage.confirm_cancel"),
        callback_data=EventCb(action=EventAction.CONFIRM_CANCEL, event_id=event.id),
    )
    await bot.send_message(
        query.from_user.id,
        t("events.manage.ask_cancel", title=escape(event.title)),
        reply_markup=builder.as_markup(),
    )


async def confirm_cancel_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    now = clock.now()
    try:
        event, notices = await events.cancel_event(
            session, callback_data.event_id, user.id, settings.organiser_ids, now
        )
    except EventNotFoundError:
        await _refused(query)
        return
    except EventClosedError:
        await query.answer(t("events.manage.closed"), show_alert=True)
        return
    await event_notices.enqueue(session, translator, notices, now, settings)
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    await bot.send_message(
        query.from_user.id,
        t(
            "events.manage.cancelled",
            title=escape(event.title),
            count=counted("count.people", len(notices)),
        ),
    )


# ----------------------------------------------------------------------------- changes


async def edit_button(
    query: CallbackQuery,
    callback_data: EventCb,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    try:
        event = await events.manageable(
            session, callback_data.event_id, user.id, settings.organiser_ids
        )
    except EventNotFoundError:
        await _refused(query)
        return
    if not (events.is_open(event, clock.now()) or event.status == "pending"):
        await query.answer(t("events.manage.closed"), show_alert=True)
        return
    edit_field = EDITS[callback_data.action]
    await query.answer()
    await state.set_state(EventManage.edit)
    await state.update_data(edit_event=event.id, edit_field=edit_field)
    when = views.when_text(current_translator(), locale, event)
    if edit_field == "place":
        text = t("events.manage.ask_place") + "\n\n" + location_prompt()
        await bot.send_message(query.from_user.id, text, reply_markup=location_keyboard())
        return
    key = "events.manage.ask_time" if edit_field == "time" else "events.manage.ask_capacity"
    await bot.send_message(query.from_user.id, t(key, when=when, max=events.CAPACITY_MAX))


async def edit_answer(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    geocoder: Geocoder,
    translator: Translator,
    locale: str,
) -> None:
    data = await state.get_data()
    event_id, edit_field = data.get("edit_event"), data.get("edit_field")
    if not isinstance(event_id, int) or edit_field not in EDITS.values():
        await state.set_state(None)
        await message.answer(t("events.wizard.expired"), reply_markup=main_menu())
        return
    now = clock.now()
    try:
        event = await events.manageable(session, event_id, user.id, settings.organiser_ids)
        if edit_field == "place":
            where = await read_location(message, geocoder)
            if isinstance(where, LocationProblem):
                await message.answer(problem_text(where, message), reply_markup=location_keyboard())
                return
            address = where.label or ""
            if message.venue is not None and message.venue.address:
                address = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
            change = Change(latitude=where.latitude, longitude=where.longitude, address=address)
        elif not message.text:
            await message.answer(t("events.wizard.error.not_text"))
            return
        elif edit_field == "time":
            start = events.parse_start(message.text, now, events.zone_of(event))
            change = Change(starts_at=start, ends_at=start + (event.ends_at - event.starts_at))
        else:
            raw = message.text.strip()
            capacity = 0 if raw == "0" else events.parse_capacity(raw)
            change = Change(capacity=capacity)
        event, notices = await events.change_event(
            session, event_id, user.id, settings.organiser_ids, change, now
        )
    except EventFieldError as error:
        await message.answer(
            t(
                f"events.wizard.error.{error.code}",
                limit=0,
                max=events.CAPACITY_MAX,
                days=events.MAX_AHEAD.days,
            )
        )
        return
    except (EventNotFoundError, EventClosedError):
        await state.set_state(None)
        await message.answer(t("events.manage.closed"), reply_markup=main_menu())
        return
    await event_notices.enqueue(session, translator, notices, now, settings)
    await state.set_state(None)
    await state.update_data(edit_event=None, edit_field=None)
    told = sum(1 for notice in notices if notice.kind is events.NoticeKind.CHANGED)
    await message.answer(
        t("events.manage.changed", title=escape(event.title), count=counted("count.people", told)),
        reply_markup=main_menu(),
    )
    counts = (await events.counts_of(session, [event.id]))[event.id]
    await message.answer(
        views.card_text(event, counts, now, locale, description_limit=200),
        reply_markup=views.manage_keyboard(event, now),
    )


# ----------------------------------------------------------------------------- moderation


async def review_button(
    query: CallbackQuery,
    callback_data: EventModerationCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    now = clock.now()
    action = callback_data.action
    if action is EventModerationAction.REJECT:
        await query.answer()
        await bot.send_message(
            query.from_user.id,
            t("events.moderation.ask_reason"),
            reply_markup=views.reason_buttons(callback_data.event_id),
        )
        return
    try:
        if action is EventModerationAction.APPROVE:
            event, notices = await events.approve_event(
                session, callback_data.event_id, user.id, settings.organiser_ids, now
            )
            text = t("events.moderation.approved", title=escape(event.title))
        else:
            if callback_data.reason is None:
                await query.answer(t("fallback.stale_button"), show_alert=True)
                return
            event, notices = await events.reject_event(
                session,
                callback_data.event_id,
                user.id,
                settings.organiser_ids,
                callback_data.reason,
            )
            text = t("events.moderation.rejected", title=escape(event.title))
    except NotOrganiserError:
        await query.answer(t("moderation.refused"), show_alert=True)
        return
    except EventNotFoundError:
        await query.answer(t("events.not_found"), show_alert=True)
        return
    except (AlreadyReviewedError, EventClosedError):
        await query.answer(t("events.moderation.already"), show_alert=True)
        return
    # In the decision's transaction: the author is told once it commits, by the sender.
    await event_notices.enqueue(session, translator, notices, now, settings)
    await query.answer()
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    await bot.send_message(query.from_user.id, text)


async def review_refused(query: CallbackQuery) -> None:
    await query.answer(t("moderation.refused"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    callbacks: dict[EventAction, Callable[..., Awaitable[None]]] = {
        EventAction.MANAGE: manage_button,
        EventAction.ATTENDANCE: attendance_button,
        EventAction.EXPORT: export_button,
        EventAction.CHECKIN_QR: checkin_qr_button,
        EventAction.OPEN_CHECKIN: open_checkin_button,
        EventAction.CANCEL: cancel_button,
        EventAction.CONFIRM_CANCEL: confirm_cancel_button,
    }
    for action, handler in callbacks.items():
        router.callback_query.register(handler, EventCb.filter(F.action == action))
    router.callback_query.register(edit_button, EventCb.filter(F.action.in_(set(EDITS))))
    router.message.register(
        edit_answer, StateFilter(EventManage.edit), PRIVATE, Magic(~F.text.startswith("/"))
    )
    router.callback_query.register(review_button, EventModerationCb.filter(), IsOrganiser())
    router.callback_query.register(review_refused, EventModerationCb.filter())
    return router
