"""Recurring offers (PRODUCT.md §2.3, issue #16): a poster saves one of their offers as a
template, and the worker publishes it again, as an ordinary offer (alerts and all), on
the chosen weekdays at the start of its daily pickup window. Pure domain logic.

Exactly once a day: the day is claimed by inserting the (template, local day) row, under
its unique constraint, in the transaction that publishes the offer. A sweep run twice, by
two workers, or again after a crash finds the row and does nothing. After downtime, only
the occurrence in progress (its window still open for at least `offers.MIN_AHEAD`) is
published: yesterday's missed bread is not offered today.

Times are wall-clock times in the template's zone, so 19:00-20:00 stays 19:00-20:00 across
a change of daylight saving time; a time that does not exist that night (02:30 in spring)
is read with the offset before the change (03:30), one that happens twice is the first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import offers
from bot.services.offers import Notice, OfferDraft, OfferFieldError
from models import Offer, OfferStatus, OfferTemplate, OfferTemplateRun, TemplateRunOutcome

logger = logging.getLogger(__name__)

EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111
# A person's templates: enough for a shop's few daily baskets, not a flood of offers.
MAX_TEMPLATES = 10
# Longer windows are not a daily thing (the next day's would start before this one ends).
MAX_WINDOW = timedelta(hours=23)
LOOK_AHEAD_DAYS = 8


class TemplateError(ValueError):
    """Refused; `code` names why (a locale key suffix under offer_templates.error)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TemplateNotFoundError(LookupError):
    """No such template, or not this person's."""


def check_days(days: int) -> int:
    if not 0 < days <= EVERY_DAY:
        raise TemplateError("no_days")
    return days


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def occurrence(template: OfferTemplate, day: date) -> tuple[datetime, datetime]:
    """The pickup window of the template on local day `day`, in UTC."""
    zone = zone_named(template.timezone)
    # fold=0: a nonexistent time gets the offset before the change, an ambiguous one
    # its first occurrence (PEP 495), both turned into a real instant by astimezone.
    start = datetime.combine(day, template.start_time, tzinfo=zone).astimezone(UTC)
    end_day = day if template.end_time > template.start_time else day + timedelta(days=1)
    end = datetime.combine(end_day, template.end_time, tzinfo=zone).astimezone(UTC)
    return start, end


def runs_on(template: OfferTemplate, day: date) -> bool:
    return bool(template.days >> day.weekday() & 1)


def _open_enough(end: datetime, now: datetime) -> bool:
    # Like a new offer, an occurrence is worth publishing only with some time left.
    return end - now >= offers.MIN_AHEAD


# ----------------------------------------------------------------------------- saving


async def _own(session: AsyncSession, template_id: int, user_id: int) -> OfferTemplate:
    template = await session.get(OfferTemplate, template_id, populate_existing=True)
    if template is None or template.poster_id != user_id:
        raise TemplateNotFoundError(template_id)
    return template


async def check_offer(session: AsyncSession, offer_id: int, user_id: int) -> Offer:
    """The offer a poster may repeat: theirs, not removed by moderation."""
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.poster_id != user_id or offer.status == OfferStatus.REMOVED.value:
        raise TemplateNotFoundError(offer_id)
    if offer.pickup_end - offer.pickup_start > MAX_WINDOW:
        raise TemplateError("window_too_long")
    return offer


async def save_from_offer(
    session: AsyncSession, user_id: int, offer_id: int, days: int, zone_name: str, now: datetime
) -> OfferTemplate:
    """Save (or, for the same offer's content and window, update) a template repeating the
    offer on `days`. The offer's own day counts as that day's occurrence."""
    check_days(days)
    offer = await check_offer(session, offer_id, user_id)
    zone = zone_named(zone_name)
    start_local = offer.pickup_start.astimezone(zone)
    start_time = start_local.time().replace(second=0, microsecond=0, tzinfo=None)
    end_time = (
        offer.pickup_end.astimezone(zone).time().replace(second=0, microsecond=0, tzinfo=None)
    )
    if start_time == end_time:
        raise TemplateError("window_too_long")
    template = await session.scalar(
        select(OfferTemplate).where(
            OfferTemplate.poster_id == user_id,
            OfferTemplate.title == offer.title,
            OfferTemplate.start_time == start_time,
            OfferTemplate.end_time == end_time,
        )
    )
    if template is None:
        count = await count_for(session, user_id)
        if count >= MAX_TEMPLATES:
            raise TemplateError("too_many")
        template = OfferTemplate(poster_id=user_id, created_at=now)
        session.add(template)
    template.title = offer.title
    template.description = offer.description
    template.category = offer.category
    template.quantity = offer.quantity_total
    template.latitude, template.longitude = offer.latitude, offer.longitude
    template.address = offer.address
    template.pickup_note = offer.pickup_note
    template.photo_file_id = offer.photo_file_id
    template.maker_id = offer.maker_id
    template.start_time, template.end_time = start_time, end_time
    template.timezone = zone.key
    template.days = days
    template.paused = False
    await session.flush()
    # Saved at 19:05 from tonight's 19:00 offer: tonight is done, the next one is tomorrow.
    await _claim(
        session, template.id, start_local.date(), TemplateRunOutcome.PUBLISHED, now, offer.id
    )
    return template


async def _claim(
    session: AsyncSession,
    template_id: int,
    day: date,
    outcome: TemplateRunOutcome,
    now: datetime,
    offer_id: int | None = None,
) -> OfferTemplateRun | None:
    """Mark `day` dealt with; None when it already was (the unique constraint decides,
    whoever else is claiming it at the same time)."""
    run = OfferTemplateRun(
        template_id=template_id,
        local_date=day,
        outcome=outcome.value,
        offer_id=offer_id,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(run)
    except IntegrityError:
        return None
    return run


async def count_for(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OfferTemplate)
            .where(OfferTemplate.poster_id == user_id)
        )
        or 0
    )


# ----------------------------------------------------------------------------- the screen


@dataclass(frozen=True, slots=True)
class TemplateEntry:
    template: OfferTemplate
    # The next occurrence that will be published (None when paused).
    next_start: datetime | None
    # Upcoming days the poster chose to skip.
    skipped: list[date]


async def _dealt_with(session: AsyncSession, template_id: int, since: date) -> dict[date, str]:
    rows = await session.execute(
        select(OfferTemplateRun.local_date, OfferTemplateRun.outcome).where(
            OfferTemplateRun.template_id == template_id, OfferTemplateRun.local_date >= since
        )
    )
    return {day: outcome for day, outcome in rows.all()}


def _today(template: OfferTemplate, now: datetime) -> date:
    return now.astimezone(zone_named(template.timezone)).date()


async def next_day(session: AsyncSession, template: OfferTemplate, now: datetime) -> date | None:
    """The local day of the next occurrence still to publish (yesterday's, when its window
    crosses midnight and is open now), whatever pauses say."""
    today = _today(template, now)
    done = await _dealt_with(session, template.id, today - timedelta(days=1))
    for offset in range(-1, LOOK_AHEAD_DAYS):
        day = today + timedelta(days=offset)
        if not runs_on(template, day) or day in done:
            continue
        start, end = occurrence(template, day)
        if start <= now and not _open_enough(end, now):
            continue
        return day
    return None


async def next_start(
    session: AsyncSession, template: OfferTemplate, now: datetime
) -> datetime | None:
    """When the next offer will be published (None while paused)."""
    if template.paused:
        return None
    day = await next_day(session, template, now)
    return None if day is None else occurrence(template, day)[0]


async def entries(session: AsyncSession, user_id: int, now: datetime) -> list[TemplateEntry]:
    templates = (
        await session.scalars(
            select(OfferTemplate)
            .where(OfferTemplate.poster_id == user_id)
            .order_by(OfferTemplate.start_time, OfferTemplate.id)
        )
    ).all()
    result = []
    for template in templates:
        done = await _dealt_with(session, template.id, _today(template, now))
        skipped = sorted(d for d, o in done.items() if o == TemplateRunOutcome.SKIPPED.value)
        result.append(TemplateEntry(template, await next_start(session, template, now), skipped))
    return result


async def entry(
    session: AsyncSession, user_id: int, template_id: int, now: datetime
) -> TemplateEntry:
    await _own(session, template_id, user_id)
    for found in await entries(session, user_id, now):
        if found.template.id == template_id:
            return found
    raise TemplateNotFoundError(template_id)  # pragma: no cover - just checked


async def set_paused(
    session: AsyncSession, user_id: int, template_id: int, paused: bool
) -> OfferTemplate:
    template = await _own(session, template_id, user_id)
    template.paused = paused
    await session.flush()
    return template


async def skip_next(session: AsyncSession, user_id: int, template_id: int, now: datetime) -> date:
    """Skip the next occurrence (the day is marked dealt with, so nothing publishes it)."""
    template = await _own(session, template_id, user_id)
    day = await next_day(session, template, now)
    if day is None:
        raise TemplateError("nothing_to_skip")
    if await _claim(session, template.id, day, TemplateRunOutcome.SKIPPED, now) is None:
        raise TemplateError("nothing_to_skip")  # pragma: no cover - a race with the sweep
    return day


async def unskip(session: AsyncSession, user_id: int, template_id: int, now: datetime) -> int:
    """Take back the skips of occurrences still to come (or open now); how many."""
    template = await _own(session, template_id, user_id)
    done = await _dealt_with(session, template.id, _today(template, now) - timedelta(days=1))
    days = [
        day
        for day, outcome in done.items()
        if outcome == TemplateRunOutcome.SKIPPED.value
        and _open_enough(occurrence(template, day)[1], now)
    ]
    if days:
        await session.execute(
            delete(OfferTemplateRun).where(
                OfferTemplateRun.template_id == template.id,
                OfferTemplateRun.local_date.in_(days),
            )
        )
    return len(days)


async def remove(session: AsyncSession, user_id: int, template_id: int) -> OfferTemplate:
    """Delete the template (the offers it published stay as they are)."""
    template = await _own(session, template_id, user_id)
    await session.delete(template)
    await session.flush()
    return template


# ----------------------------------------------------------------------------- publishing


@dataclass(frozen=True, slots=True)
class Published:
    template_id: int
    offer: Offer
    notices: list[Notice]


def _draft(template: OfferTemplate, end: datetime, *, with_maker: bool) -> OfferDraft:
    return OfferDraft(
        title=template.title,
        description=template.description,
        category=template.category,
        quantity=template.quantity,
        pickup_end=end,
        latitude=template.latitude,
        longitude=template.longitude,
        address=template.address,
        pickup_note=template.pickup_note,
        maker_id=template.maker_id if with_maker else None,
        photo_file_id=template.photo_file_id,
    )


async def publish_due(session: AsyncSession, now: datetime) -> list[Published]:
    """Publish every occurrence whose window has started and is still open, once per
    template and local day. The caller queues the notices (alerts) and commits."""
    published: list[Published] = []
    templates = (
        await session.scalars(
            select(OfferTemplate).where(OfferTemplate.paused.is_(False)).order_by(OfferTemplate.id)
        )
    ).all()
    for template in templates:
        if await _last_offer_removed(session, template.id):
            # An organiser removed what it published (a report upheld): repeating it every
            # day would undo the moderation. Paused; the poster may resume it knowingly.
            template.paused = True
            await session.flush()
            continue
        today = _today(template, now)
        for day in (today - timedelta(days=1), today):
            if not runs_on(template, day):
                continue
            start, end = occurrence(template, day)
            if start > now or not _open_enough(end, now):
                continue
            run = await _claim(session, template.id, day, TemplateRunOutcome.PUBLISHED, now)
            if run is None:
                continue
            done = await _publish(session, template, run, start, end, now)
            if done is not None:
                published.append(done)
    return published


async def _last_offer_removed(session: AsyncSession, template_id: int) -> bool:
    status = await session.scalar(
        select(Offer.status)
        .join(OfferTemplateRun, OfferTemplateRun.offer_id == Offer.id)
        .where(OfferTemplateRun.template_id == template_id)
        .order_by(OfferTemplateRun.local_date.desc())
        .limit(1)
    )
    return status == OfferStatus.REMOVED.value


async def _publish(
    session: AsyncSession,
    template: OfferTemplate,
    run: OfferTemplateRun,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Published | None:
    try:
        try:
            offer, notices = await offers.publish(
                session, template.poster_id, _draft(template, end, with_maker=True), now
            )
        except OfferFieldError as error:
            # The listing is no longer approved: the offer is still at the same place.
            if error.code != "bad_location" or template.maker_id is None:
                raise
            offer, notices = await offers.publish(
                session, template.poster_id, _draft(template, end, with_maker=False), now
            )
    except OfferFieldError as error:
        # Checked when saved, so rules changed since: stop repeating rather than retry
        # every minute; the poster sees it paused on their templates screen.
        logger.warning("offer template %s cannot publish (%s): paused", template.id, error.code)
        run.outcome = TemplateRunOutcome.FAILED.value
        await session.execute(
            update(OfferTemplate).where(OfferTemplate.id == template.id).values(paused=True)
        )
        await session.flush()
        return None
    # The window is the template's, even when the sweep comes a little after its start.
    offer.pickup_start = min(start, now)
    run.offer_id = offer.id
    await session.flush()
    return Published(template.id, offer, notices)
