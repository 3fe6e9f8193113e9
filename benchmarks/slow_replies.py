"""Updates that write, while Telegram is slow to take each reply.

On SQLite one transaction writes at a time. Real Telegram takes tens to hundreds of
milliseconds to accept a message. If an update kept its transaction open across its
replies, every other update that writes would wait for those round trips.

The benchmark: 200 people send their first /start at once, and each one creates the
person's row. The same 200 then send /help, which writes nothing. The test Bot API server
takes REPLY_DELAY to accept each message. Figures: seconds until every person has a
reply, for each wave. Greenhood runs as in the tests (the real wiring, polling, a SQLite
file).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.common import report
from bot.standin import BotApiStandIn, Stall, TgUser
from tests.conftest import make_settings
from tests.support.harness import running_bot

PEOPLE = 200
REPLY_DELAY = 0.1


async def _wave(server: BotApiStandIn, people: list[TgUser], text: str) -> float:
    since = server.mark()
    started = time.monotonic()
    for person in people:
        server.push_text(person, text)
    await server.wait_for("sendMessage", count=len(people), since=since, timeout=600)
    return time.monotonic() - started


async def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(Path(folder), redis_url=None)
        async with BotApiStandIn() as server, running_bot(settings, server):
            server.inject(Stall(REPLY_DELAY), method="sendMessage", times=10**9)
            people = [
                TgUser(id=900_000 + i, first_name=f"P{i}", language_code="fr")
                for i in range(PEOPLE)
            ]
            writing = await _wave(server, people, "/start")
            reading = await _wave(server, people, "/help")
    return {
        "benchmark": "slow_replies",
        "people": PEOPLE,
        "reply_delay_ms": round(REPLY_DELAY * 1000),
        "first_start_wave_s": round(writing, 2),
        "first_start_updates_per_s": round(PEOPLE / writing, 1),
        "help_wave_s": round(reading, 2),
        "help_updates_per_s": round(PEOPLE / reading, 1),
    }


def main() -> None:
    figures = asyncio.run(run())
    rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report("Updates that write, with Telegram slow to take replies", rows, figures)
