"""Scheduled jobs behind a small interface of ours, run by APScheduler 3 with its jobs in
our database (so they survive restarts).

Rules for jobs:
- a job is a module-level coroutine function named by reference ("bot.worker.jobs:sweep") and
  called with ids only (ints/strings): objects would be pickled stale into the job store;
- every job has an explicit id, so scheduling the same thing twice replaces, never doubles;
- a job must be safe to run twice (APScheduler removes a one-shot job when it starts it,
  so a crash while it runs loses that run: the jobs that matter are backed by a sweep over
  our own tables, and what they send goes through the outbox's idempotency keys).

Exactly one process runs jobs (the holder of the worker lease, see bot/worker/background.py). Every
other process starts its scheduler paused: adding a job only writes it to the job store,
where the running scheduler finds it at its next poll (APScheduler 3 cannot be told across
processes, hence the bounded wait between polls).

APScheduler fires on wall-clock time; the jobs themselves read the injected clock.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pickle
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePath
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Connection, Table, select, update
from sqlalchemy.engine import make_url

from bot.core.scheduling import Every, IdValue, Schedule

logger = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
# APScheduler's default grace is 1 s: a job due while the worker restarts (a deploy takes
# tens of seconds) would be skipped. Fifteen minutes covers a restart or a short outage;
# later than that a periodic job waits for its next occurrence (coalesced into one run)
# rather than sending Monday's kick-off on Monday evening. One-shot jobs that must not be
# dropped pass `must_run=True` (no grace at all) and are backed by a sweep of our tables.
DEFAULT_MISFIRE_GRACE_SECONDS = 15 * 60
# How long a running scheduler may sleep before looking at the job store again, so jobs
# added by other processes (web replicas) start at most this late.
POLL_SECONDS = 5.0


def _trigger(schedule: Schedule) -> IntervalTrigger | CronTrigger:
    if isinstance(schedule, Every):
        return IntervalTrigger(seconds=schedule.seconds)
    return CronTrigger(
        day_of_week=schedule.day_of_week,
        hour=schedule.hour,
        minute=schedule.minute,
        timezone=schedule.timezone,
    )


def check_func_ref(func_ref: str) -> None:
    """Fail when scheduling, not at 3 am: the reference must name a coroutine function."""
    module_name, _, name = func_ref.partition(":")
    if not module_name or not name:
        raise ValueError(f"a job reference looks like 'package.module:function', not {func_ref!r}")
    target = getattr(importlib.import_module(module_name), name, None)
    if target is None or not inspect.iscoroutinefunction(target):
        raise ValueError(f"{func_ref!r} is not a coroutine function")


def _check_ids(ids: dict[str, Any]) -> None:
    for key, value in ids.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"job argument {key!r} must be an id (int or str), not {value!r}")


def sync_database_url(url: str) -> str:
    """APScheduler 3's job store is synchronous: the database through a sync driver.

    On SQLite the jobs live in a sibling file (greenhood.db -> greenhood-jobs.db): the job
    store writes from the event-loop thread, and waiting there for the lock of the bot's
    own file — held by a transaction of that same loop — would freeze the process.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            path = PurePath(database)
            database = str(path.with_name(f"{path.stem}-jobs{path.suffix or '.db'}"))
        return parsed.set(drivername="sqlite", database=database).render_as_string(
            hide_password=False
        )
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"no synchronous driver known for {backend}")


# Any fixed number, distinct from the migrations' (models.database.MIGRATION_LOCK_ID).
JOBS_TABLE_LOCK_ID = 0x6772_6E6A


# Where job functions used to live: a stored job names its function by module path, and a
# job stored by an earlier release must still find it after a move (APScheduler removes a
# job whose function it cannot import, and one-shot jobs would be lost).
MOVED_JOB_MODULES = {"bot.jobs:": "bot.worker.jobs:"}


class _JobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """Creates its table under a PostgreSQL advisory lock: replicas and the worker start
    together, and two concurrent CREATE TABLE IF NOT EXISTS can both try to create it
    (a unique violation in pg_type). Jobs stored under a moved module are renamed first."""

    def start(self, scheduler: Any, alias: str) -> None:
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({JOBS_TABLE_LOCK_ID})")
            self.jobs_t.create(connection, checkfirst=True)
            rename_moved_jobs(connection, self.jobs_t, self.pickle_protocol)
        super().start(scheduler, alias)


def rename_moved_jobs(connection: Connection, table: Table, protocol: int) -> int:
    """Point stored jobs at the new home of their function (MOVED_JOB_MODULES); how many
    were renamed. Every job state is read once per start: the table holds one row per
    periodic job and per open offer or scheduled broadcast, a few thousand at most."""
    renamed = 0
    for job_id, blob in connection.execute(select(table.c.id, table.c.job_state)).all():
        state = pickle.loads(blob)
        func = state.get("func")
        old = next(
            (o for o in MOVED_JOB_MODULES if isinstance(func, str) and func.startswith(o)), None
        )
        if old is None:
            continue
        state["func"] = MOVED_JOB_MODULES[old] + func[len(old) :]
        connection.execute(
            update(table)
            .where(table.c.id == job_id)
            .values(job_state=pickle.dumps(state, protocol))
        )
        renamed += 1
    if renamed:
        logger.info("%d stored job(s) renamed to their function's new module", renamed)
    return renamed


class _PollingScheduler(AsyncIOScheduler):  # type: ignore[misc]
    """Never sleeps longer than POLL_SECONDS, to see jobs other processes stored."""

    poll_seconds = POLL_SECONDS

    def _start_timer(self, wait_seconds: float | None) -> None:
        if wait_seconds is None or wait_seconds > self.poll_seconds:
            wait_seconds = self.poll_seconds
        super()._start_timer(wait_seconds)


class ApsScheduler:
    """The `Scheduler` on APScheduler 3 (AsyncIOScheduler + SQLAlchemyJobStore)."""

    def __init__(
        self,
        database_url: str,
        *,
        misfire_grace_seconds: int = DEFAULT_MISFIRE_GRACE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        connect_args: dict[str, Any] = {}
        if make_url(database_url).get_backend_name() == "sqlite":
            # Other processes' schedulers write the same jobs file: wait for their lock.
            connect_args["timeout"] = 10
        store = _JobStore(
            url=sync_database_url(database_url),
            tablename=JOBS_TABLE,
            engine_options={"connect_args": connect_args, "pool_pre_ping": True},
        )
        self._store = store
        self._aps = _PollingScheduler(
            jobstores={"default": store},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": misfire_grace_seconds,
                "max_instances": 1,
            },
            timezone="UTC",
        )
        self._aps.poll_seconds = poll_seconds
        self._aps.add_listener(
            self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR
        )
        self.missed: list[str] = []
        # Told (job id, "ok" | "error" | "missed") of every run (the metrics).
        self.observers: list[Callable[[str, str], None]] = []

    # -- lifecycle
    def start(self, *, paused: bool) -> None:
        """Needs a running event loop. Paused = store jobs, run none."""
        if not self._aps.running:
            self._aps.start(paused=paused)
        elif paused:
            self._aps.pause()
        else:
            self._aps.resume()

    def pause(self) -> None:
        if self._aps.running:
            self._aps.pause()

    def resume(self) -> None:
        self._aps.resume()

    def shutdown(self) -> None:
        if self._aps.running:
            # wait=False: jobs are awaited by their own tasks; nothing here blocks the loop.
            self._aps.shutdown(wait=False)
        # Close the job store's connections now (a SQLite file stays locked otherwise).
        self._store.engine.dispose()

    @property
    def running_jobs(self) -> bool:
        return bool(self._aps.running and self._aps.state == 1)

    def _on_event(self, event: JobExecutionEvent) -> None:
        outcome = {EVENT_JOB_MISSED: "missed", EVENT_JOB_ERROR: "error"}.get(event.code, "ok")
        for observer in self.observers:
            observer(event.job_id, outcome)
        if event.code == EVENT_JOB_MISSED:
            self.missed.append(event.job_id)
            logger.warning(
                "job %s missed its run at %s (more than the grace time late)",
                event.job_id,
                event.scheduled_run_time,
            )
        elif event.exception is not None:
            logger.error(
                "job %s failed",
                event.job_id,
                exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
            )

    # -- Scheduler
    def every(self, job_id: str, schedule: Schedule, func_ref: str, **ids: IdValue) -> None:
        check_func_ref(func_ref)
        _check_ids(ids)
        name = f"{func_ref} {schedule.fingerprint()} {sorted(ids.items())}"
        existing = self._aps.get_job(job_id)
        if existing is not None and existing.name == name:
            # Same job: keep its stored next run, which may be overdue after downtime.
            return
        self._aps.add_job(
            func_ref,
            trigger=_trigger(schedule),
            id=job_id,
            name=name,
            kwargs=dict(ids),
            replace_existing=True,
        )

    def at(
        self, job_id: str, when: datetime, func_ref: str, *, must_run: bool = False, **ids: IdValue
    ) -> None:
        check_func_ref(func_ref)
        _check_ids(ids)
        if when.tzinfo is None:
            raise ValueError("schedule with an aware datetime")
        options: dict[str, Any] = {}
        if must_run:
            options["misfire_grace_time"] = None
        self._aps.add_job(
            func_ref,
            trigger=DateTrigger(run_date=when),
            id=job_id,
            name=f"{func_ref} at {when.isoformat()}",
            kwargs=dict(ids),
            replace_existing=True,
            **options,
        )

    def cancel(self, job_id: str) -> bool:
        try:
            self._aps.remove_job(job_id)
        except JobLookupError:
            return False
        return True

    def next_run_at(self, job_id: str) -> datetime | None:
        job = self._aps.get_job(job_id)
        if job is None:
            return None
        when: datetime | None = job.next_run_time
        return when

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._aps.get_jobs())

    def job_kwargs(self, job_id: str) -> dict[str, Any] | None:
        job = self._aps.get_job(job_id)
        return None if job is None else dict(job.kwargs)

    def set_next_run(self, job_id: str, when: datetime) -> None:
        """(Tests, operators) move a job's next run, e.g. to simulate downtime."""
        self._aps.modify_job(job_id, next_run_time=when)
