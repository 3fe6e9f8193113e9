"""/maker: a maker or shop registers or edits its own listing, step by step; the listing
then waits in /moderation. Every answer is checked; a refused one gets a localized reason
and the same question again."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.services import action_places, actions, makers
from bot.services.geo.geocoding import Geocoder
from bot.services.makers import InvalidFieldError, ListingDraft
from bot.ui.callbacks.makers import MakerWizardCb, WizardAction
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup
from bot.ui.filters import Magic
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.places import LocationProblem, location_prompt, problem_text, read_location
from bot.ui.views.action_places import wizard_keyboard
from bot.ui.views.makers import card_text, category_label
from models import Maker, MakerCategory, User

COMMANDS = [command("maker", "commands.maker", Scope.PRIVATE)]


class MakerWizard(StatesGroup):
    name = State()
    category = State()
    description = State()
    location = State()
    address = State()
    website = State()
    phone = State()
    actions = State()
    preview = State()
    # After the address, when the pin is only a town's centre: the pin of the door.
    pin = State()


class Step(StrEnum):
    NAME = "name"
    CATEGORY = "category"
    DESCRIPTION = "description"
    LOCATION = "location"
    ADDRESS = "address"
    WEBSITE = "website"
    PHONE = "phone"
    ACTIONS = "actions"
    PREVIEW = "preview"
    PIN = "pin"


STATES = {
    Step.NAME: MakerWizard.name,
    Step.CATEGORY: MakerWizard.category,
    Step.DESCRIPTION: MakerWizard.description,
    Step.LOCATION: MakerWizard.location,
    Step.ADDRESS: MakerWizard.address,
    Step.WEBSITE: MakerWizard.website,
    Step.PHONE: MakerWizard.phone,
    Step.ACTIONS: MakerWizard.actions,
    Step.PREVIEW: MakerWizard.preview,
    Step.PIN: MakerWizard.pin,
}
# The pin is asked only when needed, between the address and the website.
ORDER: list[Step] = [step for step in Step if step is not Step.PIN]
LIMITS = {
    Step.NAME: makers.NAME_LIMIT,
    Step.DESCRIPTION: makers.DESCRIPTION_LIMIT,
    Step.ADDRESS: makers.ADDRESS_LIMIT,
    Step.WEBSITE: makers.WEBSITE_LIMIT,
    Step.PHONE: makers.PHONE_LIMIT,
}


def _step_of(state_name: str | None) -> Step | None:
    for step, state in STATES.items():
        if state.state == state_name:
            return step
    return None


async def _draft(state: FSMContext) -> tuple[ListingDraft, bool]:
    data = await state.get_data()
    raw = data.get("draft")
    draft = ListingDraft.from_state(raw if isinstance(raw, dict) else {})
    return draft, bool(data.get("editing"))


async def _save(state: FSMContext, draft: ListingDraft) -> None:
    await state.update_data(draft=draft.to_state())


def _current_value(step: Step, draft: ListingDraft) -> str | None:
    if step is Step.CATEGORY:
        return category_label(draft.category)
    if step is Step.LOCATION:
        if draft.latitude is None or draft.longitude is None:
            return None
        return escape(draft.city) if draft.city else f"{draft.latitude:.5f}, {draft.longitude:.5f}"
    value: Any = getattr(draft, step.value, None)
    return escape(truncate(str(value), 200)) if value else None


def _buttons(step: Step, editing: bool, has_value: bool) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    sizes: list[int] = []
    if step is Step.CATEGORY:
        for category in MakerCategory:
            builder.button(
                text=category_label(category.value),
                callback_data=MakerWizardCb(action=WizardAction.CATEGORY, category=category),
            )
        sizes += [2] * 5
    if step in (Step.WEBSITE, Step.PHONE):
        builder.button(
            text=t("wizard.button.skip"),
            callback_data=MakerWizardCb(action=WizardAction.SKIP),
        )
        sizes.append(1)
    if editing and has_value:
        builder.button(
            text=t("wizard.button.keep"),
            callback_data=MakerWizardCb(action=WizardAction.KEEP),
        )
        sizes.append(1)
    if not sizes:
        return None
    builder.adjust(*sizes)
    return builder.as_markup()


def _location_keyboard(editing: bool, has_value: bool) -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(text=t("location.button.share"), request_location=True)]]
    if editing and has_value:
        rows.append([KeyboardButton(text=t("wizard.button.keep"))])
    return ReplyKeyboardMarkup(
        keyboard=rows,
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t("location.placeholder"),
    )


def _pin_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("location.button.share"), request_location=True)],
            [KeyboardButton(text=t("wizard.button.town_only"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=t("location.placeholder"),
    )


def _draft_maker(draft: ListingDraft) -> Maker:
    """An unsaved Maker, only to draw the preview with the directory's own card."""
    return Maker(
        id=0,
        name=draft.name,
        category=draft.category,
        description=draft.description,
        address=draft.address,
        city=draft.city,
        website=draft.website,
        phone=draft.phone,
        latitude=draft.latitude or 0.0,
        longitude=draft.longitude or 0.0,
        pin_precise=draft.pin_precise,
        actions=draft.actions,
    )


async def ask(message: Message, state: FSMContext, step: Step, error: str | None = None) -> None:
    """Put the conversation at `step` and ask its question (after `error`, if any)."""
    await state.set_state(STATES[step])
    draft, editing = await _draft(state)
    if step is Step.PREVIEW:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("wizard.button.submit"),
            callback_data=MakerWizardCb(action=WizardAction.SUBMIT),
        )
        builder.button(
            text=t("wizard.button.restart"),
            callback_data=MakerWizardCb(action=WizardAction.RESTART),
        )
        text = t("wizard.preview") + "\n\n" + card_text(_draft_maker(draft))
        if draft.address and not draft.pin_precise:
            hidden = t(
                "wizard.preview.address_hidden",
                address=escape(draft.address),
                town=escape(draft.city),
            )
            text += "\n\n" + hidden
        await message.answer(text, reply_markup=builder.as_markup())
        return
    if step is Step.ACTIONS:
        # Optional: the eco-actions one can do there (an action place), toggled in place.
        await message.answer(
            "\n\n".join([error, t("places.wizard.ask")] if error else [t("places.wizard.ask")]),
            reply_markup=_actions_keyboard(draft),
        )
        return
    if step is Step.PIN:
        question = t("wizard.ask.pin", address=escape(draft.address), town=escape(draft.city))
        await message.answer(
            "\n\n".join([error, question] if error else [question]), reply_markup=_pin_keyboard()
        )
        return
    lines = [error] if error else []
    lines.append(t(f"wizard.ask.{step.value}"))
    current = _current_value(step, draft)
    if editing and current:
        lines.append(t("wizard.current", value=current))
    if step is Step.LOCATION:
        lines.append(location_prompt())
        keyboard = _location_keyboard(editing, current is not None)
        await message.answer("\n\n".join(lines), reply_markup=keyboard)
        return
    await message.answer("\n\n".join(lines), reply_markup=_buttons(step, editing, bool(current)))


def _actions_keyboard(draft: ListingDraft) -> InlineKeyboardMarkup:
    return wizard_keyboard(
        draft.actions,
        lambda index: MakerWizardCb(action=WizardAction.ACTION, index=index),
        MakerWizardCb(action=WizardAction.SKIP),
    )


async def advance(message: Message, state: FSMContext, step: Step) -> None:
    await ask(message, state, ORDER[ORDER.index(step) + 1])


def _error_text(step: Step, error: InvalidFieldError) -> str:
    return t(f"wizard.error.{error.code}", limit=LIMITS.get(step, 0))


# ----------------------------------------------------------------------------- handlers


async def maker_command(
    message: Message, state: FSMContext, session: AsyncSession, user: User
) -> None:
    existing = await makers.own_listing(session, user.id)
    draft = ListingDraft.from_maker(existing) if existing else ListingDraft()
    await state.update_data(draft=draft.to_state(), editing=existing is not None)
    if existing is None:
        await message.answer(t("wizard.intro.new"))
    else:
        status = t(f"wizard.status.{existing.status}")
        await message.answer(t("wizard.intro.edit", status=status))
    await ask(message, state, Step.NAME)


_TEXT_STEPS = StateFilter(
    MakerWizard.name,
    MakerWizard.description,
    MakerWizard.address,
    MakerWizard.website,
    MakerWizard.phone,
)


async def text_answer(message: Message, state: FSMContext, raw_state: str | None) -> None:
    step = _step_of(raw_state)
    if step is None:  # pragma: no cover - the filter only lets wizard states through
        return
    draft, _ = await _draft(state)
    text = message.text or ""
    try:
        if step is Step.NAME:
            draft.name = makers.clean_name(text)
        elif step is Step.DESCRIPTION:
            draft.description = makers.clean_text(text, makers.DESCRIPTION_LIMIT)
        elif step is Step.ADDRESS:
            draft.address = makers.clean_text(text, makers.ADDRESS_LIMIT)
        elif step is Step.WEBSITE:
            draft.website = makers.clean_website(text)
        elif step is Step.PHONE:
            draft.phone = makers.clean_phone(text)
    except InvalidFieldError as error:
        await ask(message, state, step, _error_text(step, error))
        return
    await _save(state, draft)
    if step is Step.ADDRESS and not draft.pin_precise:
        await ask(message, state, Step.PIN)
        return
    await advance(message, state, step)


async def not_text(message: Message, state: FSMContext, raw_state: str | None) -> None:
    step = _step_of(raw_state)
    if step is not None:
        await ask(message, state, step, t("wizard.error.not_text"))


async def category_typed(message: Message, state: FSMContext) -> None:
    await ask(message, state, Step.CATEGORY, t("wizard.error.use_buttons"))


async def actions_typed(message: Message, state: FSMContext) -> None:
    await ask(message, state, Step.ACTIONS, t("wizard.error.use_buttons"))


async def location_answer(
    message: Message, state: FSMContext, geocoder: Geocoder, i18n: Translator
) -> None:
    draft, editing = await _draft(state)
    keep = message.text is not None and message.text in i18n.every_translation("wizard.button.keep")
    if keep and editing and draft.latitude is not None:
        await message.answer(
            t("wizard.current", value=_current_value(Step.LOCATION, draft)),
            reply_markup=main_menu(),
        )
        await advance(message, state, Step.LOCATION)
        return
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await ask(message, state, Step.LOCATION, problem_text(where, message))
        return
    draft.latitude, draft.longitude = where.latitude, where.longitude
    draft.pin_precise = where.precise
    # A typed town names the city; a venue's title or a bare point does not.
    if message.text and where.label:
        draft.city = where.label
    # "12 rue X, Bordeaux": the street is the address; its pin is asked for next.
    if where.street:
        draft.address = where.street[: makers.ADDRESS_LIMIT]
    await _save(state, draft)
    place = escape(where.label) if where.label else t("wizard.location_point")
    await message.answer(t("wizard.location_noted", place=place), reply_markup=main_menu())
    if where.street:
        await ask(message, state, Step.PIN)
        return
    await advance(message, state, Step.LOCATION)


async def pin_answer(
    message: Message, state: FSMContext, geocoder: Geocoder, i18n: Translator
) -> None:
    """The pin of the door for an address the geocoder could not place, or "the town's
    centre only" (the card then shows the town without the street)."""
    draft, _ = await _draft(state)
    if message.text is not None and message.text in i18n.every_translation(
        "wizard.button.town_only"
    ):
        await message.answer(
            t("wizard.pin.town_only", town=escape(draft.city)), reply_markup=main_menu()
        )
        await advance(message, state, Step.ADDRESS)
        return
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await ask(message, state, Step.PIN, problem_text(where, message))
        return
    if not where.precise:
        await ask(message, state, Step.PIN, t("wizard.pin.not_precise"))
        return
    draft.latitude, draft.longitude = where.latitude, where.longitude
    draft.pin_precise = True
    await _save(state, draft)
    await message.answer(
        t("wizard.pin.noted", address=escape(draft.address)), reply_markup=main_menu()
    )
    await advance(message, state, Step.ADDRESS)


async def preview_typed(message: Message, state: FSMContext) -> None:
    await ask(message, state, Step.PREVIEW)


async def wizard_button(
    query: CallbackQuery,
    callback_data: MakerWizardCb,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    step = _step_of(raw_state)
    message = query.message
    if step is None or message is None or isinstance(message, InaccessibleMessage):
        await query.answer(t("wizard.expired"), show_alert=True)
        return
    draft, editing = await _draft(state)
    action = callback_data.action
    if action is WizardAction.CATEGORY and step is Step.CATEGORY:
        if callback_data.category is None:
            await query.answer(t("wizard.error.use_buttons"), show_alert=True)
            return
        draft.category = callback_data.category.value
        await _save(state, draft)
        await query.answer(category_label(draft.category))
        await advance(message, state, step)
    elif action is WizardAction.KEEP and editing and step not in (Step.PREVIEW, Step.LOCATION):
        await query.answer()
        await advance(message, state, step)
    elif action is WizardAction.ACTION and step is Step.ACTIONS:
        try:
            slug = actions.action_at(callback_data.index).slug
        except actions.UnknownActionError:
            await query.answer(t("wizard.error.use_buttons"), show_alert=True)
            return
        draft.actions = action_places.toggle(draft.actions, slug)
        await _save(state, draft)
        await query.answer()
        await edit_markup(message, reply_markup=_actions_keyboard(draft))
    elif action is WizardAction.SKIP and step is Step.ACTIONS:
        await query.answer()
        await advance(message, state, step)
    elif action is WizardAction.SKIP and step in (Step.WEBSITE, Step.PHONE):
        setattr(draft, step.value, None)
        await _save(state, draft)
        await query.answer()
        await advance(message, state, step)
    elif action is WizardAction.RESTART and step is Step.PREVIEW:
        await query.answer()
        await ask(message, state, Step.NAME)
    elif action is WizardAction.SUBMIT and step is Step.PREVIEW:
        try:
            await makers.submit_listing(session, user.id, draft, clock.now())
        except InvalidFieldError as error:
            await query.answer()
            await ask(message, state, Step.NAME, _error_text(Step.NAME, error))
            return
        await query.answer()
        await state.set_state(None)
        await state.update_data(draft=None, editing=None)
        await edit_markup(message, reply_markup=None)
        await message.answer(t("wizard.submitted"), reply_markup=main_menu())
    else:
        await query.answer(t("wizard.expired"), show_alert=True)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(Magic(F.chat.type == "private"))
    router.message.register(maker_command, Command("maker"))
    router.message.register(text_answer, _TEXT_STEPS, Magic(F.text), Magic(~F.text.startswith("/")))
    router.message.register(not_text, _TEXT_STEPS, Magic(~F.text))
    router.message.register(
        category_typed, StateFilter(MakerWizard.category), Magic(~F.text.startswith("/"))
    )
    router.message.register(
        actions_typed, StateFilter(MakerWizard.actions), Magic(~F.text.startswith("/"))
    )
    router.message.register(
        location_answer, StateFilter(MakerWizard.location), Magic(~F.text.startswith("/"))
    )
    router.message.register(
        preview_typed, StateFilter(MakerWizard.preview), Magic(~F.text.startswith("/"))
    )
    router.message.register(
        pin_answer, StateFilter(MakerWizard.pin), Magic(~F.text.startswith("/"))
    )
    router.callback_query.register(wizard_button, MakerWizardCb.filter())
    return router
