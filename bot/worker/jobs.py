"""Scheduled job functions. APScheduler stores them by reference with ids as arguments;
what they need at run time (database, clock, translator…) comes from the context the
worker installs when it starts running jobs (one scheduler runs per process)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import broadcasts, inbox, neighbours, outbox, relay
from bot.ui.i18n import Translator
from bot.ui.notices import broadcasts as broadcasting

logger = logging.getLogger(__name__)

SWEEP_JOB = "broadcasts:sweep"
SWEEP_REF = "bot.worker.jobs:sweep_broadcasts"
SWEEP_SECONDS = 30.0
NEIGHBOURS_PURGE_JOB = "neighbours:purge"
NEIGHBOURS_PURGE_REF = "bot.worker.jobs:purge_neighbour_positions"
NEIGHBOURS_PURGE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    translator: Translator


_context: JobContext | None = None


def install(context: JobContext) -> None:
    global _context
    _context = context


def uninstall(context: JobContext) -> None:
    global _context
    if _context is context:
        _context = None


def current() -> JobContext:
    if _context is None:
        raise RuntimeError("no job context: jobs run only in the process holding the worker lease")
    return _context


async def start_broadcast(broadcast_id: int) -> None:
    """Fired at a broadcast's time. A no-op if the sweep (or a previous run) started it."""
    context = current()
    async with context.sessionmaker() as session:
        started = await broadcasting.begin(
            session,
            broadcast_id,
            context.clock.now(),
            context.translator,
            context.settings.broadcast_rate,
        )
        await session.commit()
    if started is not None:
        logger.info("broadcast %s started: %d recipients", broadcast_id, started.recipients)


async def sweep_broadcasts() -> None:
    """The safety net behind one-shot jobs: start any scheduled broadcast whose time has
    come (a job lost in a crash, a time set with a clock APScheduler does not see)."""
    context = current()
    async with context.sessionmaker() as session:
        due = await broadcasts.due(session, context.clock.now())
    for broadcast_id in due:
        await start_broadcast(broadcast_id)


async def purge_neighbour_positions() -> None:
    """Forget neighbours' positions not refreshed for 30 days (the /neighbours query also
    ignores them, so a late run never shows a stale position)."""
    context = current()
    async with context.sessionmaker() as session:
        purged = await neighbours.purge_expired_positions(session, context.clock.now())
        await session.commit()
    if purged:
        logger.info("neighbours: %d expired positions forgotten", purged)


# ----------------------------------------------------------------------------- retention

RETENTION_JOB = "retention:purge"
RETENTION_REF = "bot.worker.jobs:purge_old_messages"
RETENTION_SECONDS = 3600.0


async def purge_old_messages() -> None:
    """Forget what is only kept for a while: handled updates (bot.services.inbox.KEEP_FOR,
    48 h, to recognise a redelivery) and finished outbox messages (bot.services.outbox
    .KEEP_FOR, 14 days, for reports and the nudge caps), and relayed messages
    (bot.services.relay) after the same 14 days; all may quote people."""
    context = current()
    now = context.clock.now()
    async with context.sessionmaker() as session:
        updates = await inbox.purge_inbox(session, now)
        messages = await outbox.purge_finished(session, now)
        # Relayed messages are kept as long as the copies queued for their recipients.
        relayed = await relay.purge_old(session, now, outbox.KEEP_FOR)
        await session.commit()
    if updates or messages or relayed:
        logger.info(
            "retention: %d handled update(s), %d sent message(s), %d relayed message(s) forgotten",
            updates,
            messages,
            relayed,
        )


# ----------------------------------------------------------------------------- offers

OFFERS_SWEEP_JOB = "offers:sweep"
OFFERS_SWEEP_REF = "bot.worker.jobs:sweep_offers"
OFFERS_SWEEP_SECONDS = 60.0


async def expire_offer(offer_id: int) -> None:
    """At the end of an offer's window: close it, release reservations not picked up and
    tell their holders. A no-op when run again (or by the sweep first)."""
    from bot.services import offers
    from bot.ui.notices import offers as offer_notices

    context = current()
    async with context.sessionmaker() as session:
        now = context.clock.now()
        notices = await offers.expire_offer(session, offer_id, now)
        await offer_notices.enqueue(session, context.translator, notices, now, context.settings)
        await session.commit()


async def remind_offer(offer_id: int) -> None:
    """An hour before the end: remind the people holding a reservation (once each)."""
    from bot.services import offers
    from bot.ui.notices import offers as offer_notices

    context = current()
    async with context.sessionmaker() as session:
        now = context.clock.now()
        notices = await offers.due_reminders(session, now, offer_id)
        await offer_notices.enqueue(session, context.translator, notices, now, context.settings)
        await session.commit()


async def sweep_offers() -> None:
    """The safety net behind the one-shot jobs (lost in a crash, or due while no worker
    ran): expire every ended offer and send every due reminder."""
    from bot.services import offers
    from bot.ui.notices import offers as offer_notices

    context = current()
    async with context.sessionmaker() as session:
        now = context.clock.now()
        notices = await offers.sweep_expired(session, now)
        notices += await offers.due_reminders(session, now)
        await offer_notices.enqueue(session, context.translator, notices, now, context.settings)
        await session.commit()


OFFER_TEMPLATES_JOB = "offers:templates"
OFFER_TEMPLATES_REF = "bot.worker.jobs:publish_offer_templates"
OFFER_TEMPLATES_SECONDS = 60.0


async def publish_offer_templates() -> None:
    """Every minute: publish the recurring offers whose daily window has started (each
    template's day claimed in the same transaction, so a second run or a restart
    publishes nothing twice); their alerts are queued like any new offer's."""
    from bot.services import offer_templates
    from bot.ui.notices import offers as offer_notices

    context = current()
    async with context.sessionmaker() as session:
        now = context.clock.now()
        published = await offer_templates.publish_due(session, now)
        for done in published:
            await offer_notices.enqueue(
                session, context.translator, done.notices, now, context.settings
            )
        await session.commit()
    # Their expiry and reminders come from the offers sweep (a job has no scheduler).
    if published:
        logger.info("offer templates: %d offer(s) published", len(published))


# ----------------------------------------------------------------------------- events

EVENTS_SWEEP_JOB = "events:sweep"
EVENTS_SWEEP_REF = "bot.worker.jobs:sweep_events"
EVENTS_SWEEP_SECONDS = 60.0


async def sweep_events() -> None:
    """Every minute: queue the event reminders now due (each decided once, the answer row
    marked in the same transaction, so a restart or a second run sends nothing twice) and
    create the next occurrence of every repeating event that has ended (announced in its
    team groups like a new one)."""
    from bot.services import events
    from bot.ui.notices import events as event_notices

    context = current()
    async with context.sessionmaker() as session:
        now = context.clock.now()
        notices = await events.due_reminders(session, now, context.settings.timezone)
        for successor in await events.repeat_ended(session, now):
            notices += await events.announcements(session, successor, now)
        await event_notices.enqueue(session, context.translator, notices, now, context.settings)
        await session.commit()


# ----------------------------------------------------------------- weeks, nudges, recaps

WEEK_ROLLOVER_JOB = "weeks:rollover"
WEEK_ROLLOVER_REF = "bot.worker.jobs:roll_over_weeks"
WEEK_ROLLOVER_SECONDS = 15 * 60.0
NUDGES_JOB = "nudges:tick"
NUDGES_REF = "bot.worker.jobs:nudge_tick"
# Milestones ride on this tick too, so it is frequent; the weekly kinds only do work when
# a zone's slot has come (see bot/services/weekly_nudges.py for the catch-up rules).
NUDGES_SECONDS = 5 * 60.0


async def roll_over_weeks() -> None:
    """Archive finished challenge weeks without waiting for someone to log or look."""
    from bot.services import challenges

    context = current()
    async with context.sessionmaker() as session:
        archived = await challenges.roll_over(session, context.clock.now(), context.settings.tz)
        await session.commit()
    if archived:
        logger.info("weeks: %d challenge weeks archived", archived)


async def nudge_tick() -> None:
    """Queue what is due now: weekly nudges per time zone, milestones, team recaps.
    Safe to run any number of times (outbox keys)."""
    from bot.ui.notices import nudges as nudging

    context = current()
    env = nudging.Env(context.sessionmaker, context.translator, context.settings)
    now = context.clock.now()
    # The rollover first, so a recap or summary reads a week that has been opened.
    await roll_over_weeks()
    queued = await nudging.queue_weekly(env, now)
    queued += await nudging.queue_milestones(env, now)
    queued += await nudging.queue_team_recaps(env, now)
    if queued:
        logger.info("nudges: %d queued", queued)
