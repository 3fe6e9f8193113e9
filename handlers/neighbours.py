"""/neighbours (consent, public name, location share, the view, hide / show) and
live-location updates.

The exact point of a share goes straight from the message to
`neighbours.record_position`, which keeps only its ~1 km cell: it is never put in the
conversation state, never logged, never echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.core.weeks import week_of
from bot.services import neighbours
from bot.services.catalogue import ActionCategory
from bot.services.geo.geocoding import Geocoder
from bot.services.geo.places import point
from bot.services.neighbours import Neighbourhood, NeighboursProblem
from bot.ui.callbacks.neighbours import NeighboursAction, NeighboursCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, edit_text, message_of
from bot.ui.filters import Magic, MenuButton
from bot.ui.formatting import escape
from bot.ui.i18n import t
from bot.ui.keyboards import main_menu, settings_back_button
from bot.ui.pictures.maps import MapMaker, MapSpec
from bot.ui.places import (
    GivenLocation,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
)
from bot.ui.views.maps import answer_with_map, neighbours_map
from models import NeighbourProfile, User

COMMANDS = [
    command("neighbours", "commands.neighbours", Scope.PRIVATE),
]


class NeighboursFlow(StatesGroup):
    name = State()
    location = State()


# ----------------------------------------------------------------------------- rendering


def consent_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("neighbours.consent.accept"),
        callback_data=NeighboursCb(action=NeighboursAction.ACCEPT),
    )
    builder.button(
        text=t("neighbours.consent.decline"),
        callback_data=NeighboursCb(action=NeighboursAction.DECLINE),
    )
    builder.adjust(1)
    return builder.as_markup()


def name_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("neighbours.name.anonymous"),
        callback_data=NeighboursCb(action=NeighboursAction.ANONYMOUS),
    )
    return builder.as_markup()


def panel_keyboard(
    profile: NeighbourProfile, *, from_settings: bool = False
) -> InlineKeyboardMarkup:
    """The privacy switches; opened from /settings, they keep a way back there."""
    builder = InlineKeyboardBuilder()

    def button(key: str, action: NeighboursAction) -> None:
        builder.button(
            text=t(key), callback_data=NeighboursCb(action=action, from_settings=from_settings)
        )

    button("neighbours.button.position", NeighboursAction.POSITION)
    if profile.visible:
        button("neighbours.button.hide", NeighboursAction.HIDE)
    else:
        button("neighbours.button.show", NeighboursAction.SHOW)
    button("neighbours.button.rename", NeighboursAction.RENAME)
    if from_settings:
        builder.button(**settings_back_button())
    builder.adjust(1)
    return builder.as_markup()


def status_line(profile: NeighbourProfile) -> str:
    visibility = t("neighbours.status.visible" if profile.visible else "neighbours.status.hidden")
    name = (
        t("neighbours.status.name", name=escape(profile.display_name))
        if profile.display_name
        else t("neighbours.status.anonymous")
    )
    return f"{visibility}\n{name}"


def view_text(view: Neighbourhood, profile: NeighbourProfile) -> str:
    lines = [t("neighbours.view.title"), ""]
    if view.too_few:
        lines.append(t("neighbours.view.too_few", k=neighbours.K_ANONYMITY))
    else:
        for radius, count in view.counts.items():
            if count is None:
                lines.append(t("neighbours.view.count_too_few", radius=radius))
            else:
                lines.append(t("neighbours.view.count", radius=radius, count=count))
        lines += ["", t("neighbours.view.activity_title")]
        activity = [
            t(
                "neighbours.view.activity_item",
                category=t(f"act.category.{category.value}"),
                count=view.activity[category.value],
            )
            for category in ActionCategory
            if view.activity.get(category.value)
        ]
        lines += activity or [t("neighbours.view.activity_none")]
        if view.profiles:
            lines += ["", t("neighbours.view.profiles_title")]
            lines += [
                t(
                    "neighbours.view.profile",
                    name=escape(p.name),
                    band=t(f"neighbours.band.{p.band.value}"),
                )
                for p in view.profiles
            ]
    lines += ["", status_line(profile), t("neighbours.view.footer")]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- steps


async def ask_location(message: Message, state: FSMContext) -> None:
    await state.set_state(NeighboursFlow.location)
    await message.answer(
        location_prompt() + "\n" + t("neighbours.location.ask"), reply_markup=location_keyboard()
    )


@dataclass(frozen=True, slots=True)
class ViewScreen:
    text: str
    markup: InlineKeyboardMarkup | None = None
    # The bands around the person's cell, when the area says anything.
    map_spec: MapSpec | None = None


async def view_message(
    session: AsyncSession, user_id: int, clock: Clock, settings: Settings
) -> ViewScreen:
    """The view (or why there is none). Computed before anything is said: it forgets
    expired positions on the way, and nothing is written once a message went out."""
    now = clock.now()
    try:
        view = await neighbours.neighbourhood(session, user_id, now, week_of(now, settings.tz))
    except NeighboursProblem as problem:
        return ViewScreen(t(problem.key))
    profile = await neighbours.profile_of(session, user_id)
    assert profile is not None and profile.cell is not None  # neighbourhood() raised otherwise
    return ViewScreen(
        view_text(view, profile), panel_keyboard(profile), neighbours_map(view, profile.cell)
    )


async def send_view(message: Message, maps: MapMaker, screen: ViewScreen) -> None:
    if screen.map_spec is None:
        await message.answer(screen.text, reply_markup=screen.markup)
        return
    await answer_with_map(
        message, maps, screen.map_spec, screen.text, screen.markup, name="neighbours"
    )


async def show_view(
    message: Message,
    session: AsyncSession,
    user_id: int,
    clock: Clock,
    settings: Settings,
    maps: MapMaker,
) -> None:
    await send_view(message, maps, await view_message(session, user_id, clock, settings))


async def neighbours_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    maps: MapMaker,
) -> None:
    await state.clear()
    await neighbours.purge_expired_positions(session, clock.now())
    profile = await neighbours.profile_of(session, user.id)
    if profile is None:
        await message.answer(t("neighbours.consent.text"), reply_markup=consent_keyboard())
        return
    if profile.cell is None:
        await ask_location(message, state)
        return
    await show_view(message, session, user.id, clock, settings, maps)


async def neighbours_button(
    query: CallbackQuery,
    callback_data: NeighboursCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    maps: MapMaker,
) -> None:
    message = message_of(query)
    action = callback_data.action
    if action is NeighboursAction.DECLINE:
        await neighbours.withdraw(session, user.id)
        await state.clear()
        await query.answer()
        if message is not None:
            await edit_text(message, t("neighbours.consent.declined"))
        return
    if action is NeighboursAction.ACCEPT:
        await neighbours.consent(session, user.id, clock.now())
        await query.answer()
        if message is not None:
            await edit_text(message, t("neighbours.consent.accepted"))
            await state.set_state(NeighboursFlow.name)
            await message.answer(t("neighbours.name.ask"), reply_markup=name_keyboard())
        return
    profile = await neighbours.profile_of(session, user.id)
    if profile is None and action is NeighboursAction.PANEL:
        await query.answer()
        if message is not None:
            back = InlineKeyboardBuilder()
            back.button(**settings_back_button())
            await edit_text(message, t("neighbours.panel.none"), reply_markup=back.as_markup())
        return
    if profile is None:
        # A button from before a decline or a /forget: the consent screen first.
        await query.answer(t("neighbours.no_consent"), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    if action is NeighboursAction.ANONYMOUS:
        if await state.get_state() != NeighboursFlow.name.state:
            return
        await neighbours.set_display_name(session, user.id, None)
        # The next screen first: it may forget expired positions (a write), and nothing is
        # written once a message went out.
        await after_name(message, state, session, user.id, clock, settings, maps)
        await edit_markup(message, reply_markup=None)
    elif action is NeighboursAction.RENAME:
        await state.set_state(NeighboursFlow.name)
        await message.answer(t("neighbours.name.ask"), reply_markup=name_keyboard())
    elif action is NeighboursAction.POSITION:
        await ask_location(message, state)
    elif action in (NeighboursAction.HIDE, NeighboursAction.SHOW):
        wanted = action is NeighboursAction.SHOW
        if profile.visible != wanted:
            await neighbours.set_visible(session, user.id, wanted)
            # Only when it changes: Telegram refuses an edit that changes nothing.
            keyboard = panel_keyboard(profile, from_settings=callback_data.from_settings)
            await edit_markup(message, reply_markup=keyboard)
        key = "neighbours.shown" if profile.visible else "neighbours.hidden"
        await message.answer(t(key))
    elif action is NeighboursAction.PANEL:
        # In place of the /settings screen, which its back button brings back.
        await edit_text(
            message,
            t("neighbours.panel.title") + "\n\n" + status_line(profile),
            reply_markup=panel_keyboard(profile, from_settings=True),
        )


async def after_name(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user_id: int,
    clock: Clock,
    settings: Settings,
    maps: MapMaker,
) -> None:
    """First time: ask where; a rename from the panel: back to the view."""
    profile = await neighbours.profile_of(session, user_id)
    if profile is None or profile.cell is None:
        await ask_location(message, state)
        return
    await state.clear()
    await show_view(message, session, user_id, clock, settings, maps)


async def name_given(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    maps: MapMaker,
) -> None:
    try:
        await neighbours.set_display_name(session, user.id, message.text or "")
    except NeighboursProblem as problem:
        await message.answer(
            t(problem.key, limit=neighbours.DISPLAY_NAME_MAX), reply_markup=name_keyboard()
        )
        return
    profile = await neighbours.profile_of(session, user.id)
    assert profile is not None and profile.display_name is not None
    view = (
        await view_message(session, user.id, clock, settings) if profile.cell is not None else None
    )
    await message.answer(t("neighbours.name.saved", name=escape(profile.display_name)))
    if view is None:
        # First time: where do you live?
        await ask_location(message, state)
        return
    # A rename from the panel: back to the view.
    await state.clear()
    await send_view(message, maps, view)


async def location_given(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    geocoder: Geocoder,
    maps: MapMaker,
) -> None:
    where = await read_location(message, geocoder)
    if not isinstance(where, GivenLocation):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    try:
        await neighbours.record_position(
            session, user.id, where.latitude, where.longitude, clock.now()
        )
    except NeighboursProblem as problem:
        await state.clear()
        await message.answer(t(problem.key), reply_markup=main_menu())
        return
    del where  # the exact point is not needed any more
    view = await view_message(session, user.id, clock, settings)
    await state.clear()
    await message.answer(t("neighbours.location.saved"), reply_markup=main_menu())
    await send_view(message, maps, view)


async def live_location(message: Message, session: AsyncSession, user: User, clock: Clock) -> None:
    """A live location moving: the stored cell follows, silently (edits come often)."""
    location = message.location
    if location is None or await neighbours.profile_of(session, user.id) is None:
        return
    where = point(location.latitude, location.longitude)
    if isinstance(where, GivenLocation):
        await neighbours.record_position(
            session, user.id, where.latitude, where.longitude, clock.now()
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        neighbours_command, MenuButton("menu.neighbours"), Magic(F.chat.type == "private")
    )
    router.message.register(
        neighbours_command, Command("neighbours"), Magic(F.chat.type == "private")
    )
    router.callback_query.register(
        neighbours_button, NeighboursCb.filter(), Magic(F.message.chat.type == "private")
    )
    router.message.register(
        name_given, StateFilter(NeighboursFlow.name), Magic(F.text), Magic(~F.text.startswith("/"))
    )
    router.message.register(
        location_given, StateFilter(NeighboursFlow.location), Magic(~F.text.startswith("/"))
    )
    router.edited_message.register(
        live_location, Magic(F.location), Magic(F.chat.type == "private")
    )
    return router
