"""Recurring offers end to end: a baker repeats an offer from /myoffers, and the worker's
jobs publish it at 18:00 Paris time each day for a week (across the change to summer
time), exactly once a day across a restart of the bot; alerts go out as for any offer;
the templates screen skips the next one and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import offers
from bot.services.offers import OfferDraft
from bot.standin import BotApiStandIn, RecordedCall, TgUser, buttons
from bot.worker.background import BackgroundTiming
from models import Offer, OutboxMessage, User
from models.database import create_sessionmaker
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import tr

BAKER = TgUser(id=3201, first_name="Basile", language_code="fr")
NEIGHBOUR = TgUser(id=3202, first_name="Nina", language_code="en")
BORDEAUX = (44.8378, -0.5792)
PARIS = ZoneInfo("Europe/Paris")
FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)
# Thursday 26 March 2026; Paris moves to summer time on Sunday 29 March.
THURSDAY = date(2026, 3, 26)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return make_settings(tmp_path, throttle_burst=1000)  # type: ignore[arg-type]


def labels(call: RecordedCall) -> list[str]:
    return [label for row in buttons(call) for label, _ in row]


async def tick(app: RunningBot) -> None:
    """What the worker does every minute (its jobs, run now with the manual clock)."""
    assert app.background is not None
    await app.background.run_periodic_jobs()


def sessions(app: RunningBot) -> async_sessionmaker[AsyncSession]:
    """Straight to the database: after a restart, the new process's update tracker does
    not know the updates the first one handled (reading waits for nothing here; every
    step below waits for its reply or runs the jobs itself)."""
    return create_sessionmaker(app.engine)


async def template_offers(app: RunningBot) -> list[Offer]:
    async with sessions(app)() as session:
        rows = await session.scalars(
            select(Offer).where(Offer.poster_id == BAKER.id).order_by(Offer.id).offset(1)
        )
        return list(rows.all())


async def test_published_at_local_time_each_day_once_across_a_restart(
    tg: BotApiStandIn, settings: Settings, clock: ManualClock
) -> None:
    clock.set(local(THURSDAY, 18))
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        await tg.reply_to(BAKER, "/start")
        await tg.reply_to(NEIGHBOUR, "/start")
        await tg.reply_to(NEIGHBOUR, "/alerts")
        async with app.sessionmaker() as session:
            await offers.subscribe_alerts(session, NEIGHBOUR.id, *BORDEAUX, 5, clock.now())
            await offers.publish(
                session,
                BAKER.id,
                OfferDraft(
                    title="Pain invendu",
                    description="Baguettes & co",
                    category="bakery",
                    quantity=5,
                    pickup_end=local(THURSDAY, 19),
                    latitude=BORDEAUX[0],
                    longitude=BORDEAUX[1],
                    address="Rue Sainte-Catherine",
                ),
                clock.now(),
            )
            await session.commit()
        clock.set(local(THURSDAY, 18, 5))
        # /myoffers: the offer's card carries "🔁 Répéter".
        [card] = await tg.reply_to(BAKER, "/myoffers")
        repeat = tr.t("offer_templates.button.repeat", "fr")
        assert repeat in labels(card)
        [question] = await tg.click(BAKER, card, repeat)
        assert "Pain invendu" in str(question.text) and "18:00–19:00" in str(question.text)
        # Pick the days one by one: all seven, then save.
        for weekday in range(7):
            since = tg.mark()
            pick = tr.t("offer_templates.days.pick", "fr") if weekday == 0 else None
            if pick is not None:
                await tg.click(BAKER, question, pick, count=0)
                [question] = await tg.wait_for("editMessageReplyMarkup", since=since)
                since = tg.mark()
            untoggled = [label for label in labels(question) if not label.startswith("✅")]
            await tg.click(BAKER, question, untoggled[0], count=0)
            [question] = await tg.wait_for("editMessageReplyMarkup", since=since)
        since = tg.mark()
        await tg.click(BAKER, question, tr.t("offer_templates.days.save", "fr"), count=0)
        [saved] = await tg.wait_for("editMessageText", since=since)
        assert tr.t("offer_templates.days.every_day", "fr") in str(saved.params["text"])
        # Nothing more on Thursday: its offer is the one repeated.
        await tick(app)
        assert await template_offers(app) == []
        for offset in range(1, 5):  # Friday to Monday, the change of time in between
            day = THURSDAY + timedelta(days=offset)
            clock.set(local(day, 17, 59))
            await tick(app)
            assert len(await template_offers(app)) == offset - 1
            clock.set(
                local(
                    day,
                    18,
                    0,
                )
                + timedelta(seconds=20)
            )
            await tick(app)
            await tick(app)
            assert len(await template_offers(app)) == offset
    # Restart on Monday 18:30: the job runs again at once, Monday stays published once.
    clock.set(local(THURSDAY + timedelta(days=4), 18, 30))
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        await tick(app)
        assert len(await template_offers(app)) == 4
        for offset in range(5, 8):  # Tuesday to Thursday
            day = THURSDAY + timedelta(days=offset)
            clock.set(local(day, 18, 1))
            await tick(app)
            await tick(app)
        published = await template_offers(app)
        assert len(published) == 7
        starts = [offer.pickup_start.astimezone(PARIS) for offer in published]
        assert [start.date() for start in starts] == [
            THURSDAY + timedelta(days=offset) for offset in range(1, 8)
        ]
        assert {start.time() for start in starts} == {time(18)}
        assert {offer.pickup_end.astimezone(PARIS).time() for offer in published} == {time(19)}
        # Like any new offer, each one alerted the neighbour (first day at least: caps).
        async with sessions(app)() as session:
            alerts = (
                await session.scalars(
                    select(OutboxMessage.idempotency_key).where(
                        OutboxMessage.chat_id == NEIGHBOUR.id,
                        OutboxMessage.kind.like("nudge%"),
                    )
                )
            ).all()
            assert alerts, "no alert queued for the neighbour"
            assert await session.get(User, BAKER.id) is not None

        # The templates screen, from /myoffers: skip the next one (Friday), then pause.
        # The entry, then the cards of the offers of the last day (Wednesday and Thursday).
        calls = await tg.reply_to(BAKER, "/myoffers", count=3)
        entry = next(
            call for call in calls if tr.t("offer_templates.button.list", "fr") in labels(call)
        )
        [_head, line] = await tg.click(
            BAKER, entry, tr.t("offer_templates.button.list", "fr"), count=2
        )
        assert "Pain invendu" in str(line.text)
        since = tg.mark()
        await tg.click(BAKER, line, tr.t("offer_templates.button.skip", "fr"), count=0)
        [line] = await tg.wait_for("editMessageText", since=since)
        assert tr.t("offer_templates.button.unskip", "fr") in labels(line)
        friday = THURSDAY + timedelta(days=8)
        clock.set(local(friday, 18, 1))
        await tick(app)
        assert len(await template_offers(app)) == 7
        since = tg.mark()
        await tg.click(BAKER, line, tr.t("offer_templates.button.pause", "fr"), count=0)
        [line] = await tg.wait_for("editMessageText", since=since)
        assert tr.t("offer_templates.paused", "fr") in str(line.params["text"])
        clock.set(local(friday + timedelta(days=1), 18, 1))
        await tick(app)
        assert len(await template_offers(app)) == 7
