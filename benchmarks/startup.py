"""Start-up: from `greenhood run` process start to its first getUpdates on the test Bot API
server, and the process's resident memory at that moment. Cold = empty database (the
schema is created), warm = the same database again."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import percentile, report
from bot.standin import BotApiStandIn

RUNS = 5


async def _one_start(server: BotApiStandIn, database: Path) -> tuple[float, float]:
    env = {
        **os.environ,
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LOG_LEVEL": "WARNING",
    }
    since = server.mark()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "run", env=env, cwd=database.parent
    )
    try:
        await server.wait_for("getUpdates", since=since, timeout=60)
        elapsed = time.perf_counter() - started
        rss = psutil.Process(process.pid).memory_info().rss / 2**20
    finally:
        process.terminate()
        await process.wait()
    return elapsed, rss


async def run() -> dict[str, object]:
    cold: list[float] = []
    warm: list[float] = []
    memory: list[float] = []
    async with BotApiStandIn() as server:
        for _ in range(RUNS):
            with tempfile.TemporaryDirectory() as folder:
                database = Path(folder) / "bench.db"
                seconds, rss = await _one_start(server, database)
                cold.append(seconds)
                seconds, rss = await _one_start(server, database)
                warm.append(seconds)
                memory.append(rss)
    return {
        "benchmark": "startup",
        "runs": RUNS,
        "cold_start_s_p50": round(percentile(cold, 0.5), 3),
        "warm_start_s_p50": round(percentile(warm, 0.5), 3),
        "warm_start_s_max": round(max(warm), 3),
        "rss_mib_at_first_get_updates_p50": round(percentile(memory, 0.5), 1),
    }


def main() -> None:
    figures = asyncio.run(run())
    rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report("Start-up to first getUpdates", rows, figures)
