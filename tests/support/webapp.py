"""For the dashboard's tests: init data signed as Telegram signs them, and a small town's
worth of figures (a contest with three teams, a challenge, offers, a moderation queue).

The signature is made here from Telegram's specification, independently of aiogram (whose
check the server uses): a data-check string of the sorted `key=value` fields joined by
newlines, HMAC-SHA256 with the key HMAC-SHA256("WebAppData", bot token), in hex.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.services import actions, challenges, contests, makers, offers
from bot.services.users import TelegramProfile, upsert_user
from models import ChallengeScope, ReportReason

ORGANISER = 1001
RESIDENT = 2002
PEOPLE = tuple(range(3001, 3013))
CONTEST = "Mets ton campus à l'an vert"
TEAMS = (
    (-100501, "Campus des Chartrons"),
    (-100502, "IUT des Capucins"),
    (-100503, "Fac de la Bastide"),
)
CHALLENGE = "Semaine végé au resto U"
PLEDGE = "À 40 repas végétariens, le resto U sert un menu végé de plus chaque jour."
# Dark Telegram theme, as a Telegram app passes it.
DARK_THEME = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "section_bg_color": "#17212b",
    "accent_text_color": "#6ab2f2",
}


def sign_init_data(
    token: str,
    user_id: int | None,
    auth_date: datetime,
    *,
    first_name: str = "Camille",
    **extra: str,
) -> str:
    """Init data for `user_id` (None: without a user), signed with the bot token."""
    fields: dict[str, str] = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "auth_date": str(int(auth_date.timestamp())),
        **extra,
    }
    if user_id is not None:
        fields["user"] = json.dumps(
            {"id": user_id, "first_name": first_name, "language_code": "fr"},
            separators=(",", ":"),
            ensure_ascii=False,
        )
    check = "\n".join(f"{key}={fields[key]}" for key in sorted(fields))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def forge(init_data: str, user_id: int) -> str:
    """The same init data claiming another user, signature kept (what an attacker can do)."""
    return init_data.replace(quote(f'"id":{ORGANISER}'), quote(f'"id":{user_id}'))


def launch_fragment(init_data: str, theme: dict[str, str] | None = None) -> str:
    """The address fragment a Telegram app gives a Mini App it opens."""
    params = {
        "tgWebAppData": init_data,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": "tdesktop",
        "tgWebAppThemeParams": json.dumps(theme or {}),
    }
    return "#" + urlencode(params, quote_via=quote)


def web_settings(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={"organiser_ids": frozenset({ORGANISER}), "screen_refresh_seconds": 0.5, **overrides}
    )


@dataclass(frozen=True, slots=True)
class Seeded:
    contest_id: int
    team_ids: list[int]
    challenge_id: int
    offer_id: int


async def seed(
    sessionmaker: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    settings: Settings,
    now: datetime,
) -> Seeded:
    """Four weeks of a campus contest up to `now`; figures the tests can count by hand:
    this week, team 1 logs 6 actions by 2 people, team 2 logs 4 by 4, team 3 none."""
    tz = settings.tz
    start = now - timedelta(weeks=4)
    async with sessionmaker() as session:
        for user_id in (ORGANISER, RESIDENT, *PEOPLE):
            await upsert_user(session, TelegramProfile(user_id, f"P{user_id}", None, "fr"), start)
        contest = await contests.create_contest(session, CONTEST, ORGANISER, {ORGANISER}, start)
        teams = []
        for chat_id, title in TEAMS:
            team, _, _ = await contests.register_team(
                session, contest.join_code, chat_id, title, ORGANISER, start
            )
            teams.append(team)
        # Four people per team.
        for index, person in enumerate(PEOPLE):
            await contests.join_team(session, teams[index // 4].id, person, start)
        challenge = await challenges.create_challenge(
            session,
            challenges.ChallengeDraft(
                title=CHALLENGE,
                description="",
                action_slugs=("veggie_meal",),
                weekly_target=40,
                scope=ChallengeScope.EVERYONE,
                contest_id=None,
                team_id=None,
                pledge=PLEDGE,
                last_day=(now + timedelta(weeks=4)).astimezone(tz).date(),
            ),
            ORGANISER,
            {ORGANISER},
            start,
            tz,
        )
        for person in PEOPLE:
            await challenges.join_challenge(session, challenge.id, person, start)
        # Earlier weeks: a little of everything, so the charts have a history.
        for weeks_back in (3, 2, 1):
            instant = now - timedelta(weeks=weeks_back)
            for n, person in enumerate(PEOPLE[: 4 + 2 * weeks_back]):
                slug = ("veggie_meal", "bike_trip", "repaired_item")[n % 3]
                await actions.log_action(
                    session, user_id=person, slug=slug, chat_id=person, now=instant, tz=tz
                )
        # This week: team 1 (3001-3004) 6 actions by 3001 and 3002; team 2 (3005-3008)
        # one each.
        for person, slug in (
            (3001, "veggie_meal"),
            (3001, "bike_trip"),
            (3001, "repaired_item"),
            (3002, "veggie_meal"),
            (3002, "bike_trip"),
            (3002, "repaired_item"),
            (3005, "veggie_meal"),
            (3006, "veggie_meal"),
            (3007, "bike_trip"),
            (3008, "bike_trip"),
        ):
            await actions.log_action(
                session, user_id=person, slug=slug, chat_id=person, now=now, tz=tz
            )
        offer, _ = await offers.publish(
            session,
            RESIDENT,
            offers.OfferDraft(
                title="Pain de la veille",
                description="Six baguettes, à retirer avant la fermeture.",
                quantity=3,
                pickup_end=now + timedelta(hours=5),
                latitude=44.84,
                longitude=-0.58,
                address="Place de la Bourse",
            ),
            now,
        )
        reservation, _, _ = await offers.reserve(session, offer.id, 3001, now)
        await offers.reserve(session, offer.id, 3002, now)
        await offers.confirm_pickup(session, reservation.id, RESIDENT, now)
        await offers.report_offer(session, offer.id, 3003, ReportReason.SPAM, now)
        await makers.submit_listing(
            session,
            3004,
            makers.ListingDraft(
                name="Atelier Vélo Solidaire",
                category="repair",
                description="Réparation de vélos à prix libre, le samedi.",
                address="12 rue des Menuisiers",
                latitude=44.85,
                longitude=-0.57,
                city="Bordeaux",
            ),
            now,
        )
        await session.commit()
        return Seeded(contest.id, [team.id for team in teams], challenge.id, offer.id)
