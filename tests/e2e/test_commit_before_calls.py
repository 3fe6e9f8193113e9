"""An update's changes are committed before its handler talks to Telegram (the inbox row
marked done with them): SQLite's write lock is never held across a round trip to
Telegram, and what a person was told has happened is not rolled back afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.wiring import create_bot, create_dispatcher, prepare_database
from bot.core.clock import ManualClock
from bot.services import inbox
from bot.services.users import set_language
from bot.serving.middlewares.inbox import InboxReceipt
from bot.standin import BotApiStandIn, Stall, TgUser
from bot.ui.i18n import t
from models import InboxStatus, InboxUpdate, OutboxMessage, User
from models.database import create_sessionmaker
from tests.conftest import make_settings
from tests.services.test_inbox import NOW, make_update, received
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text

ALICE = TgUser(id=8001, first_name="Alice", language_code="fr")
BOB = TgUser(id=8002, first_name="Bob", language_code="fr")

other_process: list[async_sessionmaker[AsyncSession]] = []


async def told_then_fail(message: Message, session: AsyncSession, user: User) -> None:
    await set_language(session, user.id, "en")
    await message.answer(t("language.changed"))
    raise RuntimeError("a handler failed after telling the person")


async def reply_then_write(message: Message, session: AsyncSession, user: User) -> None:
    await message.answer(t("language.changed"))
    await set_language(session, user.id, "en")


async def lost(message: Message, session: AsyncSession, user: User) -> None:
    # Another process handles the same update and commits first (possible without row
    # locks: SQLite); this run then changes the language and is about to say so.
    async with other_process[0]() as other:
        await inbox.mark_done(other, message.message_id, NOW)
        await other.commit()
    await set_language(session, user.id, "en")
    await message.answer(t("language.changed"))


async def read_then_reply(message: Message, session: AsyncSession) -> None:
    # Reads only: its transaction holds a pooled connection until something ends it.
    people = await session.scalar(select(func.count()).select_from(User))
    await message.answer(str(people))


def commit_router() -> Router:
    router = Router(name="test-commit-before-calls")
    router.message.register(told_then_fail, Command("told_then_fail"))
    router.message.register(reply_then_write, Command("reply_then_write"))
    router.message.register(lost, Command("lost"))
    router.message.register(read_then_reply, Command("read_then_reply"))
    return router


@pytest.fixture
async def app(tg: BotApiStandIn, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    settings = make_settings(tmp_path)
    async with running_bot(settings, tg, clock=clock, extra_routers=[commit_router()]) as running:
        yield running


async def _language_and_status(app: RunningBot, person: TgUser, update_id: int) -> tuple:  # type: ignore[type-arg]
    async with app.sessionmaker() as session:
        language = await session.scalar(select(User.language).where(User.id == person.id))
        status = await session.scalar(
            select(InboxUpdate.status).where(InboxUpdate.update_id == update_id)
        )
    return language, status


async def test_a_stalled_reply_holds_up_nobody_and_its_changes_are_already_saved(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    # Alice's first /start creates her row (a write); Telegram then takes its time to
    # take her reply.
    tg.inject(Stall(5.0), method="sendMessage", chat_id=ALICE.id)
    since = tg.mark()
    alice_update = tg.push_text(ALICE, "/start")
    stalled = await tg.wait_arrival("sendMessage", since=since)
    assert stalled.done is False
    # Meanwhile Bob's /start (another write) goes all the way through.
    (bob_reply,) = await tg.reply_to(BOB, "/start")
    assert bob_reply.chat_id == BOB.id
    assert stalled.done is False, "Bob was answered before Alice's reply was taken"
    # Alice's row and her update's inbox mark were committed before her reply went out.
    async with app.engine.connect() as connection:
        alice = await connection.scalar(select(User.first_name).where(User.id == ALICE.id))
        status = await connection.scalar(
            select(InboxUpdate.status).where(InboxUpdate.update_id == alice_update)
        )
    assert alice == "Alice"
    assert status == InboxStatus.DONE
    await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since, timeout=10)


async def test_a_read_only_handler_waits_on_telegram_without_a_database_connection(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    # SQLite's pool is smaller than the updates handled at once (models.database): a
    # handler that read something must not keep a connection while its reply is slow.
    await tg.reply_to(ALICE, "/start")
    await app.tracker.settled()
    tg.inject(Stall(1.0), method="sendMessage", chat_id=ALICE.id)
    since = tg.mark()
    tg.push_text(ALICE, "/read_then_reply")
    stalled = await tg.wait_arrival("sendMessage", since=since)
    assert stalled.done is False
    assert app.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    (reply,) = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since, timeout=10)
    assert reply.text == "1"


async def test_delivered_replies_leave_no_row_once_the_bot_is_idle(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    # Each new person's greeting is kept in the outbox with the commit that creates the
    # person; once delivered, its row goes with whichever transaction comes next, the
    # update processor's batch when no update writes (the last greetings of a burst).
    people = [TgUser(id=8100 + i, first_name=f"P{i}", language_code="fr") for i in range(12)]
    since = tg.mark()
    for person in people:
        tg.push_text(person, "/start")
    await tg.wait_for("sendMessage", count=len(people), since=since, timeout=10)
    await app.tracker.settled()
    async with app.sessionmaker() as session:
        left = (await session.scalars(select(OutboxMessage.chat_id))).all()
    assert left == []


async def test_what_a_person_was_told_stays_when_the_handler_fails_later(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    await tg.reply_to(ALICE, "/start")
    since = tg.mark()
    update_id = tg.push_text(ALICE, "/told_then_fail")
    told, apology = await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since, count=2)
    await app.tracker.settled()
    # (The update began in French: its replies stay in French.)
    assert told.text == text("language.changed", "fr")
    # The apology says the change was saved (a retry would repeat it).
    assert apology.text == text("errors.apology_saved", "fr")
    # Told "done in English": it is done, and the update is not handled again.
    assert await _language_and_status(app, ALICE, update_id) == ("en", InboxStatus.DONE)


async def test_changes_after_a_reply_are_saved_too(tg: BotApiStandIn, app: RunningBot) -> None:
    await tg.reply_to(ALICE, "/start")
    since = tg.mark()
    update_id = tg.push_text(ALICE, "/reply_then_write")
    await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
    await app.tracker.settled()
    assert await _language_and_status(app, ALICE, update_id) == ("en", InboxStatus.DONE)


async def test_a_run_that_lost_to_another_process_says_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    # SQLite only: on PostgreSQL the claimed inbox row is locked, the other process waits.
    async with BotApiStandIn() as tg:
        settings = make_settings(
            tmp_path,
            database_url=f"sqlite+aiosqlite:///{tmp_path}/lost.db",
            redis_url=None,
            telegram_api_base=tg.base_url,
            bot_token=SecretStr(tg.token),
        )
        engine = await prepare_database(settings, seed_demo=False)
        sessionmaker = create_sessionmaker(engine)
        other_process[:] = [sessionmaker]
        bot = create_bot(settings)
        dispatcher = create_dispatcher(
            settings, sessionmaker, clock=clock, extra_routers=[commit_router()]
        )
        try:
            async with sessionmaker() as session:
                await inbox.store_updates(session, [received(7, ALICE.id)], NOW)
                session.add(User(id=ALICE.id, first_name="Alice", created_at=NOW, last_seen_at=NOW))
                await session.commit()
            receipt = InboxReceipt(7)
            since = tg.mark()
            await dispatcher.feed_update(
                bot, make_update(bot, 7, ALICE, "/lost"), inbox_receipt=receipt
            )
            assert receipt.settled
            assert [c for c in tg.calls[since:] if c.method == "sendMessage"] == []
            async with sessionmaker() as session:
                user = await session.get(User, ALICE.id)
            assert user is not None and user.language is None
        finally:
            await bot.session.close()
            await engine.dispose()
