"""The weekly leaderboard over 1,000,000 logged actions (PRODUCT.md §4: p95 ≤ 20 ms).

100,000 people, one contest of 300 campus teams (70 % of the people in a team, teams of
very different sizes), 1,000,000 actions over 10 weeks, the last one being "this week".
The logs are bulk-inserted, then the weekly tables that `log_action` maintains one log at
a time are rebuilt in bulk by `rebuild_weekly_totals`. What is timed is the service the
/leaderboard handler calls, `weekly_leaderboard` (people, my rank, and the teams of my
contest ranked per active member), for random people, each call in its own session as
an update would have it. SQLite always; PostgreSQL too when GREENHOOD_TEST_POSTGRES_URL
is set (a scratch database is created and dropped).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from benchmarks.common import percentile, report
from bot.core.weeks import week_of
from bot.services.actions import grams, rebuild_weekly_totals
from bot.services.catalogue import default_catalogue
from bot.services.leaderboard import weekly_leaderboard
from models import (
    ActionLog,
    ActionLogTeam,
    ActionProfile,
    Contest,
    ContestStatus,
    Team,
    TeamMember,
    User,
)
from models.database import create_engine, create_sessionmaker, upgrade

USERS = 100_000
TEAMS = 300
LOGS = 1_000_000
WEEKS = 10
IN_TEAMS = 0.7
CALLS = 400
WARMUP = 20
CHUNK = 20_000
NOW = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # a Thursday
TZ_NAME = "Europe/Paris"


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


async def _insert(session: AsyncSession, model: type, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await session.execute(insert(model), chunk)


async def populate(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, int]:
    """Fill the database; returns each team member's team."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(TZ_NAME)
    rng = random.Random(42)
    catalogue = default_catalogue().actions
    start = NOW - timedelta(weeks=WEEKS - 1)
    created = start - timedelta(days=7)
    async with sessionmaker() as session:
        await _insert(
            session,
            User,
            [
                {
                    "id": uid,
                    "first_name": f"P{uid}",
                    "is_active": True,
                    "created_at": created,
                    "last_seen_at": created,
                }
                for uid in range(1, USERS + 1)
            ],
        )
        await _insert(
            session,
            ActionProfile,
            [
                {"user_id": uid, "show_name": uid % 4 == 0, "pseudonym": f"{uid:012x}"}
                for uid in range(1, USERS + 1)
            ],
        )
        session.add(
            Contest(
                id=1,
                name="Mets ton campus à l'an vert",
                join_code="BENCH1",
                status=ContestStatus.OPEN,
                created_by=1,
                created_at=created,
            )
        )
        await session.flush()
        await _insert(
            session,
            Team,
            [
                {
                    "id": tid,
                    "contest_id": 1,
                    "chat_id": -1_000_000_000 - tid,
                    "name": f"Campus {tid}",
                    "registered_by": 1,
                    "created_at": created,
                }
                for tid in range(1, TEAMS + 1)
            ],
        )
        # Team sizes from a few people to hundreds: weights decay with the team number.
        weights = [1 / (tid**0.7) for tid in range(1, TEAMS + 1)]
        members = rng.sample(range(1, USERS + 1), int(USERS * IN_TEAMS))
        team_of = dict(
            zip(members, rng.choices(range(1, TEAMS + 1), weights, k=len(members)), strict=True)
        )
        await _insert(
            session,
            TeamMember,
            [
                {"team_id": tid, "user_id": uid, "contest_id": 1, "joined_at": created}
                for uid, tid in team_of.items()
            ],
        )
        # Some people log a lot, most a little.
        activity = [1 / (rank**0.5) for rank in range(1, USERS + 1)]
        people = rng.choices(range(1, USERS + 1), activity, k=LOGS)
        span = (NOW - start).total_seconds()
        logs: list[dict[str, Any]] = []
        log_teams: list[dict[str, Any]] = []
        for log_id, uid in enumerate(people, start=1):
            action = catalogue[rng.randrange(len(catalogue))]
            instant = start + timedelta(seconds=rng.uniform(0, span))
            logs.append(
                {
                    "id": log_id,
                    "user_id": uid,
                    "action_slug": action.slug,
                    "category": action.category.value,
                    "co2e_g": grams(action.co2e_kg),
                    "logged_at": instant,
                    "week_start": week_of(instant, tz),
                    "chat_id": uid,
                }
            )
            team = team_of.get(uid)
            if team is not None:
                log_teams.append({"log_id": log_id, "team_id": team})
            if len(logs) == CHUNK:
                await session.execute(insert(ActionLog), logs)
                logs.clear()
                if log_teams:
                    await session.execute(insert(ActionLogTeam), log_teams)
                    log_teams.clear()
        if logs:
            await session.execute(insert(ActionLog), logs)
        if log_teams:
            await session.execute(insert(ActionLogTeam), log_teams)
        await rebuild_weekly_totals(session)
        await session.commit()
    return team_of


async def _analyze(engine: AsyncEngine) -> None:
    """What the database does by itself some time after a bulk load (autovacuum on
    PostgreSQL, which also lets counts use index-only scans): fresh planner statistics."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.exec_driver_sql("VACUUM ANALYZE")
        return
    async with engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")


async def time_calls(
    sessionmaker: async_sessionmaker[AsyncSession], members: list[int]
) -> dict[str, float]:
    """p50/p95/max of `weekly_leaderboard` for random readers, one session per call."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(TZ_NAME)
    rng = random.Random(7)
    timings: list[float] = []
    cpu: list[float] = []
    for call in range(WARMUP + CALLS):
        # Mostly team members (their board has the teams part), some loners.
        uid = rng.choice(members) if rng.random() < 0.8 else rng.randint(1, USERS)
        async with sessionmaker() as session:
            began, began_cpu = time.perf_counter(), time.process_time()
            board = await weekly_leaderboard(session, uid, NOW, tz)
            elapsed = (time.perf_counter() - began) * 1000
            elapsed_cpu = (time.process_time() - began_cpu) * 1000
        if call >= WARMUP:
            timings.append(elapsed)
            cpu.append(elapsed_cpu)
        assert board.people.rows
    return {
        "p50_ms": round(percentile(timings, 0.5), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "max_ms": round(max(timings), 2),
        # This process's CPU per call (for SQLite the queries run in it too): what the
        # wall-clock figures would approach on a machine nobody else is loading.
        "cpu_p50_ms": round(percentile(cpu, 0.5), 2),
        "cpu_p95_ms": round(percentile(cpu, 0.95), 2),
    }


async def measure(url: str) -> dict[str, float]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        started = time.perf_counter()
        team_of = await populate(sessionmaker)
        load_s = time.perf_counter() - started
        await _analyze(engine)
        return {"load_s": round(load_s, 1), **await time_calls(sessionmaker, list(team_of))}
    finally:
        await engine.dispose()


async def _postgres(base: str) -> dict[str, float]:
    import asyncpg

    url = make_url(base)
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"greenhood_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        return await measure(url.set(database=name).render_as_string(hide_password=False))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run() -> dict[str, object]:
    figures: dict[str, object] = {
        "benchmark": "leaderboard",
        # Wall-clock times depend on what else the machine runs: say how busy it was.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "users": USERS,
        "teams": TEAMS,
        "logs": LOGS,
        "calls": CALLS,
    }
    with tempfile.TemporaryDirectory() as folder:
        sqlite = await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
    figures.update({f"sqlite_{key}": value for key, value in sqlite.items()})
    base = os.environ.get("GREENHOOD_TEST_POSTGRES_URL")
    if base:
        postgres = await _postgres(base)
        figures.update({f"postgres_{key}": value for key, value in postgres.items()})
    return figures


def main() -> None:
    figures = asyncio.run(run())
    rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report("Weekly leaderboard over 1,000,000 logged actions", rows, figures)
