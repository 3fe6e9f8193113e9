"""Nothing a person was promised is lost: the real `greenhood run` is SIGKILLed ten times
while it answers a few hundred people, restarted each time on the same database and the
same Bot API, and every person gets their answer.

Each person is new and sends /me: their first update writes (their row), so its changes
and its inbox mark are committed before the reply goes out, the case that used to lose
a reply when the kill fell between that commit and the call. A reply can still arrive
twice when the kill falls while its HTTP call is in flight (Telegram got it, the bot
never heard back): those doubles are counted and printed (the target is 0).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from bot.core.settings import PROJECT_ROOT
from bot.serving.processing import STALE_AFTER
from bot.standin import BotApiStandIn, TgUser
from tests.conftest import make_settings

PEOPLE = 240
KILLS = 10
# /me answers with a picture of the week (its figures in the caption).
REPLY_METHODS = ("sendMessage", "sendPhoto")


async def start_bot(
    tg: BotApiStandIn, tmp_path: Path, env_extra: dict[str, str]
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE": tg.base_url,
        "POLLING_TIMEOUT": "1",
        "THROTTLE_BURST": "1000",
        "THROTTLE_RATE": "1000",
        "LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(PROJECT_ROOT),
        **env_extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.app.cli", "run", env=env, cwd=tmp_path
    )


def replies_to(tg: BotApiStandIn, people: set[int]) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in tg.calls
        if call.ok and call.method in REPLY_METHODS and call.chat_id in people
    )


async def test_ten_sigkills_lose_no_reply(tg: BotApiStandIn, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    env_extra = {"DATABASE_URL": settings.database_url}
    if settings.redis_url:
        env_extra |= {"REDIS_URL": settings.redis_url, "REDIS_PREFIX": settings.redis_prefix}
    people = [
        TgUser(id=7_000_000 + i, first_name=f"P{i}", language_code="fr") for i in range(PEOPLE)
    ]
    ids = {person.id for person in people}
    for person in people:
        tg.push_text(person, "/me")

    step = PEOPLE // (KILLS + 2)
    for kill in range(KILLS):
        process = await start_bot(tg, tmp_path, env_extra)
        try:
            target = min(PEOPLE - 1, (kill + 1) * step)
            while len(replies_to(tg, ids)) < target:
                await tg.wait_for(REPLY_METHODS, timeout=60)
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    process = await start_bot(tg, tmp_path, env_extra)
    try:
        # With Redis (replicas), an update cut after its changes were committed is closed
        # (the person told "your change was saved") only once it is STALE_AFTER old, since
        # another replica could still be on it, and the upkeep runs each minute.
        wait = 120 + (STALE_AFTER.total_seconds() + 60 if settings.redis_url else 0)
        deadline = asyncio.get_running_loop().time() + wait
        while len(replies_to(tg, ids)) < PEOPLE:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"{PEOPLE - len(replies_to(tg, ids))} people never answered"
            await tg.wait_for(REPLY_METHODS, timeout=remaining)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    received = replies_to(tg, ids)
    lost = [person.id for person in people if received[person.id] == 0]
    doubles = sum(count - 1 for count in received.values())
    print(f"\n{KILLS} SIGKILLs, {PEOPLE} people: {len(lost)} lost, {doubles} doubled")
    assert lost == []
    # Only a call in flight at the instant of a kill can arrive twice. With Redis
    # (replicas) the replies of a killed process are re-sent by the next one's sender in
    # claimed batches, and a kill in the middle of such a batch doubles what it had in
    # flight (up to about twenty): measured 201 in 10 kills on PostgreSQL + Redis, against
    # about 35 on SQLite (docs/operations.md). The bounds catch a regression, not a goal.
    assert doubles <= KILLS * (25 if settings.redis_url else 8), doubles
