"""/metrics after a scripted conversation: the counters say what happened (updates
received, handled and failed, every Bot API call by outcome, a 429 included), on the
polling process's METRICS_PORT, the webhook server's port, and the worker's."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.app.process import open_worker
from bot.core.clock import ManualClock
from bot.core.metrics import job_kind
from bot.core.settings import Settings
from bot.services import outbox
from bot.standin import BotApiStandIn, RecordedCall, TgUser, TooManyRequests
from bot.worker import jobs
from tests.conftest import make_settings
from tests.support.harness import free_port, running_bot

ALICE = TgUser(id=1001, first_name="Alice", language_code="fr")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    async with ClientSession() as client, client.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        body = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def by_label(samples: Samples, name: str, **fixed: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for (sample, labels), number in samples.items():
        if sample == name and set(fixed.items()) <= set(labels):
            found[tuple(item for item in labels if item[0] not in fixed)] = number
    return found


def outcome(call: RecordedCall) -> str:
    if call.status == 200:
        return "ok"
    if call.status == 429:
        return "429"
    if call.status >= 500:
        return "5xx"
    if call.status == 403:
        return "blocked"
    return "4xx"


def calls_seen(calls: Iterable[RecordedCall]) -> dict[tuple[tuple[str, str], ...], float]:
    """What the test server answered, in the metric's labels."""
    counted: collections.Counter[tuple[tuple[str, str], ...]] = collections.Counter()
    for call in calls:
        if call.method != "getUpdates" and call.done:
            counted[("method", call.method), ("outcome", outcome(call))] += 1
    return {labels: float(n) for labels, n in counted.items()}


async def test_polling_metrics_match_a_scripted_conversation(
    tmp_path: Path, tg: BotApiStandIn, clock: ManualClock
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, metrics_host="127.0.0.1", metrics_port=port)
    async with running_bot(settings, tg, clock=clock) as bot:
        await tg.reply_to(ALICE, "/start")
        await tg.reply_to(ALICE, "/help")
        # The third reply is refused with a 429: its handler fails, the person gets the
        # apology (a second sendMessage, answered 200).
        tg.inject(TooManyRequests(retry_after=3), method="sendMessage", chat_id=ALICE.id)
        since = tg.mark()
        tg.push_text(ALICE, "/help")
        await tg.wait_for("sendMessage", chat_id=ALICE.id, since=since)
        await bot.settled()
        samples = await scrape(f"http://127.0.0.1:{port}/metrics")

    assert value(samples, "greenhood_updates_received_total", kind="message") == 3
    assert value(samples, "greenhood_updates_handled_total", kind="message") == 2
    assert value(samples, "greenhood_updates_failed_total", kind="message") == 1
    assert value(samples, "greenhood_update_handling_seconds_count", kind="message") == 3
    assert value(samples, "greenhood_update_handling_seconds_sum", kind="message") > 0
    served = by_label(samples, "greenhood_telegram_calls_total", bot="serving")
    assert served == calls_seen(tg.calls)
    assert served[("method", "sendMessage"), ("outcome", "429")] == 1
    # The worker's bot sent nothing (no background in this process).
    assert by_label(samples, "greenhood_telegram_calls_total", bot="worker") == {}
    # Read from the database when scraped: everything handled.
    assert value(samples, "greenhood_inbox_backlog") == 0
    assert value(samples, "greenhood_worker_lease_held") == 0
    assert value(samples, "greenhood_sender_rate_limit") == settings.broadcast_rate
    assert value(samples, "greenhood_metrics_refresh_errors_total") == 0
    assert value(samples, "process_cpu_seconds_total") > 0


async def test_the_webhook_server_counts_what_it_receives(
    settings: Settings, tg: BotApiStandIn, clock: ManualClock
) -> None:
    hooked = settings.model_copy(update={"webhook_secret": SecretStr("s3cret")})
    async with running_bot(hooked, tg, clock=clock, webhook=True) as bot:
        await tg.reply_to(ALICE, "/start")
        await tg.reply_to(ALICE, "/help")
        await bot.settled()
        samples = await scrape(f"http://127.0.0.1:{bot.runtime.port}/metrics")
    assert value(samples, "greenhood_updates_received_total", kind="message") == 2
    assert value(samples, "greenhood_updates_handled_total", kind="message") == 2
    assert by_label(samples, "greenhood_telegram_calls_total", bot="serving") == calls_seen(
        tg.calls
    )


async def test_the_worker_counts_its_sends_jobs_and_lease(
    tmp_path: Path, tg: BotApiStandIn, clock: ManualClock
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path,
        telegram_api_base=tg.base_url,
        bot_token=SecretStr(tg.token),
        metrics_host="127.0.0.1",
        metrics_port=port,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    async with open_worker(settings, clock=clock) as worker:
        await asyncio.wait_for(worker.background.leading.wait(), 15)
        samples = await scrape(url)
        assert value(samples, "greenhood_worker_lease_held") == 1
        assert value(samples, "greenhood_worker_lease_seconds_left") == 30

        # Two messages; Telegram answers the first attempt with a 429, the sender waits
        # and sends both.
        tg.inject(TooManyRequests(retry_after=1), method="sendMessage")
        async with worker.sessionmaker() as session:
            for chat_id in (ALICE.id, 2002):
                await outbox.enqueue(
                    session,
                    chat_id=chat_id,
                    kind="test",
                    text="Bonjour",
                    key=f"k{chat_id}",
                    now=clock.now(),
                )
            await session.commit()
        worker.background.sender.wake()
        await tg.wait_for("sendMessage", count=2, since=0, timeout=15)

        # Recorded outcomes are committed a moment after the answers.
        async def drained() -> Samples:
            while True:
                found = await scrape(url)
                if (
                    value(found, "greenhood_outbox_backlog", state="due") == 0
                    and value(found, "greenhood_outbox_backlog", state="sending") == 0
                ):
                    return found
                await asyncio.sleep(0.05)

        samples = await asyncio.wait_for(drained(), 15)
        sent = by_label(samples, "greenhood_telegram_calls_total", bot="worker")
        assert sent == calls_seen(tg.calls)
        assert sent[("method", "sendMessage"), ("outcome", "429")] == 1
        assert sent[("method", "sendMessage"), ("outcome", "ok")] == 2
        assert value(samples, "greenhood_sender_achieved_rate") > 0
        assert value(samples, "greenhood_outbox_oldest_due_seconds") == 0

        # A periodic job brought forward runs and is counted under its id; a one-shot job
        # an hour late (past the grace time) is missed, counted under its kind. APScheduler
        # fires on the wall clock.
        scheduler = worker.background.scheduler
        scheduler.set_next_run(jobs.SWEEP_JOB, datetime.now(UTC))
        scheduler.at("metrics-test:7", datetime.now(UTC) - timedelta(hours=1), jobs.SWEEP_REF)

        async def ran() -> Samples:
            while True:
                found = await scrape(url)
                if value(
                    found, "greenhood_scheduler_job_runs_total", job=jobs.SWEEP_JOB, outcome="ok"
                ):
                    return found
                await asyncio.sleep(0.05)

        samples = await asyncio.wait_for(ran(), 15)
        assert value(samples, "greenhood_scheduler_job_misses_total", job="metrics-test") == 1
        assert not by_label(samples, "greenhood_scheduler_job_runs_total", job="metrics-test")
    assert job_kind("offers:expire:42") == "offers:expire"
    assert job_kind(jobs.SWEEP_JOB) == jobs.SWEEP_JOB
