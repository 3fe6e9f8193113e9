"""Webhook mode over real HTTP: the test Bot API server delivers to the bot's webhook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiohttp import ClientSession, ClientTimeout
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app.cli import app as cli
from bot.app.wiring import create_dispatcher
from bot.core.clock import ManualClock
from bot.core.settings import Settings
from bot.serving.runtime import ConfigurationError, check_webhook_settings
from bot.serving.webhook import SECRET_HEADER, health_handler
from bot.standin import BotApiStandIn, TgUser
from models import InboxStatus, InboxUpdate, User
from models.database import create_engine, create_sessionmaker
from tests.conftest import make_settings
from tests.support.harness import RunningBot, running_bot
from tests.support.texts import text

BOB = TgUser(id=2002, first_name="Bob", language_code="en")
SECRET = "s3cret_token-for-tests"


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_secret": SecretStr(SECRET)})


@pytest.fixture
async def app(
    tg: BotApiStandIn, hook_settings: Settings, clock: ManualClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(hook_settings, tg, clock=clock, webhook=True) as running:
        yield running


def update_json(update_id: int, text: str, user: TgUser = BOB) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_767_600_000,
            "chat": user.private_chat(),
            "from": user.to_json(),
            "text": text,
            **({"entities": entities} if text.startswith("/") else {}),
        },
    }


async def post(
    url: str, body: bytes | dict[str, Any], *, secret: str | None = SECRET
) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        ClientSession(timeout=ClientTimeout(total=10)) as client,
        client.post(url, data=data, headers=headers) as response,
    ):
        return response.status, await response.text()


async def test_a_conversation_over_the_webhook(tg: BotApiStandIn, app: RunningBot) -> None:
    assert tg.calls[-1].method != "getUpdates"
    webhook = [c for c in tg.calls if c.method == "setWebhook"][-1]
    assert webhook.params["secret_token"] == SECRET
    (reply,) = await tg.reply_to(BOB, "/start")
    assert "Bob" in reply.text
    (picker,) = await tg.reply_to(BOB, "/language")
    await tg.click(BOB, picker, "Français", count=2)
    (reply,) = await tg.reply_to(BOB, "/help")
    assert reply.text.startswith(text("help.title", "fr"))
    assert {status for _, status in tg.webhook_deliveries} == {200}
    assert not any(c.method == "getUpdates" for c in tg.calls)


@pytest.mark.parametrize(
    "secret",
    [None, "", "wrong", SECRET + "x", SECRET[:-1], "s3crét", SECRET.upper(), "x" * 4000],
    ids=["missing", "empty", "wrong", "longer", "shorter", "non-ascii", "case", "huge"],
)
async def test_requests_without_the_right_secret_are_refused(
    tg: BotApiStandIn, app: RunningBot, secret: str | None
) -> None:
    url = app.settings.webhook_url
    assert url is not None
    status, _ = await post(url, update_json(900_001, "/help"), secret=secret)
    assert status in {401, 403}
    await tg.wait_idle()
    assert not any(c.chat_id == BOB.id for c in tg.calls)
    async with app.sessionmaker() as session:
        assert await session.get(InboxUpdate, 900_001) is None
        assert await session.get(User, BOB.id) is None


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", b"[]", b'{"update_id": "7"}', b'{"message": {}}', b"{}"],
)
async def test_malformed_bodies_are_refused(app: RunningBot, body: bytes) -> None:
    url = app.settings.webhook_url
    assert url is not None
    status, _ = await post(url, body)
    assert status == 400
    async with app.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0


async def test_a_redelivered_update_is_handled_once(tg: BotApiStandIn, app: RunningBot) -> None:
    url = app.settings.webhook_url
    assert url is not None
    since = tg.mark()
    update = update_json(900_100, "/help")
    for _ in range(3):
        status, _ = await post(url, update)
        assert status == 200
    await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
    await tg.wait_idle()
    replies = [c for c in tg.calls[since:] if c.method == "sendMessage" and c.chat_id == BOB.id]
    assert len(replies) == 1
    async with app.sessionmaker() as session:
        row = await session.get(InboxUpdate, 900_100)
    assert row is not None
    assert row.status == InboxStatus.DONE
    assert row.user_id == BOB.id
    assert row.payload == ""  # only the update_id is kept once handled


async def test_deliveries_at_once_share_commits_and_each_is_handled_once(
    tg: BotApiStandIn, app: RunningBot
) -> None:
    """Forty people write at the same moment and one update arrives three times at once:
    stores that wait for a commit share the next one (fewer commits than updates), every
    delivery is answered 200, and each update is handled exactly once."""
    url = app.settings.webhook_url
    assert url is not None
    people = [TgUser(id=7_000 + n, first_name=f"P{n}", language_code="en") for n in range(40)]
    bodies = [update_json(910_000 + n, "/help", person) for n, person in enumerate(people)]
    bodies += [update_json(910_000, "/help", people[0])] * 2
    stores: list[int] = []
    store = app.runtime.processor.store

    async def counting_store(updates: Any, payloads: Any = None) -> Any:
        stores.append(len(updates))
        return await store(updates, payloads)

    app.runtime.processor.store = counting_store  # type: ignore[method-assign]
    since = tg.mark()
    statuses = await asyncio.gather(*(post(url, body) for body in bodies))
    assert [status for status, _ in statuses] == [200] * len(bodies)
    await app.settled()
    assert sum(stores) == len(bodies)
    assert len(stores) < len(bodies)
    replies = [c for c in tg.calls[since:] if c.method == "sendMessage"]
    assert sorted(c.chat_id or 0 for c in replies) == sorted(p.id for p in people)
    async with app.sessionmaker() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(InboxUpdate)
            .where(InboxUpdate.update_id >= 910_000, InboxUpdate.status == InboxStatus.DONE)
        )
    assert done == len(people)


async def test_healthz_reports_database_and_inbox(app: RunningBot) -> None:
    assert app.runtime.port is not None
    async with (
        ClientSession() as client,
        client.get(f"http://127.0.0.1:{app.runtime.port}/healthz") as response,
    ):
        assert response.status == 200
        report = await response.json()
    assert report["status"] == "ok"
    assert report["database"] == "ok"
    assert report["inbox_backlog"] == 0
    assert report["redis"] == ("ok" if app.settings.redis_url else "not configured")


async def test_healthz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/no/such.db")
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    dispatcher = create_dispatcher(settings, sessionmaker)
    web_app = Application()
    web_app.router.add_get("/healthz", health_handler(sessionmaker, dispatcher))
    try:
        async with TestClient(TestServer(web_app)) as client:
            response = await client.get("/healthz")
            assert response.status == 503
            report = await response.json()
        assert report["status"] == "unhealthy"
        assert report["database"].startswith("error")
    finally:
        await dispatcher.storage.close()
        await engine.dispose()


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        (None, SECRET, "WEBHOOK_URL"),
        ("ftp://example.org/hook", SECRET, "WEBHOOK_URL"),
        ("https://example.org/hook", None, "WEBHOOK_SECRET is required"),
        ("https://example.org/hook", "has space", "WEBHOOK_SECRET must be"),
        ("https://example.org/hook", "x" * 257, "WEBHOOK_SECRET must be"),
    ],
)
def test_webhook_mode_refuses_to_start_without_url_and_secret(
    tmp_path: Path, url: str | None, secret: str | None, problem: str
) -> None:
    settings = make_settings(tmp_path, webhook_url=url, webhook_secret=secret)
    with pytest.raises(ConfigurationError, match=problem):
        check_webhook_settings(settings)


def test_cli_refuses_webhook_without_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("WEBHOOK_URL", "https://example.org/hook")
    result = CliRunner().invoke(cli, ["run", "--webhook", "--no-scheduler"])
    assert result.exit_code == 2
    assert "WEBHOOK_SECRET" in result.output


def gated_router() -> tuple[Router, asyncio.Event, asyncio.Event]:
    """/slow starts, then waits for the test to open the gate before answering."""
    router = Router(name="test-slow")
    started, gate = asyncio.Event(), asyncio.Event()

    @router.message(Command("slow"))
    async def slow(message: Message) -> None:
        started.set()
        await gate.wait()
        await message.answer("slow done")

    return router, started, gate


async def test_shutdown_finishes_updates_in_hand_and_refuses_new_ones(
    tg: BotApiStandIn, hook_settings: Settings, clock: ManualClock
) -> None:
    router, started, gate = gated_router()
    async with running_bot(
        hook_settings, tg, clock=clock, webhook=True, extra_routers=[router]
    ) as running:
        url = running.settings.webhook_url
        assert url is not None
        since = tg.mark()
        tg.push_text(BOB, "/slow")
        await asyncio.wait_for(started.wait(), 5)
        running.runtime.stop()
        for _ in range(1000):  # a few turns of the event loop, no time passing
            if not running.runtime.accepting:
                break
            await asyncio.sleep(0)
        status, _ = await post(url, update_json(900_200, "/help"))
        assert status == 503  # Telegram will deliver it again (elsewhere, or later)
        gate.set()
        [done] = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
        assert done.text == "slow done"
    async with running.sessionmaker() as session:
        statuses = dict(
            (await session.execute(select(InboxUpdate.update_id, InboxUpdate.status))).all()
        )
    assert list(statuses.values()) == [InboxStatus.DONE]


async def test_shutdown_is_bounded_and_the_cut_update_is_handled_at_next_start(
    tg: BotApiStandIn, hook_settings: Settings, clock: ManualClock
) -> None:
    settings = hook_settings.model_copy(update={"shutdown_timeout": 0.2})
    router, started, gate = gated_router()
    async with running_bot(
        settings, tg, clock=clock, webhook=True, extra_routers=[router]
    ) as running:
        update_id = tg.push_text(BOB, "/slow")
        await asyncio.wait_for(started.wait(), 5)
    # The handler never finished: the update is still pending, nothing was answered.
    async with running.sessionmaker() as session:
        row = await session.get(InboxUpdate, update_id)
    assert row is not None and row.status == InboxStatus.PENDING
    assert not any(c.method == "sendMessage" for c in tg.calls)
    gate.set()
    since = tg.mark()
    # The next process builds its own router (a router belongs to one dispatcher); its
    # gate is open from the start.
    restarted, _, open_gate = gated_router()
    open_gate.set()
    async with running_bot(settings, tg, clock=clock, webhook=True, extra_routers=[restarted]):
        [done] = await tg.wait_for("sendMessage", chat_id=BOB.id, since=since)
        assert done.text == "slow done"
