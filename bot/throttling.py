"""Per-user token buckets: a burst is fine, a flood is slowed down."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from bot.clock import Clock


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
