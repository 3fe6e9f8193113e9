"""Action places without Telegram: a listing's declared actions (cleaned, moderated with
it), the nearest places enabling an action, and a log at a place once a day per person,
place and action (undo gives the day back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import action_places, actions, makers
from bot.services.action_places import (
    AlreadyLoggedHereError,
    NotAtThisPlaceError,
    PlaceNotFoundError,
)
from bot.services.makers import ListingDraft
from models import ActionLog, Maker, MakerStatus, PlaceLog, User

NOW = datetime(2026, 3, 26, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
OWNER, OTHER_OWNER, VISITOR = 700, 701, 702
BORDEAUX = (44.8378, -0.5792)


async def listing(
    session: AsyncSession, owner: int, actions_text: str, where: tuple[float, float]
) -> Maker:
    session.add(User(id=owner, first_name=f"U{owner}", created_at=NOW, last_seen_at=NOW))
    await session.flush()
    draft = ListingDraft(
        name=f"Atelier {owner}",
        category="repair",
        description="Réparations",
        latitude=where[0],
        longitude=where[1],
        city="Bordeaux",
        address="1 rue X",
        actions=actions_text,
    )
    return await makers.submit_listing(session, owner, draft, NOW)


async def test_declared_actions_are_cleaned_and_wait_for_moderation(session: AsyncSession) -> None:
    maker = await listing(
        session, OWNER, "repaired_item nonsense bike_trip repaired_item", BORDEAUX
    )
    # Catalogue order, known slugs once each.
    assert maker.actions == "bike_trip repaired_item"
    assert [a.slug for a in action_places.actions_of(maker)] == ["bike_trip", "repaired_item"]
    # Pending: not a place yet, nowhere near anyone.
    assert await action_places.nearest_places(session, "repaired_item", *BORDEAUX) == []
    with pytest.raises(PlaceNotFoundError):
        await action_places.place(session, maker.id)
    assert action_places.toggle("bike_trip", "repaired_item") == "bike_trip repaired_item"
    assert action_places.toggle("bike_trip repaired_item", "bike_trip") == "repaired_item"


async def test_nearest_places_enabling_an_action(session: AsyncSession) -> None:
    near = await listing(session, OWNER, "repaired_item", (44.84, -0.58))
    far = await listing(session, OTHER_OWNER, "repaired_item ebike_trip", (44.90, -0.60))
    session.add(User(id=VISITOR, first_name="V", created_at=NOW, last_seen_at=NOW))
    for maker in (near, far):
        maker.status = MakerStatus.APPROVED.value
    await session.flush()
    found = await action_places.nearest_places(session, "repaired_item", *BORDEAUX)
    assert [p.maker.id for p in found] == [near.id, far.id]
    assert found[0].distance_km < found[1].distance_km
    # "bike_trip" is not "ebike_trip"; nothing beyond the radius.
    assert await action_places.nearest_places(session, "bike_trip", *BORDEAUX) == []
    assert await action_places.nearest_places(session, "repaired_item", 48.85, 2.35) == []


async def test_logged_at_a_place_once_a_day(session: AsyncSession) -> None:
    maker = await listing(session, OWNER, "repaired_item", BORDEAUX)
    maker.status = MakerStatus.APPROVED.value
    session.add(User(id=VISITOR, first_name="V", created_at=NOW, last_seen_at=NOW))
    await session.flush()

    async def log(now: datetime, slug: str = "repaired_item") -> actions.LogResult:
        return await action_places.log_at_place(
            session, user_id=VISITOR, maker_id=maker.id, slug=slug, now=now, tz=PARIS
        )

    first = await log(NOW)
    assert first.action.slug == "repaired_item"
    with pytest.raises(AlreadyLoggedHereError):
        await log(NOW + timedelta(hours=2))
    # Nothing half-logged by the refused scan.
    assert await session.scalar(select(func.count()).select_from(ActionLog)) == 1
    with pytest.raises(NotAtThisPlaceError):
        await log(NOW, "bike_trip")
    # The next local day, again.
    await log(NOW + timedelta(days=1))
    # Undo deletes the log, and the place's mark with it: the day is free again.
    await actions.undo_log(
        session, user_id=VISITOR, log_id=first.log_id, now=NOW + timedelta(minutes=1), tz=PARIS
    )
    assert await session.scalar(select(func.count()).select_from(PlaceLog)) == 1
    await log(NOW + timedelta(minutes=2))
    with pytest.raises(PlaceNotFoundError):
        await action_places.log_at_place(
            session,
            user_id=VISITOR,
            maker_id=maker.id + 99,
            slug="repaired_item",
            now=NOW,
            tz=PARIS,
        )
