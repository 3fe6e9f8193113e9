"""/offers (nearby offers, one card each, reserve, report, QR), /myoffers (close early,
confirm pickups, cancel), /alerts, the offer_<id> deep link, and the offer reports shown in
/moderation. Handlers parse and render; bot/services/offers.py decides."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import offer_templates, offers, relay
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.services.geo.geocoding import Geocoder
from bot.services.offers import (
    AlreadyReservedError,
    OfferEndedError,
    OfferNotFoundError,
    OwnOfferError,
    ReservationEndedError,
    ReservationNotFoundError,
    ReservationPausedError,
    SoldOutError,
    TrustRules,
)
from bot.services.qrcodes import qr_png
from bot.ui.callbacks.offers import (
    AlertCb,
    OfferAction,
    OfferCb,
    OffersListCb,
    OffersPlaceCb,
    ReportCb,
    ReservationAction,
    ReservationCb,
)
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_markup, edit_text, message_of
from bot.ui.filters import DeepLinkTo, Magic, MenuButton
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator, t, tn
from bot.ui.keyboards import main_menu
from bot.ui.notices import offers as offer_notices
from bot.ui.notices import pledges as pledge_notices
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
from bot.ui.views import relay as relay_views
from bot.ui.views.cards import poster_document
from bot.ui.views.maps import answer_with_map, offers_map
from bot.ui.views.offer_templates import repeat_button, templates_entry
from bot.ui.views.offers import (
    card_text,
    category_label,
    format_when,
    format_window,
    send_card,
    zone_of,
)
from bot.ui.views.start import greet
from models import Offer, OfferStatus, ReportReason, Reservation, ReservationStatus, User

COMMANDS = [
    command("offers", "commands.offers", Scope.PRIVATE),
    command("newoffer", "commands.newoffer", Scope.PRIVATE),
    command("myoffers", "commands.myoffers", Scope.PRIVATE),
    command("alerts", "commands.alerts", Scope.PRIVATE),
]

PAGE_SIZE = 3
VENUE_LIMIT = 100


class OffersFlow(StatesGroup):
    location = State()
    alert_location = State()


# ----------------------------------------------------------------------------- rendering


async def open_offer(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    offer_id: int,
) -> None:
    """An offer's card (deep link, alert button), or a "not found"."""
    try:
        offer = await offers.get_offer(session, offer_id)
    except OfferNotFoundError:
        await message.answer(t("offers.not_found"))
        return
    await send_card(bot, message.chat.id, offer, zone_of(user, settings), clock.now(), user.id)


async def offer_link(
    message: Message,
    link: DeepLink,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """`/start offer_<id>`: the offer's card (its QR code and shared links lead here)."""
    await greet(message, state)
    await open_offer(message, bot, session, user, settings, clock, link.target_id)


async def send_pickup_details(
    bot: Bot, chat_id: int, reservation: Reservation, offer: Offer, zone: ZoneInfo, now: datetime
) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("offers.button.cancel_reservation"),
        callback_data=ReservationCb(action=ReservationAction.CANCEL, reservation_id=reservation.id),
    )
    builder.row(relay_views.write_button(reservation.id))
    text = t(
        "offers.reserved",
        title=escape(offer.title),
        window=format_window(offer, zone, now),
        place=escape(offer.address) if offer.address else t("offers.card.on_map"),
    )
    if offer.pickup_note:
        text += "\n" + t("offers.card.note", note=escape(offer.pickup_note))
    await bot.send_message(chat_id, text, reply_markup=builder.as_markup())
    await bot.send_venue(
        chat_id,
        latitude=offer.latitude,
        longitude=offer.longitude,
        title=truncate(offer.title, VENUE_LIMIT),
        address=truncate(offer.address or category_label(offer.category), VENUE_LIMIT),
    )


def _search_data(data: dict[str, Any]) -> dict[str, Any] | None:
    search = data.get("offers_search")
    return search if isinstance(search, dict) else None


async def show_page(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    search: dict[str, Any],
    offset: int,
    locale: str,
    maps: MapMaker,
) -> None:
    now = clock.now()
    page = await offers.nearby_offers(
        session, float(search["lat"]), float(search["lon"]), now, limit=PAGE_SIZE, offset=offset
    )
    label = escape(search["label"]) if search.get("label") else None
    if not page.offers and offset:
        await message.answer(t("offers.list.no_more"))
        return
    if not page.offers:
        # Where it looked, what to do instead, and a way to look somewhere else.
        builder = InlineKeyboardBuilder()
        builder.button(text=t("offers.list.elsewhere"), callback_data=OffersPlaceCb())
        await message.answer(
            t(
                "offers.list.empty",
                radius=int(offers.SEARCH_RADIUS_KM),
                place=label or t("offers.list.your_location"),
            ),
            reply_markup=builder.as_markup(),
        )
        return
    header = None
    if offset == 0:
        header = t("offers.list.header", place=label or t("offers.list.here"))
    spec = offers_map(search, page)
    await answer_with_map(message, maps, spec, header, name="offers")
    zone = zone_of(user, settings)
    for number, nearby in enumerate(page.offers, start=offset + 1):
        await send_card(
            bot,
            message.chat.id,
            nearby.offer,
            zone,
            now,
            user.id,
            distance_km=nearby.distance_km,
            locale=locale,
            number=number,
        )
    if page.has_more:
        builder = InlineKeyboardBuilder()
        builder.button(
            text=t("offers.list.more"),
            callback_data=OffersListCb(search=int(search["id"]), offset=offset + PAGE_SIZE),
        )
        await message.answer(t("offers.list.more_hint"), reply_markup=builder.as_markup())


async def start_search(
    message: Message,
    state: FSMContext,
    where: GivenLocation,
    **context: Any,
) -> None:
    previous = _search_data(await state.get_data())
    search = {
        "id": (int(previous["id"]) + 1) if previous else 1,
        "lat": where.latitude,
        "lon": where.longitude,
        "label": where.label,
    }
    await state.update_data(offers_search=search)
    await show_page(message, search=search, offset=0, **context)


# ----------------------------------------------------------------------------- /offers


async def offers_command(
    message: Message,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    maps: MapMaker,
) -> None:
    recent = recent_location(await state.get_data(), clock.now())
    if recent is not None:
        await state.set_state(None)
        await start_search(
            message,
            state,
            recent,
            bot=bot,
            session=session,
            user=user,
            settings=settings,
            clock=clock,
            locale=locale,
            maps=maps,
        )
        return
    await state.set_state(OffersFlow.location)
    await message.answer(location_prompt(), reply_markup=location_keyboard())


async def elsewhere_button(query: CallbackQuery, state: FSMContext) -> None:
    """Search around another place than the one remembered."""
    await query.answer()
    await state.set_state(OffersFlow.location)
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id, location_prompt(), reply_markup=location_keyboard()
    )


async def offers_location(
    message: Message,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    geocoder: Geocoder,
    locale: str,
    maps: MapMaker,
) -> None:
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    await state.set_state(None)
    await remember_location(state, where, clock.now())
    await message.answer(
        t("location.noted", place=escape(where.label) if where.label else t("offers.list.here")),
        reply_markup=main_menu(),
    )
    await start_search(
        message,
        state,
        where,
        bot=bot,
        session=session,
        user=user,
        settings=settings,
        clock=clock,
        locale=locale,
        maps=maps,
    )


async def more_button(
    query: CallbackQuery,
    callback_data: OffersListCb,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    maps: MapMaker,
) -> None:
    search = _search_data(await state.get_data())
    message = message_of(query)
    if search is None or int(search["id"]) != callback_data.search or message is None:
        await query.answer(t("offers.list.expired"), show_alert=True)
        return
    await query.answer()
    await edit_markup(message, reply_markup=None)
    offset = max(0, min(callback_data.offset, 10_000))
    await show_page(message, bot, session, user, settings, clock, search, offset, locale, maps)


async def open_button(
    query: CallbackQuery,
    callback_data: OfferCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    message = message_of(query)
    if message is None:
        await query.answer(t("offers.list.expired"), show_alert=True)
        return
    await query.answer()
    await open_offer(message, bot, session, user, settings, clock, callback_data.offer_id)


async def reserve_button(
    query: CallbackQuery,
    callback_data: OfferCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    now = clock.now()
    rules = TrustRules(
        limit=settings.offer_no_show_limit,
        pause=timedelta(days=settings.offer_no_show_pause_days),
    )
    try:
        reservation, offer, notices = await offers.reserve(
            session, callback_data.offer_id, user.id, now, rules
        )
    except ReservationPausedError as paused:
        await query.answer()
        await bot.send_message(
            query.from_user.id,
            tn(
                "offers.reserve.paused",
                paused.no_shows,
                until=format_when(paused.until, zone_of(user, settings), now),
                days=int(rules.window.days),
            ),
        )
        return
    except SoldOutError:
        await query.answer(t("offers.reserve.sold_out"), show_alert=True)
        return
    except AlreadyReservedError:
        await query.answer(t("offers.reserve.already"), show_alert=True)
        return
    except OwnOfferError:
        await query.answer(t("offers.reserve.own"), show_alert=True)
        return
    except OfferEndedError:
        await query.answer(t("offers.reserve.ended"), show_alert=True)
        return
    except OfferNotFoundError:
        await query.answer(t("offers.not_found"), show_alert=True)
        return
    # The poster's notice is decided with the reservation, before the reserver is told.
    await offer_notices.enqueue(session, translator, notices, now, settings)
    await query.answer(t("offers.reserve.done"))
    await send_pickup_details(
        bot, query.from_user.id, reservation, offer, zone_of(user, settings), now
    )


async def reservation_button(
    query: CallbackQuery,
    callback_data: ReservationCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
) -> None:
    now = clock.now()
    try:
        if callback_data.action is ReservationAction.CANCEL:
            reservation, offer, notices = await offers.cancel_reservation(
                session, callback_data.reservation_id, user.id, now
            )
        else:
            reservation, offer, notices = await offers.confirm_pickup(
                session, callback_data.reservation_id, user.id, now
            )
            logged = await offers.log_saved_food(session, reservation, now, settings.tz)
            if logged is not None:
                await pledge_notices.enqueue(session, translator, logged.pledges_met, now)
    except ReservationNotFoundError:
        await query.answer(t("offers.reservation.not_found"), show_alert=True)
        return
    except ReservationEndedError:
        await query.answer(t("offers.reservation.ended"), show_alert=True)
        return
    await offer_notices.enqueue(session, translator, notices, now, settings)
    key = (
        "offers.reservation.cancelled"
        if callback_data.action is ReservationAction.CANCEL
        else "offers.reservation.confirmed"
    )
    await query.answer(t(key))
    message = message_of(query)
    if message is not None:
        await edit_markup(message, reply_markup=None)
    await bot.send_message(query.from_user.id, t(key + "_text", title=escape(offer.title)))


async def qr_button(
    query: CallbackQuery, callback_data: OfferCb, session: AsyncSession, bot: Bot
) -> None:
    try:
        offer = await offers.get_offer(session, callback_data.offer_id)
    except OfferNotFoundError:
        await query.answer(t("offers.not_found"), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.OFFER, offer.id))
    png = await asyncio.to_thread(qr_png, url, offer.title)
    await bot.send_photo(
        query.from_user.id,
        BufferedInputFile(png, filename=f"offer_{offer.id}.png"),
        caption=t("offers.qr.caption", title=escape(offer.title)),
    )
    poster, caption = await poster_document(
        bot, DeepLink(DeepLinkKind.OFFER, offer.id), offer.title, offer.address or ""
    )
    await bot.send_document(query.from_user.id, poster, caption=caption)


async def report_button(query: CallbackQuery, callback_data: OfferCb) -> None:
    await query.answer()
    builder = InlineKeyboardBuilder()
    for reason in ReportReason:
        builder.button(
            text=t(f"offers.report.reason.{reason.value}"),
            callback_data=ReportCb(offer_id=callback_data.offer_id, reason=reason),
        )
    builder.adjust(2)
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id, t("offers.report.ask"), reply_markup=builder.as_markup()
    )


async def report_reason(
    query: CallbackQuery, callback_data: ReportCb, session: AsyncSession, user: User, clock: Clock
) -> None:
    try:
        new = await offers.report_offer(
            session,
            callback_data.offer_id,
            user.id,
            callback_data.reason,
            clock.now(),
        )
    except OfferNotFoundError:
        await query.answer(t("offers.not_found"), show_alert=True)
        return
    await query.answer(
        t("offers.report.thanks" if new else "offers.report.already"), show_alert=True
    )
    message = message_of(query)
    if message is not None:
        await edit_text(message, t("offers.report.thanks" if new else "offers.report.already"))


async def maker_offers_button(
    query: CallbackQuery,
    callback_data: OfferCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    now = clock.now()
    found = await offers.maker_offers(session, callback_data.offer_id, now)
    await query.answer()
    if not found:
        await bot.send_message(query.from_user.id, t("offers.maker.none"))
        return
    zone = zone_of(user, settings)
    for offer in found[: PAGE_SIZE * 2]:
        await send_card(bot, query.from_user.id, offer, zone, now, user.id)


# ----------------------------------------------------------------------------- /myoffers


def _reservation_line(number: int, reservation: Reservation, person: User | None) -> str:
    name = escape(person.first_name) if person and person.first_name else str(reservation.user_id)
    return t(
        "offers.mine.reservation",
        number=number,
        name=name,
        status=t(f"offers.reservation.status.{reservation.status}"),
    )


async def myoffers_command(
    message: Message, session: AsyncSession, user: User, settings: Settings, clock: Clock
) -> None:
    now = clock.now()
    zone = zone_of(user, settings)
    posted = await offers.my_offers(session, user.id, now)
    held = await offers.my_reservations(session, user.id, now)
    if repeating := templates_entry(await offer_templates.count_for(session, user.id)):
        await message.answer(repeating[0], reply_markup=repeating[1])
    if not posted and not held:
        await message.answer(t("offers.mine.empty"))
        return
    for entry in posted:
        offer = entry.offer
        lines = [card_text(offer, zone, now, description_limit=200)]
        builder = InlineKeyboardBuilder()
        sizes: list[int] = []
        if entry.reservations:
            lines += ["", t("offers.mine.reservations")]
        for number, (reservation, person) in enumerate(entry.reservations, start=1):
            lines.append(_reservation_line(number, reservation, person))
            if reservation.status == ReservationStatus.NO_SHOW.value and offers.can_confirm_late(
                offer, now
            ):
                # Forgot to confirm in time: the no-show can still be undone.
                builder.button(
                    text=t("offers.button.confirm", number=number),
                    callback_data=ReservationCb(
                        action=ReservationAction.CONFIRM, reservation_id=reservation.id
                    ),
                )
                sizes.append(1)
            if reservation.status == ReservationStatus.RESERVED.value:
                builder.button(
                    text=t("offers.button.confirm", number=number),
                    callback_data=ReservationCb(
                        action=ReservationAction.CONFIRM, reservation_id=reservation.id
                    ),
                )
                builder.button(
                    text=t("offers.button.cancel_number", number=number),
                    callback_data=ReservationCb(
                        action=ReservationAction.CANCEL, reservation_id=reservation.id
                    ),
                )
                sizes.append(2)
            if relay.is_open(reservation, offer, now):
                name = person.first_name if person and person.first_name else str(number)
                builder.add(relay_views.write_button(reservation.id, name=name))
                sizes.append(1)
        if offer.status == OfferStatus.OPEN.value and offer.pickup_end > now:
            builder.button(
                text=t("offers.button.close"),
                callback_data=OfferCb(action=OfferAction.CLOSE, offer_id=offer.id),
            )
            sizes.append(1)
        builder.button(
            text=t("offers.button.qr"),
            callback_data=OfferCb(action=OfferAction.QR, offer_id=offer.id),
        )
        sizes.append(1)
        builder.adjust(*sizes)
        builder.row(repeat_button(offer.id))
        await message.answer("\n".join(lines), reply_markup=builder.as_markup())
    if held:
        lines = [t("offers.mine.held")]
        builder = InlineKeyboardBuilder()
        for number, (reservation, offer) in enumerate(held, start=1):
            lines.append(
                t(
                    "offers.mine.held_item",
                    number=number,
                    title=escape(offer.title),
                    window=format_window(offer, zone, now),
                    place=escape(offer.address) if offer.address else t("offers.card.on_map"),
                )
            )
            if offer.pickup_note:
                lines.append(t("offers.card.note", note=escape(offer.pickup_note)))
            builder.add(relay_views.write_button(reservation.id, number=number))
            builder.button(
                text=t("offers.button.cancel_number", number=number),
                callback_data=ReservationCb(
                    action=ReservationAction.CANCEL, reservation_id=reservation.id
                ),
            )
        builder.adjust(1)
        await message.answer("\n".join(lines), reply_markup=builder.as_markup())


async def close_button(
    query: CallbackQuery, callback_data: OfferCb, session: AsyncSession, user: User, clock: Clock
) -> None:
    try:
        offer = await offers.close_offer(session, callback_data.offer_id, user.id, clock.now())
    except OfferNotFoundError:
        await query.answer(t("offers.not_found"), show_alert=True)
        return
    except OfferEndedError:
        await query.answer(t("offers.close.already"), show_alert=True)
        return
    await query.answer(t("offers.close.done"))
    message = message_of(query)
    if message is not None:
        await message.answer(t("offers.close.done_text", title=escape(offer.title)))


# ----------------------------------------------------------------------------- /alerts


def _alert_keyboard(current: int | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for radius in offers.ALERT_RADII:
        mark = "✓ " if radius == current else ""
        builder.button(
            text=mark + t("offers.alerts.radius", radius=radius),
            callback_data=AlertCb(radius=radius),
        )
    if current is not None:
        builder.button(text=t("offers.alerts.stop"), callback_data=AlertCb(radius=0))
    builder.adjust(len(offers.ALERT_RADII), 1)
    return builder.as_markup()


async def alerts_command(message: Message, session: AsyncSession, user: User) -> None:
    alert = await offers.alert_of(session, user.id)
    if alert is None:
        text = t("offers.alerts.off")
    else:
        text = t("offers.alerts.on", radius=alert.radius_km)
    await message.answer(text, reply_markup=_alert_keyboard(alert.radius_km if alert else None))


async def alert_button(
    query: CallbackQuery,
    callback_data: AlertCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
) -> None:
    if callback_data.radius == 0:
        await offers.unsubscribe_alerts(session, user.id)
        await query.answer(t("offers.alerts.stopped"))
        await query.bot.send_message(query.from_user.id, t("offers.alerts.stopped"))  # type: ignore[union-attr]
        return
    if callback_data.radius not in offers.ALERT_RADII:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    await state.set_state(OffersFlow.alert_location)
    await state.update_data(alert_radius=callback_data.radius)
    await query.bot.send_message(  # type: ignore[union-attr]
        query.from_user.id,
        t("offers.alerts.ask_location", radius=callback_data.radius) + "\n\n" + location_prompt(),
        reply_markup=location_keyboard(),
    )


async def alert_location(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    clock: Clock,
    geocoder: Geocoder,
) -> None:
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    radius = (await state.get_data()).get("alert_radius")
    if not isinstance(radius, int) or radius not in offers.ALERT_RADII:
        await state.set_state(None)
        await message.answer(t("offers.list.expired"), reply_markup=main_menu())
        return
    await offers.subscribe_alerts(
        session, user.id, where.latitude, where.longitude, radius, clock.now()
    )
    await state.set_state(None)
    await message.answer(t("offers.alerts.saved", radius=radius), reply_markup=main_menu())


# ----------------------------------------------------------------------------- moderation


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        offer_link,
        CommandStart(deep_link=True),
        DeepLinkTo(DeepLinkKind.OFFER),
        Magic(F.chat.type == "private"),
    )
    router.message.register(
        offers_command, MenuButton("menu.offers"), Magic(F.chat.type == "private")
    )
    router.message.register(offers_command, Command("offers"), Magic(F.chat.type == "private"))
    router.message.register(
        offers_location,
        StateFilter(OffersFlow.location),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    router.callback_query.register(more_button, OffersListCb.filter())
    router.callback_query.register(elsewhere_button, OffersPlaceCb.filter())
    router.callback_query.register(open_button, OfferCb.filter(F.action == OfferAction.OPEN))
    router.callback_query.register(reserve_button, OfferCb.filter(F.action == OfferAction.RESERVE))
    router.callback_query.register(reservation_button, ReservationCb.filter())
    router.callback_query.register(qr_button, OfferCb.filter(F.action == OfferAction.QR))
    router.callback_query.register(report_button, OfferCb.filter(F.action == OfferAction.REPORT))
    router.callback_query.register(report_reason, ReportCb.filter())
    router.callback_query.register(
        maker_offers_button, OfferCb.filter(F.action == OfferAction.MAKER)
    )
    router.message.register(myoffers_command, Command("myoffers"), Magic(F.chat.type == "private"))
    router.callback_query.register(close_button, OfferCb.filter(F.action == OfferAction.CLOSE))
    router.message.register(alerts_command, Command("alerts"), Magic(F.chat.type == "private"))
    router.callback_query.register(alert_button, AlertCb.filter())
    router.message.register(
        alert_location,
        StateFilter(OffersFlow.alert_location),
        Magic(F.chat.type == "private"),
        Magic(~F.text.startswith("/")),
    )
    return router
