"""Per-user token buckets: a burst is fine, a flood is slowed down."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.clock import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    allowed: bool
    # Tell the person once per flood, not on every dropped update.
    notify: bool


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned: bool


class MemoryThrottle:
    """Token buckets kept in this process (a Redis-backed one can share them across replicas)."""

    def __init__(self, clock: Clock, rate: float, burst: int, max_users: int = 100_000) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = float(burst)
        self._max_users = max_users
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    async def hit(self, user_id: int) -> ThrottleVerdict:
        now = self._clock.monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = _Bucket(tokens=self._burst, updated=now, warned=False)
            self._buckets[user_id] = bucket
            if len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(user_id)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return ThrottleVerdict(allowed=True, notify=False)
        notify = not bucket.warned
        bucket.warned = True
        return ThrottleVerdict(allowed=False, notify=notify)


# KEYS[1]: the bucket; ARGV: now (s), rate (tokens/s), burst, time to live (ms).
# The same arithmetic as MemoryThrottle, atomically, so replicas share one bucket a person.
_TOKEN_BUCKET = """
local state = redis.call('HMGET', KEYS[1], 't', 'u', 'w')
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
local warned = state[3] == '1'
if tokens == nil or updated == nil then
  tokens = burst
  updated = now
  warned = false
elseif now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local allowed = 0
local notify = 0
if tokens >= 1 then
  tokens = tokens - 1
  warned = false
  allowed = 1
else
  if not warned then notify = 1 end
  warned = true
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated), 'w', warned and '1' or '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {allowed, notify}
"""


class RedisThrottle:
    """MemoryThrottle's token buckets kept in Redis (a Lua script), shared by every replica.

    Time is the clock's wall time (the only time replicas share); a bucket expires once it
    would be full again, so idle people cost nothing."""

    def __init__(self, redis: Redis, prefix: str, clock: Clock, rate: float, burst: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._ttl_ms = int((math.ceil(burst / rate) + 1) * 1000)
        self._script = redis.register_script(_TOKEN_BUCKET)

    async def hit(self, user_id: int) -> ThrottleVerdict:
        now = self._clock.now().timestamp()
        allowed, notify = await self._script(
            keys=[f"{self._prefix}:throttle:{user_id}"],
            args=[repr(now), repr(self._rate), self._burst, self._ttl_ms],
        )
        return ThrottleVerdict(allowed=bool(allowed), notify=bool(notify))
