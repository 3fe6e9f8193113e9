"""Zero-waste offers (PRODUCT.md §2.3): posting, finding, reserving one unit atomically,
cancelling, confirming pickups, expiry, alerts and reports. Pure domain logic: no Telegram.

Reserving is one conditional UPDATE (a unit left, the offer open, its window not over, the
person not its poster and holding no active reservation on it), whose row count says
whether the unit was taken; the reservation row follows in the same transaction, and a
partial unique index backs "one active reservation per person per offer". Nothing is read
first and written after, so two people racing for the last unit cannot both get it, on
SQLite (one writer at a time) or PostgreSQL (the row lock re-checks the condition).

Whatever must reach someone other than the person acting (the poster hearing about a
reservation, a subscriber hearing about a new offer...) is returned as `Notice`s, which
the caller delivers (bot/ui/notices/offers.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.typed_time import TypedMoment, UnreadableTimeError, read_moment
from bot.services import actions, drafts
from bot.services.geo.distance import Origin, cap_boxes
from bot.services.geo.geocoding import validate_coordinates
from bot.services.users import require_organiser
from models import (
    Maker,
    MakerFavourite,
    MakerStatus,
    Offer,
    OfferAlert,
    OfferCategory,
    OfferReport,
    OfferStatus,
    ReportReason,
    ReportStatus,
    Reservation,
    ReservationStatus,
    User,
)

TITLE_LIMIT = 80
DESCRIPTION_LIMIT = 1000
ADDRESS_LIMIT = 300
NOTE_LIMIT = 200
QUANTITY_MIN, QUANTITY_MAX = 1, 99
MAX_AHEAD = timedelta(days=7)
MIN_AHEAD = timedelta(minutes=10)
SEARCH_RADIUS_KM = 15.0
URGENT = timedelta(hours=2)
REMINDER_BEFORE = timedelta(hours=1)
# How long after the window's end the poster may still confirm a pickup (/myoffers shows
# offers ended within the last day).
LATE_CONFIRM = timedelta(days=1)
ALERT_RADII = (1, 2, 5, 10)
# Alert centres are stored to 0.01 degree: about 1 km, never a doorstep.
ALERT_DECIMALS = 2
TONIGHT = time(21, 0)
TOMORROW = time(12, 0)

_QUANTITY = re.compile(r"^\d{1,12}$")


class OfferFieldError(ValueError):
    """A wizard answer was refused; `code` names why (a locale key suffix)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class OfferNotFoundError(LookupError):
    """No such offer, or not one this person may see or change."""


class OfferEndedError(ValueError):
    """The offer is closed, expired or removed, or its window is over."""


class SoldOutError(ValueError):
    """Every unit is already taken."""


class AlreadyReservedError(ValueError):
    pass


class OwnOfferError(ValueError):
    """A poster cannot reserve their own offer."""


class ReservationNotFoundError(LookupError):
    """No such reservation, or not one this person is part of."""


class ReservationEndedError(ValueError):
    """The reservation is no longer active (picked up, cancelled or released)."""


class ReservationPausedError(ValueError):
    """Too many no-shows lately: this person may not reserve before `until`."""

    def __init__(self, until: datetime, no_shows: int) -> None:
        super().__init__(until.isoformat())
        self.until = until
        self.no_shows = no_shows


@dataclass(frozen=True, slots=True)
class TrustRules:
    """When no-shows pause someone's reservations (Settings `offer_no_show_*`): `limit`
    no-shows within `window` pause them for `pause` from the last of them."""

    limit: int = 3
    window: timedelta = timedelta(days=30)
    pause: timedelta = timedelta(days=7)


class NoticeKind(StrEnum):
    RESERVED = "reserved"
    CANCELLED_BY_RESERVER = "cancelled_by_reserver"
    CANCELLED_BY_POSTER = "cancelled_by_poster"
    PICKED_UP = "picked_up"
    RELEASED = "released"
    CLOSED = "closed"
    REMOVED = "removed"
    ALERT = "alert"
    REMINDER = "reminder"
    # /forget: the poster's offer is withdrawn, or a reserver's reservation goes.
    WITHDRAWN = "withdrawn"
    RESERVER_GONE = "reserver_gone"


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for someone other than the person acting, rendered later in their own
    language from the locale key `offers.notice.<kind>` and `params` (plain text values,
    escaped when rendered). `key` makes delivering the same notice twice one message."""

    chat_id: int
    kind: NoticeKind
    key: str
    offer_id: int
    params: dict[str, str | int] = field(default_factory=dict)
    # The person the text names, when it is not the recipient (erased with them).
    about_user_id: int | None = None


def notice_key_prefix(offer_id: int, kind: NoticeKind) -> str:
    """What the keys of the notices of `kind` about an offer start with."""
    return f"offer:{offer_id}:{kind.value}:"


# ----------------------------------------------------------------------------- fields


def clean_title(raw: str) -> str:
    title = " ".join(raw.split())
    if not title:
        raise OfferFieldError("empty")
    if len(title) > TITLE_LIMIT:
        raise OfferFieldError("too_long")
    if not any(char.isalnum() for char in title):
        raise OfferFieldError("no_letters")
    return title


def clean_description(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise OfferFieldError("empty")
    if len(value) > DESCRIPTION_LIMIT:
        raise OfferFieldError("too_long")
    return value


def parse_quantity(raw: str) -> int:
    value = raw.strip()
    if not _QUANTITY.match(value):
        raise OfferFieldError("bad_quantity")
    quantity = int(value)
    if not QUANTITY_MIN <= quantity <= QUANTITY_MAX:
        raise OfferFieldError("bad_quantity")
    return quantity


def clean_category(raw: str) -> OfferCategory:
    try:
        return OfferCategory(raw)
    except ValueError:
        raise OfferFieldError("bad_category") from None


def clean_note(raw: str) -> str:
    """Pickup instructions ("12 rue X, sonner à l'interphone"): one line, short."""
    note = " ".join(raw.split())
    if not note:
        raise OfferFieldError("empty")
    if len(note) > NOTE_LIMIT:
        raise OfferFieldError("too_long")
    return note


def check_pickup_start(start: datetime, now: datetime) -> datetime:
    """A start already reached means "from now on"."""
    if start < now - MIN_AHEAD:
        raise OfferFieldError("past")
    if start > now + MAX_AHEAD:
        raise OfferFieldError("too_far")
    return max(start, now)


def check_pickup_end(end: datetime, now: datetime, start: datetime | None = None) -> datetime:
    opens = max(now, start) if start is not None else now
    if end <= now:
        raise OfferFieldError("past")
    if end < opens + MIN_AHEAD:
        raise OfferFieldError("too_soon" if opens == now else "before_start")
    if end > now + MAX_AHEAD:
        raise OfferFieldError("too_far")
    return end


class PickupPreset(StrEnum):
    IN_1H = "h1"
    IN_3H = "h3"
    TONIGHT = "tonight"
    TOMORROW = "tomorrow"


def preset_pickup_end(
    preset: PickupPreset, now: datetime, zone: tzinfo, start: datetime | None = None
) -> datetime:
    """ "1 h" and "3 h" count from the opening of the window; "tonight 21:00" and
    "tomorrow 12:00" are what they say."""
    local = now.astimezone(zone)
    opens = max(now, start) if start is not None else now
    if preset is PickupPreset.IN_1H:
        end = opens + timedelta(hours=1)
    elif preset is PickupPreset.IN_3H:
        end = opens + timedelta(hours=3)
    elif preset is PickupPreset.TONIGHT:
        end = datetime.combine(local.date(), TONIGHT, tzinfo=zone)
    else:
        end = datetime.combine(local.date() + timedelta(days=1), TOMORROW, tzinfo=zone)
    return check_pickup_end(end, now, start)


def parse_moment(raw: str, now: datetime, zone: tzinfo) -> TypedMoment:
    """A typed time in the person's zone (bot.core.typed_time): "18h", "demain 9h",
    "24/12 18:00"; a bare time already passed today means tomorrow."""
    try:
        return read_moment(raw, now, zone)
    except UnreadableTimeError:
        raise OfferFieldError("bad_time") from None


def parse_pickup_end(
    raw: str, now: datetime, zone: tzinfo, start: datetime | None = None
) -> TypedMoment:
    """The end of the pickup window: after its start, in the future and within a week."""
    typed = parse_moment(raw, now, zone)
    check_pickup_end(typed.moment, now, start)
    return typed


def parse_pickup_start(raw: str, now: datetime, zone: tzinfo) -> TypedMoment:
    typed = parse_moment(raw, now, zone)
    return TypedMoment(check_pickup_start(typed.moment, now), typed.rolled)


def coarse(value: float) -> float:
    return round(value, ALERT_DECIMALS)


# ----------------------------------------------------------------------------- drafts


@dataclass(slots=True)
class OfferDraft:
    """What /newoffer collects, step by step (kept in the conversation's state)."""

    title: str = ""
    description: str = ""
    category: str = OfferCategory.OTHER.value
    quantity: int = 1
    # None: from the moment it is published.
    pickup_start: datetime | None = None
    pickup_end: datetime | None = None
    pickup_note: str = ""
    # A typed time taken for tomorrow, waiting for the poster's yes.
    pending_time: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    maker_id: int | None = None
    photo_file_id: str | None = None

    def to_state(self) -> dict[str, object]:
        return drafts.to_state(self)

    @classmethod
    def from_state(cls, data: dict[str, object]) -> OfferDraft:
        return drafts.from_state(cls, data)


async def own_approved_maker(session: AsyncSession, user_id: int) -> Maker | None:
    """The poster's own listing, if an organiser approved it ("my maker's address")."""
    maker = await session.scalar(select(Maker).where(Maker.owner_id == user_id))
    if maker is None or maker.status != MakerStatus.APPROVED.value:
        return None
    return maker


def maker_address(maker: Maker) -> str:
    return ", ".join(part for part in (maker.address, maker.city) if part)[:ADDRESS_LIMIT]


async def publish(
    session: AsyncSession, poster_id: int, draft: OfferDraft, now: datetime
) -> tuple[Offer, list[Notice]]:
    """Create the offer from a finished draft (every field checked again: the draft came
    through the conversation's storage) and the alerts it triggers."""
    title = clean_title(draft.title)
    description = clean_description(draft.description)
    category = clean_category(draft.category)
    if not QUANTITY_MIN <= draft.quantity <= QUANTITY_MAX:
        raise OfferFieldError("bad_quantity")
    if draft.pickup_end is None:
        raise OfferFieldError("bad_time")
    start = now if draft.pickup_start is None else check_pickup_start(draft.pickup_start, now)
    end = check_pickup_end(draft.pickup_end, now, start)
    note = clean_note(draft.pickup_note) if draft.pickup_note.strip() else ""
    maker_id = None
    if draft.maker_id is not None:
        maker = await own_approved_maker(session, poster_id)
        if maker is None or maker.id != draft.maker_id:
            raise OfferFieldError("bad_location")
        maker_id = maker.id
        latitude, longitude, address = maker.latitude, maker.longitude, maker_address(maker)
    else:
        if (
            draft.latitude is None
            or draft.longitude is None
            or not validate_coordinates(draft.latitude, draft.longitude)
        ):
            raise OfferFieldError("bad_location")
        latitude, longitude = round(draft.latitude, 7), round(draft.longitude, 7)
        address = draft.address[:ADDRESS_LIMIT]
    offer = Offer(
        title=title,
        description=description,
        category=category.value,
        quantity_total=draft.quantity,
        quantity_left=draft.quantity,
        pickup_start=start,
        pickup_end=end,
        pickup_note=note,
        latitude=latitude,
        longitude=longitude,
        address=address,
        photo_file_id=draft.photo_file_id,
        poster_id=poster_id,
        maker_id=maker_id,
        status=OfferStatus.OPEN.value,
        created_at=now,
    )
    session.add(offer)
    await session.flush()
    return offer, await alert_notices(session, offer)


# ----------------------------------------------------------------------------- finding


@dataclass(frozen=True, slots=True)
class NearbyOffer:
    offer: Offer
    distance_km: float


@dataclass(frozen=True, slots=True)
class OffersPage:
    offers: list[NearbyOffer]
    offset: int
    has_more: bool


def _available(now: datetime) -> list[object]:
    return [
        Offer.status == OfferStatus.OPEN.value,
        Offer.pickup_end > now,
        Offer.quantity_left > 0,
    ]


async def nearby_offers(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    now: datetime,
    *,
    limit: int,
    offset: int = 0,
    radius_km: float = SEARCH_RADIUS_KM,
) -> OffersPage:
    """Open offers with a unit left and a window not over, within `radius_km`: nearest
    first, then ending soonest. Open offers are few (hours-long windows), so the box of
    the search circle is read whole and ranked here."""
    if not validate_coordinates(latitude, longitude):
        raise ValueError("impossible coordinates")
    origin = Origin.at(latitude, longitude)
    boxes = cap_boxes(latitude, longitude, radius_km)
    in_boxes = or_(
        *(
            and_(
                Offer.latitude.between(box.min_lat, box.max_lat),
                Offer.longitude.between(box.min_lon, box.max_lon),
            )
            for box in boxes
        )
    )
    rows = await session.scalars(select(Offer).where(*_available(now), in_boxes))  # type: ignore[arg-type]
    ranked = sorted(
        (
            (distance, offer.pickup_end, offer.id, offer)
            for offer in rows
            if (distance := origin.distance_km(offer.latitude, offer.longitude)) <= radius_km
        ),
        key=lambda item: item[:3],
    )
    offset = max(0, offset)
    page = [NearbyOffer(item[3], item[0]) for item in ranked[offset : offset + limit]]
    return OffersPage(page, offset, len(ranked) > offset + limit)


def is_available(offer: Offer, now: datetime) -> bool:
    return offer.status == OfferStatus.OPEN.value and offer.pickup_end > now


def can_confirm_late(offer: Offer, now: datetime) -> bool:
    """Whether a no-show on this offer may still be confirmed as a pickup."""
    return offer.pickup_end > now - LATE_CONFIRM


def is_urgent(offer: Offer, now: datetime) -> bool:
    return is_available(offer, now) and offer.pickup_end - now < URGENT


async def get_offer(session: AsyncSession, offer_id: int) -> Offer:
    """Any offer but a removed one (a card says when it is no longer available)."""
    offer = await session.get(Offer, offer_id, populate_existing=True)
    if offer is None or offer.status == OfferStatus.REMOVED.value:
        raise OfferNotFoundError(offer_id)
    return offer


async def maker_offers(session: AsyncSession, maker_id: int, now: datetime) -> list[Offer]:
    query = (
        select(Offer)
        .where(Offer.maker_id == maker_id, *_available(now))  # type: ignore[arg-type]
        .order_by(Offer.pickup_end, Offer.id)
        .limit(20)
    )
    return list((await session.scalars(query)).all())


# ----------------------------------------------------------------------------- reserving


@dataclass(frozen=True, slots=True)
class Record:
    """What a reserver did with their past reservations."""

    pickups: int
    no_shows: int


async def record_of(session: AsyncSession, user_id: int) -> Record:
    rows = await session.execute(
        select(Reservation.status, func.count())
        .where(
            Reservation.user_id == user_id,
            Reservation.status.in_(
                [ReservationStatus.PICKED_UP.value, ReservationStatus.NO_SHOW.value]
            ),
        )
        .group_by(Reservation.status)
    )
    counts = {status: int(count) for status, count in rows.all()}
    return Record(
        counts.get(ReservationStatus.PICKED_UP.value, 0),
        counts.get(ReservationStatus.NO_SHOW.value, 0),
    )


def pause_end(no_shows: list[datetime], rules: TrustRules) -> tuple[datetime, int] | None:
    """When the last pause that `no_shows` (their times, oldest first) brought ends, and
    how many no-shows brought it. A pause starts at the no-show that makes `rules.limit`
    of them within `rules.window`; the no-shows it counted do not count again, so someone
    back from a pause starts afresh."""
    ends: tuple[datetime, int] | None = None
    counted: list[datetime] = []
    for moment in no_shows:
        counted = [earlier for earlier in counted if earlier > moment - rules.window]
        counted.append(moment)
        if len(counted) >= rules.limit:
            ends = (moment + rules.pause, len(counted))
            counted = []
    return ends


async def paused_until(
    session: AsyncSession, user_id: int, now: datetime, rules: TrustRules
) -> tuple[datetime, int] | None:
    """The end of this person's pause from reserving, if they are in one now."""
    # Only what could still weigh: a pause that began before this window has ended.
    since = now - rules.window - rules.pause
    moments = list(
        (
            await session.scalars(
                select(Reservation.ended_at)
                .where(
                    Reservation.user_id == user_id,
                    Reservation.status == ReservationStatus.NO_SHOW.value,
                    Reservation.ended_at > since,
                )
                .order_by(Reservation.ended_at)
            )
        ).all()
    )
    ends = pause_end([moment for moment in moments if moment is not None], rules)
    return ends if ends is not None and ends[0] > now else None


async def reserve(
    session: AsyncSession,
    offer_id: int,
    user_id: int,
    now: datetime,
    rules: TrustRules | None = None,
) -> tuple[Reservation, Offer, list[Notice]]:
    """Take one unit for `user_id`, atomically. Raises SoldOutError when none is left,
    ReservationPausedError when their no-shows pause them. A reservation may be made
    before the pickup window opens."""
    paused = await paused_until(session, user_id, now, rules or TrustRules())
    if paused is not None:
        raise ReservationPausedError(*paused)
    holds_one = exists().where(
        Reservation.offer_id == offer_id,
        Reservation.user_id == user_id,
        Reservation.status == ReservationStatus.RESERVED.value,
    )
    taken = await session.execute(
        update(Offer)
        .where(
            Offer.id == offer_id,
            Offer.quantity_left > 0,
            Offer.status == OfferStatus.OPEN.value,
            Offer.pickup_end > now,
            Offer.poster_id != user_id,
            ~holds_one,
        )
        .values(quantity_left=Offer.quantity_left - 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        await _explain_refusal(session, offer_id, user_id, now)
    reservation = Reservation(
        offer_id=offer_id,
        user_id=user_id,
        status=ReservationStatus.RESERVED.value,
        reserved_at=now,
    )
    session.add(reservation)
    await session.flush()
    offer = await session.get(Offer, offer_id, populate_existing=True)
    if offer is None:  # pragma: no cover - the UPDATE above just found it
        raise OfferNotFoundError(offer_id)
    reserver = await session.get(User, user_id)
    if offer.poster_id is None:  # pragma: no cover - a detached offer is never open
        return reservation, offer, []
    record = await record_of(session, user_id)
    notice = Notice(
        chat_id=offer.poster_id,
        kind=NoticeKind.RESERVED,
        key=f"offer:{offer.id}:reserved:{reservation.id}",
        offer_id=offer.id,
        params={
            "title": offer.title,
            "name": reserver.first_name if reserver else str(user_id),
            "left": offer.quantity_left,
            "total": offer.quantity_total,
            "pickups": record.pickups,
            "no_shows": record.no_shows,
            # For the poster's "message them" button (the relay, bot/services/relay.py).
            "reservation_id": reservation.id,
        },
        about_user_id=user_id,
    )
    return reservation, offer, [notice]


async def _explain_refusal(
    session: AsyncSession, offer_id: int, user_id: int, now: datetime
) -> None:
    """Why the conditional UPDATE took nothing (read after the fact, for the message)."""
    offer = await session.get(Offer, offer_id, populate_existing=True)
    if offer is None or offer.status == OfferStatus.REMOVED.value:
        raise OfferNotFoundError(offer_id)
    if offer.poster_id == user_id:
        raise OwnOfferError(offer_id)
    if not is_available(offer, now):
        raise OfferEndedError(offer_id)
    held = await session.scalar(
        select(Reservation.id).where(
            Reservation.offer_id == offer_id,
            Reservation.user_id == user_id,
            Reservation.status == ReservationStatus.RESERVED.value,
        )
    )
    if held is not None:
        raise AlreadyReservedError(offer_id)
    raise SoldOutError(offer_id)


async def _end_reservation(
    session: AsyncSession,
    reservation_id: int,
    status: ReservationStatus,
    now: datetime,
    *,
    from_status: ReservationStatus = ReservationStatus.RESERVED,
    **extra: object,
) -> bool:
    """`from_status` (RESERVED) -> `status`, once: a repeated or stale button changes
    nothing."""
    result = await session.execute(
        update(Reservation)
        .where(
            Reservation.id == reservation_id,
            Reservation.status == from_status.value,
        )
        .values(status=status.value, ended_at=now, **extra)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _release_held(
    session: AsyncSession,
    offer: Offer,
    kind: NoticeKind,
    now: datetime,
    status: ReservationStatus = ReservationStatus.RELEASED,
) -> list[Notice]:
    """Release the active reservations on an offer that has ended one way or another; a
    notice of `kind` for each holder. Units are not given back: the offer is over."""
    notices = []
    for reservation in await _active_reservations(session, Reservation.offer_id == offer.id):
        if await _end_reservation(session, reservation.id, status, now):
            notices.append(
                Notice(
                    chat_id=reservation.user_id,
                    kind=kind,
                    key=f"offer:{offer.id}:released:{reservation.id}",
                    offer_id=offer.id,
                    params={"title": offer.title},
                )
            )
    return notices


async def _active_reservations(
    session: AsyncSession, where: ColumnElement[bool]
) -> list[Reservation]:
    query = (
        select(Reservation)
        .where(where, Reservation.status == ReservationStatus.RESERVED.value)
        .order_by(Reservation.id)
    )
    return list((await session.scalars(query)).all())


async def _give_back(session: AsyncSession, offer_id: int) -> None:
    await session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.quantity_left < Offer.quantity_total)
        .values(quantity_left=Offer.quantity_left + 1)
        .execution_options(synchronize_session=False)
    )


async def _reservation_with_offer(
    session: AsyncSession, reservation_id: int
) -> tuple[Reservation, Offer]:
    reservation = await session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise ReservationNotFoundError(reservation_id)
    offer = await session.get(Offer, reservation.offer_id, populate_existing=True)
    if offer is None:  # pragma: no cover - cascades delete reservations with offers
        raise ReservationNotFoundError(reservation_id)
    return reservation, offer


async def cancel_reservation(
    session: AsyncSession, reservation_id: int, actor_id: int, now: datetime
) -> tuple[Reservation, Offer, list[Notice]]:
    """The reserver or the poster cancels; the unit returns to the offer."""
    reservation, offer = await _reservation_with_offer(session, reservation_id)
    by_reserver = reservation.user_id == actor_id
    if not by_reserver and offer.poster_id != actor_id:
        raise ReservationNotFoundError(reservation_id)
    if not await _end_reservation(
        session, reservation_id, ReservationStatus.CANCELLED, now, cancelled_by=actor_id
    ):
        raise ReservationEndedError(reservation_id)
    await _give_back(session, offer.id)
    reservation, offer = await _reservation_with_offer(session, reservation_id)
    if by_reserver:
        if offer.poster_id is None:
            return reservation, offer, []
        reserver = await session.get(User, reservation.user_id)
        notice = Notice(
            chat_id=offer.poster_id,
            kind=NoticeKind.CANCELLED_BY_RESERVER,
            key=f"offer:{offer.id}:cancelled:{reservation.id}",
            offer_id=offer.id,
            params={
                "title": offer.title,
                "name": reserver.first_name if reserver else str(reservation.user_id),
            },
            about_user_id=reservation.user_id,
        )
    else:
        notice = Notice(
            chat_id=reservation.user_id,
            kind=NoticeKind.CANCELLED_BY_POSTER,
            key=f"offer:{offer.id}:cancelled:{reservation.id}",
            offer_id=offer.id,
            params={"title": offer.title},
        )
    return reservation, offer, [notice]


async def confirm_pickup(
    session: AsyncSession, reservation_id: int, poster_id: int, now: datetime
) -> tuple[Reservation, Offer, list[Notice]]:
    """The poster confirms the reserver came. Exactly once per reservation: the caller logs
    the reserver's `saved_food` action when this returns. Within `LATE_CONFIRM` of the
    window's end a no-show can still be confirmed: a poster who forgot to press the button
    in time does not leave the reserver with a no-show."""
    reservation, offer = await _reservation_with_offer(session, reservation_id)
    if offer.poster_id != poster_id:
        raise ReservationNotFoundError(reservation_id)
    if not await _end_reservation(session, reservation_id, ReservationStatus.PICKED_UP, now):
        late = can_confirm_late(offer, now) and await _end_reservation(
            session,
            reservation_id,
            ReservationStatus.PICKED_UP,
            now,
            from_status=ReservationStatus.NO_SHOW,
        )
        if not late:
            raise ReservationEndedError(reservation_id)
    reservation, offer = await _reservation_with_offer(session, reservation_id)
    notice = Notice(
        chat_id=reservation.user_id,
        kind=NoticeKind.PICKED_UP,
        key=f"offer:{offer.id}:picked_up:{reservation.id}",
        offer_id=offer.id,
        params={"title": offer.title},
    )
    return reservation, offer, [notice]


async def close_offer(session: AsyncSession, offer_id: int, poster_id: int, now: datetime) -> Offer:
    """Close early: nobody else can reserve; reservations already made stay valid until
    the end of the window."""
    offer = await session.get(Offer, offer_id, populate_existing=True)
    if offer is None or offer.poster_id != poster_id:
        raise OfferNotFoundError(offer_id)
    result = await session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.status == OfferStatus.OPEN.value)
        .values(status=OfferStatus.CLOSED.value, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise OfferEndedError(offer_id)
    return await get_offer(session, offer_id)


@dataclass(frozen=True, slots=True)
class PosterOffer:
    offer: Offer
    reservations: list[tuple[Reservation, User | None]]


async def my_offers(
    session: AsyncSession, poster_id: int, now: datetime, limit: int = 10
) -> list[PosterOffer]:
    """The poster's offers still of interest (open, or ended in the last day), newest first,
    with their reservations."""
    recent = now - timedelta(days=1)
    offers = list(
        (
            await session.scalars(
                select(Offer)
                .where(
                    Offer.poster_id == poster_id,
                    Offer.status != OfferStatus.REMOVED.value,
                    Offer.pickup_end > recent,
                )
                .order_by(Offer.created_at.desc(), Offer.id.desc())
                .limit(limit)
            )
        ).all()
    )
    if not offers:
        return []
    rows = await session.execute(
        select(Reservation, User)
        .join(User, User.id == Reservation.user_id, isouter=True)
        .where(
            Reservation.offer_id.in_([offer.id for offer in offers]),
            # A cancelled reservation is no one's business any more.
            Reservation.status != ReservationStatus.CANCELLED.value,
        )
        .order_by(Reservation.reserved_at, Reservation.id)
    )
    by_offer: dict[int, list[tuple[Reservation, User | None]]] = {}
    for reservation, user in rows.all():
        by_offer.setdefault(reservation.offer_id, []).append((reservation, user))
    return [PosterOffer(offer, by_offer.get(offer.id, [])) for offer in offers]


async def my_reservations(
    session: AsyncSession, user_id: int, now: datetime, limit: int = 20
) -> list[tuple[Reservation, Offer]]:
    """The person's reservations still to be picked up."""
    rows = await session.execute(
        select(Reservation, Offer)
        .join(Offer, Offer.id == Reservation.offer_id)
        .where(
            Reservation.user_id == user_id,
            Reservation.status == ReservationStatus.RESERVED.value,
            # Held on an offer whose window is over but not swept yet: not to be fetched.
            Offer.pickup_end > now,
            Offer.status != OfferStatus.REMOVED.value,
        )
        .order_by(Offer.pickup_end, Reservation.id)
        .limit(limit)
    )
    return [(reservation, offer) for reservation, offer in rows.all()]


# ----------------------------------------------------------------------------- expiry


async def expire_offer(session: AsyncSession, offer_id: int, now: datetime) -> list[Notice]:
    """Close one offer whose window is over and release its unconfirmed reservations
    (the job scheduled at the end of its window; a no-op when run again or too early)."""
    offer = await session.get(Offer, offer_id, populate_existing=True)
    if offer is None or offer.pickup_end > now:
        return []
    await session.execute(
        update(Offer)
        .where(Offer.id == offer_id, Offer.status == OfferStatus.OPEN.value)
        .values(status=OfferStatus.EXPIRED.value, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    # Still held when the window ended: nobody came, or nobody confirmed they did.
    return await _release_held(session, offer, NoticeKind.RELEASED, now, ReservationStatus.NO_SHOW)


async def ended_offer_ids(session: AsyncSession, now: datetime, limit: int = 500) -> list[int]:
    """Offers whose window is over but which are still open or still hold reservations:
    what the periodic sweep expires (a job missed during a restart is caught here)."""
    still_held = exists().where(
        Reservation.offer_id == Offer.id,
        Reservation.status == ReservationStatus.RESERVED.value,
    )
    query = (
        select(Offer.id)
        .where(Offer.pickup_end <= now, or_(Offer.status == OfferStatus.OPEN.value, still_held))
        .order_by(Offer.pickup_end, Offer.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def sweep_expired(session: AsyncSession, now: datetime) -> list[Notice]:
    notices: list[Notice] = []
    for offer_id in await ended_offer_ids(session, now):
        notices += await expire_offer(session, offer_id, now)
    return notices


async def due_reminders(
    session: AsyncSession, now: datetime, offer_id: int | None = None
) -> list[Notice]:
    """Reminders for reservations whose window ends within the hour, each marked so that
    it is reminded once."""
    query = (
        select(Reservation, Offer)
        .join(Offer, Offer.id == Reservation.offer_id)
        .where(
            Reservation.status == ReservationStatus.RESERVED.value,
            Reservation.reminded_at.is_(None),
            Offer.pickup_end > now,
            Offer.pickup_end <= now + REMINDER_BEFORE,
        )
    )
    if offer_id is not None:
        query = query.where(Offer.id == offer_id)
    notices = []
    for reservation, offer in (await session.execute(query)).all():
        reservation.reminded_at = now
        notices.append(
            Notice(
                chat_id=reservation.user_id,
                kind=NoticeKind.REMINDER,
                key=f"{notice_key_prefix(offer.id, NoticeKind.REMINDER)}{reservation.id}",
                offer_id=offer.id,
                params={"title": offer.title, "address": offer.address, "note": offer.pickup_note},
            )
        )
    await session.flush()
    return notices


# ----------------------------------------------------------------------------- alerts


async def subscribe_alerts(
    session: AsyncSession,
    user_id: int,
    latitude: float,
    longitude: float,
    radius_km: int,
    now: datetime,
) -> OfferAlert:
    if radius_km not in ALERT_RADII:
        raise OfferFieldError("bad_radius")
    if not validate_coordinates(latitude, longitude):
        raise OfferFieldError("bad_location")
    alert = await session.get(OfferAlert, user_id)
    if alert is None:
        alert = OfferAlert(user_id=user_id, created_at=now)
        session.add(alert)
    alert.latitude = coarse(latitude)
    alert.longitude = coarse(longitude)
    alert.radius_km = radius_km
    await session.flush()
    return alert


async def alert_of(session: AsyncSession, user_id: int) -> OfferAlert | None:
    return await session.get(OfferAlert, user_id)


async def unsubscribe_alerts(session: AsyncSession, user_id: int) -> bool:
    alert = await session.get(OfferAlert, user_id)
    if alert is None:
        return False
    await session.delete(alert)
    await session.flush()
    return True


async def alert_subscribers(session: AsyncSession, offer: Offer) -> list[int]:
    """Active people (not the poster) whose alert circle holds the offer."""
    boxes = cap_boxes(offer.latitude, offer.longitude, float(max(ALERT_RADII)) + 1.0)
    in_boxes = or_(
        *(
            and_(
                OfferAlert.latitude.between(box.min_lat, box.max_lat),
                OfferAlert.longitude.between(box.min_lon, box.max_lon),
            )
            for box in boxes
        )
    )
    rows = await session.execute(
        select(OfferAlert.user_id, OfferAlert.latitude, OfferAlert.longitude, OfferAlert.radius_km)
        .join(User, User.id == OfferAlert.user_id)
        .where(in_boxes, OfferAlert.user_id != offer.poster_id, User.is_active.is_(True))
        .order_by(OfferAlert.user_id)
    )
    origin = Origin.at(offer.latitude, offer.longitude)
    return [
        user_id
        for user_id, lat, lon, radius in rows.all()
        if origin.distance_km(lat, lon) <= radius
    ]


async def favourite_followers(session: AsyncSession, offer: Offer) -> list[int]:
    """Active people (not the poster) who favourited the maker the offer is posted as."""
    if offer.maker_id is None:
        return []
    rows = await session.scalars(
        select(MakerFavourite.user_id)
        .join(User, User.id == MakerFavourite.user_id)
        .join(Maker, Maker.id == MakerFavourite.maker_id)
        .where(
            MakerFavourite.maker_id == offer.maker_id,
            Maker.status == MakerStatus.APPROVED.value,
            MakerFavourite.user_id != offer.poster_id,
            User.is_active.is_(True),
        )
        .order_by(MakerFavourite.user_id)
    )
    return list(rows.all())


async def alert_notices(session: AsyncSession, offer: Offer) -> list[Notice]:
    """One alert per person, whether their alert circle holds the offer, they favourited
    its maker, or both (then it names the maker). The key is the same either way, so the
    outbox never holds two for one person and one offer, across restarts too."""
    nearby = set(await alert_subscribers(session, offer))
    fans = set(await favourite_followers(session, offer))
    maker = await session.get(Maker, offer.maker_id) if fans and offer.maker_id else None
    notices = []
    for user_id in sorted(nearby | fans):
        params: dict[str, str | int] = {
            "title": offer.title,
            "address": offer.address,
            "offer_id": offer.id,
            "start": offer.pickup_start.isoformat(),
            "end": offer.pickup_end.isoformat(),
        }
        if user_id in fans and maker is not None:
            params["maker"] = maker.name
        notices.append(
            Notice(
                chat_id=user_id,
                kind=NoticeKind.ALERT,
                key=f"{notice_key_prefix(offer.id, NoticeKind.ALERT)}{user_id}",
                offer_id=offer.id,
                params=params,
            )
        )
    return notices


# ----------------------------------------------------------------------------- reports


async def report_offer(
    session: AsyncSession, offer_id: int, reporter_id: int, reason: ReportReason, now: datetime
) -> bool:
    """Report an offer; False if this person already had (their first reason stands)."""
    await get_offer(session, offer_id)
    already = await session.scalar(
        select(OfferReport.id).where(
            OfferReport.offer_id == offer_id, OfferReport.reporter_id == reporter_id
        )
    )
    if already is not None:
        return False
    session.add(
        OfferReport(
            offer_id=offer_id,
            reporter_id=reporter_id,
            reason=reason.value,
            status=ReportStatus.OPEN.value,
            created_at=now,
        )
    )
    await session.flush()
    return True


@dataclass(frozen=True, slots=True)
class ReportedOffer:
    offer: Offer
    reasons: dict[str, int]

    @property
    def main_reason(self) -> ReportReason:
        reason, _ = max(self.reasons.items(), key=lambda item: (item[1], item[0]))
        return ReportReason(reason)


async def reported_offers(
    session: AsyncSession, moderator_id: int, organiser_ids: frozenset[int], limit: int = 10
) -> list[ReportedOffer]:
    await require_organiser(session, moderator_id, organiser_ids)
    rows = await session.execute(
        select(OfferReport.offer_id, OfferReport.reason)
        .join(Offer, Offer.id == OfferReport.offer_id)
        .where(
            OfferReport.status == ReportStatus.OPEN.value,
            Offer.status != OfferStatus.REMOVED.value,
        )
        .order_by(OfferReport.offer_id)
    )
    counts: dict[int, Counter[str]] = {}
    for offer_id, reason in rows.all():
        counts.setdefault(offer_id, Counter())[reason] += 1
    chosen = sorted(counts, key=lambda i: (-sum(counts[i].values()), i))[:limit]
    offers = {
        offer.id: offer
        for offer in await session.scalars(select(Offer).where(Offer.id.in_(chosen)))
    }
    return [ReportedOffer(offers[i], dict(counts[i])) for i in chosen if i in offers]


async def _open_reports(session: AsyncSession, offer_id: int) -> list[OfferReport]:
    return list(
        (
            await session.scalars(
                select(OfferReport).where(
                    OfferReport.offer_id == offer_id,
                    OfferReport.status == ReportStatus.OPEN.value,
                )
            )
        ).all()
    )


async def remove_offer(
    session: AsyncSession,
    offer_id: int,
    moderator_id: int,
    organiser_ids: frozenset[int],
    now: datetime,
) -> tuple[Offer, list[Notice]]:
    """An organiser takes a reported offer down for its main reported reason; the poster is
    told why and every active reservation is released (the reservers are told too)."""
    await require_organiser(session, moderator_id, organiser_ids)
    offer = await get_offer(session, offer_id)
    reports = await _open_reports(session, offer_id)
    reasons = Counter(report.reason for report in reports)
    reason = (
        max(reasons.items(), key=lambda item: (item[1], item[0]))[0]
        if reasons
        else ReportReason.MISLEADING.value
    )
    offer.status = OfferStatus.REMOVED.value
    offer.removal_reason = reason
    offer.closed_at = now
    for report in reports:
        report.status = ReportStatus.ACTIONED.value
    notices = []
    # An offer whose poster erased their data has nobody to tell.
    if offer.poster_id is not None:
        notices.append(
            Notice(
                chat_id=offer.poster_id,
                kind=NoticeKind.REMOVED,
                key=f"offer:{offer_id}:removed",
                offer_id=offer_id,
                params={"title": offer.title, "reason": reason},
            )
        )
    notices += await _release_held(session, offer, NoticeKind.CLOSED, now)
    await session.flush()
    return offer, notices


async def dismiss_reports(
    session: AsyncSession,
    offer_id: int,
    moderator_id: int,
    organiser_ids: frozenset[int],
) -> int:
    await require_organiser(session, moderator_id, organiser_ids)
    reports = await _open_reports(session, offer_id)
    if not reports:
        raise OfferNotFoundError(offer_id)
    for report in reports:
        report.status = ReportStatus.DISMISSED.value
    await session.flush()
    return len(reports)


# ----------------------------------------------------------------------------- eco-actions


SAVED_FOOD = "saved_food"


async def log_saved_food(
    session: AsyncSession, reservation: Reservation, now: datetime, tz: tzinfo
) -> actions.LogResult | None:
    """Log the reserver's `saved_food` eco-action for a confirmed pickup, through the
    actions service. Called right after `confirm_pickup`, which lets a reservation be
    confirmed once only, so one pickup is one log. None when the person already reached
    the action's daily cap (the pickup stays confirmed); otherwise the log, whose
    `pledges_met` the caller queues like any log's (bot/ui/notices/pledges.py)."""
    try:
        return await actions.log_action(
            session,
            user_id=reservation.user_id,
            slug=SAVED_FOOD,
            chat_id=reservation.user_id,
            now=now,
            tz=tz,
        )
    except actions.DailyCapError:
        return None


# ----------------------------------------------------------------------------- erasure


@dataclass(frozen=True, slots=True)
class Withdrawn:
    notices: list[Notice]
    # The person's offers whose window is not long over: their scheduled jobs have
    # nothing left to do, and their alerts and reminders not sent yet must not be.
    offer_ids: list[int]


async def withdraw_for_erasure(session: AsyncSession, user_id: int, now: datetime) -> Withdrawn:
    """/forget, before the metadata walk erases the person's rows (bot/services/erasure.py).

    Their offers outlive them without them: an open one is closed as if closed early, the
    active reservations on it are released and their holders told; every offer of theirs
    loses what could identify them (description, pickup address, photo, the exact pickup
    point, their maker listing) and keeps its figures (quantity, category, title, pickups
    already confirmed). The walk then detaches the poster. Their own active reservations on
    others' offers are released, the unit goes back and the poster is told."""
    notices: list[Notice] = []
    own = list((await session.scalars(select(Offer).where(Offer.poster_id == user_id))).all())
    for offer in own:
        await session.execute(
            update(Offer)
            .where(Offer.id == offer.id, Offer.status == OfferStatus.OPEN.value)
            .values(status=OfferStatus.CLOSED.value, closed_at=now)
            .execution_options(synchronize_session=False)
        )
        notices += await _release_held(session, offer, NoticeKind.WITHDRAWN, now)
        await session.execute(
            update(Offer)
            .where(Offer.id == offer.id)
            .values(
                description="",
                address="",
                pickup_note="",
                photo_file_id=None,
                latitude=coarse(offer.latitude),
                longitude=coarse(offer.longitude),
                maker_id=None,
            )
            .execution_options(synchronize_session=False)
        )
    for reservation in await _active_reservations(session, Reservation.user_id == user_id):
        if not await _end_reservation(session, reservation.id, ReservationStatus.RELEASED, now):
            continue  # pragma: no cover - ended meanwhile by another update
        await _give_back(session, reservation.offer_id)
        held = await session.get(Offer, reservation.offer_id)
        if held is not None and held.poster_id is not None:
            notices.append(
                Notice(
                    chat_id=held.poster_id,
                    kind=NoticeKind.RESERVER_GONE,
                    key=f"offer:{held.id}:reserver_gone:{reservation.id}",
                    offer_id=held.id,
                    params={"title": held.title},
                )
            )
    await session.flush()
    # A nudge deferred past quiet hours can still be waiting a few hours after the end.
    recent = now - timedelta(days=1)
    return Withdrawn(notices, [offer.id for offer in own if offer.pickup_end > recent])
