"""The outbox and the sender against the test Bot API server, with faults injected.

Time is virtual: the sender paces on a ManualClock (`ManualTime`), whose sleeps move the
clock at once, and retries become due when the test moves the clock on.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from pydantic import SecretStr
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.wiring import create_bot
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.services import outbox
from bot.services.outbox import OutgoingMessage, Priority
from bot.standin import (
    BotApiStandIn as BotApiStandIn,
)
from bot.standin import (
    DeliverThenDrop,
    DropConnection,
    ServerError,
    Stall,
    TooManyRequests,
)
from bot.worker.pacing import ManualTime
from bot.worker.sender import Sender, SenderConfig
from models import OutboxMessage, OutboxStatus, User


@pytest.fixture
async def bot(tg: BotApiStandIn, settings: Settings) -> AsyncIterator[Bot]:
    configured = settings.model_copy(
        update={"telegram_api_base": tg.base_url, "bot_token": SecretStr(tg.token)}
    )
    bot = create_bot(configured)
    yield bot
    await bot.session.close()


async def add_users(
    sessionmaker: async_sessionmaker[AsyncSession], ids: list[int], clock: ManualClock
) -> None:
    async with sessionmaker() as session:
        for user_id in ids:
            session.add(
                User(
                    id=user_id,
                    first_name=f"U{user_id}",
                    is_active=True,
                    created_at=clock.now(),
                    last_seen_at=clock.now(),
                )
            )
        await session.commit()


async def queue(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    chats: list[int],
    key: str,
    **extra: Any,
) -> int:
    async with sessionmaker() as session:
        new = await outbox.enqueue_many(
            session,
            [
                OutgoingMessage(
                    chat_id=chat,
                    kind="test",
                    text=f"<b>Hello</b> {chat}",
                    key=f"{key}:{chat}",
                    **extra,
                )
                for chat in chats
            ],
            clock.now(),
        )
        await session.commit()
    return new


def make_sender(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    **config: Any,
) -> Sender:
    # A timeout is "delivery unknown", retried: it must only ever hit the stalled call, not
    # an ordinary one answered late by a busy machine (that one would arrive twice).
    values: dict[str, Any] = {"rate": 1000.0, "request_timeout": 4}
    values.update(config)
    sender = Sender(bot, sessionmaker, clock, SenderConfig(**values), time=ManualTime(clock))
    sender.pacer.dispatched = []
    return sender


async def deliver_everything(
    sender: Sender, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Drain; while retries wait for their backoff, move the clock to the next due time."""
    for _ in range(50):
        await sender.drain()
        async with sessionmaker() as session:
            if await outbox.unfinished_count(session) == 0:
                return
            due = await outbox.next_due_at(session)
        assert due is not None
        if due > clock.now():
            clock.set(due)
    raise AssertionError("the outbox never emptied")


def sends_per_chat(tg: BotApiStandIn) -> collections.Counter[int]:
    return collections.Counter(
        call.chat_id
        for call in tg.calls
        if call.method in ("sendMessage", "sendPhoto") and call.ok and call.chat_id is not None
    )


async def statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))
        return {chat: status for chat, status in rows.all()}


async def test_every_reachable_recipient_gets_it_exactly_once_despite_faults(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    people = list(range(2001, 2041))
    await add_users(sessionmaker, people, clock)
    assert await queue(sessionmaker, clock, people, "round1") == len(people)
    tg.inject(TooManyRequests(retry_after=3), method="sendMessage")
    tg.inject(ServerError(502), chat_id=2005, times=2)
    tg.inject(ServerError(500), chat_id=2006)
    tg.inject(DropConnection(), chat_id=2007, times=2)
    tg.inject(Stall(30.0), chat_id=2008)
    tg.block(2009)
    tg.block(2010)
    sender = make_sender(bot, sessionmaker, clock)

    await deliver_everything(sender, sessionmaker, clock)

    counts = sends_per_chat(tg)
    assert {chat: counts[chat] for chat in people} == {
        chat: 0 if chat in (2009, 2010) else 1 for chat in people
    }
    final = await statuses(sessionmaker)
    assert final[2009] == final[2010] == OutboxStatus.BLOCKED
    assert all(final[chat] == OutboxStatus.SENT for chat in people if chat not in (2009, 2010))
    # The 429 paused every send for retry_after seconds (virtual time).
    assert sender.stats.rate_limited == 1
    assert any(abs(slept - 3.0) < 0.01 for slept in sender.time.slept)  # type: ignore[attr-defined]
    async with sessionmaker() as session:
        inactive = await session.scalars(select(User.id).where(User.is_active.is_(False)))
        assert set(inactive.all()) == {2009, 2010}
        stalled = await outbox.find(session, "round1:2008")
        assert stalled is not None and stalled.attempts == 2

    # Next time, those who blocked the bot are skipped without a single call.
    before = len(tg.calls)
    await queue(sessionmaker, clock, people, "round2")
    await deliver_everything(sender, sessionmaker, clock)
    later = [call for call in tg.calls[before:] if call.method == "sendMessage"]
    assert {call.chat_id for call in later} == set(people) - {2009, 2010}
    async with sessionmaker() as session:
        row = await outbox.find(session, "round2:2009")
        assert row is not None and row.status == OutboxStatus.BLOCKED


async def test_same_key_twice_is_one_message(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    async with sessionmaker() as session:
        first = await outbox.enqueue(
            session, chat_id=3001, kind="test", text="hi", key="k1", now=clock.now()
        )
        again = await outbox.enqueue(
            session, chat_id=3001, kind="test", text="hi again", key="k1", now=clock.now()
        )
        await session.commit()
    assert (first, again) == (True, False)
    await deliver_everything(make_sender(bot, sessionmaker, clock), sessionmaker, clock)
    assert sends_per_chat(tg)[3001] == 1
    # Even once sent, the key still means "already done".
    async with sessionmaker() as session:
        assert not await outbox.enqueue(
            session, chat_id=3001, kind="test", text="hi", key="k1", now=clock.now()
        )


async def test_retries_back_off_and_are_bounded(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    tg.inject(ServerError(500), chat_id=3002, times=100)
    await queue(sessionmaker, clock, [3002], "doomed")
    sender = make_sender(bot, sessionmaker, clock, max_attempts=4, backoff_base=2.0)
    attempts_at: list[float] = []
    start = clock.now()
    for _ in range(10):
        await sender.drain()
        attempts_at.append((clock.now() - start).total_seconds())
        async with sessionmaker() as session:
            row = await outbox.find(session, "doomed:3002")
            assert row is not None
            if row.status != OutboxStatus.PENDING:
                break
            clock.set(row.next_attempt_at)
    assert row is not None
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 4
    assert "ServerError" in (row.last_error or "")
    # 2 s, 4 s, 8 s between the four attempts.
    gaps = [round(b - a) for a, b in itertools.pairwise(attempts_at)]
    assert gaps == [2, 4, 8]
    calls = [c for c in tg.calls if c.method == "sendMessage" and c.chat_id == 3002]
    assert len(calls) == 4


async def test_pacing_per_private_chat_per_group_and_overall(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group = -100123
    async with sessionmaker() as session:
        messages = [
            OutgoingMessage(chat_id=4001, kind="test", text=f"m{i}", key=f"p{i}") for i in range(3)
        ]
        messages += [
            OutgoingMessage(chat_id=group, kind="test", text=f"g{i}", key=f"g{i}")
            for i in range(25)
        ]
        messages += [
            OutgoingMessage(chat_id=5000 + i, kind="test", text="x", key=f"x{i}") for i in range(60)
        ]
        await outbox.enqueue_many(session, messages, clock.now())
        await session.commit()
    sender = make_sender(bot, sessionmaker, clock, rate=20.0)
    await deliver_everything(sender, sessionmaker, clock)
    dispatched = sender.pacer.dispatched
    assert dispatched is not None and len(dispatched) == 88
    private = [at for at, chat in dispatched if chat == 4001]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(private))
    in_group = [at for at, chat in dispatched if chat == group]
    assert len(in_group) == 25
    for index in range(20, 25):
        assert in_group[index] - in_group[index - 20] >= 60.0 - 1e-9
    # Overall: never more than rate + burst in any one-second window.
    times = sorted(at for at, _ in dispatched)
    burst = sender.pacer.burst
    for index, at in enumerate(times):
        window = [t for t in times[index:] if t < at + 1.0]
        assert len(window) <= 20 + burst
    assert sends_per_chat(tg)[group] == 25


async def test_generated_picture_is_uploaded_once_then_sent_by_file_id(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (40, 30), "green").save(buffer, format="PNG")
    async with sessionmaker() as session:
        blob = await outbox.create_blob(session, buffer.getvalue(), clock.now(), "recap.png")
        await session.commit()
    await queue(sessionmaker, clock, [6001, 6002, 6003], "pic", photo_blob_id=blob)
    sender = make_sender(bot, sessionmaker, clock, max_in_flight=1)
    await deliver_everything(sender, sessionmaker, clock)
    photos = [c for c in tg.calls if c.method == "sendPhoto" and c.ok]
    assert len(photos) == 3
    assert "photo" in photos[0].files
    file_id = photos[0].result["photo"][-1]["file_id"]
    assert [c.params.get("photo") for c in photos[1:]] == [file_id, file_id]
    assert photos[0].text == "Hello 6001"


async def test_interactive_messages_jump_the_bulk_queue(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await queue(sessionmaker, clock, list(range(7000, 7100)), "bulk", priority=Priority.BULK)
    await queue(sessionmaker, clock, [7999], "urgent", priority=Priority.INTERACTIVE)
    await deliver_everything(make_sender(bot, sessionmaker, clock), sessionmaker, clock)
    order = [c.chat_id for c in tg.calls if c.method == "sendMessage"]
    assert order.index(7999) == 0


async def test_recovery_retries_orphans_of_a_dead_sender(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await queue(sessionmaker, clock, [8001, 8002, 8003], "orphan")
    async with sessionmaker() as session:
        claimed = await outbox.claim_due(session, "dead", clock.now(), 10, timedelta(minutes=5))
        await session.commit()
    assert len(claimed) == 3
    async with sessionmaker() as session:
        # The dead sender had begun sending the first one.
        await outbox.mark_started(session, [claimed[0].id], "dead", clock.now())
        await session.commit()
    async with sessionmaker() as session:
        # Another claim sees nothing: they are leased.
        assert await outbox.claim_due(session, "other", clock.now(), 10, timedelta(minutes=5)) == []
        # Before the lease expires, a non-exclusive recovery leaves them alone.
        assert (await outbox.recover(session, "new", clock.now(), everyone=False)).ids == ()
        recovered = await outbox.recover(session, "new", clock.now(), everyone=True)
        await session.commit()
    assert (recovered.interrupted, recovered.never_started) == (1, 2)
    async with sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [row.status for row in rows] == [OutboxStatus.PENDING] * 3
    assert rows[0].attempts == 1 and "interrupted" in (rows[0].last_error or "")
    assert rows[1].attempts == 0
    # An expired lease is recovered by anyone.
    async with sessionmaker() as session:
        await outbox.claim_due(session, "dead2", clock.now(), 10, timedelta(minutes=5))
        await session.commit()
    clock.advance(timedelta(minutes=6))
    async with sessionmaker() as session:
        assert len((await outbox.recover(session, "x", clock.now(), everyone=False)).ids) == 3


async def test_cancelled_before_start_is_never_sent(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await queue(sessionmaker, clock, [9001, 9002], "c")
    async with sessionmaker() as session:
        claimed = await outbox.claim_due(session, "me", clock.now(), 10, timedelta(minutes=5))
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed[0].id)
            .values(status=OutboxStatus.CANCELLED)
        )
        started = await outbox.mark_started(session, [m.id for m in claimed], "me", clock.now())
        await session.commit()
    assert started == {claimed[1].id}


async def _concurrent_claims_are_disjoint(url: str) -> None:
    import asyncio

    from bot.core.clock import SystemClock
    from models.database import create_engine, create_sessionmaker, upgrade

    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        now = SystemClock().now()
        async with sessionmaker() as session:
            await outbox.enqueue_many(
                session,
                [OutgoingMessage(chat_id=i, kind="t", text="x", key=f"c{i}") for i in range(300)],
                now,
            )
            await session.commit()

        async def claimer(token: str) -> list[int]:
            taken: list[int] = []
            while True:
                async with sessionmaker() as session:
                    claimed = await outbox.claim_due(session, token, now, 25, timedelta(minutes=5))
                    await session.commit()
                if not claimed:
                    return taken
                taken.extend(message.id for message in claimed)
                await asyncio.sleep(0)

        results = await asyncio.gather(*(claimer(f"w{n}") for n in range(4)))
        everything = [message_id for taken in results for message_id in taken]
        assert len(everything) == len(set(everything)) == 300
        async with sessionmaker() as session:
            owners = dict(
                (await session.execute(select(OutboxMessage.id, OutboxMessage.lease_token))).all()
            )
        for index, taken in enumerate(results):
            assert all(owners[message_id] == f"w{index}" for message_id in taken)
    finally:
        await engine.dispose()


async def test_concurrent_claims_are_disjoint_on_sqlite(settings: Settings) -> None:
    await _concurrent_claims_are_disjoint(settings.database_url)


async def test_concurrent_claims_are_disjoint_on_postgres(postgres_url: str) -> None:
    await _concurrent_claims_are_disjoint(postgres_url)


async def test_sender_on_postgres(
    postgres_url: str, tg: BotApiStandIn, bot: Bot, clock: ManualClock
) -> None:
    from models.database import create_engine, create_sessionmaker, upgrade

    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        people = list(range(2101, 2131))
        await add_users(sessionmaker, people, clock)
        await queue(sessionmaker, clock, people, "pg")
        tg.inject(ServerError(502), chat_id=2101)
        tg.block(2102)
        await deliver_everything(make_sender(bot, sessionmaker, clock), sessionmaker, clock)
        counts = sends_per_chat(tg)
        assert {chat: counts[chat] for chat in people} == {
            chat: 0 if chat == 2102 else 1 for chat in people
        }
        async with sessionmaker() as session:
            blocked = await session.get(User, 2102)
            assert blocked is not None and not blocked.is_active
    finally:
        await engine.dispose()


async def test_a_429_pauses_every_send_not_only_the_refused_one(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    """Telegram's "retry after N" is about the bot, not one message: during the N seconds
    (virtual time, as the stand-in stamps each call's arrival) no call reaches it."""
    async with BotApiStandIn(stamp=lambda: clock.now().timestamp()) as server:
        configured = settings.model_copy(
            update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
        )
        bot = create_bot(configured)
        try:
            people = list(range(3001, 3061))
            await add_users(sessionmaker, people, clock)
            await queue(sessionmaker, clock, people, "pause")
            server.inject(TooManyRequests(retry_after=5), chat_id=3010)
            sender = make_sender(bot, sessionmaker, clock, rate=30.0)
            await deliver_everything(sender, sessionmaker, clock)
        finally:
            await bot.session.close()
        sends = [c for c in server.calls if c.method == "sendMessage"]
        [refused] = [c for c in sends if not c.ok]
        inside = [c for c in sends if refused.at < c.at < refused.at + 5 - 0.001]
        assert inside == []
        assert sends_per_chat(server) == collections.Counter(dict.fromkeys(people, 1))
        assert sender.stats.rate_limited == 1


async def test_an_answer_lost_after_delivery_is_sent_again_and_counted(
    tg: BotApiStandIn,
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    """The case that makes retries double a message: Telegram delivered it, the answer
    never came back. The Bot API has no idempotency key and no way to ask, so the sender
    retries (at least once rather than maybe never): the person gets it twice, the row
    says so, and nobody else is affected."""
    people = list(range(3101, 3111))
    await add_users(sessionmaker, people, clock)
    await queue(sessionmaker, clock, people, "lost-answer")
    tg.inject(DeliverThenDrop(), chat_id=3105)
    sender = make_sender(bot, sessionmaker, clock)
    await deliver_everything(sender, sessionmaker, clock)
    delivered = {chat: len(tg.messages_in(chat)) for chat in people}
    assert delivered == {chat: 2 if chat == 3105 else 1 for chat in people}
    async with sessionmaker() as session:
        row = await outbox.find(session, "lost-answer:3105")
    assert row is not None and row.status == OutboxStatus.SENT and row.attempts == 2
    assert sender.stats.retried == 1
