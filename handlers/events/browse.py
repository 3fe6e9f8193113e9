"""/events (upcoming events near a place, day by day and nearest first, this week / this
weekend, paging; in a team group, the events that concern it), event cards with answers,
"add to my calendar" (.ics), QR posters, check-in (the QR code's deep link and the "I'm
here" button), /myevents, and the event_<id> / checkin_<code> deep links. Handlers parse
and render; bot/services/events.py decides."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart, StateFilter
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
    AlreadyCheckedInError,
    Answer,
    CheckedIn,
    CheckinError,
    EventClosedError,
    EventNotFoundError,
    Window,
)
from bot.services.geo.geocoding import Geocoder
from bot.services.nudges import user_zone
from bot.services.qrcodes import qr_png
from bot.ui.callbacks.events import EventAction, EventCb, EventsListCb, RsvpCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_caption, edit_text, message_of
from bot.ui.filters import DeepLinkTo, Magic
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator, current_translator, t
from bot.ui.keyboards import main_menu
from bot.ui.notices import events as event_notices
from bot.ui.notices import pledges as pledge_notices
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
from bot.ui.views import events as views
from bot.ui.views.start import greet
from models import RsvpStatus, User

COMMANDS = [
    command("events", "commands.events", Scope.PRIVATE, Scope.GROUP),
    command("myevents", "commands.myevents", Scope.PRIVATE),
]

PAGE_SIZE = 5
# Telegram shows at most this many characters of a callback answer.
ANSWER_LIMIT = 200
GROUP_LIMIT = 10
PRIVATE = Magic(F.chat.type == "private")
GROUPS = Magic(F.chat.type.in_({"group", "supergroup"}))


class EventsFlow(StatesGroup):
    location = State()


# ----------------------------------------------------------------------------- cards


async def open_event(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
    event_id: int,
) -> None:
    """An event's card and map, or a "not found" (a proposal only for its author and the
    organisers)."""
    try:
        event = await events.event_for(session, event_id, user.id, settings.organiser_ids)
    except EventNotFoundError:
        await bot.send_message(chat_id, t("events.not_found"))
        return
    await views.send_card(bot, chat_id, session, event, user, settings, clock.now(), locale)


async def event_link(
    message: Message,
    link: DeepLink,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    """`/start event_<id>`: the event's card (its poster and shared links lead here)."""
    await greet(message, state)
    await open_event(bot, message.chat.id, session, user, settings, clock, locale, link.target_id)


async def open_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    message = message_of(query)
    if message is not None and message.chat.type != "private":
        # In a team group: the card opens in the person's private chat with the bot.
        me = await bot.me()
        link = DeepLink(DeepLinkKind.EVENT, callback_data.event_id)
        await query.answer(url=deep_link_url(me.username or "", link))
        return
    await query.answer()
    await open_event(
        bot, query.from_user.id, session, user, settings, clock, locale, callback_data.event_id
    )


# ----------------------------------------------------------------------------- /events


def _search_data(data: dict[str, Any]) -> dict[str, Any] | None:
    search = data.get("events_search")
    return search if isinstance(search, dict) else None


async def _page(
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    search: dict[str, Any],
    window: Window,
    offset: int,
    locale: str,
) -> tuple[str, Any]:
    page = await events.upcoming_near(
        session,
        float(search["lat"]),
        float(search["lon"]),
        clock.now(),
        user_zone(user, settings.timezone),
        viewer_id=user.id,
        window=window,
        limit=PAGE_SIZE,
        offset=offset,
    )
    return views.list_view(search, page, window, locale)


async def start_search(
    message: Message,
    state: FSMContext,
    where: GivenLocation,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    previous = _search_data(await state.get_data())
    search = {
        "id": (int(previous["id"]) + 1) if previous else 1,
        "lat": where.latitude,
        "lon": where.longitude,
        "label": where.label,
    }
    await state.update_data(events_search=search)
    text, markup = await _page(session, user, settings, clock, search, Window.UPCOMING, 0, locale)
    await message.answer(text, reply_markup=markup)


async def events_command(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    recent = recent_location(await state.get_data(), clock.now())
    if recent is not None:
        await state.set_state(None)
        await start_search(message, state, recent, session, user, settings, clock, locale)
        return
    await state.set_state(EventsFlow.location)
    await message.answer(
        t("events.ask_location") + "\n\n" + location_prompt(), reply_markup=location_keyboard()
    )


async def events_location(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    geocoder: Geocoder,
    locale: str,
) -> None:
    where = await read_location(message, geocoder)
    if isinstance(where, LocationProblem):
        await message.answer(problem_text(where, message), reply_markup=location_keyboard())
        return
    await state.set_state(None)
    await remember_location(state, where, clock.now())
    await message.answer(
        t("location.noted", place=escape(where.label) if where.label else t("events.list.here")),
        reply_markup=main_menu(),
    )
    await start_search(message, state, where, session, user, settings, clock, locale)


async def list_button(
    query: CallbackQuery,
    callback_data: EventsListCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    search = _search_data(await state.get_data())
    message = message_of(query)
    if search is None or int(search["id"]) != callback_data.search or message is None:
        await query.answer(t("events.list.expired"), show_alert=True)
        return
    offset = max(0, min(callback_data.offset, 10_000))
    text, markup = await _page(
        session, user, settings, clock, search, callback_data.window, offset, locale
    )
    await query.answer()
    await edit_text(message, text, markup)


async def events_in_group(
    message: Message, session: AsyncSession, clock: Clock, locale: str
) -> None:
    """A team group's /events: its team's and contest's events, soonest first."""
    found = await events.events_for_chat(session, message.chat.id, clock.now(), GROUP_LIMIT)
    if found is None:
        await message.answer(t("events.group.not_team"))
        return
    if not found:
        await message.answer(t("events.group.none"))
        return
    translator = current_translator()
    lines = [t("events.group.header")]
    builder = InlineKeyboardBuilder()
    for number, event in enumerate(found, start=1):
        lines.append(
            t(
                "events.group.item",
                number=number,
                title=escape(event.title),
                when=views.when_text(translator, locale, event),
                place=views.place_text(event),
            )
        )
        builder.button(
            text=f"{number}. {truncate(event.title, views.LIST_TITLE)}",
            callback_data=EventCb(action=EventAction.OPEN, event_id=event.id),
        )
    builder.adjust(1)
    await message.answer("\n".join(lines), reply_markup=builder.as_markup())


# ----------------------------------------------------------------------------- answers


_DONE_KEYS = {
    RsvpStatus.GOING: "events.answer.going",
    RsvpStatus.MAYBE: "events.answer.maybe",
    RsvpStatus.NOT_GOING: "events.answer.no",
}


def _answered_text(answered: events.Answered, title: str) -> str:
    if answered.status is RsvpStatus.WAITING:
        return t("events.answer.waiting", title=title, position=answered.position or 1)
    return t(_DONE_KEYS[answered.status], title=title)


async def rsvp_button(
    query: CallbackQuery,
    callback_data: RsvpCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    locale: str,
) -> None:
    now = clock.now()
    try:
        answered = await events.respond(
            session, callback_data.event_id, user.id, callback_data.answer, now
        )
    except EventNotFoundError:
        await query.answer(t("events.not_found"), show_alert=True)
        return
    except EventClosedError:
        await query.answer(t("events.answer.closed"), show_alert=True)
        return
    # In the answer's transaction: the promoted person and the organiser are told once it
    # commits, by the sender.
    await event_notices.enqueue(session, translator, answered.notices, now, settings)
    event = answered.event
    # The pop-up is plain text; the message is HTML.
    toast = _answered_text(answered, event.title)
    text = _answered_text(answered, escape(event.title))
    await query.answer(toast if len(toast) <= ANSWER_LIMIT else None)
    message = message_of(query)
    if message is not None and message.chat.type == "private" and _is_card(message):
        viewer = await views.viewer_of(session, event, user, settings)
        counts = (await events.counts_of(session, [event.id]))[event.id]
        scope = await views.scope_text(session, event)
        keyboard = views.card_keyboard(event, now, viewer)
        if message.photo:
            caption = views.card_text(
                event,
                counts,
                now,
                locale,
                viewer=viewer,
                scope=scope,
                description_limit=views.CAPTION_DESCRIPTION,
            )
            await edit_caption(message, caption, keyboard)
        else:
            card = views.card_text(event, counts, now, locale, viewer=viewer, scope=scope)
            await edit_text(message, card, keyboard)
        return
    if answered.changed:
        await bot.send_message(query.from_user.id, text)


def _is_card(message: Message) -> bool:
    """The pressed message is an event's card (its three answer buttons), not a reminder."""
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup is not None else []
    answers = [
        button
        for row in rows
        for button in row
        if button.callback_data and button.callback_data.startswith(RsvpCb.__prefix__ + ":")
    ]
    return len(answers) == len(Answer)


# ----------------------------------------------------------------------------- calendar, QR


async def ics_button(
    query: CallbackQuery, callback_data: EventCb, bot: Bot, session: AsyncSession, clock: Clock
) -> None:
    try:
        event = await events.get_event(session, callback_data.event_id)
    except EventNotFoundError:
        await query.answer(t("events.not_found"), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.EVENT, event.id))
    data = events.ics_bytes(event, url, clock.now(), host=me.username or "greenhood")
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename=f"event-{event.id}.ics"),
        caption=t("events.ics.caption", title=escape(event.title)),
    )


async def qr_button(
    query: CallbackQuery, callback_data: EventCb, bot: Bot, session: AsyncSession
) -> None:
    try:
        event = await events.get_event(session, callback_data.event_id)
    except EventNotFoundError:
        await query.answer(t("events.not_found"), show_alert=True)
        return
    await query.answer()
    me = await bot.me()
    url = deep_link_url(me.username or "", DeepLink(DeepLinkKind.EVENT, event.id))
    png = await asyncio.to_thread(qr_png, url, event.title)
    await bot.send_photo(
        query.from_user.id,
        BufferedInputFile(png, filename=f"event_{event.id}.png"),
        caption=t("events.qr.caption", title=escape(event.title)),
    )


# ----------------------------------------------------------------------------- check-in


async def _checked_in(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    done: CheckedIn,
    translator: Translator,
    clock: Clock,
    locale: str,
) -> None:
    if done.logged is not None:
        # Like any log: a pledge it meets is told to its organiser.
        await pledge_notices.enqueue(session, translator, done.logged.pledges_met, clock.now())
    title = escape(done.event.title)
    if done.logged is not None:
        action = views.action_title(done.event.action_slug, locale) or ""
        text = t("events.checkin.logged", title=title, action=escape(action))
    elif done.capped:
        text = t("events.checkin.capped", title=title)
    else:
        text = t("events.checkin.done", title=title)
    await bot.send_message(chat_id, text, reply_markup=main_menu())


def _checkin_problem(error: CheckinError) -> str:
    return t(f"events.checkin.{error.code}")


async def checkin_link(
    message: Message,
    link: DeepLink,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    locale: str,
) -> None:
    """`/start checkin_<code>`: the event's check-in QR code, scanned at the event."""
    await state.clear()
    try:
        done = await events.check_in_with_code(
            session, link.target_id, user.id, clock.now(), settings.tz
        )
    except EventNotFoundError:
        await message.answer(t("events.checkin.unknown"), reply_markup=main_menu())
        return
    except CheckinError as error:
        await message.answer(_checkin_problem(error), reply_markup=main_menu())
        return
    except AlreadyCheckedInError:
        await message.answer(t("events.checkin.already"), reply_markup=main_menu())
        return
    await _checked_in(bot, message.chat.id, session, done, translator, clock, locale)


async def here_button(
    query: CallbackQuery,
    callback_data: EventCb,
    bot: Bot,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    locale: str,
) -> None:
    try:
        done = await events.check_in_with_button(
            session, callback_data.event_id, user.id, clock.now(), settings.tz
        )
    except EventNotFoundError:
        await query.answer(t("events.not_found"), show_alert=True)
        return
    except CheckinError as error:
        await query.answer(_checkin_problem(error), show_alert=True)
        return
    except AlreadyCheckedInError:
        await query.answer(t("events.checkin.already"), show_alert=True)
        return
    await query.answer()
    await _checked_in(bot, query.from_user.id, session, done, translator, clock, locale)


# ----------------------------------------------------------------------------- /myevents


async def myevents_command(
    message: Message,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    locale: str,
) -> None:
    now = clock.now()
    entries = await events.agenda(session, user.id, now)
    own = await events.organised_by(session, user.id, now)
    if not entries and not own:
        await message.answer(t("events.mine.empty"))
        return
    if entries:
        lines = [t("events.mine.agenda"), *views.agenda_lines(entries, locale)]
        builder = InlineKeyboardBuilder()
        for number, entry in enumerate(entries, start=1):
            builder.button(
                text=f"{number}. {truncate(entry.event.title, views.LIST_TITLE)}",
                callback_data=EventCb(action=EventAction.OPEN, event_id=entry.event.id),
            )
        builder.adjust(1)
        await message.answer("\n".join(lines), reply_markup=builder.as_markup())
    if own:
        await message.answer(t("events.mine.organised"))
        counts = await events.counts_of(session, [event.id for event in own])
        for event in own:
            text = views.card_text(event, counts[event.id], now, locale, description_limit=200)
            await message.answer(text, reply_markup=views.manage_keyboard(event, now))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(
        event_link, CommandStart(deep_link=True), DeepLinkTo(DeepLinkKind.EVENT), PRIVATE
    )
    router.message.register(
        checkin_link, CommandStart(deep_link=True), DeepLinkTo(DeepLinkKind.CHECKIN), PRIVATE
    )
    router.message.register(events_command, Command("events"), PRIVATE)
    router.message.register(events_in_group, Command("events"), GROUPS)
    router.message.register(
        events_location,
        StateFilter(EventsFlow.location),
        PRIVATE,
        Magic(~F.text.startswith("/")),
    )
    router.callback_query.register(list_button, EventsListCb.filter())
    router.callback_query.register(open_button, EventCb.filter(F.action == EventAction.OPEN))
    router.callback_query.register(rsvp_button, RsvpCb.filter())
    router.callback_query.register(ics_button, EventCb.filter(F.action == EventAction.ICS))
    router.callback_query.register(qr_button, EventCb.filter(F.action == EventAction.QR))
    router.callback_query.register(here_button, EventCb.filter(F.action == EventAction.HERE))
    router.message.register(myevents_command, Command("myevents"), PRIVATE)
    return router
