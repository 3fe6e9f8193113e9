"""What an event looks like: its dates in the event's zone and the reader's language, its
card (text, answers, buttons, map), the /events list, the organiser's tools and the
proposals shown in /moderation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_skeleton
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.services import contests, events
from bot.services.catalogue import default_catalogue
from bot.services.events import Answer, Counts, EventsPage, Window
from bot.services.geo.distance import format_distance
from bot.ui.callbacks.events import (
    EventAction,
    EventCb,
    EventModerationAction,
    EventModerationCb,
    EventsListCb,
    RsvpCb,
)
from bot.ui.formatting import babel_locale, clock_time, escape, truncate
from bot.ui.i18n import Translator, current_translator, t, tn
from models import Event, EventStatus, Recurrence, RejectionReason, RsvpStatus, User

CAPTION_DESCRIPTION = 400
TEXT_DESCRIPTION = 1000
VENUE_LIMIT = 100
LIST_TITLE = 60


# ----------------------------------------------------------------------------- dates


def when_text(translator: Translator, locale: str, event: Event) -> str:
    """ "sam. 10 janv., 10:00–13:00" in the event's zone (its organiser's), in `locale`."""
    zone = events.zone_of(event)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    day = format_skeleton("MMMEd", start, locale=babel_locale(locale))
    start_time, end_time = clock_time(start, locale), clock_time(end, locale)
    if start.date() == end.date():
        return translator.t("events.when.same_day", locale, day=day, start=start_time, end=end_time)
    end_day = format_skeleton("MMMEd", end, locale=babel_locale(locale))
    return translator.t(
        "events.when.days", locale, day=day, start=start_time, end_day=end_day, end=end_time
    )


def category_label(slug: str) -> str:
    return t(f"events.category.{slug}")


def action_title(slug: str | None, locale: str) -> str | None:
    action = default_catalogue().by_slug(slug) if slug else None
    return action.title(locale) if action else None


def place_text(event: Event) -> str:
    return escape(event.address) if event.address else t("events.card.on_map")


# ----------------------------------------------------------------------------- cards


@dataclass(frozen=True, slots=True)
class Viewer:
    """What a card shows of the person looking at it."""

    answer: RsvpStatus | None = None
    position: int | None = None
    checked_in: bool = False
    manages: bool = False


async def viewer_of(session: AsyncSession, event: Event, user: User, settings: Settings) -> Viewer:
    answer = await events.answer_of(session, event.id, user.id)
    position = (
        await events.waiting_position(session, event.id, user.id)
        if answer is RsvpStatus.WAITING
        else None
    )
    try:
        await events.manageable(session, event.id, user.id, settings.organiser_ids)
        manages = True
    except events.EventNotFoundError:
        manages = False
    return Viewer(
        answer=answer,
        position=position,
        checked_in=await events.is_checked_in(session, event.id, user.id),
        manages=manages,
    )


async def scope_text(session: AsyncSession, event: Event) -> str | None:
    if event.contest_id is None:
        return None
    try:
        contest = await contests.contest_by_id(session, event.contest_id)
    except contests.ContestNotFoundError:
        return None
    if event.team_id is not None:
        team = next(
            (
                team
                for team in await contests.teams_of_contest(session, contest.id)
                if team.id == event.team_id
            ),
            None,
        )
        if team is not None:
            return t("events.card.scope_team", team=escape(team.name), contest=escape(contest.name))
    return t("events.card.scope_contest", contest=escape(contest.name))


def counts_line(event: Event, counts: Counts) -> str:
    parts = [tn("events.card.going", counts.going, count=counts.going)]
    if counts.maybe:
        parts.append(tn("events.card.maybe", counts.maybe, count=counts.maybe))
    left = events.places_left(event)
    if left is not None:
        if left:
            parts.append(tn("events.card.places_left", left, count=left))
        else:
            parts.append(t("events.card.full"))
    if counts.waiting:
        parts.append(tn("events.card.waiting", counts.waiting, count=counts.waiting))
    return " · ".join(parts)


def card_text(
    event: Event,
    counts: Counts,
    now: datetime,
    locale: str,
    *,
    viewer: Viewer | None = None,
    distance_km: float | None = None,
    scope: str | None = None,
    description_limit: int = TEXT_DESCRIPTION,
) -> str:
    translator = current_translator()
    lines = [f"<b>{escape(event.title)}</b> · {category_label(event.category)}"]
    if event.description:
        lines += ["", escape(truncate(event.description, description_limit)), ""]
    lines.append(t("events.card.when", when=when_text(translator, locale, event)))
    place = place_text(event)
    if distance_km is not None:
        place += " · " + format_distance(distance_km, locale)
    lines.append(t("events.card.where", place=place))
    if event.recurrence != Recurrence.NONE.value:
        lines.append(t(f"events.card.recurrence.{event.recurrence}"))
    if scope:
        lines.append(scope)
    action = action_title(event.action_slug, locale)
    if action:
        lines.append(t("events.card.action", action=escape(action)))
    lines.append(counts_line(event, counts))
    if event.status == EventStatus.PENDING.value:
        lines += ["", t("events.card.pending")]
    elif event.status == EventStatus.CANCELLED.value:
        lines += ["", t("events.card.cancelled")]
    elif event.ends_at <= now:
        lines += ["", t("events.card.over")]
    if viewer is not None:
        if viewer.checked_in:
            lines += ["", t("events.card.you.checked_in")]
        elif viewer.answer is RsvpStatus.WAITING:
            lines += ["", t("events.card.you.waiting", position=viewer.position or 1)]
        elif viewer.answer is not None:
            lines += ["", t(f"events.card.you.{viewer.answer.value}")]
    return "\n".join(lines)


def card_keyboard(event: Event, now: datetime, viewer: Viewer) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    sizes: list[int] = []
    if events.is_open(event, now):
        current = viewer.answer
        for answer in Answer:
            chosen = current is not None and (
                current.value == answer.value
                or (current is RsvpStatus.WAITING and answer is Answer.GOING)
            )
            builder.button(
                text=("✓ " if chosen else "") + t(f"events.button.{answer.value}"),
                callback_data=RsvpCb(event_id=event.id, answer=answer),
            )
        sizes.append(3)
        if (
            events.checkin_button_open(event, now)
            and not viewer.checked_in
            and viewer.answer in (RsvpStatus.GOING, RsvpStatus.MAYBE)
        ):
            builder.button(
                text=t("events.button.here"),
                callback_data=EventCb(action=EventAction.HERE, event_id=event.id),
            )
            sizes.append(1)
    if event.status in (EventStatus.PUBLISHED.value, EventStatus.CANCELLED.value):
        builder.button(
            text=t("events.button.ics"),
            callback_data=EventCb(action=EventAction.ICS, event_id=event.id),
        )
        builder.button(
            text=t("events.button.qr"),
            callback_data=EventCb(action=EventAction.QR, event_id=event.id),
        )
        sizes.append(2)
    if viewer.manages:
        builder.button(
            text=t("events.button.manage"),
            callback_data=EventCb(action=EventAction.MANAGE, event_id=event.id),
        )
        sizes.append(1)
    builder.adjust(*sizes)
    return builder.as_markup()


async def send_card(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    event: Event,
    user: User,
    settings: Settings,
    now: datetime,
    locale: str,
    *,
    distance_km: float | None = None,
    venue: bool = True,
) -> None:
    """The card (with its photo when it has one), then the place as a venue (a map)."""
    viewer = await viewer_of(session, event, user, settings)
    counts = (await events.counts_of(session, [event.id]))[event.id]
    scope = await scope_text(session, event)
    keyboard = card_keyboard(event, now, viewer)
    if event.photo_file_id:
        caption = card_text(
            event,
            counts,
            now,
            locale,
            viewer=viewer,
            distance_km=distance_km,
            scope=scope,
            description_limit=CAPTION_DESCRIPTION,
        )
        await bot.send_photo(chat_id, event.photo_file_id, caption=caption, reply_markup=keyboard)
    else:
        text = card_text(
            event, counts, now, locale, viewer=viewer, distance_km=distance_km, scope=scope
        )
        await bot.send_message(chat_id, text, reply_markup=keyboard)
    if venue:
        await bot.send_venue(
            chat_id,
            latitude=event.latitude,
            longitude=event.longitude,
            title=truncate(event.title, VENUE_LIMIT),
            address=truncate(event.address or category_label(event.category), VENUE_LIMIT),
        )


async def card_markup(
    session: AsyncSession, event: Event, user: User, settings: Settings, now: datetime
) -> InlineKeyboardMarkup:
    return card_keyboard(event, now, await viewer_of(session, event, user, settings))


# ----------------------------------------------------------------------------- lists


def list_view(
    search: dict[str, Any], page: EventsPage, window: Window, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    translator = current_translator()
    place = escape(search["label"]) if search.get("label") else t("events.list.here")
    lines = [t(f"events.list.header.{window.value}", place=place), ""]
    builder = InlineKeyboardBuilder()
    if not page.events:
        key = "events.list.no_more" if page.offset else f"events.list.empty.{window.value}"
        lines.append(t(key, radius=int(events.SEARCH_RADIUS_KM)))
    for number, found in enumerate(page.events, start=page.offset + 1):
        event = found.event
        lines.append(
            t(
                "events.list.item",
                number=number,
                title=escape(event.title),
                category=category_label(event.category),
                when=when_text(translator, locale, event),
                distance=format_distance(found.distance_km, locale),
            )
        )
        builder.button(
            text=f"{number}. {truncate(event.title, LIST_TITLE)}",
            callback_data=EventCb(action=EventAction.OPEN, event_id=event.id),
        )
    sizes = [1] * len(page.events)
    if page.has_more:
        builder.button(
            text=t("events.list.more"),
            callback_data=EventsListCb(
                search=int(search["id"]), offset=page.offset + len(page.events), window=window
            ),
        )
        sizes.append(1)
    for choice in Window:
        builder.button(
            text=("✓ " if choice is window else "") + t(f"events.list.window.{choice.value}"),
            callback_data=EventsListCb(search=int(search["id"]), offset=0, window=choice),
        )
    builder.adjust(*sizes, 3)
    return "\n".join(lines), builder.as_markup()


def agenda_lines(entries: list[events.AgendaEntry], locale: str) -> list[str]:
    translator = current_translator()
    return [
        t(
            "events.mine.agenda_item",
            title=escape(entry.event.title),
            when=when_text(translator, locale, entry.event),
            status=t(f"events.mine.status.{entry.status.value}"),
        )
        for entry in entries
    ]


# ----------------------------------------------------------------------------- organisers


def manage_keyboard(event: Event, now: datetime) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()

    def add(action: EventAction) -> None:
        builder.button(
            text=t(f"events.manage.button.{action.name.lower()}"),
            callback_data=EventCb(action=action, event_id=event.id),
        )

    add(EventAction.ATTENDANCE)
    add(EventAction.EXPORT)
    sizes = [2]
    if event.status == EventStatus.PUBLISHED.value:
        add(EventAction.CHECKIN_QR)
        sizes.append(1)
        if now < event.ends_at:
            add(EventAction.OPEN_CHECKIN)
            sizes.append(1)
    if event.status in (EventStatus.PUBLISHED.value, EventStatus.PENDING.value) and (
        now < event.ends_at
    ):
        add(EventAction.EDIT_TIME)
        add(EventAction.EDIT_PLACE)
        add(EventAction.EDIT_CAPACITY)
        add(EventAction.CANCEL)
        sizes += [3, 1]
    builder.adjust(*sizes)
    return builder.as_markup()


def attendance_text(seen: events.Attendance) -> str:
    counts = seen.counts
    lines = [
        t("events.attendance.title", title=escape(seen.event.title)),
        t(
            "events.attendance.answers",
            going=counts.going,
            maybe=counts.maybe,
            waiting=counts.waiting,
        ),
        tn("events.attendance.checked_in", counts.checked_in, count=counts.checked_in),
    ]
    if seen.named:
        lines.append(t("events.attendance.named", names=", ".join(escape(n) for n in seen.named)))
    if counts.checked_in > len(seen.named):
        lines.append(t("events.attendance.unnamed", count=counts.checked_in - len(seen.named)))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- moderation


def review_buttons(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("events.moderation.approve"),
        callback_data=EventModerationCb(action=EventModerationAction.APPROVE, event_id=event_id),
    )
    builder.button(
        text=t("events.moderation.reject"),
        callback_data=EventModerationCb(action=EventModerationAction.REJECT, event_id=event_id),
    )
    return builder.as_markup()


def reason_buttons(event_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for reason in RejectionReason:
        builder.button(
            text=t(f"events.moderation.reason.{reason.value}"),
            callback_data=EventModerationCb(
                action=EventModerationAction.REASON, event_id=event_id, reason=reason
            ),
        )
    builder.adjust(2)
    return builder.as_markup()


async def send_proposals(
    message: Message,
    session: AsyncSession,
    user: User,
    settings: Settings,
    now: datetime,
    locale: str,
    limit: int = 10,
) -> int:
    """The /moderation hub's events part: proposals waiting, oldest first."""
    waiting, total = await events.pending_events(
        session, user.id, settings.organiser_ids, limit=limit
    )
    if not waiting:
        return 0
    await message.answer(t("events.moderation.header", count=total))
    counts = await events.counts_of(session, [event.id for event in waiting])
    for event in waiting:
        head = t("events.moderation.item", id=event.id, author=event.organiser_id or "-")
        body = card_text(event, counts[event.id], now, locale, description_limit=300)
        await message.answer(head + "\n\n" + body, reply_markup=review_buttons(event.id))
    return len(waiting)
