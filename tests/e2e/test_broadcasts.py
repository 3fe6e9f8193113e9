"""/broadcast end to end: the real bot with its scheduler, sender and progress reporter,
against the test Bot API server."""

from __future__ import annotations

import collections
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import ManualClock
from bot.standin import BotApiStandIn, RecordedCall, TgUser, buttons
from bot.ui.callbacks.broadcasts import (
    BroadcastAction,
    BroadcastCb,
    BroadcastStep,
    BroadcastWizardCb,
)
from bot.worker import jobs
from bot.worker.background import BackgroundTiming
from models import Broadcast, BroadcastStatus, OutboxMessage, User
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import counted, tr
from tests.support.texts import text as plain

ORGANISER = TgUser(id=500, first_name="Olga", language_code="fr")
BOB = TgUser(id=501, first_name="Bob", language_code="en")
FAST = BackgroundTiming(lease_renew_seconds=0.2, progress_seconds=0.2)


def png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), "seagreen").save(buffer, format="PNG")
    return buffer.getvalue()


def answers(query_id: str) -> Callable[[RecordedCall], bool]:
    def matches(call: RecordedCall) -> bool:
        return str(call.params.get("callback_query_id")) == query_id

    return matches


async def add_people(
    sessionmaker: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    ids: list[int],
    clock: ManualClock,
) -> None:
    async with sessionmaker() as session:
        for user_id in ids:
            session.add(
                User(
                    id=user_id,
                    first_name=f"P{user_id}",
                    is_active=True,
                    created_at=clock.now(),
                    last_seen_at=clock.now(),
                )
            )
        await session.commit()


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(
        tmp_path, organiser_ids=str(ORGANISER.id), broadcast_rate=200, throttle_burst=1000
    )
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as running:
        yield running


def per_chat(tg: BotApiStandIn, method: str) -> collections.Counter[int]:
    return collections.Counter(
        c.chat_id for c in tg.calls if c.method == method and c.ok and c.chat_id is not None
    )


async def test_organiser_broadcasts_with_photo_and_button_everyone_gets_it_once(
    tg: BotApiStandIn, app: RunningBot, clock: ManualClock
) -> None:
    people = [601, 602, 603, 604, 605]
    await add_people(app.sessionmaker, people, clock)
    tg.block(605)
    await tg.reply_to(ORGANISER, "/start")

    (ask,) = await tg.reply_to(ORGANISER, "/broadcast")
    assert ask.text == plain("broadcast.ask_audience")
    # Everyone who talked to the bot: the five people and the organiser.
    assert buttons(ask)[0][0][0] == tr.t("broadcast.audience.all", "fr", count=6)
    (ask_text,) = await tg.click(ORGANISER, ask, "Tout le monde")
    assert ask_text.method == "editMessageText"
    assert ask_text.text == plain("broadcast.ask_text")

    # Broken HTML is refused with Telegram's reason, and the step stays.
    (refused,) = await tg.reply_to(ORGANISER, "<b>Fête du vélo</i>")
    assert refused.text.startswith(plain("broadcast.error.html", reason="X").split("X")[0])
    assert "</i>" in refused.text
    (refused,) = await tg.reply_to(ORGANISER, "Vélos & cafés")
    assert "&" in refused.text
    text = (
        '<b>Fête du vélo</b> samedi &amp; dimanche — <a href="https://velo.example.org">infos</a>'
    )
    (ask_photo,) = await tg.reply_to(ORGANISER, text)
    assert ask_photo.text == plain("broadcast.ask_photo")

    (wrong,) = await tg.reply_to(ORGANISER, "pas une photo")
    assert wrong.text == plain("broadcast.error.photo_expected")
    since = tg.mark()
    tg.push_photo(ORGANISER, png())
    (ask_button,) = await tg.wait_for("sendMessage", chat_id=ORGANISER.id, since=since)
    assert ask_button.text == plain("broadcast.ask_button")
    (bad,) = await tg.reply_to(ORGANISER, "Site | ftp://nope")
    assert bad.text == plain("broadcast.error.button_url")
    intro, preview, review = await tg.reply_to(
        ORGANISER, "Programme | https://velo.example.org/programme", count=3
    )
    assert intro.text == plain("broadcast.preview_intro")
    # The preview is what recipients get: the photo, the caption, the link button.
    assert preview.method == "sendPhoto"
    assert preview.text == "Fête du vélo samedi & dimanche — infos"
    assert buttons(preview) == [[("Programme", "https://velo.example.org/programme")]]
    photo_id = preview.params["photo"]

    since = tg.mark()
    (started,) = await tg.click(ORGANISER, review, "Envoyer maintenant")
    assert started.text == plain("broadcast.started", id=1, count=counted("count.people", 6))

    # Everyone reachable gets it once; the report follows.
    report_text = plain(
        "broadcast.report.done",
        id=1,
        sent=5,
        total=6,
        blocked=1,
        failed=0,
        cancelled=0,
        duration="X",
    ).split("Durée")[0]
    await tg.wait_for(
        "sendMessage",
        chat_id=ORGANISER.id,
        since=since,
        timeout=15,
        predicate=lambda c: c.text.startswith(report_text),
    )
    photos = per_chat(tg, "sendPhoto")
    assert {chat: photos[chat] for chat in [*people, ORGANISER.id]} == {
        601: 1,
        602: 1,
        603: 1,
        604: 1,
        605: 0,
        ORGANISER.id: 2,  # the preview and the broadcast itself
    }
    sent = [c for c in tg.calls if c.method == "sendPhoto" and c.ok and c.chat_id == 601]
    assert sent[0].params["photo"] == photo_id
    assert buttons(sent[0]) == [[("Programme", "https://velo.example.org/programme")]]
    async with app.sessionmaker() as session:
        blocked = await session.get(User, 605)
        assert blocked is not None and not blocked.is_active
        broadcast = await session.get(Broadcast, 1)
        assert broadcast is not None and broadcast.status == BroadcastStatus.DONE

    # The progress message ends on the final figures, without its stop button.
    progress = next(
        c
        for c in tg.calls
        if c.method == "sendMessage" and c.chat_id == ORGANISER.id and "n°1" in c.text
    )
    final = plain("broadcast.progress.done", id=1, sent=5, total=6, blocked=1, failed=0)

    async def shown() -> dict[str, object] | None:
        return tg.message(ORGANISER.id, progress.result["message_id"])

    for _ in range(50):
        message = await shown()
        if message is not None and message.get("text") == final:
            break
        await tg.wait_for("editMessageText", chat_id=ORGANISER.id, timeout=5)
    message = await shown()
    assert message is not None and message["text"] == final
    assert "reply_markup" not in message


async def test_non_organisers_are_refused_on_every_update(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    (reply,) = await tg.reply_to(BOB, "/broadcast")
    assert reply.text == plain("broadcast.refused", "en")
    for data in (
        BroadcastCb(action=BroadcastAction.STOP, broadcast_id=1).pack(),
        BroadcastWizardCb(step=BroadcastStep.SEND_NOW).pack(),
        "ba:all",
    ):
        since = tg.mark()
        query_id = tg.push_callback(BOB, data)
        (answer,) = await tg.wait_for(
            "answerCallbackQuery",
            since=since,
            predicate=answers(query_id),
        )
        assert answer.params.get("text") == tr.t("broadcast.refused", "en")
    async with app.sessionmaker() as session:
        assert (await session.scalars(select(Broadcast))).all() == []


async def test_scheduled_broadcast_runs_at_its_time_once_and_can_be_cancelled(
    tg: BotApiStandIn, tmp_path: Path
) -> None:
    # A clock ahead of the wall clock, so the job waits in the store as in production.
    clock = ManualClock(datetime(2030, 3, 4, 8, 0, tzinfo=UTC))
    settings = make_settings(
        tmp_path, organiser_ids=str(ORGANISER.id), broadcast_rate=200, throttle_burst=1000
    )
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        await add_people(app.sessionmaker, [701, 702], clock)
        await tg.reply_to(ORGANISER, "/start")

        async def write(text: str) -> RecordedCall:
            (ask,) = await tg.reply_to(ORGANISER, "/broadcast")
            await tg.click(ORGANISER, ask, "Tout le monde")
            (photo_step,) = await tg.reply_to(ORGANISER, text)
            *_, button_step = await tg.click(ORGANISER, photo_step, "Passer", count=2)
            calls = await tg.click(ORGANISER, button_step, "Passer", count=4)
            review = calls[-1]
            (when,) = await tg.click(ORGANISER, review, "Programmer")
            assert when.text == plain("broadcast.ask_time", zone="Europe/Paris")
            return when

        await write("Réunion <i>jeudi</i>")
        (bad,) = await tg.reply_to(ORGANISER, "hier")
        assert bad.text == plain("broadcast.error.time_format")
        (past,) = await tg.reply_to(ORGANISER, "04/03 08:00")
        assert past.text == plain("broadcast.error.time_past")
        # 18:30 in Paris (UTC+1 in March) is 17:30 UTC.
        (scheduled,) = await tg.reply_to(ORGANISER, "18:30")
        assert scheduled.text == plain(
            "broadcast.scheduled", id=1, when="ce soir 18:30", zone="Europe/Paris"
        )
        background = app.background
        assert background is not None
        assert background.scheduler.next_run_at("broadcast:1") == datetime(
            2030, 3, 4, 17, 30, tzinfo=UTC
        )

        # A second one, cancelled before its time: its job goes, nothing is sent.
        await write("Annulée")
        (other,) = await tg.reply_to(ORGANISER, "20:00")
        (cancelled,) = await tg.click(ORGANISER, other, "Arrêter")
        assert cancelled.text == plain("broadcast.cancelled_scheduled", id=2)
        assert background.scheduler.next_run_at("broadcast:2") is None

        # Time passes; APScheduler (on the wall clock) would call exactly this.
        clock.set(datetime(2030, 3, 4, 17, 30, tzinfo=UTC))
        since = tg.mark()
        await jobs.start_broadcast(broadcast_id=1)
        await jobs.start_broadcast(broadcast_id=1)  # run twice: still once
        await jobs.start_broadcast(broadcast_id=2)
        await jobs.sweep_broadcasts()
        await tg.wait_for(
            "sendMessage",
            since=since,
            count=3,
            predicate=lambda c: c.text == "Réunion jeudi",
            timeout=15,
        )
        await tg.wait_for(
            "sendMessage",
            chat_id=ORGANISER.id,
            since=since,
            timeout=15,
            predicate=lambda c: "n°1" in c.text and "Bilan" in c.text,
        )
        await tg.wait_idle(quiet=0.5, timeout=10)
        counts = collections.Counter(
            c.chat_id
            for c in tg.calls[since:]
            if c.method == "sendMessage" and c.text == "Réunion jeudi"
        )
        assert counts == {701: 1, 702: 1, ORGANISER.id: 1}
        assert not [c for c in tg.calls[since:] if c.text == "Annulée"]


async def test_stop_while_sending_cancels_what_has_not_left(
    tg: BotApiStandIn, tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(
        tmp_path, organiser_ids=str(ORGANISER.id), broadcast_rate=20, throttle_burst=1000
    )
    async with running_bot(
        settings, tg, clock=clock, background=True, background_timing=FAST
    ) as app:
        people = list(range(10_000, 10_200))
        await add_people(app.sessionmaker, people, clock)
        await tg.reply_to(ORGANISER, "/start")
        (ask,) = await tg.reply_to(ORGANISER, "/broadcast")
        await tg.click(ORGANISER, ask, "Tout le monde")
        (photo_step,) = await tg.reply_to(ORGANISER, "Grande annonce")
        *_, button_step = await tg.click(ORGANISER, photo_step, "Passer", count=2)
        *_, review = await tg.click(ORGANISER, button_step, "Passer", count=4)
        since = tg.mark()
        await tg.click(ORGANISER, review, "Envoyer maintenant")
        (progress,) = await tg.wait_for(
            "sendMessage", chat_id=ORGANISER.id, since=since, predicate=lambda c: "n°1" in c.text
        )
        await tg.wait_for(
            "sendMessage", since=since, count=10, predicate=lambda c: c.text == "Grande annonce"
        )
        stop_since = tg.mark()
        query_id = tg.push_callback(ORGANISER, buttons(progress)[0][0][1] or "")
        await tg.wait_for(
            "answerCallbackQuery",
            since=stop_since,
            predicate=lambda c: str(c.params.get("callback_query_id")) == query_id,
        )
        (report,) = await tg.wait_for(
            "sendMessage",
            chat_id=ORGANISER.id,
            since=stop_since,
            timeout=15,
            predicate=lambda c: "Bilan" in c.text,
        )
        assert "arrêtée" in report.text
        await tg.wait_idle(quiet=0.5, timeout=10)
        got = collections.Counter(
            c.chat_id
            for c in tg.calls[since:]
            if c.method == "sendMessage" and c.text == "Grande annonce"
        )
        assert max(got.values()) == 1
        assert 10 <= len(got) < 150
        async with app.sessionmaker() as session:
            statuses = collections.Counter(
                (
                    await session.scalars(
                        select(OutboxMessage.status).where(OutboxMessage.broadcast_id == 1)
                    )
                ).all()
            )
        assert statuses["sent"] == len(got)
        assert statuses["sent"] + statuses["cancelled"] == 201
        numbers = [int(n) for n in re.findall(r"\d+", report.text)]
        assert len(got) in numbers and statuses["cancelled"] in numbers
