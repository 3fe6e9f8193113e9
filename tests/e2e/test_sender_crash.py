"""Crash safety: `greenhood worker` killed with SIGKILL in the middle of a broadcast, then
restarted: every recipient gets the message exactly once (counted on the Bot API server).

To kill at a moment where messages are provably in flight, the server stalls every
sendMessage after the first ones: the worker is killed while its HTTP calls hang (so those
messages were not delivered and must be sent again) and after everything delivered before
was recorded (so those must not be sent again).
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.clock import SystemClock
from bot.services import broadcasts
from bot.services.audiences import AudienceKind
from bot.services.broadcasts import Draft
from bot.standin import BotApiStandIn, Stall
from bot.ui.notices import broadcasts as broadcasting
from models import User
from models.database import create_engine, create_sessionmaker, upgrade
from tests.support.texts import tr

ORGANISER = 90_000
RECIPIENTS = list(range(90_001, 90_241))
TEXT = "Crash-test announcement"


async def prepare(database: Path) -> None:
    """A migrated database with a started broadcast (its outbox rows queued)."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        now = SystemClock().now()
        async with sessionmaker() as session:
            for user_id in [ORGANISER, *RECIPIENTS]:
                session.add(
                    User(
                        id=user_id,
                        first_name="P",
                        is_active=True,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
            await session.flush()
            broadcast = await broadcasts.create(
                session,
                actor_id=ORGANISER,
                configured_organisers={ORGANISER},
                draft=Draft(audience=AudienceKind.EVERYONE, text=TEXT),
                locale="en",
                send_at=now,
                now=now,
            )
            translator = tr
            assert await broadcasting.begin(session, broadcast.id, now, translator, 60.0)
            await session.commit()
    finally:
        await engine.dispose()


def outbox_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute(
            "SELECT status, count(*) FROM outbox WHERE kind = 'broadcast' GROUP BY status"
        ).fetchall()
    return {str(status): int(count) for status, count in rows}


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Wait for a condition another process brings about (polling, bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def start_worker(server: BotApiStandIn, database: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "BROADCAST_RATE": "200",
        "ORGANISER_IDS": str(ORGANISER),
        "LOG_LEVEL": "WARNING",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "worker", env=env, cwd=database.parent
    )


def delivered(server: BotApiStandIn) -> collections.Counter[int]:
    return collections.Counter(
        call.chat_id
        for call in server.calls
        if call.method == "sendMessage"
        and call.ok
        and call.text == TEXT
        and call.chat_id is not None
    )


async def test_worker_killed_mid_broadcast_delivers_each_message_exactly_once(
    tmp_path: Path,
) -> None:
    database = tmp_path / "crash.db"
    await prepare(database)
    everyone = [ORGANISER, *RECIPIENTS]
    async with BotApiStandIn() as server:
        first = await start_worker(server, database)
        try:
            await server.wait_for(
                "sendMessage", count=60, timeout=180, predicate=lambda c: c.text == TEXT
            )
            # From now on every send hangs at the server: what is in flight is not delivered.
            server.inject(Stall(120.0), method="sendMessage", times=1_000_000)
            await until(lambda: any(c.method == "sendMessage" and not c.done for c in server.calls))
            # Everything delivered so far is recorded as sent before the kill.
            await until(
                lambda: outbox_counts(database).get("sent", 0) == sum(delivered(server).values())
            )
            in_flight = outbox_counts(database).get("sending", 0)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert first.returncode == -signal.SIGKILL
        before_restart = delivered(server)
        assert 60 <= sum(before_restart.values()) < len(everyone)
        assert in_flight > 0, "the kill should catch messages in flight"

        server._faults.clear()  # the network is fine again
        second = await start_worker(server, database)
        try:
            # A generous bound: a Python start-up on a busy two-core machine takes a while.
            await until(lambda: len(delivered(server)) == len(everyone), timeout=180)
            await until(lambda: set(outbox_counts(database)) == {"sent"}, timeout=30)
            await server.wait_for(
                "sendMessage",
                chat_id=ORGANISER,
                since=0,
                timeout=30,
                predicate=lambda c: c.text.startswith("📊"),
            )
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), 30)
        assert second.returncode == 0

    counts = delivered(server)
    assert {chat: counts[chat] for chat in everyone} == dict.fromkeys(everyone, 1)
    reports = [c for c in server.calls if c.ok and c.text.startswith("📊")]
    assert len(reports) == 1
