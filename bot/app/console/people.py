"""Who is typing, and where: the people of one console session and their group chats.

Ids are stable: the first person is Telegram id 1 (as in every earlier console session,
so their data is found again); anyone else named with `:as` is a person already in the
database with that first name (the demo students, the demo shop…) or gets an id derived
from the name, the same in every session. Groups likewise: a campus team registered in
the database (`:group Campus des Chartrons`), or a new group with an id derived from its
name, created by whoever opened it."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.standin import TgChat, TgUser
from models import Team
from models import User as UserRow

FIRST_PERSON_ID = 1
_PERSON_IDS = 1_000_000
_GROUP_IDS = 1_000_000_000_000
_SPREAD = 1_000_000_000


def person_id(name: str) -> int:
    """The Telegram id a new person of that name gets, in every session."""
    return _PERSON_IDS + zlib.crc32(name.casefold().encode()) % _SPREAD


def group_id(title: str) -> int:
    """The chat id a new group of that title gets (a supergroup's: -100…)."""
    return -(_GROUP_IDS + zlib.crc32(title.casefold().encode()) % _SPREAD)


@dataclass(frozen=True, slots=True)
class Found:
    chat: TgChat | TgUser
    created: bool


class People:
    """The people and groups this session knows, by name (case-insensitive)."""

    def __init__(
        self, first: TgUser, sessionmaker: async_sessionmaker[AsyncSession], language: str
    ) -> None:
        self.sessionmaker = sessionmaker
        self.language = language
        self.persons: dict[int, TgUser] = {first.id: first}
        self.groups: dict[int, TgChat] = {}

    def name_of(self, chat_id: int) -> str | None:
        if chat_id in self.persons:
            return self.persons[chat_id].first_name
        if chat_id in self.groups:
            return self.groups[chat_id].title
        return None

    async def person(self, name: str) -> Found:
        """The person called `name` (or with that Telegram id), found or created."""
        name = " ".join(name.split())[:64]
        wanted = name.casefold()
        for known in self.persons.values():
            if known.first_name.casefold() == wanted:
                return Found(known, created=False)
        row_id, row_name = await self._user_row(name)
        if row_id is not None:
            user = TgUser(row_id, row_name or name, self.language)
            created = False
        elif name.isdigit() and 0 < int(name) < 2**52:
            user = TgUser(int(name), name, self.language)
            created = True
        else:
            user = TgUser(person_id(name), name, self.language)
            created = True
        self.persons[user.id] = user
        return Found(user, created)

    async def _user_row(self, name: str) -> tuple[int | None, str | None]:
        async with self.sessionmaker() as session:
            if name.isdigit():
                row = await session.get(UserRow, int(name))
                return (row.id, row.first_name) if row is not None else (None, None)
            rows = (
                await session.execute(
                    select(UserRow.id, UserRow.first_name)
                    .where(
                        or_(
                            UserRow.first_name == name,
                            func.lower(UserRow.first_name) == name.lower(),
                        )
                    )
                    .order_by(UserRow.id)
                    .limit(1)
                )
            ).first()
        return (rows[0], rows[1]) if rows is not None else (None, None)

    async def group(self, title: str) -> Found:
        """The group titled `title` (a registered team's name may be shortened), found or
        created."""
        title = " ".join(title.split())[:128]
        wanted = title.casefold()
        for known in self.groups.values():
            if known.title.casefold().startswith(wanted):
                return Found(known, created=False)
        async with self.sessionmaker() as session:
            teams = (await session.execute(select(Team.chat_id, Team.name))).all()
        for chat_id, team_name in sorted(teams, key=lambda row: len(row[1])):
            if team_name.casefold().startswith(wanted):
                group = TgChat(int(chat_id), "supergroup", team_name)
                self.groups[group.id] = group
                return Found(group, created=False)
        group = TgChat(group_id(title), "supergroup", title)
        self.groups[group.id] = group
        return Found(group, created=True)
