"""/broadcast to a challenge's participants and to a contest's team groups, end to end:
the organiser picks the challenge or the contest with buttons, the counts show in the
preview, and every recipient gets the message exactly once."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.services import audiences
from bot.services.audiences import AudienceKind
from bot.standin import BotApiStandIn, TgUser, buttons
from bot.worker.background import BackgroundTiming
from models import (
    Challenge,
    ChallengeParticipant,
    ChallengeScope,
    Contest,
    ContestStatus,
    Team,
    User,
)
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text as plain
from tests.support.texts import tr

ORGANISER = TgUser(id=500, first_name="Olga", language_code="fr")
FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)
NOW = datetime(2026, 1, 7, 10, tzinfo=UTC)
GROUPS = [-100111, -100222]
CLOSED_GROUP = -100333


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(
        tmp_path, organiser_ids=str(ORGANISER.id), broadcast_rate=200, throttle_burst=1000
    )
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


async def _world(session: AsyncSession) -> None:
    for user_id in (601, 602, 603, 604):
        session.add(
            User(
                id=user_id,
                first_name=f"P{user_id}",
                is_active=user_id != 604,  # blocked the bot
                created_at=NOW,
                last_seen_at=NOW,
            )
        )
    for title in ("Vélo au boulot", "Semaine verte"):
        session.add(
            Challenge(
                title=title,
                description="",
                action_slugs=["bike_trip"],
                weekly_target=10,
                scope=ChallengeScope.EVERYONE,
                starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                ends_at=datetime(2026, 2, 1, tzinfo=UTC),
                created_by=ORGANISER.id,
                created_at=NOW,
                pledge_met_weeks=0,
            )
        )
    await session.flush()
    for user_id in (601, 602, 604):
        session.add(ChallengeParticipant(challenge_id=2, user_id=user_id, joined_at=NOW))
    session.add(ChallengeParticipant(challenge_id=1, user_id=603, joined_at=NOW))
    for contest_id, (name, status) in enumerate(
        [("Campus vert", ContestStatus.OPEN), ("Ancien", ContestStatus.CLOSED)], start=1
    ):
        session.add(
            Contest(
                name=name,
                join_code=f"CODE{contest_id}",
                status=status,
                created_by=ORGANISER.id,
                created_at=NOW,
            )
        )
    await session.flush()
    for chat_id in GROUPS:
        session.add(
            Team(
                contest_id=1,
                chat_id=chat_id,
                name=f"T{chat_id}",
                registered_by=ORGANISER.id,
                created_at=NOW,
            )
        )
    session.add(
        Team(
            contest_id=2,
            chat_id=CLOSED_GROUP,
            name="old",
            registered_by=ORGANISER.id,
            created_at=NOW,
        )
    )
    await session.commit()


def received(tg: BotApiStandIn, text: str) -> collections.Counter[int]:
    return collections.Counter(
        c.chat_id
        for c in tg.calls
        if c.method == "sendMessage" and c.ok and c.text == text and c.chat_id is not None
    )


async def _broadcast(tg: BotApiStandIn, audience_label: str, target_label: str, text: str) -> str:
    (ask,) = await tg.reply_to(ORGANISER, "/broadcast")
    (pick,) = await tg.click(ORGANISER, ask, audience_label)
    (ask_text,) = await tg.click(ORGANISER, pick, target_label)
    assert ask_text.text == plain("broadcast.ask_text")
    (photo_step,) = await tg.reply_to(ORGANISER, text)
    *_, button_step = await tg.click(ORGANISER, photo_step, "Passer", count=2)
    *_, review = await tg.click(ORGANISER, button_step, "Passer", count=4)
    await tg.click(ORGANISER, review, "Envoyer maintenant")
    return review.text


async def _wait_for_report(tg: BotApiStandIn, sent: int) -> None:
    """The final report: every message of the broadcast has had its outcome."""
    prefix = plain(
        "broadcast.report.done", id=1, sent=sent, total=sent, blocked=0, failed=0, duration="X"
    ).split("Durée")[0]
    await tg.wait_for(
        "sendMessage",
        chat_id=ORGANISER.id,
        since=0,
        timeout=15,
        predicate=lambda c: c.text.startswith(prefix),
    )


async def test_participants_of_a_challenge(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    async with app.sessionmaker() as session:
        await _world(session)
    await tg.reply_to(ORGANISER, "/start")
    (ask,) = await tg.reply_to(ORGANISER, "/broadcast")
    labels = [label for row in buttons(ask) for label, _ in row]
    # Everyone reachable who takes part in some challenge: 601, 602, 603.
    assert tr.t("broadcast.audience.challenge", "fr", count=3) in labels
    assert tr.t("broadcast.audience.teams", "fr", count=2) in labels
    (pick,) = await tg.click(ORGANISER, ask, "Participants d'un défi")
    assert pick.text == plain("broadcast.ask_challenge")
    assert [label for row in buttons(pick) for label, _ in row][:2] == [
        "Semaine verte (2)",
        "Vélo au boulot (1)",
    ]
    review = await _broadcast(tg, "Participants d'un défi", "Semaine verte", "Défi : on lâche rien")
    assert "les participants du défi « Semaine verte » (2)" in review
    await _wait_for_report(tg, 2)
    # The organiser's one is the preview.
    assert received(tg, "Défi : on lâche rien") == {ORGANISER.id: 1, 601: 1, 602: 1}


async def test_team_groups_of_a_contest(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    async with app.sessionmaker() as session:
        await _world(session)
    await tg.reply_to(ORGANISER, "/start")
    review = await _broadcast(
        tg, "Groupes des équipes", "Campus vert", "Finale du concours samedi !"
    )
    assert "les groupes des équipes du concours « Campus vert » (2)" in review
    await _wait_for_report(tg, 2)
    assert received(tg, "Finale du concours samedi !") == {
        ORGANISER.id: 1,
        GROUPS[0]: 1,
        GROUPS[1]: 1,
    }


async def test_resolvers_and_targets(session: AsyncSession) -> None:
    await _world(session)
    assert await audiences.resolve(session, AudienceKind.CHALLENGE, 2) == [601, 602]
    assert await audiences.resolve(session, AudienceKind.CHALLENGE, None) == []
    assert sorted(await audiences.resolve(session, AudienceKind.CONTEST_TEAMS, 1)) == sorted(GROUPS)
    # A closed contest is not offered, and resolves to nothing.
    assert await audiences.resolve(session, AudienceKind.CONTEST_TEAMS, 2) == []
    contests = await audiences.targets(session, AudienceKind.CONTEST_TEAMS, NOW)
    assert [(c.id, c.count) for c in contests] == [(1, 2)]
