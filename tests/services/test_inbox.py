"""The inbox: storing, claiming, marking, purging; and the processor that handles one
person's updates in update_id order, each exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, Update
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.process import open_process
from bot.app.wiring import create_bot, create_dispatcher, prepare_database
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import inbox
from bot.services.inbox import KEEP_FOR, ReceivedUpdate
from bot.services.users import set_language
from bot.serving.locks import LocalLocks
from bot.serving.middlewares.inbox import InboxReceipt
from bot.serving.processing import UpdateProcessor
from bot.serving.runtime import Runtime
from bot.standin import BotApiStandIn, TgUser
from models import InboxStatus, InboxUpdate, User
from models.database import create_engine, create_sessionmaker, upgrade
from tests.conftest import make_settings

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALICE = TgUser(id=3001, first_name="Alice", language_code="fr")
BOB = TgUser(id=3002, first_name="Bob", language_code="en")


def received(update_id: int, user_id: int | None = 1) -> ReceivedUpdate:
    return ReceivedUpdate(update_id, user_id, f'{{"update_id": {update_id}}}')


async def test_store_reports_only_new_updates(session: AsyncSession) -> None:
    assert await inbox.store_updates(session, [received(1), received(2)], NOW) == {1, 2}
    await session.commit()
    assert await inbox.store_updates(session, [received(2), received(3)], NOW) == {3}
    await session.commit()
    assert await inbox.store_updates(session, [], NOW) == set()
    rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all()
    assert [(r.update_id, r.status, r.received_at) for r in rows] == [
        (1, InboxStatus.PENDING, NOW),
        (2, InboxStatus.PENDING, NOW),
        (3, InboxStatus.PENDING, NOW),
    ]


async def test_claim_and_mark(session: AsyncSession) -> None:
    await inbox.store_updates(session, [received(1), received(2)], NOW)
    await session.commit()
    assert await inbox.claim(session, 1)
    assert not await inbox.claim(session, 99)  # unknown
    assert await inbox.mark_done(session, 1, NOW)
    assert not await inbox.mark_done(session, 1, NOW)  # only once
    assert not await inbox.claim(session, 1)
    assert not await inbox.mark_failed(session, 1, NOW)  # done stays done
    assert await inbox.mark_failed(session, 2, NOW)
    assert not await inbox.claim(session, 2)
    await session.commit()
    row = await session.get(InboxUpdate, 1)
    assert row is not None and row.processed_at == NOW and row.payload == ""
    failed = await session.get(InboxUpdate, 2)
    assert failed is not None and failed.payload == '{"update_id": 2}'


async def test_pending_queries_and_backlog(session: AsyncSession) -> None:
    updates = [received(10, 1), received(11, 2), received(12, 1), received(13, None)]
    await inbox.store_updates(session, updates, NOW)
    await inbox.store_updates(session, [received(14, 1)], NOW + timedelta(minutes=5))
    await inbox.mark_done(session, 12, NOW)
    await session.commit()
    assert [p.update_id for p in await inbox.pending_for_user(session, 1, up_to=14)] == [10, 14]
    assert [p.update_id for p in await inbox.pending_for_user(session, 1, up_to=13)] == [10]
    assert await inbox.pending_for_user(session, 3, up_to=99) == []
    everything = await inbox.pending_updates(session)
    assert [p.update_id for p in everything] == [10, 11, 13, 14]
    assert everything[0].payload == '{"update_id": 10}'
    page = await inbox.pending_updates(session, after=10, limit=2)
    assert [p.update_id for p in page] == [11, 13]
    older = await inbox.pending_updates(session, received_before=NOW + timedelta(minutes=1))
    assert [p.update_id for p in older] == [10, 11, 13]
    assert await inbox.backlog(session) == 4


async def test_purge_forgets_old_handled_updates_only(session: AsyncSession) -> None:
    old = NOW - KEEP_FOR - timedelta(seconds=1)
    await inbox.store_updates(session, [received(1), received(2), received(3)], old)
    await inbox.store_updates(session, [received(4)], NOW - timedelta(hours=25))
    await inbox.mark_done(session, 1, old)
    await inbox.mark_failed(session, 2, old)
    await inbox.mark_done(session, 4, NOW)
    await session.commit()
    assert await inbox.purge_inbox(session, NOW) == 2
    await session.commit()
    left = (await session.scalars(select(InboxUpdate.update_id))).all()
    # 3 is still pending (never dropped unhandled); 4 is kept (24 h of de-duplication).
    assert sorted(left) == [3, 4]


async def test_a_row_held_by_another_transaction_is_skipped_on_postgres(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            await inbox.store_updates(session, [received(1)], NOW)
            await session.commit()
        async with sessionmaker() as first, sessionmaker() as second:
            assert await inbox.claim(first, 1)
            assert not await inbox.claim(second, 1)  # SKIP LOCKED: another replica's
            await inbox.mark_done(first, 1, NOW)
            await first.commit()
            await second.rollback()
            assert not await inbox.claim(second, 1)  # done
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- processing


def make_update(
    bot: Bot, update_id: int, user: TgUser, text: str, chat: dict[str, object] | None = None
) -> Update:
    fields: dict[str, object] = {"text": text}
    if text.startswith("/"):
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_767_600_000,
                "chat": chat or user.private_chat(),
                "from": user.to_json(),
                **fields,
            },
        },
        context={"bot": bot},
    )


@dataclass
class Rig:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    runtime: Runtime
    sessionmaker: async_sessionmaker[AsyncSession]
    seen: list[str]

    def update(self, update_id: int, user: TgUser, text: str) -> Update:
        return make_update(self.bot, update_id, user, text)

    async def statuses(self) -> dict[int, str]:
        async with self.sessionmaker() as session:
            rows = await session.execute(select(InboxUpdate.update_id, InboxUpdate.status))
            return {update_id: status for update_id, status in rows}


def recording_router(seen: list[str]) -> Router:
    router = Router(name="test-recording")

    @router.message(Command("rec"))
    async def record(message: Message) -> None:
        # A turn of the event loop mid-handler, so interleaving would show.
        await asyncio.sleep(0)
        seen.append(f"{message.from_user.id if message.from_user else 0}:{message.text}")

    @router.message(Command("slow"))
    async def slow(message: Message, command: CommandObject) -> None:
        # Handlers of different durations (the argument, in ms): a later, shorter one
        # would overtake an earlier, longer one were they not run one at a time.
        await asyncio.sleep(int(command.args or 0) / 1000)
        seen.append(f"{message.from_user.id if message.from_user else 0}:{message.text}")

    @router.message(Command("boom"))
    async def boom(message: Message) -> None:
        raise RuntimeError("a handler failed")

    @router.message(F.text == "/twice")
    async def twice(message: Message, session: AsyncSession, user: User) -> None:
        # Another process handles the same update and commits while this one runs (only
        # possible without row locks: SQLite), then this one changes the language.
        async with rig_sessionmaker[0]() as other:
            await inbox.mark_done(other, message.message_id, NOW)
            await other.commit()
        await set_language(session, user.id, "en")

    return router


rig_sessionmaker: list[async_sessionmaker[AsyncSession]] = []


@pytest.fixture
async def rig(settings: Settings, clock: ManualClock) -> AsyncIterator[Rig]:
    async with BotApiStandIn() as server:
        settings = settings.model_copy(
            update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
        )
        seen: list[str] = []
        async with open_process(
            settings, clock=clock, run_jobs=False, extra_routers=[recording_router(seen)]
        ) as process:
            rig_sessionmaker[:] = [process.sessionmaker]
            runtime = process.runtime()
            try:
                yield Rig(
                    settings, process.bot, process.dispatcher, runtime, process.sessionmaker, seen
                )
            finally:
                await runtime.processor.drain(5)


async def test_one_persons_updates_in_several_chats_run_one_at_a_time_in_order(
    rig: Rig,
) -> None:
    """A person writes in private and in their team's group at once, with handlers of
    different durations. aiogram's own isolation only separates updates of one chat; the
    processor's per-person lock keeps the person's updates in order across chats."""
    processor = rig.runtime.processor
    group = {"id": -100777, "type": "supergroup", "title": "Team"}
    updates = [
        make_update(
            rig.bot,
            i,
            ALICE,
            f"/slow {(9 - i) * 5}",
            chat=group if i % 2 else None,
        )
        # Eight: the flood control's burst (beyond, updates are dropped on purpose).
        for i in range(1, 9)
    ]
    await processor.store(updates)
    for update in updates:
        await processor.schedule(update)
    await processor.drain(10)
    assert rig.seen == [f"{ALICE.id}:/slow {(9 - i) * 5}" for i in range(1, 9)]


async def test_one_persons_updates_run_in_order_in_one_process(rig: Rig) -> None:
    processor = rig.runtime.processor
    updates = [rig.update(i, ALICE if i % 3 else BOB, f"/rec {i}") for i in range(1, 13)]
    await processor.store(updates)
    for update in updates:
        await processor.schedule(update)
    await processor.drain(10)
    assert [e for e in rig.seen if e.startswith(f"{ALICE.id}:")] == [
        f"{ALICE.id}:/rec {i}" for i in range(1, 13) if i % 3
    ]
    assert [e for e in rig.seen if e.startswith(f"{BOB.id}:")] == [
        f"{BOB.id}:/rec {i}" for i in (3, 6, 9, 12)
    ]


async def test_shared_inbox_runs_each_persons_updates_in_order_whatever_the_task_order(
    rig: Rig, clock: ManualClock
) -> None:
    # As with replicas: the task that gets the person's lock handles all their pending
    # updates up to its own, oldest first.
    processor = UpdateProcessor(
        rig.bot, rig.dispatcher, rig.sessionmaker, clock, LocalLocks(), concurrency=8, shared=True
    )
    updates = [rig.update(i, ALICE if i % 2 else BOB, f"/rec {i}") for i in range(1, 9)]
    assert len(await processor.store(updates)) == 8
    for update in reversed(updates):
        await processor.schedule(update, fresh=False)
    await processor.drain(10)
    alice = [entry for entry in rig.seen if entry.startswith(f"{ALICE.id}:")]
    bob = [entry for entry in rig.seen if entry.startswith(f"{BOB.id}:")]
    assert alice == [f"{ALICE.id}:/rec {i}" for i in (1, 3, 5, 7)]
    assert bob == [f"{BOB.id}:/rec {i}" for i in (2, 4, 6, 8)]
    assert set((await rig.statuses()).values()) == {InboxStatus.DONE}


async def test_a_stored_update_is_handled_once_however_often_scheduled(rig: Rig) -> None:
    processor = rig.runtime.processor
    update = rig.update(1, ALICE, "/rec once")
    await processor.store([update])
    assert await processor.store([update]) == []
    for _ in range(3):
        await processor.schedule(update)
    await processor.drain(10)
    await processor.schedule(update, fresh=False)  # as read back from the inbox
    await processor.drain(10)
    assert rig.seen == [f"{ALICE.id}:/rec once"]


async def test_a_failing_handler_marks_the_update_failed_not_pending(rig: Rig) -> None:
    processor = rig.runtime.processor
    update = rig.update(1, ALICE, "/boom")
    await processor.store([update])
    await processor.schedule(update)
    await processor.drain(10)
    assert await rig.statuses() == {1: InboxStatus.FAILED}
    assert await processor.recover() == 0  # not retried: it would fail the same way


async def test_throttled_updates_are_marked_done(rig: Rig) -> None:
    processor = rig.runtime.processor
    burst = rig.settings.throttle_burst
    updates = [rig.update(i, ALICE, f"/rec {i}") for i in range(1, burst + 4)]
    await processor.store(updates)
    for update in updates:
        await processor.schedule(update)
    await processor.drain(10)
    assert len(rig.seen) == burst
    assert set((await rig.statuses()).values()) == {InboxStatus.DONE}


async def test_recover_resumes_pending_updates_in_order(rig: Rig) -> None:
    processor = rig.runtime.processor
    updates = [rig.update(i, ALICE, f"/rec {i}") for i in (5, 6, 7)]
    await processor.store(updates)
    assert await processor.recover(stale_only=True) == 0  # too recent
    assert await processor.recover() == 3
    await processor.drain(10)
    assert rig.seen == [f"{ALICE.id}:/rec {i}" for i in (5, 6, 7)]


async def test_an_update_fed_without_receipt_bypasses_the_inbox(rig: Rig) -> None:
    await rig.dispatcher.feed_update(rig.bot, rig.update(1, ALICE, "/rec direct"))
    assert rig.seen == [f"{ALICE.id}:/rec direct"]
    assert await rig.statuses() == {}


async def test_a_second_run_is_rolled_back_when_another_process_won(
    tmp_path: Path, clock: ManualClock
) -> None:
    # SQLite only: PostgreSQL's row lock makes the other process wait (see the test above).
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/two.db")
    engine = await prepare_database(settings, seed_demo=False)
    sessionmaker = create_sessionmaker(engine)
    rig_sessionmaker[:] = [sessionmaker]
    seen: list[str] = []
    bot = create_bot(settings)
    dispatcher = create_dispatcher(
        settings, sessionmaker, clock=clock, extra_routers=[recording_router(seen)]
    )
    try:
        update = make_update(bot, 7, ALICE, "/twice")
        async with sessionmaker() as session:
            await inbox.store_updates(session, [received(7, ALICE.id)], NOW)
            session.add(
                User(
                    id=ALICE.id,
                    first_name="Alice",
                    telegram_language="fr",
                    created_at=NOW,
                    last_seen_at=NOW,
                )
            )
            await session.commit()
        receipt = InboxReceipt(7)
        await dispatcher.feed_update(bot, update, inbox_receipt=receipt)
        assert receipt.settled
        async with sessionmaker() as session:
            user = await session.get(User, ALICE.id)
            row = await session.get(InboxUpdate, 7)
        # The handler's change went with the rollback.
        assert user is not None and user.language is None
        assert row is not None and row.status == InboxStatus.DONE
    finally:
        await bot.session.close()
        await engine.dispose()


async def test_a_stored_update_with_nan_coordinates_reads_back(rig: Rig) -> None:
    """Regression: the stored payload wrote NaN as null, which Update then refused to read
    back, so a location with impossible coordinates stayed unreadable in the inbox."""
    processor = rig.runtime.processor
    update = Update.model_validate(
        {
            "update_id": 41,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": ALICE.private_chat(),
                "from": ALICE.to_json(),
                "location": {"latitude": float("nan"), "longitude": float("inf")},
            },
        }
    )
    assert len(await processor.store([update])) == 1
    async with rig.sessionmaker() as session:
        payload = await session.scalar(
            select(InboxUpdate.payload).where(InboxUpdate.update_id == 41)
        )
    assert payload is not None
    location = processor.parse(payload).message.location  # type: ignore[union-attr]
    assert location is not None
    assert location.latitude != location.latitude and location.longitude == float("inf")


async def test_has_writes_sees_core_and_orm_writes_without_taking_a_connection(
    session: AsyncSession,
) -> None:
    from sqlalchemy import update

    from models.database import has_writes

    assert not await has_writes(session)
    assert "connection" not in session.sync_session.info  # asking took none
    await session.execute(select(User.id))
    assert not await has_writes(session)
    await inbox.store_updates(session, [received(1)], NOW)  # Core INSERT
    assert await has_writes(session)
    await session.commit()
    assert not await has_writes(session)
    await session.execute(update(InboxUpdate).values(status=InboxStatus.DONE.value))
    assert await has_writes(session)
    await session.rollback()
    assert not await has_writes(session)
    session.add(User(id=9, first_name="N", is_active=True, created_at=NOW, last_seen_at=NOW))
    assert await has_writes(session)  # pending ORM changes count before their flush
