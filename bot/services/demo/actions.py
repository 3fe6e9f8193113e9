"""Demo data for eco-actions: the campus contest « Mets ton campus à l'an vert » with three
fictional campus groups, two public weekly challenges (one with a pledge) and a few hundred
actions logged by demo people over the last weeks. Idempotent: the contest's join code
marks it as loaded.

The logs go through `log_action`, so every weekly table is filled exactly as in real use;
the demo runs at the real present (SystemClock), since it shows "this week".
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import SystemClock
from bot.core.settings import Settings
from bot.core.weeks import local_midnight, week_of
from bot.services import actions, challenges, contests
from bot.services.catalogue import ActionCategory, default_catalogue
from bot.services.users import TelegramProfile, upsert_user
from models import ChallengeScope, Contest, ContestStatus

DEMO_CODE = "ANVERT"
DEMO_CONTEST = "Mets ton campus à l'an vert"
# Far above the Telegram ids in use today (and below 2**52): never a real person.
DEMO_USER_BASE = 4_000_000_000_000_000
DEMO_ORGANISER = DEMO_USER_BASE
TEAMS = (
    (-1009000000001, "Campus des Chartrons (démo)"),
    (-1009000000002, "IUT des Capucins (démo)"),
    (-1009000000003, "Fac de la Bastide (démo)"),
)
FIRST_NAMES = (
    "Léa",
    "Hugo",
    "Chloé",
    "Louis",
    "Inès",
    "Nathan",
    "Manon",
    "Théo",
    "Camille",
    "Jules",
    "Zoé",
    "Enzo",
    "Lina",
    "Rayan",
    "Jade",
    "Noah",
    "Sarah",
    "Tom",
    "Emma",
    "Adam",
    "Alice",
    "Lucas",
    "Anaïs",
    "Yanis",
    "Clara",
    "Malo",
    "Lou",
    "Sacha",
    "Éloïse",
    "Gabriel",
)
WEEKS_BACK = 3
LOGS = 260


def _between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))


async def load_actions_demo(session: AsyncSession, settings: Settings) -> str:
    if await session.scalar(select(Contest.id).where(Contest.join_code == DEMO_CODE)):
        return "eco-actions: demo contest already loaded"
    tz = settings.tz
    now = SystemClock().now()
    start = local_midnight(week_of(now, tz) - timedelta(weeks=WEEKS_BACK), tz)
    rng = random.Random(2026)
    organiser_ids = {DEMO_ORGANISER}

    await upsert_user(session, TelegramProfile(DEMO_ORGANISER, "Greenhood", None, "fr"), start)
    people: list[int] = []
    for n, name in enumerate(FIRST_NAMES, start=1):
        user = await upsert_user(
            session, TelegramProfile(DEMO_USER_BASE + n, name, None, "fr"), start
        )
        people.append(user.id)
        if n % 3 == 0:
            await actions.set_show_name(session, user.id, True)

    contest = Contest(
        name=DEMO_CONTEST,
        join_code=DEMO_CODE,
        status=ContestStatus.OPEN,
        created_by=DEMO_ORGANISER,
        created_at=start,
    )
    session.add(contest)
    await session.flush()
    teams = []
    for chat_id, title in TEAMS:
        team, _, _ = await contests.register_team(
            session, DEMO_CODE, chat_id, title, DEMO_ORGANISER, start
        )
        teams.append(team)
    # Uneven teams, so the per-active-member ranking has something to show.
    for position, person in enumerate(people):
        team = teams[0] if position < 14 else teams[1] if position < 24 else teams[2]
        await contests.join_team(session, team.id, person, start)

    last_day = (now + timedelta(weeks=8)).astimezone(tz).date()
    food = tuple(a.slug for a in default_catalogue().in_category(ActionCategory.FOOD))
    transport = tuple(a.slug for a in default_catalogue().in_category(ActionCategory.TRANSPORT))
    veggie = await challenges.create_challenge(
        session,
        challenges.ChallengeDraft(
            title="Semaine végé au resto U",
            description="Chaque repas végétarien ou de saison compte. À 60 par semaine, "
            "le resto U s'engage.",
            action_slugs=food,
            weekly_target=60,
            scope=ChallengeScope.EVERYONE,
            contest_id=None,
            team_id=None,
            pledge="Si nous atteignons 60 repas végétariens cette semaine, le restaurant "
            "universitaire sert un menu végétarien de plus chaque jour.",
            last_day=last_day,
        ),
        DEMO_ORGANISER,
        organiser_ids,
        start,
        tz,
    )
    bike = await challenges.create_challenge(
        session,
        challenges.ChallengeDraft(
            title="Au campus sans voiture",
            description="Vélo, marche, bus, tram, covoiturage : tous les trajets comptent.",
            action_slugs=transport,
            weekly_target=100,
            scope=ChallengeScope.EVERYONE,
            contest_id=None,
            team_id=None,
            pledge=None,
            last_day=last_day,
        ),
        DEMO_ORGANISER,
        organiser_ids,
        start,
        tz,
    )
    for person in people:
        for challenge in (veggie, bike):
            if rng.random() < 0.8:
                await challenges.join_challenge(session, challenge.id, person, start)

    slugs = [action.slug for action in default_catalogue()]
    this_week = local_midnight(week_of(now, tz), tz)
    # A third of the logs in the current week, so "this week" looks alive on any day.
    instants = sorted(
        _between(rng, start, this_week) if n % 3 else _between(rng, this_week, now)
        for n in range(LOGS)
    )
    logged = 0
    for instant in instants:
        person = rng.choice(people)
        slug = rng.choice(food + transport) if rng.random() < 0.7 else rng.choice(slugs)
        try:
            await actions.log_action(
                session, user_id=person, slug=slug, chat_id=person, now=instant, tz=tz
            )
        except actions.DailyCapError:
            continue
        logged += 1
    await challenges.roll_over(session, now, tz)
    return (
        f"eco-actions: contest {DEMO_CONTEST!r} (code {DEMO_CODE}), {len(TEAMS)} teams, "
        f"2 challenges, {len(people)} people, {logged} logged actions"
    )
