"""/forget: erase everything about a person by walking the SQLAlchemy metadata.

Every column that names a person is found from the models themselves: a foreign key to
users.id (the row is erased, unless the column declares otherwise) or a column declared
with `info=person(...)` (models.base.Person). Rows to erase take along the rows that
reference them (their foreign-key children, recursively), so a table added later is
covered without touching this module. Aggregates (a team's weekly total) hold no person
column and keep their numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, MetaData, Result, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import actions, events, offers, outbox
from models import Base
from models.base import NOBODY, PERSON, Person

USERS = "users"


@dataclass(frozen=True, slots=True)
class PersonColumn:
    table: Table
    column: Column[object]
    policy: Person


def _policy(column: Column[object]) -> Person | None:
    declared = column.info.get(PERSON)
    if declared is not None:
        return Person(declared)
    if any(fk.column.table.name == USERS for fk in column.foreign_keys):
        return Person.ERASE
    return None


def person_columns(metadata: MetaData | None = None) -> list[PersonColumn]:
    """Every column naming a person, except NONE ones; users.id comes last."""
    metadata = metadata or Base.metadata
    found: list[PersonColumn] = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            policy = _policy(column)
            if policy is not None and policy is not Person.NONE:
                found.append(PersonColumn(table, column, policy))
    found.sort(key=lambda pc: pc.table.name == USERS)
    return found


def _children(
    table: Table, metadata: MetaData
) -> Iterator[tuple[Table, Column[object], Column[object], bool]]:
    """(child table, its column, the referenced column of `table`, whether the child
    outlives the row) for each foreign key. A child outlives it when its key says
    ON DELETE SET NULL (an offer whose maker listing goes)."""
    for child in metadata.sorted_tables:
        for column in child.columns:
            for fk in column.foreign_keys:
                if fk.column.table is table and child is not table:
                    outlives = (fk.ondelete or "").upper() == "SET NULL" and column.nullable
                    yield child, column, fk.column, bool(outlives)


async def _erase_rows(
    session: AsyncSession,
    table: Table,
    where: ColumnElement[bool],
    metadata: MetaData,
    counts: dict[str, int],
) -> None:
    """Delete the rows of `table` matching `where`, their dependants first (so nothing
    depends on foreign-key cascades being switched on)."""
    for child, column, referenced, outlives in _children(table, metadata):
        refers = column.in_(select(referenced).where(where).scalar_subquery())
        if outlives:
            result = await session.execute(update(child).where(refers).values({column.name: None}))
            _count(counts, child, result)
        else:
            await _erase_rows(session, child, refers, metadata, counts)
    _count(counts, table, await session.execute(delete(table).where(where)))


def _count(counts: dict[str, int], table: Table, result: Result[Any]) -> None:
    changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        counts[table.name] = counts.get(table.name, 0) + changed


async def erase_person(
    session: AsyncSession, user_id: int, metadata: MetaData | None = None
) -> dict[str, int]:
    """Erase or detach every row naming `user_id`; rows affected per table. The caller
    (the DB-session middleware) commits, so erasure is all or nothing."""
    metadata = metadata or Base.metadata
    # Pending changes to this person's rows (last_seen_at) must not resurrect them later.
    await session.flush()
    counts: dict[str, int] = {}
    for pc in person_columns(metadata):
        if pc.policy is Person.ERASE:
            await _erase_rows(session, pc.table, pc.column == user_id, metadata, counts)
        else:
            value = None if pc.column.nullable else NOBODY
            result = await session.execute(
                update(pc.table).where(pc.column == user_id).values({pc.column.name: value})
            )
            _count(counts, pc.table, result)
    # Objects loaded earlier in this session (the sender's user row) are gone now.
    session.expunge_all()
    return counts


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What /forget did: rows affected per table, and the messages owed to other people
    (holders of a reservation on the person's offers, posters of offers they reserved),
    which the caller queues (bot/ui/notices/offers.py) in the same transaction."""

    counts: dict[str, int]
    notices: list[offers.Notice]
    # The person's offers, kept without them: their scheduled jobs can go.
    offer_ids: list[int]
    # Messages owed about events (a place they held given to the waiting list, their
    # events cancelled), queued by bot/ui/notices/events.py.
    event_notices: list[events.Notice] = field(default_factory=list)


async def forget(session: AsyncSession, user_id: int, now: datetime) -> Forgotten:
    """/forget: what other people hold on the person's offers and what the person holds on
    theirs is wound down first (they are told), then every row naming them is erased or
    detached (erase_person)."""
    withdrawn = await offers.withdraw_for_erasure(session, user_id, now)
    # Alerts and reminders about their offers not sent yet (deferred past quiet hours)
    # would carry the pickup address just cleared.
    await outbox.cancel_by_key_prefixes(
        session,
        [
            offers.notice_key_prefix(offer_id, kind)
            for offer_id in withdrawn.offer_ids
            for kind in (offers.NoticeKind.ALERT, offers.NoticeKind.REMINDER)
        ],
        "its offer's poster erased their data",
    )
    left = await events.withdraw_for_erasure(session, user_id, now)
    # Reminders and team-group announcements of their events, not sent yet, would carry
    # the place just cleared.
    await outbox.cancel_by_key_prefixes(
        session,
        [
            events.key_prefix(event_id, kind)
            for event_id in left.event_ids
            for kind in ("remind:", "announce:")
        ],
        "its event's organiser erased their data",
    )
    # Their weekly rows go with them; the counts of people per week (the leaderboard's)
    # are aggregates without a person in them: they are told here.
    await actions.forget_weeks(session, user_id)
    counts = await erase_person(session, user_id)
    return Forgotten(counts, withdrawn.notices, withdrawn.offer_ids, left.notices)
