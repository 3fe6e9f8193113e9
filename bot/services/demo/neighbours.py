"""Demo neighbours: the fictional people of the actions demo, spread around Bordeaux, so
/neighbours in the terminal chat shows counts, activity and a few public profiles."""

from __future__ import annotations

import math
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import SystemClock
from bot.core.settings import Settings
from bot.services.demo.actions import DEMO_USER_BASE, FIRST_NAMES
from bot.services.geo import geohash
from models import NeighbourProfile, User

CENTRE = (44.8378, -0.5792)
FARTHEST_KM = 9.0


async def load_neighbours_demo(session: AsyncSession, settings: Settings) -> str:
    now = SystemClock().now()
    ids = [DEMO_USER_BASE + n for n in range(1, len(FIRST_NAMES) + 1)]
    people = {
        user.id: user.first_name
        for user in await session.scalars(select(User).where(User.id.in_(ids)))
    }
    rng = random.Random(2027)
    placed = 0
    for user_id in ids:
        if user_id not in people:
            continue
        distance = FARTHEST_KM * math.sqrt(rng.random())
        bearing = rng.random() * 2 * math.pi
        latitude = CENTRE[0] + distance * math.cos(bearing) / 110.574
        longitude = CENTRE[1] + distance * math.sin(bearing) / (
            111.320 * math.cos(math.radians(CENTRE[0]))
        )
        profile = await session.get(NeighbourProfile, user_id)
        if profile is None:
            profile = NeighbourProfile(user_id=user_id, consented_at=now, visible=True)
            # One in three chose a public name.
            profile.display_name = people[user_id] if user_id % 3 == 0 else None
            session.add(profile)
        # Re-running refreshes the positions, which would otherwise expire after 30 days.
        profile.cell = geohash.encode(latitude, longitude)
        profile.cell_updated_at = now
        placed += 1
    await session.flush()
    return f"neighbours: {placed} demo people placed around Bordeaux (coarse cells)"
