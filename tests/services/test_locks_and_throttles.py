"""Named locks (local and Redis), the Redis throttle, the leak-free memory FSM pieces and
the "message is not modified" request middleware."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.storage.base import StorageKey
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app.wiring import create_bot
from bot.core.clock import ManualClock
from bot.core.host import host_id
from bot.core.settings import Settings
from bot.services.throttling import MemoryThrottle, RedisThrottle, ThrottleVerdict
from bot.serving.fsm import CompactMemoryStorage, LocalEventIsolation
from bot.serving.locks import LocalLocks, Locks, RedisLocks
from bot.standin import BotApiStandIn

KEY = StorageKey(bot_id=1, chat_id=2, user_id=2)


async def _exclusive(locks: Locks, other: Locks) -> None:
    """Holders of the same name never overlap; different names do not wait."""
    inside: list[str] = []
    overlap = False

    async def worker(locks: Locks, name: str, tag: str) -> None:
        nonlocal overlap
        for _ in range(5):
            async with locks.lock(name):
                if any(entry.startswith(name) for entry in inside):
                    overlap = True
                inside.append(f"{name}/{tag}")
                await asyncio.sleep(0)
                inside.remove(f"{name}/{tag}")

    await asyncio.gather(worker(locks, "a", "1"), worker(other, "a", "2"), worker(locks, "b", "3"))
    assert not overlap


async def test_local_locks_exclude_and_forget() -> None:
    locks = LocalLocks()
    await _exclusive(locks, locks)
    assert len(locks) == 0
    async with locks.lock("x"):
        async with locks.try_lock("x") as got:
            assert not got
        async with locks.try_lock("y") as got:
            assert got
    async with locks.try_lock("x") as got:
        assert got
    assert len(locks) == 0


async def test_a_local_lock_waiter_cancelled_or_failing_leaves_nothing_held() -> None:
    locks = LocalLocks()
    order: list[str] = []
    async with locks.lock("p"):
        waiter = asyncio.create_task(_hold(locks, "p", order, "cancelled"))
        second = asyncio.create_task(_hold(locks, "p", order, "second"))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
    await second
    assert waiter.cancelled()
    assert order == ["second"]
    with pytest.raises(RuntimeError):
        async with locks.lock("p"):
            raise RuntimeError("the handler failed")
    assert len(locks) == 0
    # Free again: taken at once.
    async with asyncio.timeout(1), locks.lock("p"):
        pass


async def _hold(locks: LocalLocks, name: str, order: list[str], tag: str) -> None:
    async with locks.lock(name):
        order.append(tag)


@pytest.fixture
async def redis_clients(redis_url: str) -> AsyncIterator[tuple[Redis, Redis]]:
    # Two connections stand for two processes.
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_locks_exclude_across_clients(
    redis_clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    first, second = redis_clients
    a, b = RedisLocks(first, redis_prefix), RedisLocks(second, redis_prefix)
    await _exclusive(a, b)
    async with a.try_lock("job") as got:
        assert got
        async with b.try_lock("job") as again:
            assert not again
    async with b.try_lock("job") as got:
        assert got
    assert await first.keys(f"{redis_prefix}*") == []


async def test_an_expired_redis_lock_is_not_released_for_its_new_holder(
    redis_clients: tuple[Redis, Redis], redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = redis_clients
    a, b = RedisLocks(first, redis_prefix), RedisLocks(second, redis_prefix)
    key = f"{redis_prefix}:lock:slow"
    async with a.lock("slow"):
        await first.delete(key)  # as if its time to live had run out
        async with b.try_lock("slow") as got:
            assert got
            token = await first.get(key)
    assert "expired before its holder finished" in caplog.text
    # b's own lock was untouched by a's late release (then b released it).
    assert token is not None
    assert await first.get(key) is None


async def test_a_lock_left_by_a_killed_process_on_this_host_is_broken_at_once(
    redis_clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    """A bot SIGKILLed while it held a person's lock must not hold that person's next
    updates for the lock's minute: the holder is named, and a dead one is let go."""
    first, _ = redis_clients
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    key = f"{redis_prefix}:lock:user:42"
    await first.set(key, f"{host_id()}:{gone.pid}:abc", px=60_000)
    locks = RedisLocks(first, redis_prefix)
    # Within the lock's minute, by far; without the check this waits for the expiry.
    async with asyncio.timeout(10):
        async with locks.lock("user:42"):
            held = await first.get(key)
            assert isinstance(held, bytes)
            assert held.decode().startswith(f"{host_id()}:{os.getpid()}:")
    # A live holder (this very process) is waited for, not broken.
    await first.set(key, f"{host_id()}:{os.getpid()}:mine", px=60_000)

    async def take() -> None:
        async with locks.lock("user:42"):
            pass

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(take(), 0.5)
    assert await first.get(key) == f"{host_id()}:{os.getpid()}:mine".encode()
    await first.delete(key)


SCRIPT: list[float | None] = [None] * 10 + [0.2, None, None, 1.0, None, 30.0] + [None] * 9


async def _verdicts(throttle: MemoryThrottle | RedisThrottle, clock: ManualClock) -> list[str]:
    out: list[str] = []
    for step in SCRIPT:
        if step is not None:
            clock.advance(step)
            continue
        verdict: ThrottleVerdict = await throttle.hit(42)
        out.append("ok" if verdict.allowed else "warn" if verdict.notify else "drop")
    return out


async def test_redis_throttle_behaves_like_the_memory_one_and_is_shared(
    redis_clients: tuple[Redis, Redis], redis_prefix: str
) -> None:
    first, second = redis_clients
    memory_clock = ManualClock()
    expected = await _verdicts(MemoryThrottle(memory_clock, 2.0, 8), memory_clock)
    assert expected[:10] == ["ok"] * 8 + ["warn", "drop"]
    clock = ManualClock()
    throttle = RedisThrottle(first, redis_prefix, clock, 2.0, 8)
    assert await _verdicts(throttle, clock) == expected
    # Another replica sees the same bucket.
    replica = RedisThrottle(second, redis_prefix, clock, 2.0, 8)
    clock.advance(timedelta(seconds=60))
    results = [await (throttle if i % 2 else replica).hit(7) for i in range(9)]
    assert [r.allowed for r in results] == [True] * 8 + [False]
    ttl = await first.pttl(f"{redis_prefix}:throttle:7")
    assert 0 < ttl <= 6000  # forgotten once the bucket would be full again


async def test_compact_memory_storage_keeps_only_people_with_state() -> None:
    storage = CompactMemoryStorage()
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert await storage.get_value(KEY, "x", 5) == 5
    assert len(storage.storage) == 0
    await storage.set_state(KEY, "Wizard:step")
    await storage.update_data(KEY, {"x": 1})
    assert await storage.get_state(KEY) == "Wizard:step"
    assert await storage.get_value(KEY, "x") == 1
    await storage.set_state(KEY, None)
    assert len(storage.storage) == 1  # data is still there
    await storage.set_data(KEY, {})
    assert len(storage.storage) == 0


async def test_local_event_isolation_forgets_free_locks() -> None:
    isolation = LocalEventIsolation()
    order: list[int] = []

    async def hold(i: int) -> None:
        async with isolation.lock(KEY):
            order.append(i)
            await asyncio.sleep(0)
            order.append(i)

    await asyncio.gather(*(hold(i) for i in range(3)))
    assert order == [0, 0, 1, 1, 2, 2]
    assert len(isolation._locks) == 0


async def test_refusals_that_only_mean_stale_ui_are_successes(settings: Settings) -> None:
    async with BotApiStandIn() as server:
        settings = settings.model_copy(
            update={"telegram_api_base": server.base_url, "bot_token": SecretStr(server.token)}
        )
        bot = create_bot(settings)
        try:
            sent = await bot.send_message(5, "Hello")
            assert await bot.edit_message_text("Hello", chat_id=5, message_id=sent.message_id)
            # A callback handled again after a restart: too late for the spinner only.
            assert await bot.answer_callback_query("4000000000007919", text="late")
            with pytest.raises(TelegramBadRequest, match="not found"):
                await bot.edit_message_text("Hi", chat_id=5, message_id=999)
            with pytest.raises(TelegramBadRequest):
                await bot.send_message(5, "<b>broken")
        finally:
            await bot.session.close()
