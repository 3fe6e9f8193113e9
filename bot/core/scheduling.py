"""What the bot may ask of the scheduler, without knowing what runs it.

Handlers and notices schedule jobs (an offer's expiry, a broadcast at 9:00) through this
interface; bot/worker/scheduler.py implements it on APScheduler, in the one process that
runs jobs (and stores them only, paused, everywhere else). See that module for the rules a
job follows (ids only as arguments, explicit ids, safe to run twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

IdValue = int | str


@dataclass(frozen=True, slots=True)
class Every:
    """A fixed interval."""

    seconds: float

    def fingerprint(self) -> str:
        return f"every {self.seconds}s"


@dataclass(frozen=True, slots=True)
class Cron:
    """Calendar times, e.g. Cron(day_of_week="mon", hour=9, timezone="Europe/Paris")."""

    timezone: str
    day_of_week: str = "*"
    hour: int | str = 0
    minute: int | str = 0

    def fingerprint(self) -> str:
        return f"cron {self.day_of_week} {self.hour}:{self.minute} {self.timezone}"


Schedule = Every | Cron


class Scheduler(Protocol):
    def every(self, job_id: str, schedule: Schedule, func_ref: str, **ids: IdValue) -> None:
        """Run `func_ref(**ids)` on `schedule`. Registering the same job again (each start)
        keeps it, with its pending run; a changed schedule or arguments replaces it."""
        ...

    def at(
        self, job_id: str, when: datetime, func_ref: str, *, must_run: bool = False, **ids: IdValue
    ) -> None:
        """Run `func_ref(**ids)` once at `when` (replacing a job with this id)."""
        ...

    def cancel(self, job_id: str) -> bool:
        """Remove a job; False if there was none."""
        ...

    def next_run_at(self, job_id: str) -> datetime | None: ...
