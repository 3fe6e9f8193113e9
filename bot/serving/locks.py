"""Named locks: in this process (asyncio), or across processes and replicas (Redis).

async with locks.lock("user:42"):            # waits for its turn
    ...
async with locks.try_lock("inbox-purge") as got:   # does not wait
    if got:
        ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Hashable
from typing import TYPE_CHECKING, Protocol

from bot.core.host import host_id, pid_alive

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)


class Locks(Protocol):
    def lock(self, name: str) -> contextlib.AbstractAsyncContextManager[None]: ...

    def try_lock(self, name: str) -> contextlib.AbstractAsyncContextManager[bool]: ...


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class _Held:
    """`async with` one named lock of LocalLocks. A class rather than an
    asynccontextmanager: taken twice per update (the person's turn, aiogram's event
    isolation), the generator machinery was a visible share of an update's CPU."""

    __slots__ = ("_entries", "_entry", "_name")

    def __init__(self, entries: dict[Hashable, _Entry], name: Hashable) -> None:
        self._entries = entries
        self._name = name

    async def __aenter__(self) -> None:
        entry = self._entries.get(self._name)
        if entry is None:
            entry = self._entries[self._name] = _Entry()
        self._entry = entry
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._entry.lock.release()
        self._leave()

    def _leave(self) -> None:
        entry = self._entry
        entry.users -= 1
        if entry.users == 0:
            del self._entries[self._name]


class LocalLocks:
    """asyncio locks by name, forgotten as soon as nobody holds or waits for them (a lock per
    person must not grow with the number of people who ever wrote)."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def lock(self, name: Hashable) -> _Held:
        return _Held(self._entries, name)

    @contextlib.asynccontextmanager
    async def try_lock(self, name: Hashable) -> AsyncIterator[bool]:
        entry = self._entries.get(name)
        if entry is not None:
            yield False
            return
        async with self.lock(name):
            yield True


# How often (in polls) a waiter looks at who holds the lock.
_CHECK_HOLDER_EVERY = 10


class RedisLocks:
    """Redis locks (SET NX PX + a checked release). A lock expires after `ttl` seconds so a
    crashed holder cannot block everyone forever; whoever outlives it is warned."""

    def __init__(
        self, redis: Redis, prefix: str, *, ttl: float = 60.0, poll_interval: float = 0.01
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl
        self._poll = poll_interval

    def _key(self, name: str) -> str:
        return f"{self._prefix}:lock:{name}"

    @staticmethod
    def _token() -> str:
        # Who holds it: a lock left by a process killed on this host is broken at once
        # instead of blocking that person's updates until it expires.
        return f"{host_id()}:{os.getpid()}:{uuid.uuid4().hex}"

    async def _break_if_dead(self, key: str) -> None:
        held = await self._redis.get(key)
        if held is None:
            return
        token = held.decode() if isinstance(held, bytes) else str(held)
        host, _, rest = token.partition(":")
        pid, _, _ = rest.partition(":")
        if host == host_id() and pid.isdigit() and not pid_alive(int(pid)):
            await self._redis.eval(self._RELEASE, 1, key, token)

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        token = self._token()
        key = self._key(name)
        ttl_ms = int(self._ttl * 1000)
        # Redis has no "wait for this key to go": poll (briefly; contention is one person
        # tapping fast, or two replicas after the same job).
        polls = 0
        while True:
            if await self._redis.set(key, token, nx=True, px=ttl_ms):
                break
            if polls % _CHECK_HOLDER_EVERY == 0:
                await self._break_if_dead(key)
            polls += 1
            await asyncio.sleep(self._poll)
        try:
            yield
        finally:
            await self._release(key, token)

    @contextlib.asynccontextmanager
    async def try_lock(self, name: str) -> AsyncIterator[bool]:
        token = self._token()
        key = self._key(name)
        got = bool(await self._redis.set(key, token, nx=True, px=int(self._ttl * 1000)))
        try:
            yield got
        finally:
            if got:
                await self._release(key, token)

    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end"
    )

    async def _release(self, key: str, token: str) -> None:
        released = await self._redis.eval(self._RELEASE, 1, key, token)
        if not released:
            logger.warning("lock %s expired before its holder finished", key)
