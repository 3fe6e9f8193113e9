"""/newoffer: what, description, category, quantity, pickup from, pickup until, where,
optional pickup instructions, optional photo, preview, publish. Every answer is checked; a
refused one gets a localized reason and the same question again. A typed time already
passed today is taken for tomorrow once the poster says yes."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.scheduling import Scheduler
from bot.core.settings import Settings
from bot.services import offers
from bot.services.geo.geocoding import Geocoder
from bot.services.offers import OfferDraft, OfferFieldError, PickupPreset
from bot.ui.callbacks.offers import OfferWizardAction, OfferWizardCb
from bot.ui.editing import edit_markup
from bot.ui.filters import Magic
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import offers as offer_notices
from bot.ui.places import (
    LocationProblem,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
)
from bot.ui.views.offer_templates import repeat_keyboard
from bot.ui.views.offers import card_text, category_label, format_when, send_card, zone_of
from models import Offer, OfferCategory, User


class OfferWizard(StatesGroup):
    title = State()
    description = State()
    category = State()
    quantity = State()
    start = State()
    pickup = State()
    location = State()
    note = State()
    photo = State()
    preview = State()


class Step(StrEnum):
    TITLE = "title"
    DESCRIPTION = "description"
    CATEGORY = "category"
    QUANTITY = "quantity"
    START = "start"
    PICKUP = "pickup"
    LOCATION = "location"
    NOTE = "note"
    PHOTO = "photo"
    PREVIEW = "preview"


STATES = {
    Step.TITLE: OfferWizard.title,
    Step.DESCRIPTION: OfferWizard.description,
    Step.CATEGORY: OfferWizard.category,
    Step.QUANTITY: OfferWizard.quantity,
    Step.START: OfferWizard.start,
    Step.PICKUP: OfferWizard.pickup,
    Step.LOCATION: OfferWizard.location,
    Step.NOTE: OfferWizard.note,
    Step.PHOTO: OfferWizard.photo,
    Step.PREVIEW: OfferWizard.preview,
}
ORDER = list(Step)
LIMITS = {
    Step.TITLE: offers.TITLE_LIMIT,
    Step.DESCRIPTION: offers.DESCRIPTION_LIMIT,
    Step.NOTE: offers.NOTE_LIMIT,
}
TIME_STEPS = (Step.START, Step.PICKUP)


def _step_of(state_name: str | None) -> Step | None:
    for step, state in STATES.items():
        if state.state == state_name:
            return step
    return None


async def _draft(state: FSMContext) -> OfferDraft:
    raw = (await state.get_data()).get("offer_draft")
    return OfferDraft.from_state(raw if isinstance(raw, dict) else {})


async def _save(state: FSMContext, draft: OfferDraft) -> None:
    await state.update_data(offer_draft=draft.to_state())


def _cb(action: OfferWizardAction, **values: object) -> OfferWizardCb:
    return OfferWizardCb(action=action, **values)


def _buttons(step: Step, has_maker: bool) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if step is Step.CATEGORY:
        for category in OfferCategory:
            builder.button(
                text=category_label(category.value),
                callback_data=_cb(OfferWizardAction.CATEGORY, category=category),
            )
        builder.adjust(2)
    elif step is Step.START:
        builder.button(text=t("offers.wizard.preset.now"), callback_data=_cb(OfferWizardAction.NOW))
    elif step is Step.PICKUP:
        for preset in PickupPreset:
            builder.button(
                text=t(f"offers.wizard.preset.{preset.value}"),
                callback_data=_cb(OfferWizardAction.PRESET, pickup=preset),
            )
        builder.adjust(2)
    elif step is Step.LOCATION and has_maker:
        builder.button(
            text=t("offers.wizard.use_maker"), callback_data=_cb(OfferWizardAction.MAKER)
        )
    elif step in (Step.PHOTO, Step.NOTE):
        builder.button(text=t("offers.wizard.skip"), callback_data=_cb(OfferWizardAction.SKIP))
    else:
        return None
    return builder.as_markup()


def _draft_offer(draft: OfferDraft, user_id: int) -> Offer:
    """An unsaved Offer, only to draw the preview with the offers' own card."""
    return Offer(
        id=0,
        title=draft.title,
        description=draft.description,
        category=draft.category,
        quantity_total=draft.quantity,
        quantity_left=draft.quantity,
        pickup_start=draft.pickup_start,
        pickup_end=draft.pickup_end,
        pickup_note=draft.pickup_note,
        latitude=draft.latitude or 0.0,
        longitude=draft.longitude or 0.0,
        address=draft.address,
        photo_file_id=draft.photo_file_id,
        poster_id=user_id,
        status="open",
    )


async def ask(
    message: Message,
    state: FSMContext,
    step: Step,
    *,
    user: User,
    settings: Settings,
    clock: Clock,
    session: AsyncSession,
    error: str | None = None,
) -> None:
    """Put the conversation at `step` and ask its question (after `error`, if any)."""
    await state.set_state(STATES[step])
    draft = await _draft(state)
    if step is Step.PREVIEW:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("offers.wizard.publish"), callback_data=_cb(OfferWizardAction.PUBLISH)
        )
        builder.button(
            text=t("offers.wizard.restart"), callback_data=_cb(OfferWizardAction.RESTART)
        )
        zone, now = zone_of(user, settings), clock.now()
        text = (
            t("offers.wizard.preview") + "\n\n" + card_text(_draft_offer(draft, user.id), zone, now)
        )
        if draft.photo_file_id:
            await message.answer_photo(draft.photo_file_id)
        await message.answer(text, reply_markup=builder.as_markup())
        return
    lines = [error] if error else []
    params: dict[str, object] = {}
    if step is Step.QUANTITY:
        params = {"min": offers.QUANTITY_MIN, "max": offers.QUANTITY_MAX}
    elif step is Step.NOTE:
        params = {"limit": offers.NOTE_LIMIT}
    lines.append(t(f"offers.wizard.ask.{step.value}", **params))
    if step is Step.LOCATION:
        maker = await offers.own_approved_maker(session, user.id)
        lines.append(location_prompt())
        await message.answer("\n\n".join(lines), reply_markup=location_keyboard())
        if maker is not None:
            await message.answer(
                t("offers.wizard.maker_hint", name=escape(maker.name)),
                reply_markup=_buttons(step, True),
            )
        return
    await message.answer("\n\n".join(lines), reply_markup=_buttons(step, False))


async def _next(message: Message, state: FSMContext, step: Step, **context: object) -> None:
    await ask(message, state, ORDER[ORDER.index(step) + 1], **context)  # type: ignore[arg-type]


def _example_time(now: datetime, zone: ZoneInfo) -> str:
    """A time to type that is still to come today (or early tomorrow): two hours ahead,
    on the hour, written the way times are written everywhere else ("21:00")."""
    ahead = (now.astimezone(zone) + timedelta(hours=2)).replace(minute=0)
    return f"{ahead.hour}:00"


def _error(step: Step, error: OfferFieldError, now: datetime, zone: ZoneInfo) -> str:
    return t(
        f"offers.wizard.error.{error.code}",
        limit=LIMITS.get(step, 0),
        min=offers.QUANTITY_MIN,
        max=offers.QUANTITY_MAX,
        days=offers.MAX_AHEAD.days,
        minutes=int(offers.MIN_AHEAD.total_seconds() // 60),
        example=_example_time(now, zone),
    )


def _confirm_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("offers.wizard.yes"), callback_data=_cb(OfferWizardAction.YES))
    builder.button(text=t("offers.wizard.no"), callback_data=_cb(OfferWizardAction.NO))
    return builder.as_markup()


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


async def _take_time(
    message: Message,
    state: FSMContext,
    step: Step,
    draft: OfferDraft,
    moment: datetime,
    **context: Any,
) -> None:
    """Keep a checked start or end of the window, say it back, go on."""
    user, settings, clock = context["user"], context["settings"], context["clock"]
    zone, now = zone_of(user, settings), clock.now()
    draft.pending_time = None
    if step is Step.START:
        draft.pickup_start = moment
        noted = t("offers.wizard.start_noted", when=format_when(moment, zone, now))
    else:
        draft.pickup_end = moment
        noted = t("offers.wizard.pickup_noted", when=format_when(moment, zone, now))
    await _save(state, draft)
    await message.answer(noted)
    await _next(message, state, step, **context)


def _check_time(step: Step, draft: OfferDraft, moment: datetime, now: datetime) -> datetime:
    if step is Step.START:
        return offers.check_pickup_start(moment, now)
    return offers.check_pickup_end(moment, now, draft.pickup_start)


# ----------------------------------------------------------------------------- handlers


async def newoffer_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    await state.update_data(offer_draft=OfferDraft().to_state())
    await message.answer(t("offers.wizard.intro"))
    await ask(
        message, state, Step.TITLE, user=user, settings=settings, clock=clock, session=session
    )


_TEXT_STEPS = StateFilter(
    OfferWizard.title,
    OfferWizard.description,
    OfferWizard.quantity,
    OfferWizard.start,
    OfferWizard.pickup,
    OfferWizard.note,
)


async def text_answer(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    step = _step_of(raw_state)
    if step is None:  # pragma: no cover - the filter only lets wizard states through
        return
    context = {"user": user, "settings": settings, "clock": clock, "session": session}
    draft = await _draft(state)
    text = message.text or ""
    zone, now = zone_of(user, settings), clock.now()
    typed = None
    try:
        if step is Step.TITLE:
            draft.title = offers.clean_title(text)
        elif step is Step.DESCRIPTION:
            draft.description = offers.clean_description(text)
        elif step is Step.QUANTITY:
            draft.quantity = offers.parse_quantity(text)
        elif step is Step.NOTE:
            draft.pickup_note = offers.clean_note(text)
        elif step is Step.START:
            typed = offers.parse_pickup_start(text, now, zone)
        elif step is Step.PICKUP:
            typed = offers.parse_pickup_end(text, now, zone, draft.pickup_start)
    except OfferFieldError as error:
        await ask(message, state, step, error=_error(step, error, now, zone), **context)  # type: ignore[arg-type]
        return
    if typed is not None and typed.rolled:
        # "9h" typed at 10:00: tomorrow, once the poster says so.
        draft.pending_time = typed.moment
        await _save(state, draft)
        when = _capitalised(format_when(typed.moment, zone, now))
        await message.answer(
            t("offers.wizard.confirm_time", when=when), reply_markup=_confirm_keyboard()
        )
        return
    if typed is not None:
        await _take_time(message, state, step, draft, typed.moment, **context)
        return
    await _save(state, draft)
    await _next(message, state, step, **context)


async def not_text(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    step = _step_of(raw_state)
    if step is not None:
        await ask(
            message,
            state,
            step,
            error=t("offers.wizard.error.not_text"),
            user=user,
            settings=settings,
            clock=clock,
            session=session,
        )


async def use_the_buttons(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    step = _step_of(raw_state) or Step.CATEGORY
    await ask(
        message,
        state,
        step,
        error=t("offers.wizard.error.use_buttons"),
        user=user,
        settings=settings,
        clock=clock,
        session=session,
    )


async def location_answer(
    message: Message,
    state: FSMContext,
    geocoder: Geocoder,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    context = {"user": user, "settings": settings, "clock": clock, "session": session}
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await ask(message, state, Step.LOCATION, error=problem_text(where, message), **context)  # type: ignore[arg-type]
        return
    draft = await _draft(state)
    draft.latitude, draft.longitude, draft.maker_id = where.latitude, where.longitude, None
    draft.address = where.label or ""
    if message.venue is not None and message.venue.address:
        draft.address = ", ".join(p for p in (message.venue.title, message.venue.address) if p)
    draft.address = draft.address[: offers.ADDRESS_LIMIT]
    await _save(state, draft)
    place = escape(draft.address) if draft.address else t("offers.card.on_map")
    await message.answer(t("offers.wizard.location_noted", place=place), reply_markup=main_menu())
    await _next(message, state, Step.LOCATION, **context)


async def photo_answer(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    draft = await _draft(state)
    # The largest size Telegram made of it.
    draft.photo_file_id = message.photo[-1].file_id if message.photo else None
    await _save(state, draft)
    await ask(
        message, state, Step.PREVIEW, user=user, settings=settings, clock=clock, session=session
    )


async def not_a_photo(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    await ask(
        message,
        state,
        Step.PHOTO,
        error=t("offers.wizard.error.not_photo"),
        user=user,
        settings=settings,
        clock=clock,
        session=session,
    )


async def wizard_button(
    query: CallbackQuery,
    callback_data: OfferWizardCb,
    state: FSMContext,
    raw_state: str | None,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    scheduler: Scheduler | None = None,
) -> None:
    step = _step_of(raw_state)
    message = query.message
    if step is None or message is None or isinstance(message, InaccessibleMessage):
        await query.answer(t("offers.wizard.expired"), show_alert=True)
        return
    context = {"user": user, "settings": settings, "clock": clock, "session": session}
    draft = await _draft(state)
    action = callback_data.action
    now, zone = clock.now(), zone_of(user, settings)
    if action is OfferWizardAction.CATEGORY and step is Step.CATEGORY:
        if callback_data.category is None:
            await query.answer(t("offers.wizard.error.use_buttons"), show_alert=True)
            return
        draft.category = callback_data.category.value
        await _save(state, draft)
        await query.answer(category_label(draft.category))
        await _next(message, state, step, **context)
    elif action is OfferWizardAction.PRESET and step is Step.PICKUP:
        if callback_data.pickup is None:
            await query.answer(t("offers.wizard.error.use_buttons"), show_alert=True)
            return
        try:
            end = offers.preset_pickup_end(callback_data.pickup, now, zone, draft.pickup_start)
        except OfferFieldError as error:
            await query.answer()
            await ask(message, state, step, error=_error(step, error, now, zone), **context)  # type: ignore[arg-type]
            return
        await query.answer()
        await _take_time(message, state, step, draft, end, **context)
    elif action is OfferWizardAction.NOW and step is Step.START:
        draft.pickup_start, draft.pending_time = None, None
        await _save(state, draft)
        await query.answer()
        await message.answer(t("offers.wizard.start_now_noted"))
        await _next(message, state, step, **context)
    elif action in (OfferWizardAction.YES, OfferWizardAction.NO) and step in TIME_STEPS:
        pending = draft.pending_time
        await edit_markup(message, reply_markup=None)
        if action is OfferWizardAction.NO or pending is None:
            draft.pending_time = None
            await _save(state, draft)
            await query.answer()
            await ask(message, state, step, **context)  # type: ignore[arg-type]
            return
        try:
            # Checked again: the clock moved while the question waited.
            moment = _check_time(step, draft, pending, now)
        except OfferFieldError as error:
            draft.pending_time = None
            await _save(state, draft)
            await query.answer()
            await ask(message, state, step, error=_error(step, error, now, zone), **context)  # type: ignore[arg-type]
            return
        await query.answer()
        await _take_time(message, state, step, draft, moment, **context)
    elif action is OfferWizardAction.MAKER and step is Step.LOCATION:
        maker = await offers.own_approved_maker(session, user.id)
        if maker is None:
            await query.answer(t("offers.wizard.no_maker"), show_alert=True)
            return
        draft.maker_id = maker.id
        draft.latitude, draft.longitude = maker.latitude, maker.longitude
        draft.address = offers.maker_address(maker)
        await _save(state, draft)
        await query.answer()
        place = escape(draft.address) if draft.address else escape(maker.name)
        await message.answer(
            t("offers.wizard.location_noted", place=place), reply_markup=main_menu()
        )
        await _next(message, state, step, **context)
    elif action is OfferWizardAction.SKIP and step is Step.NOTE:
        draft.pickup_note = ""
        await _save(state, draft)
        await query.answer()
        await _next(message, state, step, **context)
    elif action is OfferWizardAction.SKIP and step is Step.PHOTO:
        draft.photo_file_id = None
        await _save(state, draft)
        await query.answer()
        await _next(message, state, step, **context)
    elif action is OfferWizardAction.RESTART and step is Step.PREVIEW:
        await query.answer()
        await state.update_data(offer_draft=OfferDraft().to_state())
        await ask(message, state, Step.TITLE, **context)  # type: ignore[arg-type]
    elif action is OfferWizardAction.PUBLISH and step is Step.PREVIEW:
        try:
            offer, notices = await offers.publish(session, user.id, draft, now)
        except OfferFieldError as error:
            await query.answer()
            restart = (
                Step.START
                if error.code in ("past", "too_soon", "too_far", "before_start")
                else Step.NOTE
                if error.code == "too_long" and len(draft.pickup_note) > offers.NOTE_LIMIT
                else Step.TITLE
            )
            await ask(message, state, restart, error=_error(restart, error, now, zone), **context)  # type: ignore[arg-type]
            return
        # The alerts it triggers are decided with the offer, before anyone is told.
        await offer_notices.enqueue(session, translator, notices, now, settings)
        offer_notices.schedule_offer_jobs(scheduler, offer, now)
        await query.answer()
        await state.set_state(None)
        await state.update_data(offer_draft=None)
        await edit_markup(message, reply_markup=None)
        await message.answer(t("offers.wizard.published", id=offer.id), reply_markup=main_menu())
        await send_card(bot, message.chat.id, offer, zone_of(user, settings), now, user.id)
        await message.answer(
            t("offer_templates.offer_hint"), reply_markup=repeat_keyboard(offer.id)
        )
    else:
        await query.answer(t("offers.wizard.expired"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(newoffer_command, Command("newoffer"))
    router.message.register(text_answer, _TEXT_STEPS, Magic(F.text), Magic(~F.text.startswith("/")))
    router.message.register(not_text, _TEXT_STEPS, Magic(~F.text))
    router.message.register(
        use_the_buttons,
        StateFilter(OfferWizard.category, OfferWizard.preview),
        Magic(~F.text.startswith("/")),
    )
    router.message.register(
        location_answer, StateFilter(OfferWizard.location), Magic(~F.text.startswith("/"))
    )
    router.message.register(photo_answer, StateFilter(OfferWizard.photo), Magic(F.photo))
    router.message.register(
        not_a_photo, StateFilter(OfferWizard.photo), Magic(~F.text.startswith("/"))
    )
    router.callback_query.register(wizard_button, OfferWizardCb.filter())
    return router
