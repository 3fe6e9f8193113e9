"""Importing makers (PRODUCT.md §5): CSV and GeoJSON files, and the shared idempotent upsert
that the OpenStreetMap import (bot/services/imports/osm.py) and the demo data use too.

A file is read and checked whole before anything is written: a file that cannot be read
(missing, not UTF-8, neither CSV nor GeoJSON, wrong header) raises UnreadableFileError and
imports nothing. A bad row is reported with its line number and skipped; an unknown
category becomes `other` with a warning, as does a website or phone that does not parse
(dropped). Rows are matched to what is already there by (source, external id): the CSV
`id`, else the name and postcode; re-importing the same file changes nothing. Imported
makers are approved; a re-import updates their fields but keeps a moderation decision.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.geo.geocoding import normalize_name, validate_coordinates
from bot.services.makers import (
    InvalidFieldError,
    clean_category,
    clean_name,
    clean_phone,
    clean_website,
    search_text_of,
)
from models import Maker, MakerCategory, MakerSource, MakerStatus

COLUMNS = (
    "id",
    "name",
    "category",
    "description",
    "latitude",
    "longitude",
    "address",
    "postcode",
    "city",
    "website",
    "phone",
)
REQUIRED_COLUMNS = frozenset(COLUMNS) - {"id"}
LIMITS = {"description": 5000, "address": 300, "postcode": 10, "city": 100, "id": 200}
COORDINATE_DECIMALS = 7
BATCH = 500

Progress = Callable[[int], None]


class UnreadableFileError(ValueError):
    """The file as a whole cannot be imported; nothing was."""


@dataclass(frozen=True, slots=True)
class MakerRecord:
    """One maker as a source describes it, checked and normalised."""

    source: MakerSource
    external_id: str
    name: str
    category: MakerCategory
    description: str
    latitude: float
    longitude: float
    address: str
    postcode: str
    city: str
    website: str | None
    phone: str | None

    def fields(self) -> dict[str, object]:
        return {
            "name": self.name,
            "category": self.category.value,
            "description": self.description,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "address": self.address,
            "postcode": self.postcode,
            "city": self.city,
            "website": self.website,
            "phone": self.phone,
            "search_text": search_text_of(self.name, self.description),
        }


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "line 12", "feature 3 (line 40)", "node/123"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class ParsedMakers:
    records: list[MakerRecord] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}"
        )


# ----------------------------------------------------------------------------- one row


class BadRowError(ValueError):
    pass


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRowError(f"{key} must be text")
    text = " ".join(str(value).split()) if key != "description" else str(value).strip()
    limit = LIMITS.get(key)
    if limit is not None and len(text) > limit:
        raise BadRowError(f"{key} is longer than {limit} characters")
    return text


def _coordinate(values: dict[str, Any], key: str) -> float:
    raw = values.get(key)
    if isinstance(raw, bool):
        raise BadRowError(f"{key} {raw!r} is not a number")
    try:
        number = float(str(raw).strip().replace(",", ".")) if raw is not None else math.nan
    except ValueError:
        raise BadRowError(f"{key} {str(raw)[:40]!r} is not a number") from None
    if not math.isfinite(number):
        raise BadRowError(f"{key} is missing")
    return round(number, COORDINATE_DECIMALS)


def make_record(
    values: dict[str, Any], source: MakerSource, external_id: str | None = None
) -> tuple[MakerRecord, list[str]]:
    """A checked record from raw values (CSV cells, GeoJSON properties, OSM tags), and its
    warnings; raises BadRowError for a row that cannot be imported."""
    warnings: list[str] = []
    try:
        name = clean_name(_text(values, "name"))
    except InvalidFieldError as error:
        raise BadRowError(f"name: {error.code.replace('_', ' ')}") from None
    latitude, longitude = _coordinate(values, "latitude"), _coordinate(values, "longitude")
    if not validate_coordinates(latitude, longitude):
        raise BadRowError(f"impossible coordinates {latitude}, {longitude}")
    raw_category = _text(values, "category")
    category = clean_category(raw_category)
    if category is None:
        warnings.append(f"unknown category {raw_category[:40]!r}, imported as 'other'")
        category = MakerCategory.OTHER
    website: str | None = None
    if raw_website := _text(values, "website"):
        try:
            website = clean_website(raw_website)
        except InvalidFieldError:
            warnings.append(f"website {raw_website[:60]!r} is not an http(s) address, dropped")
    phone: str | None = None
    if raw_phone := _text(values, "phone"):
        try:
            phone = clean_phone(raw_phone)
        except InvalidFieldError:
            warnings.append(f"phone {raw_phone[:40]!r} does not look like a number, dropped")
    postcode = _text(values, "postcode")
    if external_id is None:
        given = _text(values, "id")
        external_id = f"id:{given}" if given else f"np:{normalize_name(name)}|{postcode}"
    record = MakerRecord(
        source=source,
        external_id=external_id,
        name=name,
        category=category,
        description=_text(values, "description"),
        latitude=latitude,
        longitude=longitude,
        address=_text(values, "address"),
        postcode=postcode,
        city=_text(values, "city"),
        website=website,
        phone=phone,
    )
    return record, warnings


class _Collector:
    """Gathers records, refusing a second row with the same external id."""

    def __init__(self) -> None:
        self.parsed = ParsedMakers()
        self._first: dict[str, str] = {}

    def add(self, where: str, values: dict[str, Any], source: MakerSource) -> None:
        try:
            record, warnings = make_record(values, source)
        except BadRowError as error:
            self.parsed.skipped.append(Problem(where, str(error)))
            return
        first = self._first.get(record.external_id)
        if first is not None:
            self.parsed.skipped.append(Problem(where, f"the same maker as {first}"))
            return
        self._first[record.external_id] = where
        self.parsed.records.append(record)
        self.parsed.warnings.extend(Problem(where, warning) for warning in warnings)


# ----------------------------------------------------------------------------- files


def read_makers_file(path: Path) -> ParsedMakers:
    """Every maker of a CSV or GeoJSON file; raises UnreadableFileError."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UnreadableFileError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UnreadableFileError(f"{path} is not UTF-8 text (line {line})") from None
    if not content.strip():
        raise UnreadableFileError(f"{path} is empty")
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json") or (suffix != ".csv" and content.lstrip()[:1] == "{"):
        return parse_geojson(content)
    return parse_csv(content)


def parse_csv(content: str) -> ParsedMakers:
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (csv.Error, StopIteration) as error:
        raise UnreadableFileError(f"not a CSV file: {error}") from None
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        raise UnreadableFileError(
            "wrong header: missing "
            + ", ".join(sorted(missing))
            + f" (expected {','.join(COLUMNS)})"
        )
    if len(set(header)) != len(header):
        raise UnreadableFileError("wrong header: a column appears twice")
    collector = _Collector()
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        collector.parsed.warnings.append(
            Problem("line 1", f"unknown column(s) ignored: {', '.join(unknown)}")
        )
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise UnreadableFileError(f"not a CSV file (line {start}): {error}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        where = f"line {start}"
        if len(cells) != len(header):
            collector.parsed.skipped.append(
                Problem(where, f"{len(cells)} fields instead of {len(header)}")
            )
            continue
        collector.add(where, dict(zip(header, cells, strict=True)), MakerSource.IMPORT)
    return collector.parsed


def _features_with_lines(content: str) -> Iterator[tuple[int, object]]:
    """The elements of the top-level "features" array, each with the line it starts on
    (json.loads checked the document first, so this walk only meets valid JSON)."""
    decoder = json.JSONDecoder()
    position = 0

    def skip(at: int) -> int:
        while at < len(content) and content[at] in " \t\r\n":
            at += 1
        return at

    position = skip(position) + 1  # "{"
    while True:
        position = skip(position)
        if content[position] == "}":
            return
        key, position = decoder.raw_decode(content, position)
        position = skip(position) + 1  # ":"
        position = skip(position)
        if key == "features" and content[position] == "[":
            position = skip(position + 1)
            while content[position] != "]":
                start = position
                value, position = decoder.raw_decode(content, position)
                yield content.count("\n", 0, start) + 1, value
                position = skip(position)
                if content[position] == ",":
                    position = skip(position + 1)
            position += 1
        else:
            _, position = decoder.raw_decode(content, position)
        position = skip(position)
        if content[position] == ",":
            position += 1


def parse_geojson(content: str) -> ParsedMakers:
    try:
        document = json.loads(content)
    except ValueError as error:
        raise UnreadableFileError(f"not a GeoJSON file: {error}") from None
    if (
        not isinstance(document, dict)
        or document.get("type") != "FeatureCollection"
        or not isinstance(document.get("features"), list)
    ):
        raise UnreadableFileError("not a GeoJSON FeatureCollection")
    collector = _Collector()
    for number, (line, feature) in enumerate(_features_with_lines(content), start=1):
        where = f"feature {number} (line {line})"
        values = _feature_values(feature)
        if isinstance(values, str):
            collector.parsed.skipped.append(Problem(where, values))
            continue
        collector.add(where, values, MakerSource.IMPORT)
    return collector.parsed


def _feature_values(feature: object) -> dict[str, Any] | str:
    """The properties of a Point feature with its coordinates, or why it is no maker."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a Feature"
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return "the geometry is not a Point"
    coordinates = geometry.get("coordinates")
    if (
        not isinstance(coordinates, list)
        or len(coordinates) < 2
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates)
    ):
        return "the Point has no [longitude, latitude] coordinates"
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return "properties must be an object"
    values = {key: value for key, value in properties.items() if isinstance(key, str)}
    values["longitude"], values["latitude"] = coordinates[0], coordinates[1]
    return values


# ----------------------------------------------------------------------------- writing


def _changes(maker: Maker, values: dict[str, object]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(maker, key) != value:
            setattr(maker, key, value)
            changed = True
    return changed


def _batches(records: Sequence[MakerRecord], size: int) -> Iterable[Sequence[MakerRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


async def upsert_makers(
    session: AsyncSession,
    parsed: ParsedMakers,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> ImportSummary:
    """Create or update the parsed makers, matched by (source, external id)."""
    summary = ImportSummary(
        skipped=len(parsed.skipped), problems=list(parsed.skipped), warnings=list(parsed.warnings)
    )
    for batch in _batches(parsed.records, BATCH):
        by_key: dict[tuple[str, str], Maker] = {}
        for source in {record.source for record in batch}:
            ids = [record.external_id for record in batch if record.source is source]
            query = select(Maker).where(Maker.source == source.value, Maker.external_id.in_(ids))
            for maker in await session.scalars(query):
                by_key[(maker.source, maker.external_id or "")] = maker
        touched = list(by_key.values())
        for record in batch:
            values = record.fields()
            existing = by_key.get((record.source.value, record.external_id))
            if existing is None:
                maker = Maker(
                    **values,
                    source=record.source.value,
                    external_id=record.external_id,
                    status=MakerStatus.APPROVED.value,
                    created_at=now,
                    updated_at=now,
                )
                session.add(maker)
                touched.append(maker)
                summary.created += 1
            elif _changes(existing, values):
                existing.updated_at = now
                summary.updated += 1
            else:
                summary.unchanged += 1
        await session.flush()
        # The rows are written; the session need not remember them (big imports).
        for maker in touched:
            session.expunge(maker)
        if progress is not None:
            progress(len(batch))
    return summary
