"""Recurring offers without Telegram: a template publishes at its local time each chosen
day (across a change of daylight saving time), exactly once a day, catches up only an
occurrence still open, and honours pause, skip and its owner."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import offer_templates, offers
from bot.services.offer_templates import TemplateError, TemplateNotFoundError
from bot.services.offers import OfferDraft
from models import Offer, OfferStatus, OfferTemplate, OfferTemplateRun, User

PARIS = ZoneInfo("Europe/Paris")
POSTER, OTHER = 500, 501
BORDEAUX = (44.8378, -0.5792)
# Thursday 26 March 2026; Paris moves to summer time on Sunday 29 March.
THURSDAY = datetime(2026, 3, 26, 15, 0, tzinfo=PARIS).astimezone(UTC)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


async def setup(session: AsyncSession, days: int = offer_templates.EVERY_DAY) -> OfferTemplate:
    """The poster's offer of Thursday 18:00-19:00 (posted at 18:00) saved as a template."""
    for user_id in (POSTER, OTHER):
        session.add(
            User(id=user_id, first_name=f"U{user_id}", created_at=THURSDAY, last_seen_at=THURSDAY)
        )
    await session.flush()
    posted_at = local(THURSDAY.date(), 18)
    offer, _ = await offers.publish(
        session,
        POSTER,
        OfferDraft(
            title="Pain invendu",
            description="Baguettes du jour",
            category="bakery",
            quantity=4,
            pickup_end=local(THURSDAY.date(), 19),
            latitude=BORDEAUX[0],
            longitude=BORDEAUX[1],
            address="Rue Sainte-Catherine",
            pickup_note="Sonnez à la porte de derrière",
        ),
        posted_at,
    )
    template = await offer_templates.save_from_offer(
        session, POSTER, offer.id, days, "Europe/Paris", posted_at + timedelta(minutes=5)
    )
    await session.commit()
    return template


async def published_offers(session: AsyncSession) -> list[Offer]:
    rows = await session.scalars(
        select(Offer).where(Offer.poster_id == POSTER).order_by(Offer.id).offset(1)
    )
    return list(rows.all())


async def sweep_every_minute(session: AsyncSession, start: datetime, end: datetime) -> int:
    """Run the sweep each minute from `start` to `end` (like the worker); how many published."""
    count = 0
    now = start
    while now <= end:
        count += len(await offer_templates.publish_due(session, now))
        await session.commit()
        now += timedelta(minutes=1)
    return count


async def test_a_week_across_the_dst_change_publishes_at_18h_local_each_day(
    session: AsyncSession,
) -> None:
    template = await setup(session)
    assert (template.start_time, template.end_time) == (time(18), time(19))
    # Thursday's offer is the source: nothing more that day, then one each day at 18:00.
    friday = THURSDAY.date() + timedelta(days=1)
    for offset in range(7):
        day = friday + timedelta(days=offset)
        # An hour around the start, minute by minute, and once more later in the window.
        assert await sweep_every_minute(session, local(day, 17, 30), local(day, 18, 30)) == 1
        assert await sweep_every_minute(session, local(day, 18, 31), local(day, 18, 32)) == 0
    found = await published_offers(session)
    assert len(found) == 7
    for offset, offer in enumerate(found):
        day = friday + timedelta(days=offset)
        assert offer.pickup_start.astimezone(PARIS).replace(tzinfo=None) == datetime.combine(
            day, time(18)
        )
        assert offer.pickup_end.astimezone(PARIS).time() == time(19)
        assert offer.title == "Pain invendu" and offer.quantity_left == 4
        assert offer.pickup_note == "Sonnez à la porte de derrière"
    # 18:00 is 17:00 UTC before the change and 16:00 UTC after it.
    assert found[0].pickup_start.hour == 17 and found[-1].pickup_start.hour == 16


async def test_weekdays_only(session: AsyncSession) -> None:
    await setup(session, offer_templates.WEEKDAYS)
    saturday = date(2026, 3, 28)
    for offset in range(3):  # Saturday, Sunday, Monday
        day = saturday + timedelta(days=offset)
        await sweep_every_minute(session, local(day, 18), local(day, 18, 2))
    [offer] = await published_offers(session)
    assert offer.pickup_start.astimezone(PARIS).date() == date(2026, 3, 30)


async def test_catch_up_publishes_only_an_occurrence_still_open(session: AsyncSession) -> None:
    template = await setup(session)
    friday = date(2026, 3, 27)
    # Down all of Friday's window, back at 19:30: Friday is not published late.
    assert await offer_templates.publish_due(session, local(friday, 19, 30)) == []
    # Down from 17:00 to 18:40 on Saturday: Saturday's offer comes, for what is left.
    saturday = friday + timedelta(days=1)
    [done] = await offer_templates.publish_due(session, local(saturday, 18, 40))
    assert done.template_id == template.id
    assert done.offer.pickup_start == local(saturday, 18)
    assert done.offer.pickup_end == local(saturday, 19)
    # Five minutes before the end is too late (like a new offer, 10 minutes at least).
    sunday = saturday + timedelta(days=1)
    assert await offer_templates.publish_due(session, local(sunday, 18, 55)) == []


async def test_exactly_once_even_when_two_sweeps_race(session: AsyncSession) -> None:
    await setup(session)
    friday = date(2026, 3, 27)
    first = await offer_templates.publish_due(session, local(friday, 18, 1))
    second = await offer_templates.publish_due(session, local(friday, 18, 2))
    assert len(first) == 1 and second == []
    runs = await session.scalar(select(func.count()).select_from(OfferTemplateRun))
    assert runs == 2  # Thursday's (the source offer) and Friday's


async def test_skip_next_and_take_it_back(session: AsyncSession) -> None:
    template = await setup(session)
    friday = date(2026, 3, 27)
    now = local(friday, 9)
    assert await offer_templates.skip_next(session, POSTER, template.id, now) == friday
    [entry] = await offer_templates.entries(session, POSTER, now)
    assert entry.skipped == [friday]
    assert entry.next_start == local(friday + timedelta(days=1), 18)
    assert await offer_templates.publish_due(session, local(friday, 18, 1)) == []
    # Skip Saturday too, then change one's mind before it comes.
    assert await offer_templates.skip_next(session, POSTER, template.id, now) == date(2026, 3, 28)
    assert await offer_templates.unskip(session, POSTER, template.id, local(friday, 20)) == 1
    saturday = friday + timedelta(days=1)
    assert len(await offer_templates.publish_due(session, local(saturday, 18, 1))) == 1


async def test_pause_and_resume(session: AsyncSession) -> None:
    template = await setup(session)
    friday = date(2026, 3, 27)
    await offer_templates.set_paused(session, POSTER, template.id, True)
    assert await offer_templates.publish_due(session, local(friday, 18, 1)) == []
    [entry] = await offer_templates.entries(session, POSTER, local(friday, 18, 1))
    assert entry.next_start is None
    # Resumed during Saturday's window: Saturday's offer is published at once.
    await offer_templates.set_paused(session, POSTER, template.id, False)
    saturday = friday + timedelta(days=1)
    assert len(await offer_templates.publish_due(session, local(saturday, 18, 20))) == 1


async def test_only_the_poster_manages_a_template(session: AsyncSession) -> None:
    template = await setup(session)
    source = await session.scalar(select(Offer.id).where(Offer.poster_id == POSTER))
    assert source is not None
    now = local(date(2026, 3, 27), 9)
    with pytest.raises(TemplateNotFoundError):
        await offer_templates.save_from_offer(
            session, OTHER, source, offer_templates.EVERY_DAY, "Europe/Paris", now
        )
    for call in (
        offer_templates.set_paused(session, OTHER, template.id, True),
        offer_templates.skip_next(session, OTHER, template.id, now),
        offer_templates.unskip(session, OTHER, template.id, now),
        offer_templates.remove(session, OTHER, template.id),
    ):
        with pytest.raises(TemplateNotFoundError):
            await call
    with pytest.raises(TemplateError):
        await offer_templates.save_from_offer(session, POSTER, source, 0, "Europe/Paris", now)
    # Saving the same offer again changes the days of the same template.
    again = await offer_templates.save_from_offer(
        session, POSTER, source, offer_templates.WEEKDAYS, "Europe/Paris", now
    )
    assert again.id == template.id and again.days == offer_templates.WEEKDAYS
    assert await offer_templates.count_for(session, POSTER) == 1


async def test_a_window_crossing_midnight(session: AsyncSession) -> None:
    template = await setup(session)
    template.start_time, template.end_time = time(22), time(1)
    await session.commit()
    friday = date(2026, 3, 27)
    [done] = await offer_templates.publish_due(session, local(friday + timedelta(days=1), 0, 10))
    # Found after midnight: Friday's occurrence, still open until 01:00.
    assert done.offer.pickup_start == local(friday, 22)
    assert done.offer.pickup_end == local(friday + timedelta(days=1), 1)


async def test_an_offer_removed_by_moderation_pauses_its_template(session: AsyncSession) -> None:
    template = await setup(session)
    friday = date(2026, 3, 27)
    [done] = await offer_templates.publish_due(session, local(friday, 18, 1))
    done.offer.status = OfferStatus.REMOVED.value
    await session.commit()
    saturday = friday + timedelta(days=1)
    assert await offer_templates.publish_due(session, local(saturday, 18, 1)) == []
    await session.refresh(template)
    assert template.paused
