"""A lease row per role: the worker (scheduler + sender) runs in exactly one process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import WorkerLease


async def acquire(
    session: AsyncSession,
    name: str,
    holder: str,
    host: str,
    pid: int,
    now: datetime,
    ttl: timedelta,
    pid_alive: Callable[[int], bool],
) -> bool:
    """Take (or keep) the lease; True if `holder` has it now.

    A lease is free when it expired, or when its holder ran on this host under a process
    id that no longer exists (a crashed or killed worker: no need to wait for the expiry).
    The takeover is a compare-and-swap on the previous holder, so two contenders never both win.
    """
    current = await session.get(WorkerLease, name, populate_existing=True)
    if current is None:
        try:
            async with session.begin_nested():
                session.add(
                    WorkerLease(
                        name=name,
                        holder=holder,
                        host=host,
                        pid=pid,
                        acquired_at=now,
                        expires_at=now + ttl,
                    )
                )
        except IntegrityError:
            return False
        return True
    free = (
        current.holder == holder
        or current.expires_at <= now
        or (current.host == host and current.pid != pid and not pid_alive(current.pid))
    )
    if not free:
        return False
    previous = current.holder
    result = await session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.holder == previous)
        .values(
            holder=holder,
            host=host,
            pid=pid,
            acquired_at=now if previous != holder else current.acquired_at,
            expires_at=now + ttl,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def renew(
    session: AsyncSession, name: str, holder: str, now: datetime, ttl: timedelta
) -> bool:
    """Extend our lease; False if someone else holds it now (we must stop working)."""
    result = await session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.holder == holder)
        .values(expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, name: str, holder: str, now: datetime) -> None:
    await session.execute(
        update(WorkerLease)
        .where(WorkerLease.name == name, WorkerLease.holder == holder)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


async def holder_of(session: AsyncSession, name: str) -> WorkerLease | None:
    return await session.scalar(select(WorkerLease).where(WorkerLease.name == name))
