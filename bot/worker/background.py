"""The background side of the bot: scheduler, sender and broadcast progress reporter.

They run in exactly one process, the holder of the "worker" lease (a row in
worker_leases, renewed every few seconds): `greenhood run` by default, or `greenhood worker`
alongside `greenhood run --no-scheduler` replicas. A second candidate stands by and takes
over when the lease expires — at once if the holder was a process on this host that no
longer exists (killed or crashed), so a restarted worker resumes immediately.

Every process still has a scheduler, started paused: it lets handlers schedule jobs (they
are written to the job store) without running any.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Self

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock, SystemClock
from bot.core.host import pid_alive
from bot.core.scheduling import Every
from bot.core.settings import Settings
from bot.services import broadcasts, leases
from bot.ui.i18n import Translator
from bot.ui.notices import broadcasts as broadcasting
from bot.worker import jobs
from bot.worker.pacing import PacerTime
from bot.worker.scheduler import POLL_SECONDS, ApsScheduler
from bot.worker.sender import Sender, SenderConfig
from models import BroadcastStatus

logger = logging.getLogger(__name__)

LEASE_NAME = "worker"
# (job id, every so many seconds, job function): what the worker runs periodically.
PERIODIC_JOBS = (
    (jobs.SWEEP_JOB, jobs.SWEEP_SECONDS, jobs.SWEEP_REF),
    (jobs.NEIGHBOURS_PURGE_JOB, jobs.NEIGHBOURS_PURGE_SECONDS, jobs.NEIGHBOURS_PURGE_REF),
    (jobs.OFFERS_SWEEP_JOB, jobs.OFFERS_SWEEP_SECONDS, jobs.OFFERS_SWEEP_REF),
    (jobs.OFFER_TEMPLATES_JOB, jobs.OFFER_TEMPLATES_SECONDS, jobs.OFFER_TEMPLATES_REF),
    (jobs.EVENTS_SWEEP_JOB, jobs.EVENTS_SWEEP_SECONDS, jobs.EVENTS_SWEEP_REF),
    (jobs.WEEK_ROLLOVER_JOB, jobs.WEEK_ROLLOVER_SECONDS, jobs.WEEK_ROLLOVER_REF),
    (jobs.NUDGES_JOB, jobs.NUDGES_SECONDS, jobs.NUDGES_REF),
    (jobs.RETENTION_JOB, jobs.RETENTION_SECONDS, jobs.RETENTION_REF),
)


@dataclass(frozen=True, slots=True)
class BackgroundTiming:
    lease_ttl: timedelta = timedelta(seconds=30)
    lease_renew_seconds: float = 5.0
    progress_seconds: float = 2.0


@dataclass(slots=True)
class _ProgressEdit:
    chat_id: int
    locale: str
    text: str
    final: bool


class Background:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        bot: Bot,
        translator: Translator,
        clock: Clock | None = None,
        *,
        run_jobs: bool = True,
        sender_config: SenderConfig | None = None,
        pacer_time: PacerTime | None = None,
        timing: BackgroundTiming | None = None,
        scheduler_poll_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.bot = bot
        self.translator = translator
        self.clock = clock or SystemClock()
        self.run_jobs = run_jobs
        self.timing = timing or BackgroundTiming()
        self.scheduler = ApsScheduler(
            settings.database_url,
            poll_seconds=POLL_SECONDS if scheduler_poll_seconds is None else scheduler_poll_seconds,
        )
        self.sender = Sender(
            bot,
            sessionmaker,
            self.clock,
            sender_config or SenderConfig(rate=settings.broadcast_rate),
            time=pacer_time,
        )
        self.holder = secrets.token_hex(8)
        self.leading = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._shown: dict[int, str] = {}
        self._last_edit: dict[int, float] = {}
        self._final_edits: dict[int, _ProgressEdit] = {}
        self._context = jobs.JobContext(settings, sessionmaker, self.clock, translator)
        self._holder_note = "?"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self.scheduler.start(paused=True)
        if self.run_jobs:
            self._task = asyncio.create_task(self._lead(), name="worker-lead")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        self.scheduler.shutdown()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def run_periodic_jobs(self) -> None:
        """Run every periodic job once, now, in order, then wake the sender (the console's
        `:time` jump: what became due happens at once). Only in the process holding the
        worker lease; the jobs are safe to run any number of times."""
        if not self.leading.is_set():
            raise RuntimeError("periodic jobs run only in the process holding the worker lease")
        for _, _, func_ref in PERIODIC_JOBS:
            module_name, _, name = func_ref.partition(":")
            job = getattr(importlib.import_module(module_name), name)
            await job()
        self.sender.wake()

    # ------------------------------------------------------------------ the lease

    async def _try_lease(self) -> bool:
        async with self.sessionmaker() as session:
            held = await leases.acquire(
                session,
                LEASE_NAME,
                self.holder,
                socket.gethostname()[:255],
                os.getpid(),
                self.clock.now(),
                self.timing.lease_ttl,
                pid_alive,
            )
            await session.commit()
            if not held:
                current = await leases.holder_of(session, LEASE_NAME)
                if current is not None:
                    self._holder_note = f"{current.host} pid {current.pid}"
        return held

    async def _lead(self) -> None:
        waiting_said = False
        while not self._stop.is_set():
            try:
                held = await self._try_lease()
                if held:
                    logger.info("worker lease taken: running the scheduler and the sender here")
                    waiting_said = False
                    await self._work()
                    continue
            except Exception:
                logger.exception("the worker stopped on an error; starting again shortly")
                await self._sleep(self.timing.lease_renew_seconds)
                continue
            if not waiting_said:
                logger.info(
                    "another process (%s) runs the scheduler and the sender; standing by",
                    self._holder_note,
                )
                waiting_said = True
            await self._sleep(self.timing.lease_renew_seconds)

    async def _keep_lease(self) -> None:
        while not self._stop.is_set():
            await self._sleep(self.timing.lease_renew_seconds)
            if self._stop.is_set():
                return
            async with self.sessionmaker() as session:
                kept = await leases.renew(
                    session, LEASE_NAME, self.holder, self.clock.now(), self.timing.lease_ttl
                )
                await session.commit()
            if not kept:
                logger.error("the worker lease was taken over: stopping the scheduler and sender")
                return

    async def _work(self) -> None:
        jobs.install(self._context)
        for job_id, seconds, func_ref in PERIODIC_JOBS:
            self.scheduler.every(job_id, Every(seconds), func_ref)
        self.scheduler.resume()
        self.leading.set()
        stop_sender = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.sender.run(stop_sender, exclusive=True))
                group.create_task(self._report_progress(stop_sender))
                await self._keep_lease()
                stop_sender.set()
        finally:
            self.leading.clear()
            self.scheduler.pause()
            jobs.uninstall(self._context)
            async with self.sessionmaker() as session:
                await leases.release(session, LEASE_NAME, self.holder, self.clock.now())
                await session.commit()

    # ------------------------------------------------------------------ broadcast progress

    async def _report_progress(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.progress_once()
            except Exception:
                logger.exception("broadcast progress update failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.timing.progress_seconds)

    async def progress_once(self) -> None:
        """Finish complete broadcasts (queue their report) and edit progress messages."""
        now = self.clock.now()
        rate = self.settings.broadcast_rate
        edits: dict[int, _ProgressEdit] = {}
        finished_any = False
        async with self.sessionmaker() as session:
            active = [
                *await broadcasts.in_progress(session),
                *await broadcasts.cancelled_unfinished(session),
            ]
            for broadcast in active:
                figures = await broadcasts.progress(session, broadcast)
                final = False
                if broadcast.status == BroadcastStatus.SENDING:
                    final = await broadcasts.finish_if_complete(session, broadcast, now) is not None
                elif figures.finished:
                    broadcast.finished_at = now
                    final = True
                if final:
                    finished_any = True
                    await broadcasting.queue_report(
                        session, broadcast, figures, now, self.translator
                    )
                text = broadcasting.progress_text(self.translator, broadcast, figures, rate)
                edits[broadcast.id] = _ProgressEdit(
                    broadcast.organiser_id, broadcast.locale, text, final
                )
            await session.commit()
        if finished_any:
            self.sender.wake()
        for broadcast_id, edit in edits.items():
            if edit.final:
                self._final_edits[broadcast_id] = edit
            else:
                await self._edit_progress(broadcast_id, edit)
        for broadcast_id, edit in list(self._final_edits.items()):
            if await self._edit_progress(broadcast_id, edit):
                del self._final_edits[broadcast_id]

    async def _edit_progress(self, broadcast_id: int, edit: _ProgressEdit) -> bool:
        """Edit the progress message if it changed (at most every few seconds unless
        final); True once done or pointless, False to try again later."""
        if self._shown.get(broadcast_id) == edit.text:
            return True
        now = self.sender.time.monotonic()
        last = self._last_edit.get(broadcast_id)
        if not edit.final and last is not None and now - last < self.timing.progress_seconds:
            return False
        async with self.sessionmaker() as session:
            message_id = await broadcasts.progress_message_id(session, broadcast_id)
        if message_id is None:
            return False
        markup = None
        if not edit.final:
            markup = InlineKeyboardMarkup.model_validate(
                broadcasting.stop_markup(self.translator, edit.locale, broadcast_id)
            )
        # Edits share the sender's pacing: one budget for everything the bot sends.
        await self.sender.pacer.wait_turn(edit.chat_id)
        self._last_edit[broadcast_id] = self.sender.time.monotonic()
        try:
            await self.bot.edit_message_text(
                text=edit.text,
                chat_id=edit.chat_id,
                message_id=message_id,
                reply_markup=markup,
                request_timeout=self.sender.config.request_timeout,
            )
        except TelegramBadRequest as error:
            if "not modified" not in error.message:
                logger.warning(
                    "progress of broadcast %s not shown: %s", broadcast_id, error.message
                )
        except TelegramAPIError as error:
            logger.warning(
                "progress of broadcast %s not shown now: %s", broadcast_id, error.message
            )
            return False
        self._shown[broadcast_id] = edit.text
        return True
