"""The local makers directory: makers and shops, and the people who favourited them."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    true,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from models.base import Base, Person, UTCDateTime, person


class MakerCategory(StrEnum):
    """The slugs of PRODUCT.md §5, in the order the keyboards show them."""

    CLOTHING = "clothing"
    ACCESSORIES = "accessories"
    JEWELLERY = "jewellery"
    FURNITURE = "furniture"
    GAMES = "games"
    COSMETICS = "cosmetics"
    HOME = "home"
    FOOD = "food"
    REPAIR = "repair"
    OTHER = "other"


class MakerStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class MakerSource(StrEnum):
    IMPORT = "import"
    OSM = "osm"
    SELF = "self"


# PostgreSQL's spatial index (SQLite uses an R*Tree, see the 0002 migration): the world cut
# into GEO_CELL_DEGREES squares numbered row by row, so the cells of a box form one
# contiguous range of numbers per row, each a B-tree range scan.
GEO_CELL_DEGREES = 0.05
GEO_CELL_COLUMNS = round(360 / GEO_CELL_DEGREES)
GEO_CELL_ROWS = round(180 / GEO_CELL_DEGREES)


def geo_cell_row(latitude: float) -> int:
    return min(GEO_CELL_ROWS - 1, max(0, math.floor((latitude + 90.0) / GEO_CELL_DEGREES)))


def geo_cell_column(longitude: float) -> int:
    return min(GEO_CELL_COLUMNS - 1, max(0, math.floor((longitude + 180.0) / GEO_CELL_DEGREES)))


def geo_cell(latitude: float, longitude: float) -> int:
    return geo_cell_row(latitude) * GEO_CELL_COLUMNS + geo_cell_column(longitude)


class Maker(Base):
    __tablename__ = "makers"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_makers_source_external_id"),
        # On PostgreSQL the index also carries the coordinates and the id, so a box is
        # answered by an index-only scan (no row fetched); SQLite ignores INCLUDE.
        Index(
            "ix_makers_status_geo_cell",
            "status",
            "geo_cell",
            postgresql_include=["latitude", "longitude", "id"],
        ),
        Index("ix_makers_status_category", "status", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16), default=MakerCategory.OTHER.value)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    website: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # Kept in step with latitude/longitude by the ORM events below.
    geo_cell: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=MakerStatus.PENDING.value)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # The Telegram id of whoever registered the listing with /maker (one listing each).
    owner_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, info=person(Person.ERASE))
    source: Mapped[str] = mapped_column(String(8))
    # Idempotent imports: the CSV id (else name + postcode) or the OSM "node/123".
    external_id: Mapped[str | None] = mapped_column(String(250))
    # Name and description folded to lower-case ASCII words, for accent-blind search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The pin is at the door (a shared location, a venue, an import's coordinates), not a
    # town's centre: only then does the card show the street address over it.
    pin_precise: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The eco-actions one can do there (catalogue slugs, space-separated, in catalogue
    # order): moderated with the rest of the listing, since they are part of it.
    actions: Mapped[str] = mapped_column(String(600), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MakerFavourite(Base):
    __tablename__ = "maker_favourites"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    maker_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("makers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@event.listens_for(Maker, "before_insert")
@event.listens_for(Maker, "before_update")
def _keep_geo_cell(_mapper: Mapper[Maker], _connection: object, maker: Maker) -> None:
    maker.geo_cell = geo_cell(maker.latitude, maker.longitude)
