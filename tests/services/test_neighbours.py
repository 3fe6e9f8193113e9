"""Neighbours without Telegram: geohash cells, bands, k-anonymity per radius, demo data."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.demo import load_demo_into
from bot.core.clock import ManualClock, SystemClock
from bot.core.settings import Settings
from bot.core.weeks import week_of
from bot.services import actions, neighbours
from bot.services.demo.actions import DEMO_USER_BASE
from bot.services.geo import geohash
from bot.services.neighbours import Band, NeighboursProblem
from bot.services.users import TelegramProfile, upsert_user
from models import NeighbourProfile

KM_LAT = 1 / 110.574
HOME = (44.8379173, -0.5792319)


def test_geohash_known_value_and_round_trip() -> None:
    assert geohash.encode(57.64911, 10.40744, 11) == "u4pruydqqvj"
    cell = geohash.encode(*HOME)
    assert len(cell) == 6
    south, west, north, east = geohash.bounds(cell)
    assert south <= HOME[0] < north and west <= HOME[1] < east
    assert geohash.encode(*geohash.centre(cell)) == cell
    # About 1 km: 0.6 km x 0.86 km at Bordeaux's latitude.
    assert 0.5 < (north - south) / KM_LAT < 0.7
    with pytest.raises(ValueError, match="not a geohash"):
        geohash.bounds("abc!")


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179.9, 179.9),
    distance=st.floats(0, 10.9),
    bearing=st.floats(0, 2 * math.pi),
)
def test_areas_around_meet_every_cell_within_the_radius(
    lat: float, lon: float, distance: float, bearing: float
) -> None:
    other_lat = lat + distance * math.cos(bearing) * KM_LAT
    other_lon = lon + distance * math.sin(bearing) / (111.320 * math.cos(math.radians(lat)))
    other_lon = (other_lon + 180.0) % 360.0 - 180.0
    assert geohash.encode(other_lat, other_lon, 4) in geohash.areas_around(lat, lon, 11)


def test_bands() -> None:
    assert neighbours.band_of(0) is Band.UNDER_1
    assert neighbours.band_of(0.99) is Band.UNDER_1
    assert neighbours.band_of(1) is Band.KM_1_3
    assert neighbours.band_of(3) is Band.KM_3_10
    assert neighbours.band_of(10) is None


async def _person(
    session: AsyncSession, clock: ManualClock, user_id: int, km_north: float, tz: Settings
) -> None:
    await upsert_user(session, TelegramProfile(user_id, "P", None, "fr"), clock.now())
    await neighbours.consent(session, user_id, clock.now())
    await neighbours.record_position(
        session, user_id, HOME[0] + km_north * KM_LAT, HOME[1], clock.now()
    )
    await actions.log_action(
        session, user_id=user_id, slug="bike_trip", chat_id=user_id, now=clock.now(), tz=tz.tz
    )


async def test_counts_are_shown_per_radius_only_from_three_people(
    session: AsyncSession, clock: ManualClock, settings: Settings
) -> None:
    await _person(session, clock, 1, 0, settings)
    for user_id in (2, 3, 4):
        await _person(session, clock, user_id, 0.1, settings)
    for user_id in (5, 6):
        await _person(session, clock, user_id, 6, settings)
    week = week_of(clock.now(), settings.tz)
    view = await neighbours.neighbourhood(session, 1, clock.now(), week)
    assert view.counts == {1: 3, 3: 3, 10: 5}
    assert view.activity == {"transport": 5}
    # Hidden people count nowhere, at once.
    await neighbours.set_visible(session, 2, False)
    view = await neighbours.neighbourhood(session, 1, clock.now(), week)
    assert view.counts == {1: None, 3: None, 10: 4}
    assert view.activity == {"transport": 4}
    await neighbours.set_visible(session, 5, False)
    await neighbours.set_visible(session, 6, False)
    assert (await neighbours.neighbourhood(session, 1, clock.now(), week)).too_few


async def test_problems(session: AsyncSession, clock: ManualClock, settings: Settings) -> None:
    await upsert_user(session, TelegramProfile(9, "P", None, "fr"), clock.now())
    week = week_of(clock.now(), settings.tz)
    with pytest.raises(NeighboursProblem, match="no_consent"):
        await neighbours.record_position(session, 9, *HOME, clock.now())
    await neighbours.consent(session, 9, clock.now())
    with pytest.raises(NeighboursProblem, match="no_position"):
        await neighbours.neighbourhood(session, 9, clock.now(), week)
    for bad in ("", "   ", "x" * 33, "!!!"):
        with pytest.raises(NeighboursProblem, match=r"name\.invalid"):
            await neighbours.set_display_name(session, 9, bad)
    await neighbours.set_display_name(session, 9, "  Zoé   B. ")
    profile = await neighbours.profile_of(session, 9)
    assert profile is not None and profile.display_name == "Zoé B."
    await neighbours.withdraw(session, 9)
    assert await neighbours.profile_of(session, 9) is None


async def test_demo_neighbours_show_something_and_reload_idempotently(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await load_demo_into(sessionmaker, settings)
    await load_demo_into(sessionmaker, settings)
    async with sessionmaker() as session:
        profiles = await session.scalar(select(func.count()).select_from(NeighbourProfile))
        assert profiles is not None and profiles > 10
        viewer = DEMO_USER_BASE + 1
        # The demo's logs and positions are recent in real time.
        now = SystemClock().now() + timedelta(hours=1)
        view = await neighbours.neighbourhood(session, viewer, now, week_of(now, settings.tz))
    assert not view.too_few
    assert view.counts[10] is not None and view.counts[10] >= 3
