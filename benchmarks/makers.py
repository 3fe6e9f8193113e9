"""Nearest makers among 1,000,000 (PRODUCT.md §4): the indexed top-10 search exactly as the
service runs it (bot.services.makers.nearest_ids: SQL through the spatial index, then exact
haversine ranking, on the app's async engine) against exhaustive scans, on the same 1,000
random query points; the answers must be identical (ids, order and distances).

Two exhaustive scans:
- in memory, on EVERY query: every approved maker's distance with numpy, then the 32 best
  re-measured with the service's own haversine (bit for bit) and ranked by (distance, id);
  exact as long as numpy's rounding (~1e-12 km) does not reorder the 10th and 33rd makers;
- in the database (bot.services.makers.exhaustive_nearest_ids_sql, a full table scan
  ORDER BY distance, id), on a sample of the queries (`--sql-exhaustive`, default 20): at a
  second or more per query, 1,000 of them would take most of an hour.

Synthetic makers sit around the communes of metropolitan France (a random commune each,
a few km off; 95 % approved), so density follows the real map of towns. The SQLite file is
built with raw sqlite3 executemany (the R*Tree triggers of the migration fill the index);
PostgreSQL (GREENHOOD_TEST_POSTGRES_URL or --postgres URL) is filled with COPY in a fresh
database dropped afterwards.

    python -m benchmarks makers [--n 1000000] [--queries 1000] [--sql-exhaustive 20]
                                [--postgres URL] [--pg-n 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import percentile, report
from bot.services import makers
from bot.services.geo.distance import DIAMETER_KM, RADIANS, Origin
from bot.services.geo.geocoding import DATA_FILE
from models import Maker, MakerCategory, MakerStatus
from models.database import create_engine, create_sessionmaker, upgrade
from models.maker import geo_cell

SEED = 20260105
K = 10
NOW = datetime(2026, 1, 5, tzinfo=UTC)
JITTER_DEGREES = 0.03
CATEGORIES = [category.value for category in MakerCategory]
COLUMNS = (
    "id",
    "name",
    "category",
    "description",
    "address",
    "postcode",
    "city",
    "latitude",
    "longitude",
    "geo_cell",
    "status",
    "source",
    "external_id",
    "search_text",
    "created_at",
    "updated_at",
)

Row = tuple[object, ...]
Search = Callable[[AsyncSession, float, float], Awaitable[list[tuple[int, float]]]]


def communes() -> list[tuple[float, float]]:
    """Metropolitan France's communes (Corsica included), as (latitude, longitude)."""
    with gzip.open(DATA_FILE, "rt", encoding="utf-8", newline="") as handle:
        return [
            (float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
            if row["postcode"] and not row["postcode"].startswith(("97", "98"))
        ]


def synthetic_rows(n: int, towns: list[tuple[float, float]], rnd: random.Random) -> list[Row]:
    rows: list[Row] = []
    stamp = NOW.isoformat()
    for index in range(1, n + 1):
        town_lat, town_lon = rnd.choice(towns)
        lat = round(town_lat + rnd.uniform(-JITTER_DEGREES, JITTER_DEGREES), 7)
        lon = round(town_lon + rnd.uniform(-JITTER_DEGREES, JITTER_DEGREES), 7)
        status = "approved" if rnd.random() < 0.95 else "pending"
        rows.append(
            (
                index,
                f"Maker {index}",
                rnd.choice(CATEGORIES),
                "",
                "",
                "",
                "",
                lat,
                lon,
                geo_cell(lat, lon),
                status,
                "import",
                f"bench:{index}",
                "",
                stamp,
                stamp,
            )
        )
    return rows


def query_points(
    count: int, towns: list[tuple[float, float]], rnd: random.Random
) -> list[tuple[float, float]]:
    return [
        (lat + rnd.uniform(-0.05, 0.05), lon + rnd.uniform(-0.05, 0.05))
        for lat, lon in (rnd.choice(towns) for _ in range(count))
    ]


def build_sqlite(path: Path, rows: list[Row]) -> float:
    started = time.perf_counter()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    async def migrate() -> None:
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    connection = sqlite3.connect(path)
    try:
        # A throwaway file: durability does not matter while it is filled.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        placeholders = ", ".join("?" for _ in COLUMNS)
        with connection:
            connection.executemany(
                f"INSERT INTO makers ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows
            )
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
    return time.perf_counter() - started


async def build_postgres(url: str, rows: list[Row]) -> float:
    import asyncpg

    started = time.perf_counter()
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        records = [(*row[:14], NOW, NOW) for row in rows]
        await connection.copy_records_to_table("makers", records=records, columns=list(COLUMNS))
        # As autovacuum would: the visibility map lets box queries use index-only scans.
        await connection.execute("VACUUM ANALYZE makers")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def measure(
    sessionmaker: async_sessionmaker[AsyncSession],
    points: list[tuple[float, float]],
    search: Search,
) -> tuple[list[float], list[list[tuple[int, float]]]]:
    timings: list[float] = []
    answers: list[list[tuple[int, float]]] = []
    async with sessionmaker() as session:
        await search(session, *points[0])  # warm the connection and the statement cache
        for lat, lon in points:
            started = time.perf_counter()
            answer = await search(session, lat, lon)
            timings.append((time.perf_counter() - started) * 1000)
            answers.append(answer)
    return timings, answers


async def indexed(session: AsyncSession, lat: float, lon: float) -> list[tuple[int, float]]:
    return await makers.nearest_ids(session, lat, lon, K)


async def exhaustive(session: AsyncSession, lat: float, lon: float) -> list[tuple[int, float]]:
    return await makers.exhaustive_nearest_ids_sql(session, lat, lon, K)


class MemoryScan:
    """Every approved maker's distance to a point, vectorised, then exact re-ranking."""

    SHORTLIST = 32

    def __init__(self, rows: list[tuple[int, float, float]]) -> None:
        self.ids = np.array([row[0] for row in rows], dtype=np.int64)
        self.latitudes = [row[1] for row in rows]
        self.longitudes = [row[2] for row in rows]
        self.lat_r = np.array(self.latitudes) * RADIANS
        self.lon_r = np.array(self.longitudes) * RADIANS
        self.cos_lat = np.cos(self.lat_r)

    def nearest(self, lat: float, lon: float, k: int) -> list[tuple[int, float]]:
        origin = Origin.at(lat, lon)
        s1 = np.sin((self.lat_r - origin.p1) / 2)
        s2 = np.sin((self.lon_r - origin.l1) / 2)
        h = s1 * s1 + origin.cos_p1 * self.cos_lat * s2 * s2
        distances = DIAMETER_KM * np.arcsin(np.sqrt(np.minimum(1.0, h)))
        count = min(self.SHORTLIST, len(distances))
        shortlist = np.argpartition(distances, count - 1)[:count]
        exact = sorted(
            (origin.distance_km(self.latitudes[i], self.longitudes[i]), int(self.ids[i]))
            for i in shortlist.tolist()
        )
        return [(maker_id, distance) for distance, maker_id in exact[:k]]


async def approved_points(url: str) -> list[tuple[int, float, float]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                select(Maker.id, Maker.latitude, Maker.longitude).where(
                    Maker.status == MakerStatus.APPROVED
                )
            )
            return [(int(maker_id), float(lat), float(lon)) for maker_id, lat, lon in result]
    finally:
        await engine.dispose()


def same(a: list[list[tuple[int, float]]], b: list[list[tuple[int, float]]]) -> int:
    return sum(x == y for x, y in zip(a, b, strict=False))


async def compare(
    url: str, points: list[tuple[float, float]], sql_sample: int
) -> dict[str, object]:
    engine = create_engine(url)
    try:
        sessionmaker = create_sessionmaker(engine)
        fast, found = await measure(sessionmaker, points, indexed)
        sampled = points[:sql_sample]
        slow, in_sql = await measure(sessionmaker, sampled, exhaustive) if sampled else ([], [])
    finally:
        await engine.dispose()
    scan = MemoryScan(await approved_points(url))
    memory_ms: list[float] = []
    in_memory: list[list[tuple[int, float]]] = []
    for lat, lon in points:
        started = time.perf_counter()
        in_memory.append(scan.nearest(lat, lon, K))
        memory_ms.append((time.perf_counter() - started) * 1000)
    sql_ids = sum(
        [i for i, _ in x] == [i for i, _ in y] for x, y in zip(found, in_sql, strict=False)
    )
    return {
        "indexed_p50_ms": round(percentile(fast, 0.5), 3),
        "indexed_p95_ms": round(percentile(fast, 0.95), 3),
        "indexed_max_ms": round(max(fast), 3),
        "queries": len(points),
        "memory_exhaustive_p50_ms": round(percentile(memory_ms, 0.5), 1),
        "memory_exhaustive_p95_ms": round(percentile(memory_ms, 0.95), 1),
        "identical_to_memory_exhaustive": f"{same(found, in_memory)}/{len(points)}",
        "sql_exhaustive_p50_ms": round(percentile(slow, 0.5), 1) if slow else None,
        "sql_exhaustive_p95_ms": round(percentile(slow, 0.95), 1) if slow else None,
        "identical_ids_to_sql_exhaustive": f"{sql_ids}/{len(sampled)}",
        "identical_answers": same(found, in_memory) == len(points) and sql_ids == len(sampled),
    }


async def with_postgres_database(
    base: str, run: Callable[[str], Awaitable[dict[str, object]]]
) -> dict[str, object]:
    import asyncpg

    url = make_url(base)
    admin = await asyncpg.connect(
        url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    name = f"greenhood_bench_{uuid.uuid4().hex[:10]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        return await run(url.set(database=name).render_as_string(hide_password=False))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks makers")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sql-exhaustive", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("GREENHOOD_TEST_POSTGRES_URL"))
    parser.add_argument("--pg-n", type=int, default=1_000_000)
    args = parser.parse_args(sys.argv[2:])

    rnd = random.Random(SEED)
    towns = communes()
    started = time.perf_counter()
    rows = synthetic_rows(args.n, towns, rnd)
    generated = time.perf_counter() - started
    points = query_points(args.queries, towns, rnd)
    figures: dict[str, object] = {"benchmark": "makers", "makers": args.n, "k": K}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "makers.db"
        figures["sqlite_build_s"] = round(generated + build_sqlite(path, rows), 1)
        figures["sqlite_file_mib"] = round(path.stat().st_size / 2**20, 1)
        sqlite = asyncio.run(compare(f"sqlite+aiosqlite:///{path}", points, args.sql_exhaustive))
    figures.update({f"sqlite_{key}": value for key, value in sqlite.items()})

    if args.postgres:
        pg_rows = rows[: args.pg_n]

        async def on_postgres(url: str) -> dict[str, object]:
            built = await build_postgres(url, pg_rows)
            result = await compare(url, points, args.sql_exhaustive)
            return {"build_s": round(built, 1), "makers": len(pg_rows), **result}

        postgres = asyncio.run(with_postgres_database(args.postgres, on_postgres))
        figures.update({f"postgres_{key}": value for key, value in postgres.items()})
    else:
        figures["postgres"] = "skipped: no GREENHOOD_TEST_POSTGRES_URL or --postgres URL"

    rows_shown = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report(f"Nearest {K} makers among {args.n:,}", rows_shown, figures)
