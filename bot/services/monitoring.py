"""Figures for operators (`/metrics`): the backlogs and the worker lease, as the database
sees them. Every process reports the same figures (they are the whole deployment's);
Prometheus queries take their max across instances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import inbox, leases
from models import OutboxMessage, OutboxStatus


@dataclass(frozen=True, slots=True)
class Backlogs:
    inbox_pending: int
    outbox_due: int
    outbox_waiting: int
    outbox_sending: int
    oldest_due_seconds: float
    # None: no process has ever held the lease.
    lease_seconds_left: float | None


async def backlogs(session: AsyncSession, now: datetime, lease_name: str) -> Backlogs:
    pending = OutboxMessage.status == OutboxStatus.PENDING
    due = pending & (OutboxMessage.next_attempt_at <= now)
    counts = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((due, 1), else_=0)), 0),
                func.coalesce(func.sum(case((pending & ~due, 1), else_=0)), 0),
                func.coalesce(
                    func.sum(case((OutboxMessage.status == OutboxStatus.SENDING, 1), else_=0)),
                    0,
                ),
                func.min(case((due, OutboxMessage.next_attempt_at), else_=None)),
            ).where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        )
    ).one()
    oldest: datetime | None = counts[3]
    lease = await leases.holder_of(session, lease_name)
    return Backlogs(
        inbox_pending=await inbox.backlog(session),
        outbox_due=int(counts[0]),
        outbox_waiting=int(counts[1]),
        outbox_sending=int(counts[2]),
        oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        lease_seconds_left=None if lease is None else (lease.expires_at - now).total_seconds(),
    )
