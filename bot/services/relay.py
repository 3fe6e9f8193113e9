"""The relay between an offer's poster and a person who reserved it (PRODUCT.md §2.3, issue
#16): they write to each other through the bot, and neither learns the other's Telegram
account; only first names and the offer's title are ever shown.

A conversation is its reservation. It is open from the reservation until a day after the
offer's pickup window ends, whatever became of the reservation (a pickup to arrange, a
thank-you after it), except when the reservation was cancelled, the offer was taken down
by the moderators or its poster erased their data, a moderator closed it after a report,
or either side blocked the other. Each message is checked here (membership, open, block,
rate limit) and stored; the caller queues it for the recipient in the same transaction
(bot/ui/notices/relay.py), so a stored message is a message on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.geo.geocoding import validate_coordinates
from bot.services.users import require_organiser
from models import (
    Offer,
    OfferStatus,
    RelayFlag,
    RelayFlagKind,
    RelayMessage,
    RelayReportStatus,
    Reservation,
    ReservationStatus,
    User,
)

# How long after the end of the pickup window the two can still write (a late pickup, a
# forgotten bag, a thank-you).
OPEN_AFTER_WINDOW = timedelta(days=1)
# At most this many messages per person per conversation within RATE_PERIOD: enough for
# any pickup, too few to flood someone.
RATE_LIMIT = 20
RATE_PERIOD = timedelta(hours=1)
TEXT_LIMIT = 2000
# What a moderator reads of a reported conversation.
REPORT_EXCERPT = 10


class ClosedReason(StrEnum):
    """Why a conversation takes no more messages (a locale key suffix)."""

    CANCELLED = "cancelled"
    ENDED = "ended"
    REMOVED = "removed"
    GONE = "gone"
    MODERATED = "moderated"
    # The sender blocked the other side; the other side blocked the sender.
    YOU_BLOCKED = "you_blocked"
    BLOCKED = "blocked"


class RelayNotFoundError(LookupError):
    """No such reservation, or not one this person is part of (a forged button)."""


class RelayClosedError(ValueError):
    def __init__(self, reason: ClosedReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class RelayRateLimitedError(ValueError):
    def __init__(self, minutes: int) -> None:
        super().__init__(minutes)
        # Until the oldest message of the last hour stops counting.
        self.minutes = minutes


class RelayTextError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Conversation:
    """One side's view of a conversation: who they write to, about what."""

    reservation_id: int
    offer_id: int
    title: str
    me_id: int
    other_id: int
    # First names only (no username, no id): what each side may know of the other.
    my_name: str
    other_name: str
    i_am_poster: bool


@dataclass(frozen=True, slots=True)
class Relayed:
    """A stored message, for the caller to queue for its recipient."""

    id: int
    conversation: Conversation
    text: str
    latitude: float | None
    longitude: float | None

    @property
    def recipient_id(self) -> int:
        return self.conversation.other_id


def key_prefix(reservation_id: int, recipient_id: int | None = None) -> str:
    """What the outbox keys of the messages relayed in a conversation start with (to one
    of its sides, or to both): a block or a moderator's closing cancels those not sent."""
    head = f"relay:{reservation_id}:"
    return head if recipient_id is None else f"{head}{recipient_id}:"


def outbox_key(relayed: Relayed) -> str:
    return f"{key_prefix(relayed.conversation.reservation_id, relayed.recipient_id)}{relayed.id}"


def open_until(offer: Offer) -> datetime:
    return offer.pickup_end + OPEN_AFTER_WINDOW


def closed_reason(reservation: Reservation, offer: Offer, now: datetime) -> ClosedReason | None:
    """Why the conversation of this reservation is closed, from the reservation and its
    offer alone (blocks and moderation are read by `check_open`); None when it is open."""
    if reservation.status == ReservationStatus.CANCELLED.value:
        return ClosedReason.CANCELLED
    if offer.poster_id is None:
        return ClosedReason.GONE
    if offer.status == OfferStatus.REMOVED.value:
        return ClosedReason.REMOVED
    if now >= open_until(offer):
        return ClosedReason.ENDED
    return None


def is_open(reservation: Reservation, offer: Offer, now: datetime) -> bool:
    """Whether to offer the "write" button (a block or a moderator's closing is told on
    the tap)."""
    return closed_reason(reservation, offer, now) is None


def _name(user: User | None) -> str:
    return (user.first_name if user else "") or "?"


async def conversation(session: AsyncSession, reservation_id: int, user_id: int) -> Conversation:
    """The conversation of `reservation_id` as `user_id` sees it; RelayNotFoundError when
    they are neither its reserver nor its offer's poster, RelayClosedError(GONE) to its
    reserver once the poster erased their data."""
    reservation = await session.get(Reservation, reservation_id, populate_existing=True)
    if reservation is None:
        raise RelayNotFoundError(reservation_id)
    offer = await session.get(Offer, reservation.offer_id, populate_existing=True)
    if offer is None:  # pragma: no cover - cascades delete reservations with offers
        raise RelayNotFoundError(reservation_id)
    if offer.poster_id is None:
        # The poster erased their data: the reserver is told so, anyone else nothing.
        if user_id == reservation.user_id:
            raise RelayClosedError(ClosedReason.GONE)
        raise RelayNotFoundError(reservation_id)
    if user_id == reservation.user_id:
        other_id, i_am_poster = offer.poster_id, False
    elif user_id == offer.poster_id:
        other_id, i_am_poster = reservation.user_id, True
    else:
        raise RelayNotFoundError(reservation_id)
    me, other = await session.get(User, user_id), await session.get(User, other_id)
    return Conversation(
        reservation_id=reservation.id,
        offer_id=offer.id,
        title=offer.title,
        me_id=user_id,
        other_id=other_id,
        my_name=_name(me),
        other_name=_name(other),
        i_am_poster=i_am_poster,
    )


async def _flag(
    session: AsyncSession, reservation_id: int, actor_id: int, kind: RelayFlagKind
) -> RelayFlag | None:
    return await session.scalar(
        select(RelayFlag).where(
            RelayFlag.reservation_id == reservation_id,
            RelayFlag.actor_id == actor_id,
            RelayFlag.kind == kind.value,
        )
    )


async def check_open(session: AsyncSession, talk: Conversation, now: datetime) -> None:
    """RelayClosedError with the reason when `talk` takes no more messages from its
    viewer."""
    reservation = await session.get(Reservation, talk.reservation_id)
    offer = await session.get(Offer, talk.offer_id)
    if reservation is None or offer is None:  # pragma: no cover - read just before
        raise RelayNotFoundError(talk.reservation_id)
    reason = closed_reason(reservation, offer, now)
    if reason is not None:
        raise RelayClosedError(reason)
    actioned = await session.scalar(
        select(RelayFlag.id).where(
            RelayFlag.reservation_id == talk.reservation_id,
            RelayFlag.kind == RelayFlagKind.REPORT.value,
            RelayFlag.status == RelayReportStatus.ACTIONED.value,
        )
    )
    if actioned is not None:
        raise RelayClosedError(ClosedReason.MODERATED)
    if await _flag(session, talk.reservation_id, talk.me_id, RelayFlagKind.BLOCK) is not None:
        raise RelayClosedError(ClosedReason.YOU_BLOCKED)
    if await _flag(session, talk.reservation_id, talk.other_id, RelayFlagKind.BLOCK) is not None:
        raise RelayClosedError(ClosedReason.BLOCKED)


async def start_writing(
    session: AsyncSession, reservation_id: int, user_id: int, now: datetime
) -> Conversation:
    """Tapping "write" / "reply": the conversation, if it takes messages from this person."""
    talk = await conversation(session, reservation_id, user_id)
    await check_open(session, talk, now)
    return talk


def clean_text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise RelayTextError("empty")
    if len(value) > TEXT_LIMIT:
        raise RelayTextError("too_long")
    return value


async def _check_rate(session: AsyncSession, talk: Conversation, now: datetime) -> None:
    since = now - RATE_PERIOD
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(RelayMessage.created_at)).where(
                RelayMessage.reservation_id == talk.reservation_id,
                RelayMessage.sender_id == talk.me_id,
                RelayMessage.created_at > since,
            )
        )
    ).one()
    if int(count or 0) >= RATE_LIMIT and oldest is not None:
        wait = oldest + RATE_PERIOD - now
        raise RelayRateLimitedError(max(1, -(-int(wait.total_seconds()) // 60)))


async def send(
    session: AsyncSession,
    reservation_id: int,
    sender_id: int,
    now: datetime,
    *,
    text: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
) -> Relayed:
    """Store one message from `sender_id` (a text, or a place already rounded at intake),
    after every check; the caller queues it for the other side in this transaction."""
    talk = await conversation(session, reservation_id, sender_id)
    await check_open(session, talk, now)
    if latitude is not None and longitude is not None:
        if not validate_coordinates(latitude, longitude):
            raise RelayTextError("bad_place")
        body = ""
    else:
        body = clean_text(text or "")
        latitude = longitude = None
    await _check_rate(session, talk, now)
    message = RelayMessage(
        reservation_id=talk.reservation_id,
        sender_id=talk.me_id,
        recipient_id=talk.other_id,
        text=body,
        latitude=latitude,
        longitude=longitude,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return Relayed(message.id, talk, body, latitude, longitude)


async def block(
    session: AsyncSession, reservation_id: int, user_id: int, now: datetime
) -> tuple[Conversation, bool]:
    """`user_id` stops hearing from the other side of this conversation; True when this is
    new. Nothing is sent to the blocked side: they learn it if they write again."""
    talk = await conversation(session, reservation_id, user_id)
    # Messages from the other side still waiting to be sent do not reach them either.
    await outbox.cancel_by_key_prefixes(
        session, [key_prefix(reservation_id, user_id)], "its recipient blocked the sender"
    )
    if await _flag(session, reservation_id, user_id, RelayFlagKind.BLOCK) is not None:
        return talk, False
    session.add(
        RelayFlag(
            reservation_id=reservation_id,
            actor_id=user_id,
            kind=RelayFlagKind.BLOCK.value,
            created_at=now,
        )
    )
    await session.flush()
    return talk, True


async def report(
    session: AsyncSession, reservation_id: int, user_id: int, now: datetime
) -> tuple[Conversation, bool]:
    """`user_id` asks the moderators to read what the other side sent (/moderation shows
    open reports); False when they already had."""
    talk = await conversation(session, reservation_id, user_id)
    if await _flag(session, reservation_id, user_id, RelayFlagKind.REPORT) is not None:
        return talk, False
    session.add(
        RelayFlag(
            reservation_id=reservation_id,
            actor_id=user_id,
            kind=RelayFlagKind.REPORT.value,
            status=RelayReportStatus.OPEN.value,
            created_at=now,
        )
    )
    await session.flush()
    return talk, True


# ----------------------------------------------------------------------------- moderation


@dataclass(frozen=True, slots=True)
class ReportedConversation:
    """An open report as a moderator reads it: the reporter's first name, the reported
    side's, the offer, and what the reported side sent there most recently."""

    report_id: int
    title: str
    reporter_name: str
    reported_name: str
    messages: list[RelayMessage]


async def reported_conversations(
    session: AsyncSession, moderator_id: int, organiser_ids: frozenset[int], limit: int = 10
) -> list[ReportedConversation]:
    await require_organiser(session, moderator_id, organiser_ids)
    reports = (
        await session.scalars(
            select(RelayFlag)
            .where(
                RelayFlag.kind == RelayFlagKind.REPORT.value,
                RelayFlag.status == RelayReportStatus.OPEN.value,
            )
            .order_by(RelayFlag.created_at, RelayFlag.id)
            .limit(limit)
        )
    ).all()
    found = []
    for flag in reports:
        try:
            talk = await conversation(session, flag.reservation_id, flag.actor_id)
        except (RelayNotFoundError, RelayClosedError):
            # Its poster erased their data (the reservation went with its reserver's).
            continue
        messages = (
            await session.scalars(
                select(RelayMessage)
                .where(
                    RelayMessage.reservation_id == flag.reservation_id,
                    RelayMessage.sender_id == talk.other_id,
                )
                .order_by(RelayMessage.created_at.desc(), RelayMessage.id.desc())
                .limit(REPORT_EXCERPT)
            )
        ).all()
        found.append(
            ReportedConversation(
                flag.id, talk.title, talk.my_name, talk.other_name, list(reversed(messages))
            )
        )
    return found


async def settle_report(
    session: AsyncSession,
    report_id: int,
    moderator_id: int,
    organiser_ids: frozenset[int],
    close: bool,
) -> bool:
    """A moderator closes the reported conversation (for both sides) or dismisses the
    report; False when it was already settled (or is gone)."""
    await require_organiser(session, moderator_id, organiser_ids)
    status = RelayReportStatus.ACTIONED if close else RelayReportStatus.DISMISSED
    report = await session.get(RelayFlag, report_id)
    result = await session.execute(
        update(RelayFlag)
        .where(
            RelayFlag.id == report_id,
            RelayFlag.kind == RelayFlagKind.REPORT.value,
            RelayFlag.status == RelayReportStatus.OPEN.value,
        )
        .values(status=status.value)
        .execution_options(synchronize_session=False)
    )
    settled = bool(result.rowcount)  # type: ignore[attr-defined]
    if settled and close and report is not None:
        await outbox.cancel_by_key_prefixes(
            session, [key_prefix(report.reservation_id)], "a moderator closed its conversation"
        )
    return settled


# ----------------------------------------------------------------------------- retention


async def purge_old(session: AsyncSession, now: datetime, keep: timedelta) -> int:
    """Forget relayed messages older than `keep` (the outbox's retention, which forgets
    the copies queued for their recipients at the same age), and the blocks and settled
    reports of that age (their conversations closed long before); returns how many
    messages. An open report stays until a moderator settles it."""
    result = await session.execute(
        delete(RelayMessage)
        .where(RelayMessage.created_at < now - keep)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(RelayFlag)
        .where(
            RelayFlag.created_at < now - keep,
            or_(
                RelayFlag.status.is_(None),
                RelayFlag.status != RelayReportStatus.OPEN.value,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
