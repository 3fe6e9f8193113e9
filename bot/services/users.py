"""People and organisers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from bot.core.settings import SUPPORTED_LANGUAGES
from models import Organiser, User

FIRST_NAME_LIMIT = 128
USERNAME_LIMIT = 64
LANGUAGE_TAG_LIMIT = 16
# last_seen_at is refreshed at most this often: minute precision is all anyone needs, and
# a write per update would be the main cost of handling it.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    """What an update tells us about its sender, free of aiogram types."""

    id: int
    first_name: str
    username: str | None
    language_code: str | None


class UnsupportedLanguageError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class KnownUser:
    """A person's row as read a moment ago (`columns`), or None when there was none, and
    whether the organisers table named them then (None: not read)."""

    columns: Mapping[str, Any] | None
    organiser: bool | None = None


async def read_users(session: AsyncSession, ids: Collection[int]) -> dict[int, KnownUser]:
    """The rows of these people, read in one statement (absent ones as KnownUser(None)),
    with their entry in the organisers table: role-aware screens (/help, /challenges)
    then need no statement of their own."""
    table = User.__table__
    flag = Organiser.__table__.c.user_id
    result = await session.execute(
        select(*table.columns, flag.label("organiser_flag"))
        .outerjoin(Organiser.__table__, flag == table.c.id)
        .where(table.c.id.in_(ids))
    )
    keys = tuple(result.keys())[:-1]
    known = {
        row.id: KnownUser(dict(zip(keys, row[:-1], strict=True)), row[-1] is not None)
        for row in result
    }
    return {user_id: known.get(user_id, KnownUser(None)) for user_id in ids}


def _attach(session: AsyncSession, columns: Mapping[str, Any]) -> User:
    """The row as a persistent User of this session, without reading it again: changes
    made to it are written at the next flush, as for a row the session had loaded."""
    sync = session.sync_session
    loaded = sync.identity_map.get(sync.identity_key(User, columns["id"]))
    if isinstance(loaded, User):
        return loaded
    user = User(**columns)
    make_transient_to_detached(user)
    session.add(user)
    return user


async def upsert_user(
    session: AsyncSession,
    profile: TelegramProfile,
    now: datetime,
    known: KnownUser | None = None,
) -> User:
    """Create or refresh the row of the person behind an update; `known` spares reading it
    when the caller has just read it (bot.serving.processing reads a whole batch's at once)."""
    if known is None:
        user = await session.get(User, profile.id)
    elif known.columns is None:
        user = None
    else:
        user = _attach(session, known.columns)
    first_name = profile.first_name[:FIRST_NAME_LIMIT]
    username = profile.username[:USERNAME_LIMIT] if profile.username else None
    language = profile.language_code[:LANGUAGE_TAG_LIMIT] if profile.language_code else None
    if user is None:
        user = User(
            id=profile.id,
            first_name=first_name,
            username=username,
            telegram_language=language,
            is_active=True,
            created_at=now,
            last_seen_at=now,
        )
        session.add(user)
        # Flushed at once: handlers add rows that refer to the person (offers, logs...)
        # without an ORM relationship, and the unit of work would not order them after it.
        await session.flush()
        return user
    # Assign only what changed: an unchanged row is not written at all (most updates),
    # which keeps the write lock (SQLite) and the WAL small.
    if user.first_name != first_name:
        user.first_name = first_name
    if user.username != username:
        user.username = username
    if user.telegram_language != language:
        user.telegram_language = language
    # Talking to us again means the person unblocked the bot.
    if not user.is_active:
        user.is_active = True
    if now - user.last_seen_at >= LAST_SEEN_RESOLUTION:
        user.last_seen_at = now
    return user


async def set_language(session: AsyncSession, user_id: int, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguageError(language)
    user = await session.get(User, user_id)
    if user is None:
        raise LookupError(user_id)
    user.language = language


async def is_organiser(session: AsyncSession, user_id: int, configured: Iterable[int]) -> bool:
    if user_id in frozenset(configured):
        return True
    return await session_organiser(session, user_id)


class Roles:
    """What the sender of one update may see as an organiser, read once per update: from
    the row read with the update's batch when there is one (bot.serving.prefetch, a few
    seconds old at most, as the rest of that row), else from the database on first use.
    For what a person sees; a change an organiser makes is checked against the table at
    that moment (`is_organiser`)."""

    __slots__ = ("_configured", "_organiser", "_session", "user_id")

    def __init__(
        self,
        session: AsyncSession,
        user_id: int,
        configured: Iterable[int],
        known: KnownUser | None = None,
    ) -> None:
        self._session = session
        self.user_id = user_id
        self._configured = configured
        self._organiser = known.organiser if known is not None else None

    async def organiser(self) -> bool:
        if self.user_id in frozenset(self._configured):
            return True
        if self._organiser is None:
            self._organiser = await session_organiser(self._session, self.user_id)
        return self._organiser


async def session_organiser(session: AsyncSession, user_id: int) -> bool:
    """Whether the organisers table names this person (the configured ones aside)."""
    return await session.get(Organiser, user_id) is not None


async def add_organiser(session: AsyncSession, user_id: int, now: datetime, note: str = "") -> bool:
    """Add an organiser; False if they already were one."""
    if user_id <= 0:
        raise ValueError("a Telegram user id is a positive number")
    if await session.get(Organiser, user_id) is not None:
        return False
    session.add(Organiser(user_id=user_id, note=note, added_at=now))
    return True


async def remove_organiser(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(delete(Organiser).where(Organiser.user_id == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_organisers(session: AsyncSession) -> list[Organiser]:
    return list((await session.scalars(select(Organiser).order_by(Organiser.user_id))).all())


async def all_organiser_ids(session: AsyncSession, configured: Iterable[int]) -> set[int]:
    stored = await session.scalars(select(Organiser.user_id))
    return set(configured) | set(stored)


class NotOrganiserError(PermissionError):
    """The person is not an organiser (checked on every organiser action, whatever the
    interface showed them)."""


async def require_organiser(session: AsyncSession, user_id: int, configured: Iterable[int]) -> None:
    if not await is_organiser(session, user_id, configured):
        raise NotOrganiserError(user_id)
