"""A person's conversation state (aiogram FSM) in every chat, for /forget.

aiogram keys a state by (bot, chat, thread, user): a wizard started in a group or a forum
topic lives under another key than the private chat's, and FSMContext only reaches the
current one. The storages have no "by user" query, so the person's keys are found from the
storage's own layout: MemoryStorage's dict, or a SCAN of RedisStorage by key pattern (the
key builder's prefix, then the user id in its fixed place)."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, cast

from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage

# Only what a conversation holds: the per-update "lock" keys belong to updates in flight
# (this very /forget holds one) and expire by themselves.
PARTS = ("state", "data")
SCAN_BATCH = 500
_GLOB_SPECIAL = re.compile(r"([\\*?\[\]])")


# redis-py and aiogram's Redis storage are imported only where Redis is configured
# (bot.app.wiring): a process without Redis saves their 5.7 MiB (benchmarks/memory.py).
# Until they are imported, no storage can be a RedisStorage and no RedisError be raised.


def redis_storage(storage: BaseStorage) -> RedisStorage | None:
    """The storage as a RedisStorage, or None when it is another kind."""
    module = sys.modules.get("aiogram.fsm.storage.redis")
    if module is not None and isinstance(storage, module.RedisStorage):
        return cast("RedisStorage", storage)
    return None


def redis_errors(*others: type[Exception]) -> tuple[type[Exception], ...]:
    """`others` and, once Redis is in use, redis-py's error class: for an `except`."""
    module = sys.modules.get("redis.exceptions")
    return others if module is None else (*others, module.RedisError)


async def forget_conversations(storage: BaseStorage, user_id: int) -> int:
    """Delete the state and data of `user_id` in every chat; how many entries went."""
    if isinstance(storage, MemoryStorage):
        keys = [key for key in storage.storage if key.user_id == user_id]
        # Reading a missing key adds an empty record to MemoryStorage's defaultdict.
        held = sum(1 for key in keys if storage.storage[key].state or storage.storage[key].data)
        for key in keys:
            del storage.storage[key]
        return held
    redis = redis_storage(storage)
    if redis is not None:
        return await _forget_redis(redis, user_id)
    raise TypeError(f"cannot list conversations in {type(storage).__name__}")


def _user_field(builder: DefaultKeyBuilder) -> int:
    """Where the user id sits, counted from the end of a key split by the separator:
    `<prefix>:...:<chat_id>[:<thread_id>]:<user_id>[:<destiny>]:<part>`."""
    return -3 if builder.with_destiny else -2


async def _forget_redis(storage: RedisStorage, user_id: int) -> int:
    builder = storage.key_builder
    if not isinstance(builder, DefaultKeyBuilder):
        raise TypeError(f"cannot find a user's keys with {type(builder).__name__}")
    sep = builder.separator
    prefix = _GLOB_SPECIAL.sub(r"\\\1", builder.prefix + sep)
    pattern = f"{prefix}*{sep}{user_id}{sep}*"
    user, place = str(user_id), _user_field(builder)
    found: list[str | bytes] = []
    async for raw in storage.redis.scan_iter(match=pattern, count=SCAN_BATCH):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        fields = key[len(builder.prefix + sep) :].split(sep)
        # The glob also matches the id in another place (a thread id, a chat id): check
        # the field itself, with at least a chat id before it.
        if fields[-1] in PARTS and len(fields) > -place and fields[place] == user:
            found.append(raw)
    if found:
        await storage.redis.delete(*found)
    return len(found)
