"""Action places: `/start place_<id>` (a place's counter QR) asks which of its actions was
done and logs it there; the listing's owner gets the counter QR; "📍 Where near me?" under
a logged action lists the nearest places enabling it. bot/services/action_places.py decides
(the place approved, the action declared, once a day per person, place and action)."""

from __future__ import annotations

import asyncio

from aiogram import Bot, F, Router
from aiogram.filters import CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import action_places, actions
from bot.services.action_places import (
    AlreadyLoggedHereError,
    NotAtThisPlaceError,
    NotPlaceOwnerError,
    PlaceNotFoundError,
)
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.services.geo.geocoding import Geocoder
from bot.services.qrcodes import qr_png
from bot.ui.callbacks.action_places import PlaceAction, PlaceCb
from bot.ui.filters import DeepLinkTo, Magic
from bot.ui.formatting import escape
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import pledges as pledge_notices
from bot.ui.places import (
    LocationProblem,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
    recent_location,
    remember_location,
)
from bot.ui.views import actions as action_views
from bot.ui.views.action_places import near_text, place_keyboard, place_text
from models import User


class PlaceFlow(StatesGroup):
    near_location = State()


async def place_link(
    message: Message, link: DeepLink, state: FSMContext, session: AsyncSession
) -> None:
    """`/start place_<id>`: which of the place's actions did you just do?"""
    await state.set_state(None)
    try:
        maker = await action_places.place(session, link.target_id)
    except PlaceNotFoundError:
        await message.answer(t("places.not_found"), reply_markup=main_menu())
        return
    if not action_places.slugs_of(maker):
        await message.answer(t("places.not_found"), reply_markup=main_menu())
        return
    await message.answer(place_text(maker), reply_markup=place_keyboard(maker))


async def log_button(
    query: CallbackQuery,
    callback_data: PlaceCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    locale: str,
    bot: Bot,
    translator: Translator,
) -> None:
    now = clock.now()
    try:
        action = actions.action_at(callback_data.index)
        result = await action_places.log_at_place(
            session,
            user_id=user.id,
            maker_id=callback_data.maker_id,
            slug=action.slug,
            now=now,
            tz=settings.tz,
        )
        maker = await action_places.place(session, callback_data.maker_id)
    except (actions.UnknownActionError, PlaceNotFoundError, NotAtThisPlaceError):
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    except AlreadyLoggedHereError:
        await query.answer(t("places.already_today"), show_alert=True)
        return
    except actions.DailyCapError as capped:
        text = action_views.capped_text(capped.action, capped.logged_today, locale, html=False)
        await query.answer(text, show_alert=True)
        return
    await pledge_notices.enqueue(session, translator, result.pledges_met, now)
    await query.answer(t("act.logged_toast", co2=action_views.kg(result.co2e_g, locale)))
    text = t("places.logged_here", name=escape(maker.name)) + "\n\n"
    text += action_views.log_text(result, locale)
    await bot.send_message(
        user.id, text, reply_markup=action_views.after_log_keyboard(result.log_id)
    )


async def qr_button(
    query: CallbackQuery, callback_data: PlaceCb, session: AsyncSession, user: User, bot: Bot
) -> None:
    """The counter QR, for the listing's owner only (anyone scanning it may log there)."""
    try:
        maker = await action_places.owned_place(session, callback_data.maker_id, user.id)
    except PlaceNotFoundError:
        await query.answer(t("places.not_found"), show_alert=True)
        return
    except NotPlaceOwnerError:
        await query.answer(t("places.qr.owner_only"), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.PLACE, maker.id))
    png = await asyncio.to_thread(qr_png, url, maker.name)
    await bot.send_photo(
        user.id,
        BufferedInputFile(png, filename=f"place_{maker.id}.png"),
        caption=t("places.qr.caption", name=escape(maker.name)),
    )


async def near_button(
    query: CallbackQuery,
    callback_data: PlaceCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    bot: Bot,
) -> None:
    try:
        action = actions.action_at(callback_data.index)
    except actions.UnknownActionError:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    where = recent_location(await state.get_data(), clock.now())
    if where is None:
        # The shared place prompt; the answer comes to near_location.
        await state.set_state(PlaceFlow.near_location)
        await state.update_data(near_action=callback_data.index)
        await bot.send_message(
            user.id,
            t("places.near.ask") + "\n\n" + location_prompt(),
            reply_markup=location_keyboard(),
        )
        return
    found = await action_places.nearest_places(
        session, action.slug, where.latitude, where.longitude
    )
    await bot.send_message(user.id, near_text(action, found))


async def near_location(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    geocoder: Geocoder,
) -> None:
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    index = (await state.get_data()).get("near_action")
    await state.set_state(None)
    try:
        action = actions.action_at(index if isinstance(index, int) else -1)
    except actions.UnknownActionError:
        await message.answer(t("fallback.stale_button"), reply_markup=main_menu())
        return
    await remember_location(state, where, clock.now())
    found = await action_places.nearest_places(
        session, action.slug, where.latitude, where.longitude
    )
    await message.answer(near_text(action, found), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        place_link,
        CommandStart(deep_link=True),
        DeepLinkTo(DeepLinkKind.PLACE),
        Magic(F.chat.type == "private"),
    )
    router.callback_query.register(log_button, PlaceCb.filter(F.action == PlaceAction.LOG))
    router.callback_query.register(qr_button, PlaceCb.filter(F.action == PlaceAction.QR))
    router.callback_query.register(near_button, PlaceCb.filter(F.action == PlaceAction.NEAR))
    router.message.register(
        near_location,
        StateFilter(PlaceFlow.near_location),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    return router
