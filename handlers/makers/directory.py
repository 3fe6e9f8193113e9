"""/makers (nearest makers, paging, categories, words), maker cards with a map, favourites,
QR codes, and the maker_<id> deep link."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InaccessibleMessage,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.services import makers
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.services.geo.geocoding import Geocoder, normalize_name
from bot.services.makers import MakerFilter, MakerNotFoundError, NearbyPage
from bot.services.qrcodes import qr_png
from bot.ui.callbacks.makers import MakerAction, MakerCb, MakersListAction, MakersListCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup
from bot.ui.filters import DeepLinkTo, Magic, MenuButton
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import main_menu
from bot.ui.pictures.maps import MapMaker
from bot.ui.places import (
    GivenLocation,
    LocationProblem,
    location_keyboard,
    location_prompt,
    problem_text,
    read_location,
    recent_location,
    remember_location,
)
from bot.ui.views.action_places import counter_qr_keyboard
from bot.ui.views.cards import poster_document
from bot.ui.views.makers import (
    PAGE_SIZE,
    VENUE_TITLE_LIMIT,
    card_keyboard,
    card_text,
    category_label,
    category_of,
    page_view,
)
from bot.ui.views.maps import answer_with_map, edit_with_map, makers_map
from bot.ui.views.start import greet
from models import Maker, MakerCategory, User

COMMANDS = [
    command("makers", "commands.makers", Scope.PRIVATE),
    command("favourites", "commands.favourites", Scope.PRIVATE),
]


class MakersFlow(StatesGroup):
    location = State()


# ----------------------------------------------------------------------------- rendering


async def send_card(message: Message, maker: Maker, favourite: bool) -> None:
    """The card, then the place as a venue so Telegram draws a map."""
    await message.answer(card_text(maker), reply_markup=card_keyboard(maker, favourite))
    venue_address = makers.shown_address(
        maker.address, maker.city, maker.pin_precise
    ) or category_label(maker.category)
    await message.answer_venue(
        latitude=maker.latitude,
        longitude=maker.longitude,
        title=truncate(maker.name, VENUE_TITLE_LIMIT),
        address=truncate(venue_address, VENUE_TITLE_LIMIT),
    )


async def open_maker(message: Message, session: AsyncSession, user_id: int, maker_id: int) -> None:
    """A listed maker's card (the deep link and the list buttons), or a "not found"."""
    try:
        maker = await makers.listed_maker(session, maker_id)
    except MakerNotFoundError:
        await message.answer(t("makers.card.not_found"))
        return
    await send_card(message, maker, await makers.is_favourite(session, user_id, maker.id))
    if maker.owner_id == user_id and maker.actions:
        await message.answer(t("places.counter_hint"), reply_markup=counter_qr_keyboard(maker.id))


async def maker_link(
    message: Message, link: DeepLink, state: FSMContext, session: AsyncSession, user: User
) -> None:
    """`/start maker_<id>`: the maker's card (a printed QR code leads here)."""
    await greet(message, state)
    await open_maker(message, session, user.id, link.target_id)


def _search_data(data: dict[str, Any]) -> dict[str, Any] | None:
    search = data.get("makers_search")
    return search if isinstance(search, dict) else None


def _filter_of(search: dict[str, Any]) -> MakerFilter:
    return MakerFilter.of(category_of(search.get("category")), search.get("words") or "")


async def _page(session: AsyncSession, search: dict[str, Any], offset: int) -> NearbyPage:
    return await makers.nearest_makers(
        session,
        float(search["lat"]),
        float(search["lon"]),
        limit=PAGE_SIZE,
        offset=offset,
        where=_filter_of(search),
    )


def parse_query(args: str | None, translator: Translator) -> tuple[MakerCategory | None, str]:
    """(the category named, or None, and the search words) from what follows /makers."""
    text = " ".join((args or "").split())[:100]
    if not text:
        return None, ""
    key = normalize_name(text)
    for category in MakerCategory:
        names = {category.value} | {
            normalize_name(name)
            for name in translator.every_translation(f"makers.category.{category.value}")
        }
        if key in names:
            return category, ""
    return None, text


async def start_search(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    where: GivenLocation,
    category: MakerCategory | None,
    words: str,
    locale: str,
    maps: MapMaker,
) -> None:
    data = await state.get_data()
    previous = _search_data(data)
    search = {
        "id": (int(previous["id"]) + 1) if previous else 1,
        "lat": where.latitude,
        "lon": where.longitude,
        "label": where.label,
        "category": category and category.value,
        "words": words,
    }
    await state.update_data(makers_search=search)
    page = await _page(session, search, 0)
    text, markup = page_view(search, page, locale)
    spec = makers_map(search, page)
    await answer_with_map(message, maps, spec, text, markup, name="makers")


# ----------------------------------------------------------------------------- handlers


async def makers_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    i18n: Translator,
    locale: str,
    maps: MapMaker,
    command: CommandObject | None = None,
) -> None:
    category, words = parse_query(command.args if command else None, i18n)
    data = await state.get_data()
    recent = recent_location(data, clock.now())
    if recent is not None:
        await state.set_state(None)
        await start_search(
            message,
            state,
            session,
            recent,
            category,
            words,
            locale,
            maps,
        )
        return
    await state.set_state(MakersFlow.location)
    await state.update_data(makers_query={"category": category and category.value, "words": words})
    await message.answer(location_prompt(), reply_markup=location_keyboard())


async def location_given(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    clock: Clock,
    geocoder: Geocoder,
    locale: str,
    maps: MapMaker,
) -> None:
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    data = await state.get_data()
    stored = data.get("makers_query")
    query: dict[str, Any] = stored if isinstance(stored, dict) else {}
    await state.set_state(None)
    await remember_location(state, where, clock.now())
    await message.answer(
        t("location.noted", place=escape(where.label) if where.label else t("makers.list.here")),
        reply_markup=main_menu(),
    )
    await start_search(
        message,
        state,
        session,
        where,
        category_of(query.get("category")),
        str(query.get("words") or ""),
        locale,
        maps,
    )


async def list_button(
    query: CallbackQuery,
    callback_data: MakersListCb,
    state: FSMContext,
    session: AsyncSession,
    locale: str,
    maps: MapMaker,
) -> None:
    search = _search_data(await state.get_data())
    message = query.message
    if search is None or int(search["id"]) != callback_data.search or message is None:
        await query.answer(t("makers.list.expired"), show_alert=True)
        return
    if isinstance(message, InaccessibleMessage):
        await query.answer(t("makers.list.expired"), show_alert=True)
        return
    await query.answer()
    category = callback_data.category
    if callback_data.action is MakersListAction.PLACE:
        # The same search (category, words), from a place to give now.
        await state.set_state(MakersFlow.location)
        await state.update_data(
            makers_query={"category": category and category.value, "words": search.get("words")}
        )
        await message.answer(location_prompt(), reply_markup=location_keyboard())
        return
    search = {**search, "category": category and category.value}
    offset = max(0, min(callback_data.offset, 10_000))
    page = await _page(session, search, offset)
    text, markup = page_view(search, page, locale)
    spec = makers_map(search, page)
    if callback_data.action is MakersListAction.CATEGORY:
        await state.update_data(makers_search=search)
        await edit_with_map(message, maps, spec, text, markup, name="makers")
    elif page.makers:
        await answer_with_map(message, maps, spec, text, markup, name="makers")
    else:
        await message.answer(t("makers.list.no_more"))


async def open_button(
    query: CallbackQuery, callback_data: MakerCb, session: AsyncSession, user: User
) -> None:
    if query.message is None or isinstance(query.message, InaccessibleMessage):
        await query.answer(t("makers.list.expired"), show_alert=True)
        return
    await query.answer()
    await open_maker(query.message, session, user.id, callback_data.maker_id)


async def favourite_button(
    query: CallbackQuery,
    callback_data: MakerCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    wanted = callback_data.action is MakerAction.FAVOURITE
    try:
        await makers.set_favourite(session, user.id, callback_data.maker_id, wanted, clock.now())
        maker = await makers.listed_maker(session, callback_data.maker_id)
    except MakerNotFoundError:
        await query.answer(t("makers.card.not_found"), show_alert=True)
        return
    await query.answer(t("makers.favourite.added" if wanted else "makers.favourite.removed"))
    if query.message is not None and not isinstance(query.message, InaccessibleMessage):
        await edit_markup(query.message, reply_markup=card_keyboard(maker, wanted))


async def qr_button(
    query: CallbackQuery, callback_data: MakerCb, session: AsyncSession, bot: Bot
) -> None:
    try:
        maker = await makers.listed_maker(session, callback_data.maker_id)
    except MakerNotFoundError:
        await query.answer(t("makers.card.not_found"), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.MAKER, maker.id))
    png = await asyncio.to_thread(qr_png, url, maker.name)
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await bot.send_photo(
        chat_id,
        BufferedInputFile(png, filename=f"maker_{maker.id}.png"),
        caption=t("makers.qr.caption", name=escape(maker.name)),
    )
    detail = " · ".join(p for p in (category_label(maker.category), maker.city) if p)
    poster, caption = await poster_document(
        bot, DeepLink(DeepLinkKind.MAKER, maker.id), maker.name, detail
    )
    await bot.send_document(chat_id, poster, caption=caption)


async def favourites_command(message: Message, session: AsyncSession, user: User) -> None:
    favourites = await makers.favourite_makers(session, user.id)
    if not favourites:
        await message.answer(t("makers.favourites.empty"))
        return
    lines = [t("makers.favourites.title"), ""]
    builder = InlineKeyboardBuilder()
    for number, maker in enumerate(favourites, start=1):
        lines.append(
            t(
                "makers.favourites.item",
                number=number,
                name=escape(maker.name),
                category=category_label(maker.category),
            )
        )
        builder.button(
            text=f"{number}. {truncate(maker.name, 40)}",
            callback_data=MakerCb(action=MakerAction.OPEN, maker_id=maker.id),
        )
    builder.adjust(1)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        maker_link,
        CommandStart(deep_link=True),
        DeepLinkTo(DeepLinkKind.MAKER),
        Magic(F.chat.type == "private"),
    )
    router.message.register(
        makers_command, MenuButton("menu.makers"), Magic(F.chat.type == "private")
    )
    router.message.register(makers_command, Command("makers"), Magic(F.chat.type == "private"))
    router.message.register(
        location_given,
        StateFilter(MakersFlow.location),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    router.callback_query.register(list_button, MakersListCb.filter())
    router.callback_query.register(open_button, MakerCb.filter(F.action == MakerAction.OPEN))
    router.callback_query.register(
        favourite_button,
        MakerCb.filter(F.action.in_({MakerAction.FAVOURITE, MakerAction.UNFAVOURITE})),
    )
    router.callback_query.register(qr_button, MakerCb.filter(F.action == MakerAction.QR))
    router.message.register(
        favourites_command, Command("favourites"), Magic(F.chat.type == "private")
    )
    return router
