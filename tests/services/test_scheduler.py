"""The scheduler: jobs survive a restart and run once after it, registering a job again
does not duplicate it, misfires are handled as documented, and only one process runs jobs.

APScheduler fires on wall-clock time, so the "downtime" is simulated by putting run times
in the past rather than by waiting: no test sleeps for time to pass.
"""

from __future__ import annotations

import asyncio
import collections
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, create_engine, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app.wiring import create_bot
from bot.core.scheduling import Cron, Every
from bot.core.settings import Settings
from bot.worker import scheduler as scheduler_module
from bot.worker.background import Background, BackgroundTiming
from bot.worker.scheduler import JOBS_TABLE, ApsScheduler, check_func_ref, sync_database_url
from models.database import create_sessionmaker
from tests.support.texts import tr

RUNS: collections.Counter[str] = collections.Counter()
_ran: asyncio.Event | None = None
REF = "tests.services.test_scheduler:record_run"


async def record_run(tag: str) -> None:
    RUNS[tag] += 1
    if _ran is not None:
        _ran.set()


async def wait_runs(expected: dict[str, int], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait (without a fixed sleep) until the jobs have run as many times as expected."""
    global _ran
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(RUNS[tag] < count for tag, count in expected.items()):
        _ran = asyncio.Event()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"jobs did not run: {dict(RUNS)} != {expected}")
        try:
            await asyncio.wait_for(_ran.wait(), remaining)
        except TimeoutError:
            continue


@pytest.fixture(autouse=True)
def _reset_runs() -> None:
    RUNS.clear()


def real_now() -> datetime:
    # APScheduler's own clock is the wall clock.
    return datetime.now(UTC)


async def test_job_scheduled_before_a_restart_runs_once_after_it(
    engine: AsyncEngine, settings: Settings
) -> None:
    first = ApsScheduler(settings.database_url)
    first.start(paused=True)  # a process that stores jobs and dies before running them
    first.at("once", real_now() - timedelta(seconds=5), REF, tag="once")
    assert first.next_run_at("once") is not None
    first.shutdown()

    second = ApsScheduler(settings.database_url)
    second.start(paused=False)
    try:
        await wait_runs({"once": 1})
        assert second.next_run_at("once") is None
    finally:
        second.shutdown()

    third = ApsScheduler(settings.database_url)
    third.start(paused=False)
    try:
        assert "once" not in third.job_ids()
        await asyncio.sleep(0)
        assert RUNS["once"] == 1
    finally:
        third.shutdown()


async def test_a_job_stored_under_a_moved_module_is_renamed_and_runs(
    engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ApsScheduler(settings.database_url)
    first.start(paused=True)
    first.at("moved", real_now() - timedelta(seconds=5), REF, tag="moved")
    first.shutdown()
    # What an earlier release stored: the same job under the function's old module.
    jobs_engine = create_engine(sync_database_url(settings.database_url))
    table = Table(JOBS_TABLE, MetaData(), autoload_with=jobs_engine)
    with jobs_engine.begin() as connection:
        [blob] = connection.execute(select(table.c.job_state)).scalars().all()
        state = pickle.loads(blob)
        state["func"] = "tests.old_home:record_run"
        connection.execute(update(table).values(job_state=pickle.dumps(state)))
    jobs_engine.dispose()
    monkeypatch.setattr(
        scheduler_module, "MOVED_JOB_MODULES", {"tests.old_home:": "tests.services.test_scheduler:"}
    )

    second = ApsScheduler(settings.database_url)
    second.start(paused=False)
    try:
        await wait_runs({"moved": 1})
    finally:
        second.shutdown()


def test_moved_job_modules_point_at_the_jobs_that_used_to_live_there() -> None:
    for old, new in scheduler_module.MOVED_JOB_MODULES.items():
        assert old != new
        for name in ("sweep_broadcasts", "start_broadcast", "sweep_offers", "expire_offer"):
            check_func_ref(new + name)


async def test_registering_a_periodic_job_again_keeps_one_job_and_its_overdue_run(
    engine: AsyncEngine, settings: Settings
) -> None:
    weekly = Cron(timezone="Europe/Paris", day_of_week="mon", hour=9)
    first = ApsScheduler(settings.database_url)
    first.start(paused=True)
    first.every("kickoff", weekly, REF, tag="kickoff")
    upcoming = first.next_run_at("kickoff")
    assert upcoming is not None and upcoming > real_now()
    # The worker was down when Monday 09:00 came: the stored run is overdue.
    overdue = real_now() - timedelta(minutes=5)
    first.set_next_run("kickoff", overdue)
    first.shutdown()

    second = ApsScheduler(settings.database_url)
    second.start(paused=True)
    try:
        # Start-up registers its periodic jobs again: same job, kept with its overdue run.
        second.every("kickoff", weekly, REF, tag="kickoff")
        assert second.job_ids() == ["kickoff"]
        kept = second.next_run_at("kickoff")
        assert kept is not None and abs((kept - overdue).total_seconds()) < 1
        second.resume()
        await wait_runs({"kickoff": 1})
        after = second.next_run_at("kickoff")
        assert after is not None and after > real_now()
        # A changed schedule replaces the job, still one.
        second.every("kickoff", Cron(timezone="Europe/Paris", day_of_week="tue"), REF, tag="x")
        assert second.job_ids() == ["kickoff"]
        assert second.job_kwargs("kickoff") == {"tag": "x"}
    finally:
        second.shutdown()
    assert RUNS["kickoff"] == 1


async def test_misfires_late_jobs_are_skipped_unless_they_must_run_and_runs_coalesce(
    engine: AsyncEngine, settings: Settings
) -> None:
    first = ApsScheduler(settings.database_url)
    first.start(paused=True)
    two_hours_ago = real_now() - timedelta(hours=2)
    first.at("late", two_hours_ago, REF, tag="late")
    first.at("must", two_hours_ago, REF, must_run=True, tag="must")
    first.every("minutely", Every(60), REF, tag="minutely")
    # Ten runs were missed, within the grace time: one run, not ten.
    first.set_next_run("minutely", real_now() - timedelta(minutes=10))
    first.shutdown()

    second = ApsScheduler(settings.database_url)
    second.start(paused=False)
    try:
        await wait_runs({"must": 1, "minutely": 1})
        for _ in range(3):
            await asyncio.sleep(0)
        assert "late" in second.missed
    finally:
        second.shutdown()
    assert RUNS == {"must": 1, "minutely": 1}


async def test_only_the_lease_holder_runs_jobs_and_a_standby_takes_over(
    engine: AsyncEngine, settings: Settings
) -> None:
    sessionmaker = create_sessionmaker(engine)
    translator = tr
    timing = BackgroundTiming(lease_ttl=timedelta(seconds=30), lease_renew_seconds=0.05)
    bots = [create_bot(settings), create_bot(settings)]
    first = Background(settings, sessionmaker, bots[0], translator, timing=timing)
    second = Background(settings, sessionmaker, bots[1], translator, timing=timing)
    try:
        await first.start()
        await asyncio.wait_for(first.leading.wait(), 10)
        await second.start()
        # The second one stands by while the first holds the lease (same host, alive).
        for _ in range(5):
            await asyncio.sleep(0.05)
            assert not second.leading.is_set()
        # Both can store jobs; only the leader's scheduler runs them.
        second.scheduler.at("from-replica", real_now() - timedelta(seconds=1), REF, tag="r")
        await first.stop()
        await asyncio.wait_for(second.leading.wait(), 10)
        await wait_runs({"r": 1})
    finally:
        await first.stop()
        await second.stop()
        for bot in bots:
            await bot.session.close()
    assert RUNS["r"] == 1


def test_job_references_and_arguments_are_checked(settings: Settings) -> None:
    with pytest.raises(ValueError, match=r"package\.module:function"):
        check_func_ref("no_colon")
    with pytest.raises(ValueError, match="coroutine"):
        check_func_ref("bot.worker.scheduler:sync_database_url")
    check_func_ref(REF)
    scheduler = ApsScheduler(settings.database_url)
    with pytest.raises(TypeError, match="must be an id"):
        scheduler.every("bad", Every(10), REF, tag=object())  # type: ignore[arg-type]


def test_sync_urls_for_the_job_store() -> None:
    assert sync_database_url("sqlite+aiosqlite:////tmp/g.db") == "sqlite:////tmp/g-jobs.db"
    assert (
        sync_database_url("sqlite+aiosqlite:///rel/bot.sqlite") == "sqlite:///rel/bot-jobs.sqlite"
    )
    assert (
        sync_database_url("postgresql+asyncpg://u:p@h:5432/db")
        == "postgresql+psycopg://u:p@h:5432/db"
    )


async def test_scheduler_on_postgres(postgres_url: str) -> None:
    from models.database import create_engine, upgrade

    engine = create_engine(postgres_url)
    try:
        await upgrade(engine)
        first = ApsScheduler(postgres_url)
        first.start(paused=True)
        first.at("pg", real_now() - timedelta(seconds=1), REF, tag="pg")
        first.shutdown()
        second = ApsScheduler(postgres_url)
        second.start(paused=False)
        try:
            await wait_runs({"pg": 1})
        finally:
            second.shutdown()
    finally:
        await engine.dispose()


async def test_worker_lease_rules(engine: AsyncEngine) -> None:
    from bot.services import leases

    sessionmaker = create_sessionmaker(engine)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ttl = timedelta(seconds=30)

    async def take(holder: str, host: str, pid: int, at: datetime, alive: bool = True) -> bool:
        async with sessionmaker() as session:
            held = await leases.acquire(
                session, "worker", holder, host, pid, at, ttl, lambda _pid: alive
            )
            await session.commit()
            return held

    assert await take("a", "h1", 10, now)
    assert await take("a", "h1", 10, now + timedelta(seconds=5))  # renewal by the holder
    assert not await take("b", "h2", 20, now + timedelta(seconds=10))  # live, elsewhere
    assert not await take("b", "h1", 20, now + timedelta(seconds=10))  # same host, pid alive
    # Same host and the holder's process is gone: taken over at once, no waiting.
    assert await take("b", "h1", 20, now + timedelta(seconds=10), alive=False)
    async with sessionmaker() as session:
        assert not await leases.renew(session, "worker", "a", now, ttl)  # a lost it
    # Another host takes it only once it expired.
    assert not await take("c", "h3", 30, now + timedelta(seconds=39))
    assert await take("c", "h3", 30, now + timedelta(seconds=41))


async def test_a_replica_without_scheduler_stores_jobs_but_never_runs_or_sends(
    engine: AsyncEngine, settings: Settings
) -> None:
    sessionmaker = create_sessionmaker(engine)
    translator = tr
    bot = create_bot(settings)
    replica = Background(settings, sessionmaker, bot, translator, run_jobs=False)
    try:
        await replica.start()
        replica.scheduler.at("stored", real_now() - timedelta(seconds=1), REF, tag="stored")
        for _ in range(5):
            await asyncio.sleep(0.02)
        assert not replica.leading.is_set()
        assert RUNS["stored"] == 0
        assert replica.scheduler.next_run_at("stored") is not None
    finally:
        await replica.stop()
        await bot.session.close()
