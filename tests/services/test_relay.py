"""The relay's rules without Telegram: who is part of a conversation, when it closes, and
that a block or a moderator's closing also stops the messages already queued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import offers, relay
from bot.services.offers import OfferDraft
from bot.services.relay import ClosedReason, RelayClosedError, RelayNotFoundError
from bot.ui.notices import relay as relay_notices
from models import Offer, OutboxMessage, OutboxStatus, RelayFlag, User
from tests.support.texts import tr

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POSTER, RESERVER, STRANGER, ORGANISER = 41, 42, 43, 44


async def _reservation(session: AsyncSession) -> int:
    for user_id, name in ((POSTER, "Paule"), (RESERVER, "Rémi"), (STRANGER, "Sam")):
        session.add(User(id=user_id, first_name=name, created_at=NOW, last_seen_at=NOW))
    await session.flush()
    offer, _ = await offers.publish(
        session,
        POSTER,
        OfferDraft(
            title="Soupe",
            description="Potiron",
            quantity=1,
            pickup_end=NOW + timedelta(hours=2),
            latitude=44.84,
            longitude=-0.58,
        ),
        NOW,
    )
    reservation, _, _ = await offers.reserve(session, offer.id, RESERVER, NOW)
    return reservation.id


async def _statuses(session: AsyncSession) -> list[str]:
    return list(
        (await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id))).all()
    )


async def test_each_side_sees_the_other_by_first_name_and_strangers_nothing(
    session: AsyncSession,
) -> None:
    reservation_id = await _reservation(session)
    mine = await relay.conversation(session, reservation_id, RESERVER)
    theirs = await relay.conversation(session, reservation_id, POSTER)
    assert (mine.other_id, mine.other_name, mine.i_am_poster) == (POSTER, "Paule", False)
    assert (theirs.other_id, theirs.other_name, theirs.i_am_poster) == (RESERVER, "Rémi", True)
    with pytest.raises(RelayNotFoundError):
        await relay.conversation(session, reservation_id, STRANGER)
    with pytest.raises(RelayNotFoundError):
        await relay.send(session, reservation_id, STRANGER, NOW, text="Coucou")
    with pytest.raises(RelayNotFoundError):
        await relay.block(session, reservation_id, STRANGER, NOW)


async def test_open_until_a_day_after_the_window(session: AsyncSession) -> None:
    reservation_id = await _reservation(session)
    end = NOW + timedelta(hours=2)
    await relay.send(session, reservation_id, RESERVER, end + timedelta(hours=23), text="Merci")
    with pytest.raises(RelayClosedError) as closed:
        await relay.send(session, reservation_id, RESERVER, end + timedelta(days=1), text="?")
    assert closed.value.reason is ClosedReason.ENDED


async def test_a_block_cancels_what_the_blocked_side_has_queued(session: AsyncSession) -> None:
    reservation_id = await _reservation(session)
    for sender in (RESERVER, POSTER):
        relayed = await relay.send(session, reservation_id, sender, NOW, text="Bonjour")
        assert await relay_notices.enqueue(session, tr, relayed, NOW)
    await relay.block(session, reservation_id, POSTER, NOW)
    # The reserver's message to the poster is cancelled; the poster's own one still goes.
    assert await _statuses(session) == [OutboxStatus.CANCELLED.value, OutboxStatus.PENDING.value]
    with pytest.raises(RelayClosedError) as closed:
        await relay.send(session, reservation_id, RESERVER, NOW, text="Allô ?")
    assert closed.value.reason is ClosedReason.BLOCKED
    with pytest.raises(RelayClosedError) as closed:
        await relay.start_writing(session, reservation_id, POSTER, NOW)
    assert closed.value.reason is ClosedReason.YOU_BLOCKED


async def test_a_moderator_closing_a_report_cancels_both_sides_queue(
    session: AsyncSession,
) -> None:
    reservation_id = await _reservation(session)
    for sender in (RESERVER, POSTER):
        relayed = await relay.send(session, reservation_id, sender, NOW, text="Bonjour")
        await relay_notices.enqueue(session, tr, relayed, NOW)
    _, new = await relay.report(session, reservation_id, POSTER, NOW)
    assert new
    assert not (await relay.report(session, reservation_id, POSTER, NOW))[1]
    organisers = frozenset({ORGANISER})
    session.add(User(id=ORGANISER, first_name="Olga", created_at=NOW, last_seen_at=NOW))
    (entry,) = await relay.reported_conversations(session, ORGANISER, organisers)
    assert (entry.reporter_name, entry.reported_name) == ("Paule", "Rémi")
    assert [message.sender_id for message in entry.messages] == [RESERVER]
    report_id = await session.scalar(select(RelayFlag.id))
    assert report_id == entry.report_id
    assert await relay.settle_report(session, report_id, ORGANISER, organisers, close=True)
    assert not await relay.settle_report(session, report_id, ORGANISER, organisers, close=False)
    assert await _statuses(session) == [OutboxStatus.CANCELLED.value] * 2
    with pytest.raises(RelayClosedError) as closed:
        await relay.send(session, reservation_id, POSTER, NOW, text="?")
    assert closed.value.reason is ClosedReason.MODERATED


async def test_closed_for_the_reserver_once_the_poster_erased_their_data(
    session: AsyncSession,
) -> None:
    reservation_id = await _reservation(session)
    await session.execute(update(Offer).values(poster_id=None))
    with pytest.raises(RelayClosedError) as closed:
        await relay.send(session, reservation_id, RESERVER, NOW, text="Toujours là ?")
    assert closed.value.reason is ClosedReason.GONE
    with pytest.raises(RelayNotFoundError):
        await relay.start_writing(session, reservation_id, POSTER, NOW)
