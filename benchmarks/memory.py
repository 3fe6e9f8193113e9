"""Resident memory of one `greenhood run` process (long polling, SQLite) whose database
holds 100,000 people, after it has handled a realistic mix of updates from thousands of
them (PRODUCT.md §4: under 200 MB).

The same process is measured twice: as shipped, and with GREENHOOD_EAGER_MODELS=1
(aiogram's pydantic models all built at import, as aiogram does by itself), to show what
bot/core/lazy_models.py saves.

Filling the database is a list of FILLERS: a feature adds its own (e.g. 1,000,000 logged
actions) by appending one function.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from benchmarks.common import report
from benchmarks.throughput import SCRIPT, _push, _wait_answered
from bot.core.settings import PROJECT_ROOT
from bot.core.weeks import week_of
from bot.services.actions import grams, rebuild_weekly_totals
from bot.services.catalogue import default_catalogue
from bot.standin import BotApiStandIn, TgUser
from models import ActionLog, User
from models.database import create_engine, upgrade

PEOPLE = 100_000
ACTIVE = 3_000  # distinct people who write during the measure
WAVE = 500
REPEAT_WAVES = 2  # waves of people writing again
FIRST_ID = 10_000_000
START = datetime(2026, 1, 5, tzinfo=UTC)

Filler = Callable[[AsyncConnection, random.Random], Awaitable[str]]


async def fill_users(connection: AsyncConnection, rng: random.Random) -> str:
    for start in range(0, PEOPLE, 10_000):
        await connection.execute(
            insert(User),
            [
                {
                    "id": FIRST_ID + i,
                    "first_name": f"Habitant {i}",
                    "username": f"hab{i}" if i % 3 else None,
                    "telegram_language": rng.choice(["fr", "fr", "fr", "en", None]),
                    "language": rng.choice([None, None, "fr", "en"]),
                    "is_active": True,
                    "created_at": START + timedelta(seconds=i),
                    "last_seen_at": START + timedelta(seconds=i),
                }
                for i in range(start, min(start + 10_000, PEOPLE))
            ],
        )
    return f"{PEOPLE} people"


LOGS = 1_000_000
LOG_WEEKS = 10


async def fill_action_logs(connection: AsyncConnection, rng: random.Random) -> str:
    """1,000,000 eco-actions over ten weeks, most people logging a little, a few a lot,
    and the weekly tables /me and /leaderboard read, rebuilt from them."""
    catalogue = default_catalogue().actions
    zone = ZoneInfo("Europe/Paris")
    activity = [1 / (rank**0.5) for rank in range(1, PEOPLE + 1)]
    people = rng.choices(range(PEOPLE), activity, k=LOGS)
    span = timedelta(weeks=LOG_WEEKS).total_seconds()
    for start in range(0, LOGS, 20_000):
        rows = []
        for person in people[start : start + 20_000]:
            action = catalogue[rng.randrange(len(catalogue))]
            instant = START + timedelta(seconds=rng.uniform(0, span))
            rows.append(
                {
                    "user_id": FIRST_ID + person,
                    "action_slug": action.slug,
                    "category": action.category.value,
                    "co2e_g": grams(action.co2e_kg),
                    "logged_at": instant,
                    "week_start": week_of(instant, zone),
                    "chat_id": FIRST_ID + person,
                }
            )
        await connection.execute(insert(ActionLog), rows)
    await rebuild_weekly_totals(AsyncSession(bind=connection))
    return f"{LOGS} logged actions"


FILLERS: list[Filler] = [fill_users, fill_action_logs]
# The throughput mix, plus the two commands that read the logs' weekly tables.
MEMORY_SCRIPT = [*SCRIPT, "/me", "/leaderboard"]


async def _make_database(path: Path) -> list[str]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        rng = random.Random(7)
        async with engine.begin() as connection:
            return [await filler(connection, rng) for filler in FILLERS]
    finally:
        await engine.dispose()


def _memory(pid: int) -> tuple[float, float]:
    """(resident, peak resident) in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    peak = int(fields["VmHWM"].split()[0]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20, peak


async def _measure(server: BotApiStandIn, database: Path, eager: bool) -> dict[str, float]:
    env = {
        **os.environ,
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    if eager:
        env["GREENHOOD_EAGER_MODELS"] = "1"
    since = server.mark()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "run", env=env, cwd=database.parent
    )
    try:
        await server.wait_for("getUpdates", since=since, timeout=180)
        idle, _ = _memory(process.pid)
        rng = random.Random(11)
        writers = [
            TgUser(id=FIRST_ID + i, first_name=f"Habitant {i}", language_code="fr")
            for i in rng.sample(range(PEOPLE), ACTIVE)
        ]
        waves = [writers[i : i + WAVE] for i in range(0, ACTIVE, WAVE)]
        waves += [rng.sample(writers, WAVE) for _ in range(REPEAT_WAVES)]
        started = time.monotonic()
        updates = 0
        for number, people in enumerate(waves):
            wave_since = server.mark()
            queries: dict[str, int] = {}
            for index, person in enumerate(people):
                step = MEMORY_SCRIPT[(index + number) % len(MEMORY_SCRIPT)]
                query = _push(server, person, step)
                if query is not None:
                    queries[query] = person.id
            await _wait_answered(server, wave_since, {p.id for p in people}, queries)
            updates += len(people)
        seconds = time.monotonic() - started
        rss, peak = _memory(process.pid)
    finally:
        process.terminate()
        await process.wait()
    return {"idle": idle, "rss": rss, "peak": peak, "updates": updates, "seconds": seconds}


async def run() -> tuple[dict[str, object], list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "memory.db"
        filled = await _make_database(database)
        size = database.stat().st_size / 2**20
        async with BotApiStandIn() as server:
            lazy = await _measure(server, database, eager=False)
            eager = await _measure(server, database, eager=True)
    figures: dict[str, object] = {
        "benchmark": "memory",
        "people_in_database": PEOPLE,
        "database_mib": round(size, 1),
        "updates_handled": lazy["updates"],
        "distinct_writers": ACTIVE,
        "rss_mib_idle": round(lazy["idle"], 1),
        "rss_mib_after_updates": round(lazy["rss"], 1),
        "peak_rss_mib": round(lazy["peak"], 1),
        "eager_models_rss_mib_idle": round(eager["idle"], 1),
        "eager_models_rss_mib_after_updates": round(eager["rss"], 1),
        "eager_models_peak_rss_mib": round(eager["peak"], 1),
    }
    return figures, filled


def main() -> None:
    figures, filled = asyncio.run(run())
    rows = [("database", ", ".join(filled))]
    rows += [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report("Resident memory of one bot process", rows, figures)
