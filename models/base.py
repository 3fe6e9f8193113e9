"""Declarative base shared by every model, with a naming convention Alembic can rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which drops tzinfo) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(StrEnum):
    """What erasing a person (/forget) does to a column that holds their Telegram id.

    Declared as `info={"person": Person.X}` on every column that names a person without a
    foreign key to users.id (a foreign key to users.id means ERASE unless declared). The
    erasure service walks the metadata, so a table added later is covered by declaring its
    columns; tests/e2e/test_erasure.py fails on a person-looking column left undeclared.
    """

    # The row is about the person (their log, their listing): deleted with them.
    ERASE = "erase"
    # The row outlives them (a challenge they created): the column is set to NOBODY / NULL.
    DETACH = "detach"
    # Looks like a person id but is not one (a group chat id).
    NONE = "none"


PERSON = "person"
# What a DETACHed non-nullable person column holds once its person is gone.
NOBODY = 0


def person(policy: Person) -> dict[str, Person]:
    """`info=` for a column, see Person."""
    return {PERSON: policy}
