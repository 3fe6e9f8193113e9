"""What a process tells Prometheus (`GET /metrics`, PRODUCT.md §2.7).

One `Metrics` per process, on a registry of its own rather than prometheus-client's global
one: several bots run in one test process, and each must count only what it did. The
serving side counts updates and Telegram calls (bot.serving.metrics), the worker its
scheduled jobs and the lease; gauges read from the database (backlogs, the lease's expiry)
are refreshed when scraped, by the `refreshers` the process factory registers.

Metric names are documented for operators in docs/operations.md; renaming one breaks
their dashboards and alerts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

logger = logging.getLogger(__name__)

# Handler latency: from a few milliseconds (a /help) to the 60 s after which a person's
# lock expires (bot.serving.locks).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The sender's achieved rate is averaged over this many seconds.
RATE_WINDOW_SECONDS = 10.0
# A scrape never waits longer than this for the database; the previous values stay.
REFRESH_TIMEOUT = 3.0
# One-shot jobs carry the id of what they are about ("offers:expire:42"): the label keeps
# the kind only, so the number of series stays bounded.
_TRAILING_ID = re.compile(r"(:[0-9]+)+$")

Refresher = Callable[[], Awaitable[None]]


def job_kind(job_id: str) -> str:
    """'offers:expire:42' -> 'offers:expire'; periodic jobs keep their id."""
    return _TRAILING_ID.sub("", job_id) or job_id


class RateWindow:
    """Events per second over the last `window` seconds (the sender's achieved rate)."""

    def __init__(
        self, window: float = RATE_WINDOW_SECONDS, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._now = now
        self._events: collections.deque[float] = collections.deque()

    def _forget(self, now: float) -> None:
        while self._events and now - self._events[0] > self.window:
            self._events.popleft()

    def note(self) -> None:
        now = self._now()
        self._events.append(now)
        self._forget(now)

    def rate(self) -> float:
        self._forget(self._now())
        return len(self._events) / self.window


class Metrics:
    """Every metric of one process, on its own registry."""

    def __init__(self, *, process_collectors: bool = True) -> None:
        registry = self.registry = CollectorRegistry()
        if process_collectors:
            # CPU, memory, open files, Python version and GC: the usual first panels.
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.updates_received = Counter(
            "greenhood_updates_received",
            "Updates received from Telegram (getUpdates or webhook), by kind.",
            ["kind"],
            registry=registry,
        )
        self.updates_handled = Counter(
            "greenhood_updates_handled",
            "Updates whose handling finished without an error, by kind.",
            ["kind"],
            registry=registry,
        )
        self.updates_failed = Counter(
            "greenhood_updates_failed",
            "Updates whose handler raised (the person got an apology), by kind.",
            ["kind"],
            registry=registry,
        )
        self.update_seconds = Histogram(
            "greenhood_update_handling_seconds",
            "Time from an update entering the dispatcher to its handler's end, by kind.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.telegram_calls = Counter(
            "greenhood_telegram_calls",
            "Bot API calls by bot (serving: replies; worker: the outbox sender), method and "
            "outcome (ok, 429, 5xx, blocked, 4xx, network, error).",
            ["bot", "method", "outcome"],
            registry=registry,
        )
        self.inbox_backlog = Gauge(
            "greenhood_inbox_backlog",
            "Updates stored and not handled yet (read from the database when scraped).",
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "greenhood_outbox_backlog",
            "Outbox messages not sent yet: due now, waiting (a later time or a retry), or "
            "being sent (read from the database when scraped).",
            ["state"],
            registry=registry,
        )
        self.outbox_oldest_due = Gauge(
            "greenhood_outbox_oldest_due_seconds",
            "How long the oldest message due in the outbox has been waiting (0 when none).",
            registry=registry,
        )
        self.sender_rate = RateWindow()
        self.sender_achieved_rate = Gauge(
            "greenhood_sender_achieved_rate",
            f"Messages the sender delivered per second, over the last {RATE_WINDOW_SECONDS:g} s.",
            registry=registry,
        )
        self.sender_achieved_rate.set_function(self.sender_rate.rate)
        self.sender_rate_limit = Gauge(
            "greenhood_sender_rate_limit",
            "Messages per second the sender allows itself (BROADCAST_RATE).",
            registry=registry,
        )
        self.job_runs = Counter(
            "greenhood_scheduler_job_runs",
            "Scheduled job runs by job kind and outcome (ok, error).",
            ["job", "outcome"],
            registry=registry,
        )
        self.job_misses = Counter(
            "greenhood_scheduler_job_misses",
            "Scheduled runs skipped for being later than the grace time, by job kind.",
            ["job"],
            registry=registry,
        )
        self.lease_held = Gauge(
            "greenhood_worker_lease_held",
            "1 while this process holds the worker lease (runs the scheduler and the sender).",
            registry=registry,
        )
        self.lease_seconds_left = Gauge(
            "greenhood_worker_lease_seconds_left",
            "Seconds before the worker lease expires, whoever holds it; 0 or less: nobody "
            "runs the scheduler and the sender (read from the database when scraped).",
            registry=registry,
        )
        self.web_denied = Counter(
            "greenhood_web_denied",
            "Dashboard and download requests refused, by reason (missing, invalid, expired, "
            "not_organiser).",
            ["reason"],
            registry=registry,
        )
        self.refresh_errors = Counter(
            "greenhood_metrics_refresh_errors",
            "Scrapes whose database figures could not be refreshed (previous values kept).",
            registry=registry,
        )
        self.refreshers: list[Refresher] = []

    # ---------------------------------------------------------------- recording

    def job_event(self, job_id: str, outcome: str) -> None:
        """A scheduler event: outcome 'ok', 'error' or 'missed'."""
        kind = job_kind(job_id)
        if outcome == "missed":
            self.job_misses.labels(kind).inc()
        else:
            self.job_runs.labels(kind, outcome).inc()

    # ---------------------------------------------------------------- exposition

    async def refresh(self) -> None:
        for refresher in self.refreshers:
            try:
                async with asyncio.timeout(REFRESH_TIMEOUT):
                    await refresher()
            except Exception:
                self.refresh_errors.inc()
                logger.warning("metrics: could not refresh the database figures", exc_info=True)

    async def render(self) -> bytes:
        """The text exposition format, database figures refreshed first."""
        await self.refresh()
        return generate_latest(self.registry)


def metrics_handler(metrics: Metrics) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body = await metrics.render()
        response = web.Response(body=body)
        # Set whole: aiohttp's content_type would drop the version parameter.
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return handle


@contextlib.asynccontextmanager
async def serve_metrics(metrics: Metrics, host: str, port: int) -> AsyncIterator[int]:
    """A small HTTP server answering GET /metrics (for processes without a web server of
    their own: long polling, the worker); yields the port it listens on."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = int(runner.addresses[0][1])
        logger.info("metrics on http://%s:%s/metrics", host, bound)
        yield bound
    finally:
        await runner.cleanup()
