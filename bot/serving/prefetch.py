"""People's rows read with the batch of updates that brings them, instead of one read per
update when it is handled.

Reading a person's row (bot.serving.middlewares.user) was the one statement of most updates, and
a statement alone costs a connection from the pool, a transaction and several thread
hand-offs (aiosqlite): about a fifth of the CPU of handling an update. When a batch of
updates is stored (bot.serving.processing), the rows of its senders are read in the same
transaction, in one statement, and each update's handler gets its sender's row from there.

A row read early is used only if it is still what the handler would read itself:
- nothing in this process touched the person since it was read: the person's previous
  update, in flight during the read or handled in between, may have changed it (a language
  switch); `touch` is called when each update of a person starts and ends, and voids the
  rows read for that person's later updates;
- it is recent (MAX_AGE): other processes (the worker, the command line) can change a row
  too, as they could between any read and its use;
- only one process handles this inbox (with replicas, another one may be handling the
  person's previous update): the processor does not prefetch when it is shared.
Otherwise the handler reads the row as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bot.services.users import KnownUser

# Past this many seconds, a row read with its batch is read again.
MAX_AGE = 3.0
# More rows waiting than this, and the stale ones are dropped.
FORGET_PAST = 10_000


@dataclass(slots=True, eq=False)
class Prefetch:
    update_id: int
    user_id: int
    read_at: float
    valid: bool = True
    known: KnownUser | None = field(default=None)


class UserPrefetch:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._by_update: dict[int, Prefetch] = {}
        self._by_user: dict[int, list[Prefetch]] = {}

    def __len__(self) -> int:
        return len(self._by_update)

    def expect(self, senders: Iterable[tuple[int, int | None]]) -> list[Prefetch]:
        """Registers a read about to start for these (update_id, sender) pairs; registered
        before the read, so that a touch during it voids it. One per person: the person's
        first update in the batch (handling it voids the rest anyway)."""
        now = self._monotonic()
        if len(self._by_update) > FORGET_PAST:
            # Rows read for updates that were never handled here (a webhook request cut
            # between storing and scheduling): useless past MAX_AGE.
            self.discard([u for u, p in self._by_update.items() if now - p.read_at > MAX_AGE])
        expected: list[Prefetch] = []
        seen: set[int] = set()
        for update_id, user_id in senders:
            if user_id is None or user_id in seen or update_id in self._by_update:
                continue
            seen.add(user_id)
            prefetch = Prefetch(update_id, user_id, now)
            self._by_update[update_id] = prefetch
            self._by_user.setdefault(user_id, []).append(prefetch)
            expected.append(prefetch)
        return expected

    def fill(self, expected: Iterable[Prefetch], known: Mapping[int, KnownUser]) -> None:
        for prefetch in expected:
            prefetch.known = known.get(prefetch.user_id)

    def discard(self, update_ids: Iterable[int]) -> None:
        for update_id in update_ids:
            prefetch = self._by_update.pop(update_id, None)
            if prefetch is None:
                continue
            waiting = self._by_user.get(prefetch.user_id)
            if waiting is not None:
                waiting.remove(prefetch)
                if not waiting:
                    del self._by_user[prefetch.user_id]

    def take(self, update_id: int) -> KnownUser | None:
        """The row read for this update, if it may still be used; consumed either way."""
        prefetch = self._by_update.get(update_id)
        if prefetch is None:
            return None
        self.discard((update_id,))
        if not prefetch.valid or self._monotonic() - prefetch.read_at > MAX_AGE:
            return None
        return prefetch.known

    def touch(self, user_id: int) -> None:
        """The person's row may be changing: rows read for them so far are void."""
        for prefetch in self._by_user.get(user_id, ()):
            prefetch.valid = False
