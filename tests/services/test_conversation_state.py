"""/forget clears a person's conversation state in every chat, with either storage."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from bot.ui.conversations import forget_conversations

BOT = 42
ZOE, YAN = 3001, 3002
GROUP, OTHER_GROUP = -100777, -100888
# Every place a state of Zoé's can live: private chat, groups, a forum topic, another
# destiny; and Yan's states, one of them in a topic whose id is Zoé's user id.
ZOES = [
    StorageKey(BOT, ZOE, ZOE),
    StorageKey(BOT, GROUP, ZOE),
    StorageKey(BOT, OTHER_GROUP, ZOE),
    StorageKey(BOT, GROUP, ZOE, thread_id=17),
    StorageKey(BOT, GROUP, ZOE, destiny="other"),
]
YANS = [
    StorageKey(BOT, YAN, YAN),
    StorageKey(BOT, GROUP, YAN),
    StorageKey(BOT, GROUP, YAN, thread_id=ZOE),
    StorageKey(BOT, ZOE, YAN),
]


@pytest.fixture(params=["memory", "redis"])
def redis_place(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """(url, prefix) of a Redis to use, or None for MemoryStorage."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


@pytest.fixture
async def storage(redis_place: tuple[str, str] | None) -> AsyncIterator[BaseStorage]:
    if redis_place is None:
        yield MemoryStorage()
        return
    url, prefix = redis_place
    redis_storage = RedisStorage.from_url(
        url, key_builder=DefaultKeyBuilder(prefix=prefix, with_destiny=True)
    )
    try:
        yield redis_storage
    finally:
        await redis_storage.close()


async def fill(storage: BaseStorage) -> None:
    for key in (*ZOES, *YANS):
        await storage.set_state(key, "Flow:step")
        await storage.set_data(key, {"draft": f"words of {key.user_id} in {key.chat_id}"})


async def test_every_state_of_the_person_goes_and_only_theirs(storage: BaseStorage) -> None:
    await fill(storage)
    cleared = await forget_conversations(storage, ZOE)
    # Memory holds one record per key; Redis a state and a data key each.
    assert cleared == len(ZOES) * (1 if isinstance(storage, MemoryStorage) else 2)
    for key in ZOES:
        assert await storage.get_state(key) is None
        assert await storage.get_data(key) == {}
    for key in YANS:
        assert await storage.get_state(key) == "Flow:step"
        assert await storage.get_data(key) == {"draft": f"words of {key.user_id} in {key.chat_id}"}
    # Nothing left to clear the second time.
    assert await forget_conversations(storage, ZOE) == 0


async def test_redis_keys_of_another_prefix_or_locks_are_left(
    redis_url: str, redis_prefix: str
) -> None:
    builder = DefaultKeyBuilder(prefix=redis_prefix, with_destiny=True)
    storage = RedisStorage.from_url(redis_url, key_builder=builder)
    # Same Redis, another deployment's prefix that starts like ours.
    neighbour = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(prefix=f"{redis_prefix}x", with_destiny=True)
    )
    try:
        key = StorageKey(BOT, GROUP, ZOE)
        await storage.set_state(key, "Flow:step")
        await neighbour.set_state(key, "Flow:step")
        lock = builder.build(key, "lock")
        await storage.redis.set(lock, "1")
        assert await forget_conversations(storage, ZOE) == 1
        assert await storage.get_state(key) is None
        assert await neighbour.get_state(key) == "Flow:step"
        assert await storage.redis.get(lock) == b"1"
    finally:
        await storage.close()
        await neighbour.close()


async def test_a_storage_it_cannot_list_is_refused() -> None:
    with pytest.raises(TypeError):
        await forget_conversations(object(), ZOE)  # type: ignore[arg-type]
