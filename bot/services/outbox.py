"""The outbox: the one way anything the bot sends on its own initiative leaves the building.

Services call `enqueue` (or `enqueue_many`) inside their own transaction: the message is
decided exactly when the rest of the change commits, and the idempotency key makes the
same decision taken twice (a job run again after a crash, a double click) one message.
The sender (bot/worker/sender.py) uses the claim/record functions below; they hold all the SQL.

Delivery states: pending -> sending (claimed, under a lease) -> sent | blocked | failed,
or back to pending for a retry; pending/claimed-but-not-started -> cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxBlob, OutboxMessage, OutboxStatus, User
from models.outbox import TERMINAL_STATUSES

KEY_LIMIT = 200
ERROR_LIMIT = 500


class Priority(IntEnum):
    """Claimed lowest first: a waiting organiser is not stuck behind 10,000 recipients."""

    INTERACTIVE = 0
    NUDGE = 5
    BULK = 10


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat_id: int
    kind: str
    text: str
    key: str
    photo_file_id: str | None = None
    photo_blob_id: int | None = None
    # An InlineKeyboardMarkup as JSON ({"inline_keyboard": [[{"text": …, "url": …}]]}).
    reply_markup: dict[str, Any] | None = None
    not_before: datetime | None = None
    priority: int = Priority.NUDGE
    broadcast_id: int | None = None
    # Someone else the text names (a reserver in a notice to the poster), for /forget.
    about_user_id: int | None = None
    # A call other than a text or photo message (a relayed place: sendVenue), as
    # bot/ui/calls.py stores it; the sender makes it as is.
    call: dict[str, Any] | None = None


def _row(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
    if not message.key or len(message.key) > KEY_LIMIT:
        raise ValueError(f"an idempotency key has 1 to {KEY_LIMIT} characters")
    if message.photo_file_id and message.photo_blob_id:
        raise ValueError("a message has one photo: a file id or a blob, not both")
    not_before = message.not_before or now
    return {
        "chat_id": message.chat_id,
        "kind": message.kind,
        "priority": int(message.priority),
        "text": message.text,
        "photo_file_id": message.photo_file_id,
        "photo_blob_id": message.photo_blob_id,
        "reply_markup": message.reply_markup,
        "idempotency_key": message.key,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "not_before": not_before,
        "next_attempt_at": not_before,
        "broadcast_id": message.broadcast_id,
        "about_user_id": message.about_user_id,
        "call": message.call,
        "created_at": now,
    }


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
    if dialect == "sqlite":
        return sqlite.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
    raise NotImplementedError(f"no idempotent insert for {dialect}")  # pragma: no cover


async def enqueue_many(
    session: AsyncSession, messages: Sequence[OutgoingMessage], now: datetime
) -> int:
    """Queue messages; those whose key is already queued are left alone. Returns how many
    were new."""
    if not messages:
        return 0
    rows = [_row(message, now) for message in messages]
    statement = _insert_ignoring_duplicates(session).returning(OutboxMessage.id)
    inserted = 0
    # Chunks keep each statement's parameter list modest on very large audiences.
    for start in range(0, len(rows), 2000):
        result = await session.execute(statement, rows[start : start + 2000])
        inserted += len(result.all())
    return inserted


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    text: str,
    key: str,
    now: datetime,
    photo_file_id: str | None = None,
    photo_blob_id: int | None = None,
    reply_markup: dict[str, Any] | None = None,
    not_before: datetime | None = None,
    priority: int = Priority.NUDGE,
    broadcast_id: int | None = None,
    about_user_id: int | None = None,
    call: dict[str, Any] | None = None,
) -> bool:
    """Queue one message; True if it is new, False if this key was already queued."""
    message = OutgoingMessage(
        chat_id=chat_id,
        kind=kind,
        text=text,
        key=key,
        photo_file_id=photo_file_id,
        photo_blob_id=photo_blob_id,
        reply_markup=reply_markup,
        not_before=not_before,
        priority=priority,
        broadcast_id=broadcast_id,
        about_user_id=about_user_id,
        call=call,
    )
    return await enqueue_many(session, [message], now) == 1


# --------------------------------------------------------------------------- replies

REPLY_KIND = "reply"
# Lease tokens of replies name the serving process (a dead local one is recovered at once).
REPLY_TOKEN_PREFIX = "r:"


def reply_token(host: str, pid: int, nonce: str) -> str:
    return f"{REPLY_TOKEN_PREFIX}{host}:{pid}:{nonce}"


def reply_token_process(token: str) -> tuple[str, int] | None:
    """(host, pid) of the process a reply token names, or None for another token."""
    if not token.startswith(REPLY_TOKEN_PREFIX):
        return None
    parts = token[len(REPLY_TOKEN_PREFIX) :].split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


@dataclass(frozen=True, slots=True)
class Reply:
    """A call a handler makes, kept with the transaction that decides it."""

    chat_id: int
    # {"method": …, "params": …} (bot/ui/calls.py), files as blob ids.
    call: dict[str, Any]
    # Unique per update and call: "reply:<update_id>:<n>".
    key: str
    text: str = ""


async def record_reply(
    session: AsyncSession, reply: Reply, token: str, lease: timedelta, now: datetime
) -> int:
    """Keep a reply the handler is about to send, already claimed by this process (it
    sends it right after the commit). If the process dies before it is marked sent, the
    sender recovers it like any interrupted message and makes the call again."""
    row = OutboxMessage(
        chat_id=reply.chat_id,
        kind=REPLY_KIND,
        priority=int(Priority.INTERACTIVE),
        text=reply.text,
        call=reply.call,
        idempotency_key=reply.key,
        status=OutboxStatus.SENDING.value,
        attempts=1,
        not_before=now,
        next_attempt_at=now,
        lease_token=token,
        lease_until=now + lease,
        attempt_started_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def settle_replies(
    session: AsyncSession, outcomes: Sequence[Outcome], token: str, now: datetime
) -> None:
    """Write back what became of replies sent by the process that recorded them: those
    delivered are forgotten at once (kept only to survive a crash, they would otherwise
    hold what the person was told, /forget's own confirmation included)."""
    sent = [outcome.id for outcome in outcomes if outcome.status is OutboxStatus.SENT]
    await record_outcomes(
        session,
        [outcome for outcome in outcomes if outcome.status is not OutboxStatus.SENT],
        token,
        now,
    )
    if sent:
        await session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.id.in_(sent), OutboxMessage.lease_token == token)
            .execution_options(synchronize_session=False)
        )


async def forget_sent_replies(session: AsyncSession, ids: Sequence[int]) -> None:
    if not ids:
        return
    await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.kind == REPLY_KIND,
            OutboxMessage.status == OutboxStatus.SENT,
        )
        .execution_options(synchronize_session=False)
    )


async def reply_tokens(session: AsyncSession) -> set[str]:
    """The lease tokens of replies being sent right now (to find those of dead processes)."""
    rows = await session.scalars(
        select(OutboxMessage.lease_token)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.kind == REPLY_KIND,
        )
        .distinct()
    )
    return {token for token in rows.all() if token}


async def create_blob(
    session: AsyncSession, data: bytes, now: datetime, filename: str = "picture.png"
) -> int:
    """Store picture bytes once for any number of messages (`photo_blob_id`)."""
    blob = OutboxBlob(data=data, filename=filename[:64], created_at=now)
    session.add(blob)
    await session.flush()
    return blob.id


async def find(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))


async def status_counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    return {str(status): int(count) for status, count in rows.all()}


async def cancel_broadcast_messages(session: AsyncSession, broadcast_id: int) -> int:
    return await cancel_unstarted(
        session, OutboxMessage.broadcast_id == broadcast_id, "cancelled by the organiser"
    )


async def cancel_unstarted(session: AsyncSession, which: ColumnElement[bool], reason: str) -> int:
    """Cancel what has not started among `which`: pending rows, and rows the sender holds
    but has not begun sending (it re-checks before every send)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            which,
            (OutboxMessage.status == OutboxStatus.PENDING)
            | (
                (OutboxMessage.status == OutboxStatus.SENDING)
                & OutboxMessage.attempt_started_at.is_(None)
            ),
        )
        .values(
            status=OutboxStatus.CANCELLED,
            lease_token=None,
            lease_until=None,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def cancel_by_key_prefixes(
    session: AsyncSession, prefixes: Sequence[str], reason: str
) -> int:
    """Cancel the unstarted messages whose idempotency key starts with one of `prefixes`."""
    if not prefixes:
        return 0
    which = or_(
        *(OutboxMessage.idempotency_key.startswith(prefix, autoescape=True) for prefix in prefixes)
    )
    return await cancel_unstarted(session, which, reason)


# --------------------------------------------------------------------------- the sender's side


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    chat_id: int
    kind: str
    text: str
    photo_file_id: str | None
    photo_blob_id: int | None
    reply_markup: dict[str, Any] | None
    attempts: int
    broadcast_id: int | None
    call: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one attempt, as the sender writes it back."""

    id: int
    status: OutboxStatus
    chat_id: int
    sent_message_id: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    # A 429 is the bot's fault, not the message's: it does not use up an attempt.
    refund_attempt: bool = False
    # A photo uploaded from a blob: Telegram's id for it, for the next messages.
    blob_file_id: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class Recovered:
    never_started: int = 0
    # Claimed by a process that died after it may have sent them: retried, so these few
    # are the ones that can arrive twice (the Bot API has no idempotency key).
    interrupted: int = 0
    ids: tuple[int, ...] = field(default=())


def _outbox() -> Table:
    table = OutboxMessage.__table__
    assert isinstance(table, Table)
    return table


async def claim_due(
    session: AsyncSession, token: str, now: datetime, limit: int, lease: timedelta
) -> list[ClaimedMessage]:
    """Atomically take up to `limit` due pending messages under this sender's lease.

    One UPDATE … WHERE id IN (SELECT … LIMIT n): SQLite runs it under its single writer
    lock; on PostgreSQL the inner SELECT is FOR UPDATE SKIP LOCKED, so two senders never
    take the same row and never wait for each other.
    """
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            lease_token=token,
            lease_until=now + lease,
            attempt_started_at=None,
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.kind,
            OutboxMessage.text,
            OutboxMessage.photo_file_id,
            OutboxMessage.photo_blob_id,
            OutboxMessage.reply_markup,
            OutboxMessage.attempts,
            OutboxMessage.broadcast_id,
            OutboxMessage.priority,
            OutboxMessage.next_attempt_at,
            OutboxMessage.call,
        )
        .execution_options(synchronize_session=False)
    )
    # RETURNING order is unspecified: put them back in claim order.
    rows = sorted(
        (await session.execute(statement)).all(),
        key=lambda row: (row.priority, row.next_attempt_at, row.id),
    )
    return [
        ClaimedMessage(
            id=row.id,
            chat_id=row.chat_id,
            kind=row.kind,
            text=row.text,
            photo_file_id=row.photo_file_id,
            photo_blob_id=row.photo_blob_id,
            reply_markup=row.reply_markup,
            attempts=row.attempts,
            broadcast_id=row.broadcast_id,
            call=row.call,
        )
        for row in rows
    ]


async def inactive_chats(session: AsyncSession, chat_ids: Iterable[int]) -> set[int]:
    """Private chats of people who blocked the bot (users.is_active is False)."""
    wanted = {chat_id for chat_id in chat_ids if chat_id > 0}
    if not wanted:
        return set()
    rows = await session.scalars(
        select(User.id).where(User.id.in_(wanted), User.is_active.is_(False))
    )
    return set(rows.all())


async def mark_started(
    session: AsyncSession, ids: Sequence[int], token: str, now: datetime
) -> set[int]:
    """Record, before the HTTP calls, that these messages may be on their way; returns the
    ids still ours to send (a cancelled one is not). Committed by the caller first."""
    if not ids:
        return set()
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_token == token,
        )
        .values(attempt_started_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars().all())


async def release(
    session: AsyncSession, ids: Sequence[int], token: str, next_attempt_at: datetime
) -> None:
    """Give back claimed messages that were not started (shutdown, a chat's pacing)."""
    if not ids:
        return
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_token == token,
            OutboxMessage.attempt_started_at.is_(None),
        )
        .values(
            status=OutboxStatus.PENDING,
            lease_token=None,
            lease_until=None,
            next_attempt_at=next_attempt_at,
        )
        .execution_options(synchronize_session=False)
    )


async def record_outcomes(
    session: AsyncSession, outcomes: Sequence[Outcome], token: str, now: datetime
) -> None:
    """Write back what happened; only rows still under this sender's lease change (a
    sender that lost its lease cannot overwrite its successor's work)."""
    if not outcomes:
        return
    table = _outbox()
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.lease_token == token)
        .values(
            status=bindparam("b_status"),
            chat_id=bindparam("b_chat_id"),
            sent_message_id=bindparam("b_message_id"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next", type_=table.c.next_attempt_at.type),
            sent_at=bindparam("b_sent_at", type_=table.c.sent_at.type),
            attempts=table.c.attempts - bindparam("b_refund"),
            lease_token=None,
            lease_until=None,
            attempt_started_at=None,
        )
    )
    params = [
        {
            "b_id": outcome.id,
            "b_status": outcome.status.value,
            "b_chat_id": outcome.chat_id,
            "b_message_id": outcome.sent_message_id,
            "b_error": outcome.error[:ERROR_LIMIT] if outcome.error else None,
            "b_next": outcome.next_attempt_at or now,
            "b_sent_at": now if outcome.status is OutboxStatus.SENT else None,
            "b_refund": 1 if outcome.refund_attempt else 0,
        }
        for outcome in outcomes
    ]
    await session.execute(statement, params)
    blocked = {o.chat_id for o in outcomes if o.status is OutboxStatus.BLOCKED}
    if blocked:
        await mark_blocked(session, blocked)
    for outcome in outcomes:
        if outcome.blob_file_id is not None:
            blob_id, file_id = outcome.blob_file_id
            await session.execute(
                update(OutboxBlob)
                .where(OutboxBlob.id == blob_id, OutboxBlob.file_id.is_(None))
                .values(file_id=file_id)
            )


async def mark_blocked(session: AsyncSession, chat_ids: set[int]) -> None:
    """The person blocked the bot: inactive, and nothing more is queued for them."""
    people = [chat_id for chat_id in chat_ids if chat_id > 0]
    if people:
        await session.execute(
            update(User)
            .where(User.id.in_(people))
            .values(is_active=False)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id.in_(chat_ids),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.BLOCKED, last_error="the recipient blocked the bot")
        .execution_options(synchronize_session=False)
    )


async def blob_for_upload(session: AsyncSession, blob_id: int) -> tuple[str | None, bytes, str]:
    """(Telegram's file_id if known, else None; the bytes; the file name)."""
    blob = await session.get(OutboxBlob, blob_id)
    if blob is None:
        raise LookupError(blob_id)
    return blob.file_id, blob.data, blob.filename


async def recover(
    session: AsyncSession,
    token: str,
    now: datetime,
    *,
    everyone: bool,
    dead_tokens: Iterable[str] = (),
) -> Recovered:
    """Put back messages claimed by a sender that is gone.

    `everyone`: this sender just took the worker lease, so no other sender is alive and
    every claimed row is an orphan; otherwise only rows whose lease expired are.
    A row whose HTTP call had not started is simply pending again. A row whose call may
    have started is uncertain — Telegram may or may not have delivered it, and the Bot API
    offers no way to ask — and is retried: a rare duplicate beats a silent loss.
    """
    orphan = and_(OutboxMessage.status == OutboxStatus.SENDING)
    expired = OutboxMessage.lease_until < now
    dead = list(dead_tokens)
    if dead:
        expired = or_(expired, OutboxMessage.lease_token.in_(dead))
    if everyone:
        # Replies belong to serving processes, which live whoever holds the worker lease:
        # only those whose lease expired, or whose process is known dead, are orphans.
        orphan = and_(
            orphan,
            OutboxMessage.lease_token.is_distinct_from(token),
            or_(OutboxMessage.kind != REPLY_KIND, expired),
        )
    else:
        orphan = and_(orphan, expired)
    rows = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.attempt_started_at).where(orphan)
        )
    ).all()
    if not rows:
        return Recovered()
    interrupted = [row.id for row in rows if row.attempt_started_at is not None]
    never = [row.id for row in rows if row.attempt_started_at is None]
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "lease_token": None,
        "lease_until": None,
        "attempt_started_at": None,
        "next_attempt_at": now,
    }
    if never:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(never), orphan)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if interrupted:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(interrupted), orphan)
            .values(**values, last_error="interrupted while sending; delivery unknown, retried")
            .execution_options(synchronize_session=False)
        )
    return Recovered(
        never_started=len(never), interrupted=len(interrupted), ids=tuple(r.id for r in rows)
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message becomes due (to sleep until then)."""
    value: datetime | None = await session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    return value


async def unfinished_count(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
            )
        )
        or 0
    )


# --------------------------------------------------------------------------- retention

# Sent, blocked, failed and cancelled messages are kept this long (reports, the nudge
# caps, a broadcast's figures read them), then forgotten: their texts may quote people.
KEEP_FOR = timedelta(days=14)


async def purge_finished(session: AsyncSession, now: datetime, keep: timedelta = KEEP_FOR) -> int:
    """Delete finished messages older than `keep`; returns how many. Blobs no message
    needs any more go too."""
    result = await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.created_at < now - keep,
            OutboxMessage.status.in_([status.value for status in TERMINAL_STATUSES]),
        )
        .execution_options(synchronize_session=False)
    )
    used = select(OutboxMessage.photo_blob_id).where(OutboxMessage.photo_blob_id.is_not(None))
    await session.execute(
        delete(OutboxBlob)
        .where(OutboxBlob.created_at < now - keep, OutboxBlob.id.not_in(used))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
