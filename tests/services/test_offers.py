"""The offers service without Telegram: validation, the atomic reservation (including 100
people racing for 3 units on SQLite and PostgreSQL), cancel/confirm rules, expiry, alerts,
reports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.settings import Settings
from bot.services import nudges, offers
from bot.services.nudges import NudgeKind
from bot.services.offers import (
    AlreadyReservedError,
    NoticeKind,
    OfferDraft,
    OfferEndedError,
    OfferFieldError,
    OwnOfferError,
    PickupPreset,
    ReservationEndedError,
    ReservationNotFoundError,
    SoldOutError,
)
from bot.services.users import NotOrganiserError
from bot.ui.notices import offers as offer_notices
from models import (
    ActionLog,
    Offer,
    OfferStatus,
    OutboxMessage,
    ReportReason,
    Reservation,
    ReservationStatus,
    User,
)
from models.database import create_engine, create_sessionmaker, upgrade
from tests.support.texts import tr

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
BORDEAUX = (44.8378, -0.5792)
POSTER = 500


async def add_users(session: AsyncSession, *ids: int) -> None:
    for user_id in ids:
        session.add(User(id=user_id, first_name=f"U{user_id}", created_at=NOW, last_seen_at=NOW))
    await session.flush()


def draft(quantity: int = 3, **overrides: object) -> OfferDraft:
    values: dict[str, object] = {
        "title": "Croissants",
        "description": "Of the day before",
        "category": "bakery",
        "quantity": quantity,
        "pickup_end": NOW + timedelta(hours=3),
        "latitude": BORDEAUX[0],
        "longitude": BORDEAUX[1],
        "address": "Place de la Bourse",
    }
    values.update(overrides)
    return OfferDraft(**values)  # type: ignore[arg-type]


async def posted(session: AsyncSession, quantity: int = 3, **overrides: object) -> Offer:
    offer, _ = await offers.publish(session, POSTER, draft(quantity, **overrides), NOW)
    return offer


# ----------------------------------------------------------------------------- fields


@pytest.mark.parametrize("raw", ["0", "100", "1000000000", "-1", "two", "", "3.5", "9" * 5000])
def test_quantity_refused(raw: str) -> None:
    with pytest.raises(OfferFieldError) as error:
        offers.parse_quantity(raw)
    assert error.value.code == "bad_quantity"


def test_quantity_accepted() -> None:
    assert offers.parse_quantity(" 1 ") == 1
    assert offers.parse_quantity("99") == 99


def test_title_and_description_limits() -> None:
    with pytest.raises(OfferFieldError, match="too_long"):
        offers.clean_title("x" * 5000)
    with pytest.raises(OfferFieldError, match="too_long"):
        offers.clean_description("x" * 5000)
    with pytest.raises(OfferFieldError, match="no_letters"):
        offers.clean_title("🍞🍞")
    assert offers.clean_title("  Pain   bio ") == "Pain bio"


def test_pickup_times_in_the_persons_zone() -> None:
    # 09:00 UTC is 10:00 in Paris in January.
    end = offers.parse_pickup_end("18:30", NOW, PARIS)
    assert end.moment == datetime(2026, 1, 5, 17, 30, tzinfo=UTC) and not end.rolled
    end = offers.parse_pickup_end("07/01 8h15", NOW, PARIS)
    assert end.moment == datetime(2026, 1, 7, 7, 15, tzinfo=UTC)
    for raw, code in [
        ("aujourd'hui 9h30", "past"),
        ("10:05", "too_soon"),
        ("20/01 10:00", "too_far"),
        ("04/01 10:00", "past"),
        ("25:00", "bad_time"),
        ("31/02 10:00", "bad_time"),
        ("tomorrow", "bad_time"),
        ("18", "bad_time"),
    ]:
        with pytest.raises(OfferFieldError) as error:
            offers.parse_pickup_end(raw, NOW, PARIS)
        assert error.value.code == code, raw


@pytest.mark.parametrize(
    ("raw", "hour", "minute", "day"),
    [
        ("18h", 18, 0, 5),
        ("18 h", 18, 0, 5),
        ("18:00", 18, 0, 5),
        ("18h30", 18, 30, 5),
        ("18 h 30", 18, 30, 5),
        ("18.45", 18, 45, 5),
        ("demain 9h", 9, 0, 6),
        ("Demain à 9h", 9, 0, 6),
        ("tomorrow 9:00", 9, 0, 6),
        ("tomorrow at 9:00", 9, 0, 6),
        ("aujourd'hui 21h", 21, 0, 5),
        ("today 21:00", 21, 0, 5),
        ("06/01 7h", 7, 0, 6),
    ],
)
def test_typed_times(raw: str, hour: int, minute: int, day: int) -> None:
    typed = offers.parse_moment(raw, NOW, PARIS)
    assert typed.moment == datetime(2026, 1, day, hour, minute, tzinfo=PARIS)
    assert not typed.rolled


def test_a_time_passed_today_means_tomorrow_once_confirmed() -> None:
    # 10:00 in Paris: "9h" is tomorrow morning, and the wizard asks first.
    typed = offers.parse_pickup_end("9h", NOW, PARIS)
    assert typed.moment == datetime(2026, 1, 6, 9, 0, tzinfo=PARIS) and typed.rolled
    assert offers.parse_pickup_start("9:30", NOW, PARIS).rolled


def test_the_window_ends_after_it_opens() -> None:
    start = offers.parse_pickup_start("18h", NOW, PARIS).moment
    with pytest.raises(OfferFieldError, match="before_start"):
        offers.parse_pickup_end("18:05", NOW, PARIS, start)
    assert offers.parse_pickup_end("20h", NOW, PARIS, start).moment.hour == 20
    # "For 1 hour" counts from the opening.
    assert offers.preset_pickup_end(PickupPreset.IN_1H, NOW, PARIS, start) == start + timedelta(
        hours=1
    )
    with pytest.raises(OfferFieldError, match="too_far"):
        offers.parse_pickup_start("20/01 10:00", NOW, PARIS)


def test_presets() -> None:
    assert offers.preset_pickup_end(PickupPreset.IN_1H, NOW, PARIS) == NOW + timedelta(hours=1)
    tonight = offers.preset_pickup_end(PickupPreset.TONIGHT, NOW, PARIS)
    assert tonight == datetime(2026, 1, 5, 20, 0, tzinfo=UTC)
    late = NOW.replace(hour=21)
    with pytest.raises(OfferFieldError, match="past"):
        offers.preset_pickup_end(PickupPreset.TONIGHT, late, PARIS)


def test_pickup_note() -> None:
    assert offers.clean_note("  12 rue X,\n sonner  ") == "12 rue X, sonner"
    with pytest.raises(OfferFieldError, match="too_long"):
        offers.clean_note("x" * 201)
    with pytest.raises(OfferFieldError, match="empty"):
        offers.clean_note("   ")


def test_draft_survives_its_storage() -> None:
    original = draft(photo_file_id="abc", maker_id=None)
    assert OfferDraft.from_state(original.to_state()) == original
    assert OfferDraft.from_state({"pickup_end": "garbage", "quantity": "x"}).pickup_end is None


# ----------------------------------------------------------------------------- reserving


async def test_reserve_takes_one_unit_and_tells_the_poster(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2)
    offer = await posted(session, quantity=2)
    reservation, after, notices = await offers.reserve(session, offer.id, 1, NOW)
    assert after.quantity_left == 1
    assert reservation.status == ReservationStatus.RESERVED.value
    [notice] = notices
    assert notice.chat_id == POSTER and notice.kind is NoticeKind.RESERVED
    with pytest.raises(AlreadyReservedError):
        await offers.reserve(session, offer.id, 1, NOW)
    with pytest.raises(OwnOfferError):
        await offers.reserve(session, offer.id, POSTER, NOW)
    await offers.reserve(session, offer.id, 2, NOW)
    await add_users(session, 3)
    with pytest.raises(SoldOutError):
        await offers.reserve(session, offer.id, 3, NOW)


async def test_closed_or_ended_offers_cannot_be_reserved(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1)
    offer = await posted(session)
    await offers.close_offer(session, offer.id, POSTER, NOW)
    with pytest.raises(OfferEndedError):
        await offers.reserve(session, offer.id, 1, NOW)
    other = await posted(session)
    with pytest.raises(OfferEndedError):
        await offers.reserve(session, other.id, 1, NOW + timedelta(hours=4))
    with pytest.raises(offers.OfferNotFoundError):
        await offers.reserve(session, 999_999, 1, NOW)


async def test_cancel_from_either_side_returns_the_unit(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2, 3)
    offer = await posted(session, quantity=2)
    first, _, _ = await offers.reserve(session, offer.id, 1, NOW)
    second, _, _ = await offers.reserve(session, offer.id, 2, NOW)
    with pytest.raises(ReservationNotFoundError):
        await offers.cancel_reservation(session, first.id, 3, NOW)
    _, after, [notice] = await offers.cancel_reservation(session, first.id, 1, NOW)
    assert after.quantity_left == 1
    assert notice.chat_id == POSTER and notice.kind is NoticeKind.CANCELLED_BY_RESERVER
    with pytest.raises(ReservationEndedError):
        await offers.cancel_reservation(session, first.id, 1, NOW)
    _, after, [notice] = await offers.cancel_reservation(session, second.id, POSTER, NOW)
    assert after.quantity_left == 2
    assert notice.chat_id == 2 and notice.kind is NoticeKind.CANCELLED_BY_POSTER
    # Cancelled, the person may reserve again.
    await offers.reserve(session, offer.id, 1, NOW)


async def test_only_the_poster_confirms_and_only_once(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1)
    offer = await posted(session)
    reservation, _, _ = await offers.reserve(session, offer.id, 1, NOW)
    with pytest.raises(ReservationNotFoundError):
        await offers.confirm_pickup(session, reservation.id, 1, NOW)
    done, _, [notice] = await offers.confirm_pickup(session, reservation.id, POSTER, NOW)
    assert done.status == ReservationStatus.PICKED_UP.value
    assert notice.kind is NoticeKind.PICKED_UP
    with pytest.raises(ReservationEndedError):
        await offers.confirm_pickup(session, reservation.id, POSTER, NOW)
    with pytest.raises(ReservationEndedError):
        await offers.cancel_reservation(session, reservation.id, 1, NOW)
    assert await offers.log_saved_food(session, done, NOW, PARIS)
    logs = (await session.scalars(select(ActionLog))).all()
    assert [(log.user_id, log.action_slug) for log in logs] == [(1, "saved_food")]


async def _race(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    people = list(range(1, 101))
    async with sessionmaker() as session:
        await add_users(session, POSTER, *people)
        offer = await posted(session, quantity=3)
        await session.commit()
        offer_id = offer.id

    async def attempt(user_id: int) -> str:
        async with sessionmaker() as session:
            try:
                await offers.reserve(session, offer_id, user_id, NOW)
            except SoldOutError:
                await session.rollback()
                return "taken"
            await session.commit()
            return "ok"

    outcomes = await asyncio.gather(*(attempt(user_id) for user_id in people))
    async with sessionmaker() as session:
        left = await session.scalar(select(Offer.quantity_left).where(Offer.id == offer_id))
        rows = await session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.offer_id == offer_id)
        )
    assert left == 0
    assert rows == 3
    return outcomes.count("ok"), outcomes.count("taken"), int(rows)


async def test_hundred_people_race_for_three_units_on_sqlite(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert (await _race(sessionmaker))[:2] == (3, 97)


async def test_hundred_people_race_for_three_units_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        assert (await _race(create_sessionmaker(engine)))[:2] == (3, 97)
    finally:
        await engine.dispose()


# ----------------------------------------------------------------------------- finding


async def test_nearby_sorted_by_distance_then_ending_soonest(session: AsyncSession) -> None:
    await add_users(session, POSTER)
    far = await posted(session, latitude=44.86, longitude=-0.58)
    late = await posted(session, pickup_end=NOW + timedelta(hours=5))
    soon = await posted(session, pickup_end=NOW + timedelta(hours=1))
    await posted(session, latitude=48.85, longitude=2.35)  # Paris: out of range
    gone = await posted(session)
    await offers.close_offer(session, gone.id, POSTER, NOW)
    page = await offers.nearby_offers(session, *BORDEAUX, NOW, limit=10)
    assert [n.offer.id for n in page.offers] == [soon.id, late.id, far.id]
    assert not page.has_more
    first = await offers.nearby_offers(session, *BORDEAUX, NOW, limit=2)
    assert first.has_more and len(first.offers) == 2
    # Once a window ends the offer is not shown, even before any sweep ran.
    later = await offers.nearby_offers(session, *BORDEAUX, NOW + timedelta(hours=2), limit=10)
    assert [n.offer.id for n in later.offers] == [late.id, far.id]


# ----------------------------------------------------------------------------- expiry


async def test_expiry_releases_unconfirmed_reservations_once(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2)
    offer = await posted(session)
    kept, _, _ = await offers.reserve(session, offer.id, 1, NOW)
    picked, _, _ = await offers.reserve(session, offer.id, 2, NOW)
    await offers.confirm_pickup(session, picked.id, POSTER, NOW)
    assert await offers.sweep_expired(session, NOW + timedelta(hours=1)) == []
    end = NOW + timedelta(hours=3)
    notices = await offers.sweep_expired(session, end)
    assert [(n.chat_id, n.kind) for n in notices] == [(1, NoticeKind.RELEASED)]
    assert (await offers.get_offer(session, offer.id)).status == OfferStatus.EXPIRED.value
    await session.refresh(kept)
    assert kept.status == ReservationStatus.NO_SHOW.value
    assert await offers.sweep_expired(session, end + timedelta(minutes=5)) == []
    assert await offers.expire_offer(session, offer.id, end) == []


async def test_reminders_once_in_the_last_hour(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1)
    offer = await posted(session)
    await offers.reserve(session, offer.id, 1, NOW)
    assert await offers.due_reminders(session, NOW) == []
    due = NOW + timedelta(hours=2, minutes=5)
    [notice] = await offers.due_reminders(session, due)
    assert notice.chat_id == 1 and notice.kind is NoticeKind.REMINDER
    assert await offers.due_reminders(session, due + timedelta(minutes=10)) == []


# ----------------------------------------------------------------------------- alerts


async def test_alerts_reach_subscribers_in_range_only(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2, 3)
    await offers.subscribe_alerts(session, 1, 44.84, -0.57, 2, NOW)  # ~1 km away
    await offers.subscribe_alerts(session, 2, 44.90, -0.57, 2, NOW)  # ~7 km, radius 2
    await offers.subscribe_alerts(session, POSTER, 44.84, -0.58, 10, NOW)
    alert = await offers.subscribe_alerts(session, 3, 44.90123, -0.57456, 10, NOW)
    assert (alert.latitude, alert.longitude) == (44.9, -0.57)
    with pytest.raises(OfferFieldError):
        await offers.subscribe_alerts(session, 3, 44.9, -0.57, 3, NOW)
    _, notices = await offers.publish(session, POSTER, draft(), NOW)
    assert sorted(n.chat_id for n in notices) == [1, 3]
    assert {n.kind for n in notices} == {NoticeKind.ALERT}
    assert await offers.unsubscribe_alerts(session, 3)
    _, notices = await offers.publish(session, POSTER, draft(), NOW)
    assert [n.chat_id for n in notices] == [1]


# ----------------------------------------------------------------------------- reports


async def test_reports_and_removal(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2, 3, 99)
    offer = await posted(session)
    holder, _, _ = await offers.reserve(session, offer.id, 3, NOW)
    assert await offers.report_offer(session, offer.id, 1, ReportReason.UNSAFE, NOW)
    assert not await offers.report_offer(session, offer.id, 1, ReportReason.SPAM, NOW)
    assert await offers.report_offer(session, offer.id, 2, ReportReason.UNSAFE, NOW)
    organisers = frozenset({99})
    with pytest.raises(NotOrganiserError):
        await offers.reported_offers(session, 1, organisers)
    [entry] = await offers.reported_offers(session, 99, organisers)
    assert entry.reasons == {"unsafe": 2}
    with pytest.raises(NotOrganiserError):
        await offers.remove_offer(session, offer.id, 1, organisers, NOW)
    removed, notices = await offers.remove_offer(session, offer.id, 99, organisers, NOW)
    assert removed.status == OfferStatus.REMOVED.value and removed.removal_reason == "unsafe"
    assert [(n.chat_id, n.kind) for n in notices] == [
        (POSTER, NoticeKind.REMOVED),
        (3, NoticeKind.CLOSED),
    ]
    await session.refresh(holder)
    assert holder.status == ReservationStatus.RELEASED.value
    assert await offers.reported_offers(session, 99, organisers) == []
    page = await offers.nearby_offers(session, *BORDEAUX, NOW, limit=10)
    assert page.offers == []


async def test_alerts_respect_opt_out_quiet_hours_and_the_daily_cap(
    session: AsyncSession, settings: Settings
) -> None:
    translator = tr
    await add_users(session, POSTER, 1, 2)
    await offers.subscribe_alerts(session, 1, *BORDEAUX, 2, NOW)
    await offers.subscribe_alerts(session, 2, *BORDEAUX, 2, NOW)
    assert not await nudges.toggle_kind(session, 2, NudgeKind.OFFER_ALERT)  # now opted out
    late = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)  # 23:30 in Paris: quiet hours
    _, notices = await offers.publish(
        session, POSTER, draft(pickup_end=late + timedelta(hours=3)), late
    )
    assert await offer_notices.enqueue(session, translator, notices, late, settings) == 1
    queued = (await session.scalars(select(OutboxMessage))).all()
    # Delivered when the quiet hours end, 08:00 in Paris.
    assert [(m.chat_id, m.not_before) for m in queued] == [
        (1, datetime(2026, 1, 6, 7, 0, tzinfo=UTC))
    ]
    # One nudge a day by default: a second offer that night is not alerted.
    _, notices = await offers.publish(
        session, POSTER, draft(pickup_end=late + timedelta(hours=3)), late + timedelta(minutes=5)
    )
    assert await offer_notices.enqueue(session, translator, notices, late, settings) == 0


# ----------------------------------------------------------------------------- trust


async def _no_show(session: AsyncSession, reserver: int, at: datetime) -> None:
    """One reservation left unpicked until its offer's window ends at `at`."""
    offer, _ = await offers.publish(session, POSTER, draft(pickup_end=at), at - timedelta(hours=2))
    await offers.reserve(session, offer.id, reserver, at - timedelta(hours=1))
    [notice] = await offers.expire_offer(session, offer.id, at)
    assert notice.kind is NoticeKind.RELEASED


async def test_no_shows_pause_reservations_then_the_pause_ends(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2)
    rules = offers.TrustRules(limit=3, pause=timedelta(days=7))
    for day in range(3):
        await _no_show(session, 1, NOW + timedelta(days=day))
    record = await offers.record_of(session, 1)
    assert (record.pickups, record.no_shows) == (0, 3)
    third = NOW + timedelta(days=2)
    offer, _ = await offers.publish(
        session, POSTER, draft(pickup_end=third + timedelta(days=3)), third
    )
    with pytest.raises(offers.ReservationPausedError) as paused:
        await offers.reserve(session, offer.id, 1, third + timedelta(hours=1), rules)
    assert paused.value.until == third + timedelta(days=7) and paused.value.no_shows == 3
    # Someone else is not paused; the poster hears of their clean record.
    _, _, [notice] = await offers.reserve(session, offer.id, 2, third + timedelta(hours=1), rules)
    assert (notice.params["pickups"], notice.params["no_shows"]) == (0, 0)
    # After the pause: allowed, and the no-shows that paused them do not pause them again.
    after = third + timedelta(days=7, minutes=1)
    offer, _ = await offers.publish(
        session, POSTER, draft(pickup_end=after + timedelta(hours=3)), after
    )
    _, _, [notice] = await offers.reserve(session, offer.id, 1, after, rules)
    assert (notice.params["pickups"], notice.params["no_shows"]) == (0, 3)


async def test_no_shows_spread_over_more_than_the_window_do_not_pause(
    session: AsyncSession,
) -> None:
    await add_users(session, POSTER, 1)
    for day in (0, 16, 32):
        await _no_show(session, 1, NOW + timedelta(days=day))
    at = NOW + timedelta(days=32, hours=1)
    assert await offers.paused_until(session, 1, at, offers.TrustRules()) is None
    # With a limit of 2 (Settings), the second paused them a week; the third, alone since
    # that pause, does not.
    two = offers.TrustRules(limit=2)
    second = NOW + timedelta(days=16)
    assert await offers.paused_until(session, 1, second, two) == (second + timedelta(days=7), 2)
    assert await offers.paused_until(session, 1, at, two) is None


async def test_released_for_other_reasons_is_no_no_show(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 99)
    offer = await posted(session)
    await offers.reserve(session, offer.id, 1, NOW)
    await offers.report_offer(session, offer.id, 99, ReportReason.SPAM, NOW)
    await offers.remove_offer(session, offer.id, 99, frozenset({99}), NOW)
    assert (await offers.record_of(session, 1)).no_shows == 0


# ----------------------------------------------------------------------------- favourites


async def _maker_of(session: AsyncSession, owner: int, status: str = "approved") -> int:
    from models import Maker

    maker = Maker(
        name="Fournil <Bio>",
        category="bakery",
        latitude=BORDEAUX[0],
        longitude=BORDEAUX[1],
        status=status,
        owner_id=owner,
        source="user",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(maker)
    await session.flush()
    return maker.id


async def test_favourites_hear_of_their_makers_offers_once(session: AsyncSession) -> None:
    from bot.services import makers

    await add_users(session, POSTER, 1, 2, 3)
    maker_id = await _maker_of(session, POSTER)
    await makers.set_favourite(session, 1, maker_id, True, NOW)  # favourite only, far away
    await makers.set_favourite(session, 2, maker_id, True, NOW)  # favourite and nearby
    await offers.subscribe_alerts(session, 2, *BORDEAUX, 2, NOW)
    await offers.subscribe_alerts(session, 3, *BORDEAUX, 2, NOW)  # nearby only
    await makers.set_favourite(session, POSTER, maker_id, True, NOW)  # never the poster
    _, notices = await offers.publish(session, POSTER, draft(maker_id=maker_id), NOW)
    assert [(n.chat_id, n.params.get("maker")) for n in notices] == [
        (1, "Fournil <Bio>"),
        (2, "Fournil <Bio>"),
        (3, None),
    ]
    assert len({n.key for n in notices}) == 3
    # Not posted as the maker: the favourites are not told.
    _, notices = await offers.publish(session, POSTER, draft(), NOW)
    assert sorted(n.chat_id for n in notices) == [2, 3]


async def test_a_poster_may_still_confirm_a_no_show_for_a_day(session: AsyncSession) -> None:
    await add_users(session, POSTER, 1, 2)
    offer = await posted(session)
    late, _, _ = await offers.reserve(session, offer.id, 1, NOW)
    gone, _, _ = await offers.reserve(session, offer.id, 2, NOW)
    end = NOW + timedelta(hours=3)
    await offers.sweep_expired(session, end)
    assert (await offers.record_of(session, 1)) == offers.Record(0, 1)
    await offers.confirm_pickup(session, late.id, POSTER, end + timedelta(hours=20))
    assert (await offers.record_of(session, 1)) == offers.Record(1, 0)
    with pytest.raises(ReservationEndedError):
        await offers.confirm_pickup(session, late.id, POSTER, end + timedelta(hours=21))
    with pytest.raises(ReservationEndedError):
        await offers.confirm_pickup(session, gone.id, POSTER, end + timedelta(days=1, minutes=1))
    assert (await offers.record_of(session, 2)) == offers.Record(0, 1)
