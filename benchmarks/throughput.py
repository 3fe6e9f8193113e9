"""End-to-end update throughput through real HTTP (the test Bot API server), long polling
and webhook, Greenhood beside a bare aiogram echo bot measured in the same run on the same
server (PRODUCT.md §4: at least half the echo bot's throughput). The echo bot has every
generic speed-up Greenhood has (benchmarks/echo_bot.py GENERIC_SPEEDUPS): what separates
the two is Greenhood's own work.

    python -m benchmarks throughput [mix|commands|basic] [--polling] [--webhook]

People each send one update per wave, all at once, and the wave ends when every one has
been answered. Figures: updates per second over the measured waves, p50/p95 latency from
the push to the bot's first reply. Greenhood runs as `greenhood run [--webhook]` on a
fresh SQLite file filled with the demo data (makers, offers, challenges, neighbours,
logged actions), every update going through its inbox; maps are drawn without tiles (no
network). Before measuring, everyone starts and gives a place (a location after /makers),
so /makers and /offers search at once, as they do for anyone who gave a place within 30
minutes.

- `mix` (default; polling and webhook): the realistic mix below, every main-menu command
  and tap in proportion to real use (MIX).
- `commands` (polling unless told): each main-menu command or tap alone, one after the
  other in one process, a table "command | updates/s | share of echo bot", the echo bot
  given the same kind of update (a text or a tap) in the same run.
- `basic`: the former mix (/start, /help, a menu button, /settings, a tap on it, text).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.common import percentile, report
from benchmarks.echo_bot import GENERIC_SPEEDUPS
from bot.core.settings import PROJECT_ROOT
from bot.standin import SEND_METHODS, BotApiStandIn, RecordedCall, TgUser
from bot.ui.i18n import create_translator
from tests.support.harness import free_port

PEOPLE = 500
WAVES = 6
WARM_UP_WAVES = 1
COMMAND_PEOPLE = 300  # as the outside measure: 300 people, each command alone
COMMAND_WAVES = 4
SECRET = "benchmark-secret"
REPLIES = (*SEND_METHODS, "answerCallbackQuery")
PLACE = (44.8378, -0.5792)  # Bordeaux centre: the demo makers and offers are around it
CATALOGUE_SIZE = 40  # /act taps cycle through the first actions (daily caps apart)

tr = create_translator(PROJECT_ROOT / "locales", "fr")
SCRIPT = ["/help", "MENU", "/settings", "CALLBACK", "bonjour, je cherche un atelier vélo", "/start"]

# Each main-menu command or tap, as pushed: a text, a "tap:" callback on the person's
# latest bot message, or an act tap whose action varies (ACT_LOG) so daily caps rarely
# answer instead of the log.
CHALLENGE_DETAIL = "tap:ch:v:1"  # the first demo challenge
ACT_CATEGORY = "tap:ac:food"
ACT_LOG = "ACT_LOG"
COMMANDS: dict[str, str] = {
    "/help": "/help",
    "/start": "/start",
    "/me": "/me",
    "/leaderboard": "/leaderboard",
    "/challenges": "/challenges",
    "challenge detail (tap)": CHALLENGE_DETAIL,
    "/makers (a place given)": "/makers",
    "/offers (a place given)": "/offers",
    "/neighbours": "/neighbours",
    "/act": "/act",
    "/act category (tap)": ACT_CATEGORY,
    "/act action (tap, logs)": ACT_LOG,
}
# The realistic mix, per 20 updates: logging an action is what people do most (the /act
# command, then two taps), then they look at their figures and the boards; the
# directory, offers and neighbours are looked at now and then; /start and /help rarely.
MIX: dict[str, int] = {
    "/act": 3,
    ACT_CATEGORY: 3,
    ACT_LOG: 3,
    "/me": 2,
    "/leaderboard": 2,
    "/challenges": 1,
    CHALLENGE_DETAIL: 1,
    "/makers": 1,
    "/offers": 1,
    "/neighbours": 1,
    "/help": 1,
    "/start": 1,
}
MIX_SCRIPT = [step for step, weight in MIX.items() for _ in range(weight)]


@dataclass
class Run:
    bot: str
    mode: str
    updates: int
    seconds: float
    latencies: list[float] = field(default_factory=list)

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


def _push(server: BotApiStandIn, person: TgUser, step: str, turn: int = 0) -> str | None:
    """Push one update; returns the callback query id of a press. `turn` varies what an
    act tap logs."""
    if step == "CALLBACK":
        return server.push_callback(person, "st:lang")
    if step == ACT_LOG:
        return server.push_callback(person, f"al:{(person.id + turn) % CATALOGUE_SIZE}")
    if step.startswith("tap:"):
        return server.push_callback(person, step.removeprefix("tap:"))
    if step == "LOCATION":
        server.push_location(person, *PLACE)
        return None
    text = tr.t("menu.settings", "fr") if step == "MENU" else step
    server.push_text(person, text)
    return None


Steps = Callable[[int, int], str]  # (person's index, wave) -> step


async def _wave(
    server: BotApiStandIn, people: list[TgUser], wave: int, steps: Steps
) -> list[float]:
    since = server.mark()
    pushed: dict[int, float] = {}
    queries: dict[str, int] = {}
    for index, person in enumerate(people):
        pushed[person.id] = time.monotonic()
        query = _push(server, person, steps(index, wave), wave)
        if query is not None:
            queries[query] = person.id
    replies = await _wait_answered(server, since, set(pushed), queries)
    first: dict[int, float] = {}
    for call in replies:
        person_id = _answered(call, queries)
        if person_id in pushed and person_id not in first:
            first[person_id] = call.at
    return [first[person_id] - pushed[person_id] for person_id in first]


def _rotating(script: Sequence[str]) -> Steps:
    return lambda index, wave: script[(index + wave) % len(script)]


def _always(step: str) -> Steps:
    return lambda index, wave: step


@dataclass
class Phase:
    """Waves of one kind: `warm_up` unmeasured, then `waves` measured."""

    name: str
    steps: Steps
    waves: int
    warm_up: int = WARM_UP_WAVES


async def _timed(
    server: BotApiStandIn, people: list[TgUser], phase: Phase, bot: str, mode: str
) -> Run:
    for wave in range(phase.warm_up):
        await _wave(server, people, phase.waves + wave, phase.steps)
    latencies: list[float] = []
    started = time.monotonic()
    for wave in range(phase.waves):
        latencies += await _wave(server, people, wave, phase.steps)
    return Run(bot, mode, len(people) * phase.waves, time.monotonic() - started, latencies)


async def _measure(
    server: BotApiStandIn, bot: str, mode: str, folder: Path, people: int, phases: list[Phase]
) -> list[Run]:
    port = free_port()
    env = {
        **os.environ,
        "BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / f'{bot}-{mode}-{time.monotonic_ns()}.db'}",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "MAP_TILES_URL": "",  # maps drawn without tiles: no network in a benchmark
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    since = server.mark()
    process = await asyncio.create_subprocess_exec(
        *_command(bot, mode, server, port), env=env, cwd=folder
    )
    try:
        await server.wait_for(
            "setWebhook" if mode == "webhook" else "getUpdates", since=since, timeout=180
        )
        crowd = [
            TgUser(id=100_000 + i, first_name=f"P{i}", language_code="fr") for i in range(people)
        ]
        # Everyone starts and gives a place (the echo bot answers only text): what a
        # process does once (import and build the models it uses, compile its SQL) is left
        # out by each phase's warm-up wave, for either bot.
        await _wave(server, crowd, 0, _always("/start"))
        if bot == "greenhood":
            await _wave(server, crowd, 0, _always("/makers"))
            located = server.mark()
            await _wave(server, crowd, 0, _always("LOCATION"))
            # A place is answered at once ("noted"), its map after: every map sent before
            # measuring, or their drawing would be counted against the measured waves.
            await server.wait_for("sendPhoto", count=people, since=located, timeout=600)
        return [await _timed(server, crowd, phase, bot, mode) for phase in phases]
    finally:
        process.terminate()
        await process.wait()


def _options(argv: list[str]) -> tuple[str, list[str]]:
    kind = next((arg for arg in argv if not arg.startswith("--")), "mix")
    if kind not in ("mix", "commands", "basic"):
        raise SystemExit(
            "usage: python -m benchmarks throughput [mix|commands|basic] [--polling] [--webhook]"
        )
    modes = [mode for mode in ("polling", "webhook") if f"--{mode}" in argv]
    if not modes:
        modes = ["polling"] if kind == "commands" else ["polling", "webhook"]
    return kind, modes


def _latency_figures(key: str, run: Run) -> dict[str, object]:
    return {
        f"{key}_updates_per_s": round(run.rate, 1),
        f"{key}_p50_ms": round(percentile(run.latencies, 0.5) * 1000, 1),
        f"{key}_p95_ms": round(percentile(run.latencies, 0.95) * 1000, 1),
    }


def _server() -> BotApiStandIn:
    server = BotApiStandIn()
    # As Telegram: up to 40 webhook deliveries in flight (setWebhook's default).
    server.webhook_connections = 40
    return server


async def run_mixes(kind: str, modes: list[str]) -> dict[str, object]:
    script = MIX_SCRIPT if kind == "mix" else SCRIPT
    figures: dict[str, object] = {
        "benchmark": "throughput",
        "kind": kind,
        "people": PEOPLE,
        "waves": WAVES,
        "echo_speedups": ", ".join(GENERIC_SPEEDUPS),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    if kind == "mix":
        figures["mix_per_20_updates"] = ", ".join(f"{s} {w}" for s, w in MIX.items())
    with tempfile.TemporaryDirectory() as folder:
        async with _server() as server:
            for mode in modes:
                rates: dict[str, float] = {}
                for bot in ("echo", "greenhood"):
                    phase = Phase(kind, _rotating(script), WAVES)
                    [item] = await _measure(server, bot, mode, Path(folder), PEOPLE, [phase])
                    figures.update(_latency_figures(f"{bot}_{mode}", item))
                    rates[bot] = item.rate
                figures[f"ratio_{mode}"] = round(rates["greenhood"] / rates["echo"], 2)
    return figures


async def run_commands(modes: list[str]) -> dict[str, object]:
    figures: dict[str, object] = {
        "benchmark": "throughput",
        "kind": "commands",
        "people": COMMAND_PEOPLE,
        "waves": COMMAND_WAVES,
        "echo_speedups": ", ".join(GENERIC_SPEEDUPS),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    # Each tap follows the command whose message it is pressed on (dict order).
    phases = [Phase(name, _always(step), COMMAND_WAVES) for name, step in COMMANDS.items()]
    # The echo bot answers a text and a tap each at its own cost: one phase of each kind.
    echo_phases = [
        Phase("text", _always("/help"), COMMAND_WAVES),
        Phase("tap", _always(ACT_CATEGORY), COMMAND_WAVES),
    ]
    with tempfile.TemporaryDirectory() as folder:
        async with _server() as server:
            for mode in modes:
                echo_text, echo_tap = await _measure(
                    server, "echo", mode, Path(folder), COMMAND_PEOPLE, echo_phases
                )
                ours = await _measure(
                    server, "greenhood", mode, Path(folder), COMMAND_PEOPLE, phases
                )
                table = Table(title=f"Each command alone ({mode}, {COMMAND_PEOPLE} people)")
                for column in ("command", "updates/s", "share of echo bot", "p50 ms", "p95 ms"):
                    table.add_column(column, justify="left" if column == "command" else "right")
                table.add_row("echo bot, text", f"{echo_text.rate:.0f}", "1.00", "", "")
                table.add_row("echo bot, tap", f"{echo_tap.rate:.0f}", "1.00", "", "")
                figures[f"echo_{mode}_text_updates_per_s"] = round(echo_text.rate, 1)
                figures[f"echo_{mode}_tap_updates_per_s"] = round(echo_tap.rate, 1)
                for phase, item in zip(phases, ours, strict=True):
                    step = COMMANDS[phase.name]
                    echo = echo_tap if step.startswith("tap:") or step == ACT_LOG else echo_text
                    share = item.rate / echo.rate
                    p50 = percentile(item.latencies, 0.5) * 1000
                    p95 = percentile(item.latencies, 0.95) * 1000
                    table.add_row(
                        phase.name, f"{item.rate:.0f}", f"{share:.2f}", f"{p50:.0f}", f"{p95:.0f}"
                    )
                    figures[f"{mode} {phase.name} updates_per_s"] = round(item.rate, 1)
                    figures[f"{mode} {phase.name} share"] = round(share, 2)
                Console().print(table)
    return figures


def main() -> None:
    kind, modes = _options(sys.argv[2:])
    if kind == "commands":
        figures = asyncio.run(run_commands(modes))
        title = f"Each main-menu command alone ({COMMAND_PEOPLE} people)"
        rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    else:
        figures = asyncio.run(run_mixes(kind, modes))
        title = f"End-to-end throughput ({PEOPLE} people, the {kind} mix)"
        rows = [(name, str(value)) for name, value in figures.items() if name != "benchmark"]
    report(title, rows, figures)
