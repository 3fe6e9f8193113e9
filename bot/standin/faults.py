"""What a test can make the stand-in do wrong: injected faults (429, 5xx, stalls, dropped
connections), chats that blocked the bot, a global rate limit."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass

from bot.standin.validation import ApiError

_PER_CHAT_PREFIXES = ("send", "edit")


class Fault:
    """Base class of what ``BotApiStandIn.inject`` can make a call do."""


@dataclass(frozen=True)
class TooManyRequests(Fault):
    """Answer 429 "Too Many Requests: retry after N" with ``parameters.retry_after``."""

    retry_after: int


@dataclass(frozen=True)
class ServerError(Fault):
    """Answer an HTTP 5xx error."""

    status: int = 500


@dataclass(frozen=True)
class Stall(Fault):
    """Wait ``seconds`` before handling the call normally (to trip client timeouts)."""

    seconds: float


@dataclass(frozen=True)
class DropConnection(Fault):
    """Close the connection without answering."""


@dataclass(frozen=True)
class DeliverThenDrop(Fault):
    """Carry the call out (the message is delivered), then close the connection without
    answering: the bot cannot know it arrived, the one case where a retry doubles it."""


class ConnectionDropped(Exception):
    """Raised inside the stand-in to close a connection without answering; `result` is
    what the call did before the drop (None when it did nothing)."""

    def __init__(self, result: object = None) -> None:
        super().__init__("connection dropped")
        self.result = result


@dataclass
class Injected:
    fault: Fault
    method: str | None
    chat_id: int | None
    times: int

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is None:
            if method == "getUpdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id


class Faults:
    """The faults in force; `apply` runs before every call is handled."""

    def __init__(self, closing: asyncio.Event) -> None:
        self.injected: list[Injected] = []
        self.blocked: set[int] = set()
        self.rate: float | None = None
        self._window: collections.deque[float] = collections.deque()
        self._closing = closing

    def inject(self, fault: Fault, method: str | None, chat_id: int | None, times: int) -> None:
        self.injected.append(Injected(fault, method, chat_id, times))

    def rate_limit(self, per_second: float | None) -> None:
        self.rate = per_second
        self._window.clear()

    async def apply(self, method: str, chat_id: int | None) -> bool:
        """Raise (or stall) as the faults in force say for this call; True when the call is
        to be carried out and its answer then dropped."""
        for injected in list(self.injected):
            if injected.matches(method, chat_id):
                injected.times -= 1
                if injected.times <= 0:
                    self.injected.remove(injected)
                if isinstance(injected.fault, DeliverThenDrop):
                    return True
                await self._trip(injected.fault)
                break
        if chat_id in self.blocked and method.startswith(_PER_CHAT_PREFIXES):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.rate is not None and method.startswith("send"):
            now = time.monotonic()
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate:
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
            self._window.append(now)
        return False

    async def _trip(self, fault: Fault) -> None:
        if isinstance(fault, TooManyRequests):
            raise ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )
        if isinstance(fault, ServerError):
            reasons = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
            raise ApiError(fault.status, reasons.get(fault.status, "Internal Server Error"))
        if isinstance(fault, Stall):
            await self.sleep(fault.seconds)
        elif isinstance(fault, DropConnection):
            raise ConnectionDropped

    async def sleep(self, seconds: float) -> None:
        """Sleep, cut short when the stand-in stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
