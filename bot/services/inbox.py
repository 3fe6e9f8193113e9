"""The inbox of received updates: at-least-once handling with de-duplication by update_id.

An update is stored (and committed) before Telegram is told we have it; it is marked done
in the same transaction as its handler's changes, so its database effects happen exactly
once even if the process dies half-way or Telegram delivers it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import InboxStatus, InboxUpdate

# Telegram redelivers an unanswered webhook update for a while and a crashed poller sees
# its last batch again: 24 h of memory is plenty; rows are purged after twice that.
KEEP_FOR = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class ReceivedUpdate:
    update_id: int
    user_id: int | None
    payload: str


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    update_id: int
    payload: str


async def store_updates(
    session: AsyncSession, updates: Sequence[ReceivedUpdate], now: datetime
) -> set[int]:
    """Store what is not stored yet; returns the update ids that were new."""
    if not updates:
        return set()
    rows = [
        {
            "update_id": received.update_id,
            "user_id": received.user_id,
            "payload": received.payload,
            "status": InboxStatus.PENDING.value,
            "received_at": now,
        }
        for received in updates
    ]
    # Core on the table with the rows as parameters: one cached statement whatever the
    # batch size (a multi-VALUES insert is compiled again for every call; that was a
    # third of the cost of storing a webhook's update).
    table = InboxUpdate.__table__
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.update_id])
        .returning(table.c.update_id)
    )
    return set((await session.execute(statement, rows)).scalars().all())


async def claim(session: AsyncSession, update_id: int) -> bool:
    """True when this session may handle the update: it is stored, still pending, and (on
    PostgreSQL) nobody else holds it; the row stays locked until the session ends."""
    status = await session.scalar(
        select(InboxUpdate.status)
        .where(InboxUpdate.update_id == update_id)
        .with_for_update(skip_locked=True)
    )
    return status == InboxStatus.PENDING.value


async def mark_replying(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """The handler's changes are being committed while it still runs (see
    InboxStatus.REPLYING). False if another transaction got there first."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status == InboxStatus.PENDING.value,
        )
        .values(status=InboxStatus.REPLYING.value, processed_at=now, payload="")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def abandoned(
    session: AsyncSession, *, before: datetime | None, limit: int = 500
) -> list[tuple[int, int | None]]:
    """Updates whose changes were committed and whose handler never finished: (update_id,
    the person); those left since `before` (None: every one, at start-up)."""
    statement = select(InboxUpdate.update_id, InboxUpdate.user_id).where(
        InboxUpdate.status == InboxStatus.REPLYING.value
    )
    if before is not None:
        statement = statement.where(InboxUpdate.processed_at < before)
    rows = await session.execute(statement.order_by(InboxUpdate.update_id).limit(limit))
    return [(update_id, user_id) for update_id, user_id in rows]


async def close_abandoned(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Mark an abandoned update done (once: False if someone else did)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status == InboxStatus.REPLYING.value,
        )
        .values(status=InboxStatus.DONE.value, processed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_done(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Mark the update handled, in the handler's transaction. False if another transaction
    got there first (the caller must then roll its changes back).

    The payload is dropped: only the update_id is needed to recognise a redelivery, and
    a busy bot's inbox would otherwise hold two days of full updates."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status.in_([InboxStatus.PENDING.value, InboxStatus.REPLYING.value]),
        )
        .values(status=InboxStatus.DONE.value, processed_at=now, payload="")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_many_done(session: AsyncSession, update_ids: Sequence[int], now: datetime) -> int:
    """Mark handled updates whose handlers changed nothing else (one transaction for many)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id.in_(update_ids),
            InboxUpdate.status == InboxStatus.PENDING.value,
        )
        .values(status=InboxStatus.DONE.value, processed_at=now, payload="")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_failed(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """The handler raised: kept with its payload for diagnosis, never retried."""
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            InboxUpdate.status.in_([InboxStatus.PENDING.value, InboxStatus.REPLYING.value]),
        )
        .values(status=InboxStatus.FAILED.value, processed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def pending_for_user(session: AsyncSession, user_id: int, up_to: int) -> list[PendingUpdate]:
    """This person's pending updates up to `up_to`, oldest first."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload)
        .where(
            InboxUpdate.status == InboxStatus.PENDING.value,
            InboxUpdate.user_id == user_id,
            InboxUpdate.update_id <= up_to,
        )
        .order_by(InboxUpdate.update_id)
    )
    return [PendingUpdate(update_id, payload) for update_id, payload in rows]


async def pending_updates(
    session: AsyncSession,
    *,
    received_before: datetime | None = None,
    after: int | None = None,
    limit: int = 500,
) -> list[PendingUpdate]:
    """Pending updates, oldest first (what a crash or a shutdown left unhandled); page
    with `after` = the last update_id seen."""
    statement = select(InboxUpdate.update_id, InboxUpdate.payload).where(
        InboxUpdate.status == InboxStatus.PENDING.value
    )
    if received_before is not None:
        statement = statement.where(InboxUpdate.received_at < received_before)
    if after is not None:
        statement = statement.where(InboxUpdate.update_id > after)
    rows = await session.execute(statement.order_by(InboxUpdate.update_id).limit(limit))
    return [PendingUpdate(update_id, payload) for update_id, payload in rows]


async def backlog(session: AsyncSession) -> int:
    """How many updates are waiting to be handled (for monitoring)."""
    count = await session.scalar(
        select(func.count())
        .select_from(InboxUpdate)
        .where(InboxUpdate.status == InboxStatus.PENDING.value)
    )
    return int(count or 0)


async def purge_inbox(session: AsyncSession, now: datetime) -> int:
    """Forget handled updates received more than KEEP_FOR ago; returns how many.

    Pending ones are kept whatever their age: they still have to be handled."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.received_at < now - KEEP_FOR,
            InboxUpdate.status != InboxStatus.PENDING.value,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
