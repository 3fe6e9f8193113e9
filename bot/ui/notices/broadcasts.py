"""Broadcast orchestration shared by the /broadcast handlers, the scheduled jobs and the
worker's progress reporter: start a broadcast (its messages and the organiser's progress
message go through the outbox in one transaction) and render progress and reports in the
organiser's language."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import broadcasts, outbox
from bot.services.broadcasts import Progress
from bot.services.outbox import Priority
from bot.ui.callbacks.broadcasts import BroadcastAction, BroadcastCb
from bot.ui.i18n import Translator
from models import Broadcast, BroadcastStatus

START_JOB = "bot.worker.jobs:start_broadcast"


def job_id(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def stop_markup(translator: Translator, locale: str, broadcast_id: int) -> dict[str, Any]:
    data = BroadcastCb(action=BroadcastAction.STOP, broadcast_id=broadcast_id).pack()
    label = translator.t("broadcast.button.stop", locale)
    return {"inline_keyboard": [[{"text": label, "callback_data": data}]]}


def _eta(translator: Translator, locale: str, waiting: int, rate: float) -> str:
    seconds = math.ceil(waiting / rate) if waiting else 0
    if seconds < 90:
        return translator.t("broadcast.eta.seconds", locale, seconds=seconds)
    return translator.t("broadcast.eta.minutes", locale, minutes=math.ceil(seconds / 60))


def _duration(translator: Translator, locale: str, delta: timedelta) -> str:
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 90:
        return translator.t("broadcast.eta.seconds", locale, seconds=seconds)
    return translator.t("broadcast.eta.minutes", locale, minutes=math.ceil(seconds / 60))


def progress_text(
    translator: Translator, broadcast: Broadcast, figures: Progress, rate: float
) -> str:
    locale = broadcast.locale
    params = {
        "id": broadcast.id,
        "sent": figures.sent,
        "total": figures.total,
        "blocked": figures.blocked,
        "failed": figures.failed,
        "cancelled": figures.cancelled,
        "waiting": figures.waiting,
    }
    if broadcast.status == BroadcastStatus.CANCELLED:
        return translator.t("broadcast.progress.stopped", locale, **params)
    if figures.finished:
        return translator.t("broadcast.progress.done", locale, **params)
    eta = _eta(translator, locale, figures.waiting, rate)
    return translator.t("broadcast.progress.sending", locale, eta=eta, **params)


def report_text(
    translator: Translator, broadcast: Broadcast, figures: Progress, now: datetime
) -> str:
    locale = broadcast.locale
    started = broadcast.started_at or now
    key = (
        "broadcast.report.stopped"
        if broadcast.status == BroadcastStatus.CANCELLED
        else "broadcast.report.done"
    )
    return translator.t(
        key,
        locale,
        id=broadcast.id,
        sent=figures.sent,
        total=figures.total,
        blocked=figures.blocked,
        failed=figures.failed,
        cancelled=figures.cancelled,
        duration=_duration(translator, locale, (broadcast.finished_at or now) - started),
    )


async def begin(
    session: AsyncSession,
    broadcast_id: int,
    now: datetime,
    translator: Translator,
    rate: float,
) -> Broadcast | None:
    """Start a due broadcast: its recipients' messages and the organiser's progress message
    are queued in the caller's transaction. None if it was not due or already started."""
    broadcast = await broadcasts.start(session, broadcast_id, now)
    if broadcast is None:
        return None
    figures = Progress(
        total=broadcast.recipients,
        sent=0,
        blocked=0,
        failed=0,
        cancelled=0,
        waiting=broadcast.recipients,
    )
    await outbox.enqueue(
        session,
        chat_id=broadcast.organiser_id,
        kind=broadcasts.PROGRESS_KIND,
        text=progress_text(translator, broadcast, figures, rate),
        key=broadcasts.progress_key(broadcast.id),
        now=now,
        reply_markup=stop_markup(translator, broadcast.locale, broadcast.id),
        priority=Priority.INTERACTIVE,
    )
    return broadcast


async def queue_report(
    session: AsyncSession,
    broadcast: Broadcast,
    figures: Progress,
    now: datetime,
    translator: Translator,
) -> None:
    await outbox.enqueue(
        session,
        chat_id=broadcast.organiser_id,
        kind=broadcasts.REPORT_KIND,
        text=report_text(translator, broadcast, figures, now),
        key=broadcasts.report_key(broadcast.id),
        now=now,
        priority=Priority.INTERACTIVE,
    )
