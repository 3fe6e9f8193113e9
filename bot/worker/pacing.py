"""Pacing under Telegram's limits: a global token bucket, one message a second per private
chat, twenty a minute per group, and a global pause when Telegram says "retry after N".

Time comes from a `PacerTime` (monotonic + sleep) so tests run in virtual time: their sleep
advances a fake clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Protocol

from bot.core.clock import ManualClock

PRIVATE_INTERVAL = 1.0
GROUP_WINDOW = 60.0
GROUP_LIMIT = 20
# Float dust: a bucket at 0.9999999999 has a token (else a loop waits 1e-15 s forever).
EPSILON = 1e-9


class PacerTime(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTime:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualTime:
    """For tests: pacing on a ManualClock, where sleeping moves the clock at once (and
    yields to the event loop), so due times and pacing share one virtual timeline."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            # At least a microsecond, the resolution of the clock's datetimes.
            self.clock.advance(max(seconds, 1e-6))
            self.slept.append(seconds)
        await asyncio.sleep(0)


class Pacer:
    def __init__(self, rate: float, clock: PacerTime, *, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.time = clock
        # A burst of rate/50 (20 ms worth) absorbs event-loop jitter without letting any
        # one-second window exceed rate + burst by much.
        self.burst = burst if burst is not None else max(1.0, rate / 50)
        self._tokens = 1.0
        self._updated = clock.monotonic()
        self._paused_until = 0.0
        self._private_last: dict[int, float] = {}
        self._group_sent: dict[int, collections.deque[float]] = {}
        self.dispatched: list[tuple[float, int]] | None = None
        """(time, chat id) of every dispatch, when a test asks for it (set to [])."""

    # -- global
    def pause(self, seconds: float) -> None:
        """Telegram said 429 retry_after: nobody sends until then."""
        self._paused_until = max(self._paused_until, self.time.monotonic() + seconds)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self, wanted: int) -> int:
        """Wait until at least one message may go, then take up to `wanted` tokens."""
        if wanted < 1:
            return 0
        while True:
            now = self.time.monotonic()
            if now < self._paused_until:
                await self.time.sleep(self._paused_until - now)
                continue
            self._refill(now)
            if self._tokens >= 1.0 - EPSILON:
                taken = max(1, min(wanted, int(self._tokens + EPSILON)))
                self._tokens -= taken
                return taken
            await self.time.sleep((1.0 - self._tokens) / self.rate)

    # -- per chat
    def chat_ready_at(self, chat_id: int) -> float:
        """The monotonic instant this chat may get its next message."""
        if chat_id > 0:
            last = self._private_last.get(chat_id)
            return 0.0 if last is None else last + PRIVATE_INTERVAL
        sent = self._group_sent.get(chat_id)
        if sent is None or len(sent) < GROUP_LIMIT:
            return 0.0
        return sent[0] + GROUP_WINDOW

    def note_dispatch(self, chat_id: int) -> None:
        now = self.time.monotonic()
        if self.dispatched is not None:
            self.dispatched.append((now, chat_id))
        if chat_id > 0:
            self._private_last[chat_id] = now
            if len(self._private_last) > 50_000:
                self._forget_private(now)
        else:
            sent = self._group_sent.setdefault(chat_id, collections.deque(maxlen=GROUP_LIMIT))
            sent.append(now)

    def _forget_private(self, now: float) -> None:
        self._private_last = {
            chat: at for chat, at in self._private_last.items() if at + PRIVATE_INTERVAL > now
        }

    async def wait_turn(self, chat_id: int) -> None:
        """For a one-off call outside the outbox (a progress edit): wait for the chat and
        for a global token, then count it."""
        while (ready := self.chat_ready_at(chat_id)) > self.time.monotonic():
            await self.time.sleep(ready - self.time.monotonic())
        await self.acquire(1)
        self.note_dispatch(chat_id)
