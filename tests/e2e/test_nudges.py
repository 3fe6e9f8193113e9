"""Scheduled nudges end to end: the real bot, its worker and sender, the test Bot API
server. The mid-week nudge's one-tap button logs the action, its snooze button snoozes,
and the Sunday recap reaches a team group as a picture."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.services import nudges
from bot.services.nudges import NudgeKind, Refusal
from bot.standin import BotApiStandIn, TgChat, TgUser, buttons
from bot.ui.callbacks.actions import ActLogCb
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import (
    ActionLog,
    Challenge,
    ChallengeParticipant,
    ChallengeScope,
    Contest,
    ContestStatus,
    OutboxMessage,
    Team,
    TeamMember,
    User,
    WeekTeamTotal,
)
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import tr

PARIS = ZoneInfo("Europe/Paris")
ALICE = TgUser(id=1301, first_name="Alice", language_code="fr")
BOB = TgUser(id=1302, first_name="Bob", language_code="en")
CAMPUS = TgChat(id=-1009876, type="supergroup", title="IUT")
FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(paris(7, 18))  # Wednesday 18:00


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(tmp_path, throttle_burst=1000, timezone="Europe/Paris")
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


async def _challenge(session: AsyncSession, participants: list[int], now: datetime) -> None:
    session.add(
        Challenge(
            title="Semaine verte",
            description="",
            action_slugs=["veggie_meal", "bike_trip"],
            weekly_target=10,
            scope=ChallengeScope.EVERYONE,
            starts_at=paris(1, 0),
            ends_at=paris(31, 0),
            created_by=1,
            created_at=paris(1, 0),
            pledge_met_weeks=0,
        )
    )
    await session.flush()
    for user_id in participants:
        session.add(ChallengeParticipant(challenge_id=1, user_id=user_id, joined_at=now))


async def test_midweek_nudge_buttons_log_and_snooze(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    assert app.background is not None
    scheduler = app.background.scheduler
    assert scheduler.next_run_at(jobs.NUDGES_JOB) is not None
    assert scheduler.next_run_at(jobs.WEEK_ROLLOVER_JOB) is not None
    await tg.reply_to(ALICE, "/start")
    async with app.sessionmaker() as session:
        await _challenge(session, [ALICE.id], clock.now())
        await session.commit()
    since = tg.mark()
    await jobs.nudge_tick()
    await jobs.nudge_tick()  # a second run queues nothing more
    assert app.background is not None
    app.background.sender.wake()
    (nudge,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    assert nudge.text.startswith("🌿 Alice, la semaine est à moitié passée")
    rows = buttons(nudge)
    assert rows[0] == [
        ("Repas végétarien au lieu de viande", ActLogCb(index=0).pack()),
        (rows[0][1][0], ActLogCb(index=6).pack()),
    ]
    assert rows[-1] == [(tr.t("nudges.button.snooze", "fr"), "nz")]

    # Snooze first (the answer is an alert; the message keeps its buttons)…
    await tg.click(ALICE, nudge, tr.t("nudges.button.snooze", "fr"), count=0)
    # …then one tap logs the action, in place.
    (logged,) = await tg.click(ALICE, nudge, "Repas végétarien")
    assert logged.method == "editMessageText"
    async with app.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(ActionLog).where(ActionLog.user_id == ALICE.id)
        )
        user = await session.get(User, ALICE.id)
        assert user is not None
        later = await nudges.may_nudge(
            session, user, NudgeKind.SUMMARY, clock.now() + timedelta(days=4), "Europe/Paris"
        )
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert count == 1
    assert later.refusal is Refusal.SNOOZED
    assert queued == 1
    # Sunday evening: snoozed, so no summary.
    clock.set(paris(11, 19, 5))
    await jobs.nudge_tick()
    async with app.sessionmaker() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["nudge.midweek"]


async def test_sunday_recap_reaches_the_team_group_as_a_picture(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    await tg.reply_to(ALICE, "/start")
    await tg.reply_to(BOB, "/start")
    now = clock.now()
    async with app.sessionmaker() as session:
        session.add(
            Contest(
                name="Campus vert",
                join_code="ABC123",
                status=ContestStatus.OPEN,
                created_by=1,
                created_at=now,
            )
        )
        await session.flush()
        session.add(
            Team(
                contest_id=1,
                chat_id=CAMPUS.id,
                name="IUT <Talence>",
                registered_by=1,
                created_at=now,
            )
        )
        await session.flush()
        for person in (ALICE, BOB):
            session.add(TeamMember(team_id=1, user_id=person.id, contest_id=1, joined_at=now))
        session.add(
            WeekTeamTotal(
                week_start=datetime(2026, 1, 5).date(),
                team_id=1,
                contest_id=1,
                actions=7,
                co2e_g=3500,
                active_members=1,
            )
        )
        await session.commit()
    # Not before Sunday 19:00.
    clock.set(paris(11, 18, 55))
    await jobs.nudge_tick()
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    clock.set(paris(11, 19, 0))
    since = tg.mark()
    await jobs.nudge_tick()
    await jobs.nudge_tick()
    assert app.background is not None
    app.background.sender.wake()
    (recap,) = await tg.wait_for("sendPhoto", chat_id=CAMPUS.id, since=since, timeout=10)
    assert "IUT <Talence>" in recap.text and "7 éco-gestes" in recap.text
    photo_id = recap.result["photo"][-1]["file_id"]
    content = tg.file_content(photo_id)
    assert content
    with Image.open(io.BytesIO(content)) as image:
        image.load()
        assert image.format == "PNG" and image.width == 1080
    taps = [data for row in buttons(recap) for _, data in row]
    assert taps and all(data is not None and data.startswith("al:") for data in taps)
    # A member taps one in the group: it is logged for them.
    await tg.click(BOB, recap, "Repas végétarien", count=1)
    async with app.sessionmaker() as session:
        logs = list(await session.scalars(select(ActionLog.user_id)))
        recaps = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.chat_id == CAMPUS.id)
        )
    assert logs == [BOB.id]
    assert recaps == 1
