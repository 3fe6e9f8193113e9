"""In-memory FSM storage and event isolation that do not grow with every person who ever
wrote to the bot (aiogram's MemoryStorage and SimpleEventIsolation keep an entry per
person forever: a leak in a long-running process with many users)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from copy import copy
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage, MemoryStorageRecord

from bot.serving.locks import LocalLocks


class CompactMemoryStorage(MemoryStorage):
    """MemoryStorage that keeps only people with a state or data."""

    def _tidy(self, key: StorageKey, record: MemoryStorageRecord) -> None:
        if record.state is None and not record.data:
            self.storage.pop(key, None)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        record = self.storage[key]
        record.state = state.state if isinstance(state, State) else state
        self._tidy(key, record)

    async def get_state(self, key: StorageKey) -> str | None:
        record = self.storage.get(key)
        return record.state if record is not None else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            msg = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(msg)
        record = self.storage[key]
        record.data = data.copy()
        self._tidy(key, record)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = self.storage.get(key)
        return record.data.copy() if record is not None else {}

    async def get_value(
        self, storage_key: StorageKey, dict_key: str, default: Any | None = None
    ) -> Any | None:
        record = self.storage.get(storage_key)
        if record is None:
            return default
        return copy(record.data.get(dict_key, default))


class LocalEventIsolation(BaseEventIsolation):
    """SimpleEventIsolation whose per-person locks are dropped once free."""

    def __init__(self) -> None:
        self._locks = LocalLocks()

    # aiogram declares an asynccontextmanager; any async context manager will do.
    def lock(self, key: StorageKey) -> contextlib.AbstractAsyncContextManager[None]:  # type: ignore[override]
        return self._locks.lock(key)

    async def close(self) -> None:
        pass
