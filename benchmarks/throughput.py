"""End-to-end update throughput through real HTTP (the test Bot API server), long polling
and webhook, Greenhood beside a bare aiogram echo bot measured in the same run on the same
server (PRODUCT.md §4: at least half the echo bot's throughput).

500 people each send one update per wave, all at once, and the wave ends when every one
has been answered; the mix rotates through /start, /help, a main-menu button, /settings,
a press on the settings message's button, and free text. Figures: updates per second
over the measured waves, and p50/p95 latency from the push to the bot's first reply.
Greenhood runs as `greenhood run [--webhook]` on a SQLite file (one small community's
shape), every update going through its inbox.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import percentile, report
from bot.core.settings import PROJECT_ROOT
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser
from bot.ui.i18n import create_translator
from tests.support.harness import free_port

PEOPLE = 500
WAVES = 6
WARM_UP_WAVES = 1
SECRET = "benchmark-secret"
REPLIES = (*SEND_METHODS, "answerCallbackQuery")

tr = create_translator(PROJECT_ROOT / "locales", "fr")
SCRIPT = ["/help", "MENU", "/settings", "CALLBACK", "bonjour, je cherche un atelier vélo", "/start"]


@dataclass
class Run:
    bot: str
    mode: str
    updates: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.updates / self.seconds


def _command(bot: str, mode: str, server: BotApiStandIn, port: int) -> list[str]:
    url = f"http://127.0.0.1:{port}/hook"
    if bot == "echo":
        args = [mode, server.base_url, server.token]
        if mode == "webhook":
            args += [url, str(port), SECRET]
        return [sys.executable, "-m", "benchmarks.echo_bot", *args]
    return [
        sys.executable,
        "-m",
        "bot.app.cli",
        "run",
        *(["--webhook"] if mode == "webhook" else []),
    ]


def _answered(call: RecordedCall, queries: dict[str, int]) -> int | None:
    """The person a reply answers: its chat, or the person who pressed the button."""
    return call.chat_id or queries.get(str(call.params.get("callback_query_id")))


async def _wait_answered(
    server: BotApiStandIn, since: int, people: set[int], queries: dict[str, int]
) -> list[RecordedCall]:
    """Poll (a benchmark may sleep) until every person of the wave got a reply after
    `since`. Counting expected replies is fragile: an edit that would change nothing is
    rightly skipped by the bot."""
    deadline = time.monotonic() + 120
    replies: list[RecordedCall] = []
    answered: set[int | None] = set()
    # Calls are appended at arrival and marked done when answered: look again only from the
    # oldest reply not yet done (the server shares this process; a full rescan every 2 ms
    # would take CPU from the bots being measured).
    cursor = since
    while True:
        calls = server.calls
        while cursor < len(calls):
            call = calls[cursor]
            if call.method in REPLIES:
                if not call.done:
                    break
                replies.append(call)
                answered.add(_answered(call, queries))
            cursor += 1
        if people <= answered:
            return replies
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(people - answered)}/{len(people)} unanswered after 120 s")
        await asyncio.sleep(0.002)


def _push(server: BotApiStandIn, person: TgUser, step: str) -> str | None:
    """Push one update; returns the callback query id of a press."""
    if step == "CALLBACK":
        return server.push_callback(person, "st:lang")
    text = tr.t("menu.settings", "fr") if step == "MENU" else step
    server.push_text(person, text)
    return None


async def _wave(server: BotApiStandIn, people: list[TgUser], wave: int) -> list[float]:
    since = server.mark()
    pushed: dict[int, float] = {}
    queries: dict[str, int] = {}
    for index, person in enumerate(people):
        step = "/start" if wave < 0 else SCRIPT[(index + wave) % len(SCRIPT)]
        pushed[person.id] = time.monotonic()
        query = _push(server, person, step)
        if query is not None:
            queries[query] = person.id
    replies = await _wait_answered(server, since, set(pushed), queries)
    first: dict[int, float] = {}
    for call in replies:
        person_id = _answered(call, queries)
        if person_id in pushed and person_id not in first:
            first[person_id] = call.at
    return [first[person_id] - pushed[person_id] for person_id in first]


async def _measure(server: BotApiStandIn, bot: str, mode: str, folder: Path) -> Run:
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / f'{bot}-{mode}.db'}",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    since = server.mark()
    process = await asyncio.create_subprocess_exec(
        *_command(bot, mode, server, port), env=env, cwd=folder
    )
    try:
        await server.wait_for(
            "setWebhook" if mode == "webhook" else "getUpdates", since=since, timeout=120
        )
        people = [
            TgUser(id=100_000 + i, first_name=f"P{i}", language_code="fr") for i in range(PEOPLE)
        ]
        # Everyone starts, then a wave of the whole mix: what a process does once (import
        # and build the models it uses, compile its SQL) is not counted, for either bot.
        await _wave(server, people, -1)
        for wave in range(WARM_UP_WAVES):
            await _wave(server, people, WAVES + wave)
        latencies: list[float] = []
        started = time.monotonic()
        for wave in range(WAVES):
            latencies += await _wave(server, people, wave)
        seconds = time.monotonic() - started
    finally:
        process.terminate()
        await process.wait()
    return Run(bot, mode, PEOPLE * WAVES, seconds, latencies)


async def run() -> dict[str, object]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as folder:
        async with BotApiStandIn() as server:
            # As Telegram: up to 40 webhook deliveries in flight (setWebhook's default).
            server.webhook_connections = 40
            for mode in ("polling", "webhook"):
                for bot in ("echo", "greenhood"):
                    runs.append(await _measure(server, bot, mode, Path(folder)))
    figures: dict[str, object] = {"benchmark": "throughput", "people": PEOPLE, "waves": WAVES}
    for item in runs:
        key = f"{item.bot}_{item.mode}"
        figures[f"{key}_updates_per_s"] = round(item.rate, 1)
        figures[f"{key}_p50_ms"] = round(percentile(item.latencies, 0.5) * 1000, 1)
        figures[f"{key}_p95_ms"] = round(percentile(item.latencies, 0.95) * 1000, 1)
    for mode in ("polling", "webhook"):
        echo = next(r for r in runs if r.bot == "echo" and r.mode == mode)
        ours = next(r for r in runs if r.bot == "greenhood" and r.mode == mode)
        figures[f"ratio_{mode}"] = round(ours.rate / echo.rate, 2)
    return figures


def main() -> None:
    figures = asyncio.run(run())
    rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report("End-to-end throughput (500 people, mixed updates)", rows, figures)
