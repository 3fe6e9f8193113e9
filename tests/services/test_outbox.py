"""The outbox keeps finished messages for a while, then forgets them (their texts may
quote people); replies are kept only until delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.worker.background import PERIODIC_JOBS
from bot.worker.jobs import RETENTION_REF
from models import OutboxBlob, OutboxMessage, OutboxStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _queue(session: AsyncSession, key: str, when: datetime, blob: int | None = None) -> None:
    await outbox.enqueue(
        session, chat_id=1, kind="k", text=key, key=key, now=when, photo_blob_id=blob
    )


async def test_finished_messages_are_forgotten_after_the_retention_delay(
    session: AsyncSession,
) -> None:
    old = NOW - outbox.KEEP_FOR - timedelta(hours=1)
    recent = NOW - timedelta(days=1)
    blob = await outbox.create_blob(session, b"png", old)
    orphan_blob = await outbox.create_blob(session, b"png", old)
    await _queue(session, "old-sent", old, blob)
    await _queue(session, "old-pending", old)
    await _queue(session, "recent-sent", recent)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.idempotency_key.in_(["old-sent", "recent-sent"]))
        .values(status=OutboxStatus.SENT)
    )
    assert await outbox.purge_finished(session, NOW) == 1
    keys = set((await session.scalars(select(OutboxMessage.idempotency_key))).all())
    # Waiting messages stay whatever their age: they have yet to be sent.
    assert keys == {"old-pending", "recent-sent"}
    blobs = set((await session.scalars(select(OutboxBlob.id))).all())
    assert blob not in blobs and orphan_blob not in blobs


def test_the_retention_job_runs_with_the_periodic_jobs() -> None:
    assert RETENTION_REF in {ref for _, _, ref in PERIODIC_JOBS}
