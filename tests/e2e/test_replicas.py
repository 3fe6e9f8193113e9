"""Two `greenhood run --webhook --no-scheduler` processes and one `greenhood worker` on one
PostgreSQL and one Redis, behind a round-robin proxy: a person's updates alternate between
the replicas, and the conversation behaves as with one process (shared state, per-person
order); what the worker sends on schedule (a broadcast) goes out once."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import update

from bot.core.settings import PROJECT_ROOT
from bot.standin import BotApiStandIn, RecordedCall, TgUser, buttons
from bot.ui.formatting import moment_text
from models import Broadcast
from models.database import create_engine
from tests.support.harness import free_port
from tests.support.texts import text, tr

SECRET = "replica-secret"
BOB = TgUser(id=7002, first_name="Bob", language_code="en")
CAROL = TgUser(id=7003, first_name="Carol", language_code="en")
DAVE = TgUser(id=7004, first_name="Dave", language_code="en")
OLGA = TgUser(id=7005, first_name="Olga", language_code="fr")


@dataclass
class RoundRobinProxy:
    """The load balancer: each POST goes to the next replica in turn."""

    targets: list[str]
    served: list[tuple[int, int]] = field(default_factory=list)
    """(update_id, replica index) per forwarded request."""
    queries: dict[str, int] = field(default_factory=dict)
    """Callback query id -> the replica it went to."""
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        replica = next(self._turn) % len(self.targets)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in {"content-type", "x-telegram-bot-api-secret-token"}
        }
        async with (
            ClientSession(timeout=ClientTimeout(total=30)) as client,
            client.post(self.targets[replica], data=body, headers=headers) as response,
        ):
            answer = await response.read()
            update = json.loads(body)
            self.served.append((int(update["update_id"]), replica))
            if "callback_query" in update:
                self.queries[str(update["callback_query"]["id"])] = replica
            return web.Response(
                status=response.status, body=answer, content_type=response.content_type
            )


@dataclass
class Cluster:
    tg: BotApiStandIn
    proxy: RoundRobinProxy
    storage: RedisStorage
    processes: list[asyncio.subprocess.Process]
    postgres_url: str


@pytest.fixture
async def cluster(
    postgres_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    ports = [free_port(), free_port()]
    proxy = RoundRobinProxy([f"http://127.0.0.1:{port}/tg/hook" for port in ports])
    proxy_app = web.Application()
    proxy_app.router.add_post("/tg/hook", proxy.handle)
    runner = web.AppRunner(proxy_app, access_log=None)
    await runner.setup()
    proxy_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", proxy_port).start()
    storage = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(prefix=redis_prefix, with_destiny=True)
    )
    processes: list[asyncio.subprocess.Process] = []
    async with BotApiStandIn() as tg:
        try:
            since = tg.mark()
            common = {
                **os.environ,
                "BOT_TOKEN": tg.token,
                "TELEGRAM_API_BASE": tg.base_url,
                "DATABASE_URL": postgres_url,
                "REDIS_URL": redis_url,
                "REDIS_PREFIX": redis_prefix,
                "ORGANISER_IDS": str(OLGA.id),
                "BROADCAST_RATE": "200",
                "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(PROJECT_ROOT),
            }
            for index, port in enumerate(ports):
                env = {
                    **common,
                    "WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}/tg/hook",
                    "WEBHOOK_SECRET": SECRET,
                    "WEBHOOK_HOST": "127.0.0.1",
                    "WEBHOOK_PORT": str(port),
                }
                log = (tmp_path / f"replica-{index}.log").open("wb")
                processes.append(
                    await asyncio.create_subprocess_exec(
                        *(
                            sys.executable,
                            "-m",
                            "bot.app.cli",
                            "run",
                            "--webhook",
                            "--no-scheduler",
                        ),
                        env=env,
                        cwd=tmp_path,
                        stdout=log,
                        stderr=log,
                    )
                )
            # The one process running scheduled jobs and sending the outbox.
            log = (tmp_path / "replica-worker.log").open("wb")
            processes.append(
                await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "bot.app.cli", "worker"),
                    env=common,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=log,
                )
            )
            # Both start at once (and migrate the empty database one after the other).
            await tg.wait_for("setWebhook", count=2, since=since, timeout=90)
            await tg.wait_idle()
            yield Cluster(tg, proxy, storage, processes, postgres_url)
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            codes = [await asyncio.wait_for(p.wait(), 60) for p in processes]
            await storage.close()
            await runner.cleanup()
            logs = await asyncio.to_thread(_read_logs, tmp_path)
            assert "Traceback" not in logs, logs
    assert codes == [0, 0, 0]


def _read_logs(folder: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(folder.glob("replica-*.log")))


def _answers(calls: list[RecordedCall]) -> list[RecordedCall]:
    return [c for c in calls if c.method != "getUpdates"]


async def test_replicas_share_state_and_keep_each_persons_order(cluster: Cluster) -> None:
    # One test for three stories: starting two replicas is the slow part.
    await conversation_alternating_between_replicas(cluster)
    await burst_from_one_person_answered_in_order(cluster)
    await double_tap_handled_one_after_the_other(cluster)
    await scheduled_broadcast_sent_once_by_the_worker(cluster)


async def conversation_alternating_between_replicas(cluster: Cluster) -> None:
    tg = cluster.tg
    (reply,) = await tg.reply_to(BOB, "/start")
    assert reply.text == text("start.greeting", "en", name="Bob")
    (menu,) = await tg.reply_to(BOB, "/settings")
    assert menu.text == text("settings.text", "en", language="English")
    [picker] = await tg.click(BOB, menu, tr.t("settings.button.language", "en"))
    assert picker.text == text("language.choose", "en")
    edited, refreshed = await tg.click(BOB, menu, "Français", count=2)
    assert edited.text == text("language.changed", "fr")
    assert refreshed.text == text("menu.refreshed", "fr")
    (menu,) = await tg.reply_to(BOB, "/settings")
    assert menu.text == text("settings.text", "fr", language="Français")

    # Conversation state lives in Redis: set on one side, seen and cleared by the other.
    key = StorageKey(bot_id=tg.bot_id, chat_id=BOB.id, user_id=BOB.id)
    context = FSMContext(storage=cluster.storage, key=key)
    await context.set_state("SomeWizard:step")
    (reply,) = await tg.reply_to(BOB, "/cancel")
    assert reply.text == text("cancel.done", "fr")
    (reply,) = await tg.reply_to(BOB, "/cancel")
    assert reply.text == text("cancel.nothing", "fr")
    assert await context.get_state() is None

    replicas = [replica for _, replica in cluster.proxy.served]
    assert len(replicas) == 7
    assert all(a != b for a, b in itertools.pairwise(replicas)), replicas
    assert {status for _, status in tg.webhook_deliveries} == {200}


async def burst_from_one_person_answered_in_order(cluster: Cluster) -> None:
    tg = cluster.tg
    cluster.proxy.served.clear()
    commands = ["/help", "/settings", "/cancel", "/language", "/help", "/settings", "/cancel"]
    since = tg.mark()
    for command in commands:
        tg.push_text(CAROL, command)
    replies = await tg.wait_for("sendMessage", chat_id=CAROL.id, count=len(commands), since=since)
    expected = [
        text("help.title", "en"),
        text("settings.text", "en", language="English"),
        text("cancel.nothing", "en"),
        text("language.choose", "en"),
        text("help.title", "en"),
        text("settings.text", "en", language="English"),
        text("cancel.nothing", "en"),
    ]
    # /help's answer is long: its title is enough to recognise it.
    seen = [
        text("help.title", "en") if reply.text.startswith(text("help.title", "en")) else reply.text
        for reply in replies
    ]
    assert seen == expected
    assert {replica for _, replica in cluster.proxy.served} == {0, 1}


async def double_tap_handled_one_after_the_other(cluster: Cluster) -> None:
    tg = cluster.tg
    (picker,) = await tg.reply_to(DAVE, "/language")
    message_id = picker.result["message_id"]
    data = next(data for row in buttons(picker) for label, data in row if "Français" in label)
    assert data is not None
    since = tg.mark()
    first = tg.push_callback(DAVE, data, message_id)
    second = tg.push_callback(DAVE, data, message_id)
    await tg.wait_for("sendMessage", chat_id=DAVE.id, count=2, since=since, timeout=20)
    await tg.wait_idle()
    calls = [
        c
        for c in _answers(tg.calls[since:])
        if c.chat_id == DAVE.id or c.params.get("callback_query_id") in {first, second}
    ]
    sequence = [
        (c.method, c.params.get("callback_query_id"))
        if c.method == "answerCallbackQuery"
        else (c.method, None)
        for c in calls
    ]
    # One tap fully handled, then the other: never interleaved.
    assert sequence == [
        ("answerCallbackQuery", first),
        ("editMessageText", None),
        ("sendMessage", None),
        ("answerCallbackQuery", second),
        ("editMessageText", None),
        ("sendMessage", None),
    ]
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert all(not c.params.get("show_alert") for c in answers)  # no apology
    assert calls[1].text == text("language.changed", "fr")
    assert calls[2].text == text("menu.refreshed", "fr")
    # The second edit changed nothing (Telegram refuses it) and the bot took that calmly.
    assert calls[4].error is not None and "not modified" in calls[4].error
    assert calls[5].text == text("menu.refreshed", "fr")
    assert cluster.proxy.queries[first] != cluster.proxy.queries[second]


async def scheduled_broadcast_sent_once_by_the_worker(cluster: Cluster) -> None:
    """The /broadcast wizard, its steps alternating between the replicas (its state in
    Redis), scheduled; at its time the worker (not a replica) sends it, once to each."""
    tg = cluster.tg
    cluster.proxy.served.clear()
    await tg.reply_to(OLGA, "/start")
    (ask,) = await tg.reply_to(OLGA, "/broadcast")
    await tg.click(OLGA, ask, "Tout le monde")
    (photo_step,) = await tg.reply_to(OLGA, "Réunion <i>jeudi</i>")
    *_, button_step = await tg.click(OLGA, photo_step, "Passer", count=2)
    calls = await tg.click(OLGA, button_step, "Passer", count=4)
    (when,) = await tg.click(OLGA, calls[-1], "Programmer")
    assert when.text == text("broadcast.ask_time", "fr", zone="Europe/Paris")
    # Two to three minutes ahead (the wizard wants one at least; a busy machine is slow).
    zone = ZoneInfo("Europe/Paris")
    at = (datetime.now(zone) + timedelta(minutes=3)).replace(second=0, microsecond=0)
    (scheduled,) = await tg.reply_to(OLGA, at.strftime("%H:%M"))
    assert scheduled.text == text(
        "broadcast.scheduled",
        "fr",
        id=1,
        when=moment_text(tr, "fr", at, zone, at),
        zone="Europe/Paris",
    )
    replicas = [replica for _, replica in cluster.proxy.served]
    assert all(a != b for a, b in itertools.pairwise(replicas)), replicas
    scheduled_at = tg.mark()  # the wizard's preview showed the text to Olga before

    # Its time comes sooner than the wall clock says: the worker's sweep (every 30 s)
    # starts it, and its one-shot job, later, finds it started.
    engine = create_engine(cluster.postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Broadcast)
                .where(Broadcast.id == 1)
                .values(send_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()
    assert not [c for c in tg.calls[scheduled_at:] if c.text == "Réunion jeudi"]
    since = tg.mark()
    await tg.wait_for(
        "sendMessage",
        chat_id=OLGA.id,
        since=since,
        timeout=90,
        predicate=lambda c: "n°1" in c.text and "Bilan" in c.text,
    )
    await tg.wait_idle(quiet=1.0, timeout=20)
    counts = collections.Counter(
        c.chat_id
        for c in tg.calls[scheduled_at:]
        if c.method == "sendMessage" and c.text == "Réunion jeudi"
    )
    assert counts == {person.id: 1 for person in (BOB, CAROL, DAVE, OLGA)}
