"""Queuing the offers service's `Notice`s in the outbox, each rendered in its recipient's
language, inside the transaction of the change they report (the sender delivers them).

New-offer alerts and pickup reminders are nudges: they go through the notification
preferences (opt-out per kind, quiet hours, daily cap); what answers someone's own action
(a reservation, a cancellation, a removal…) is sent at once, as an interactive message."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.scheduling import Scheduler
from bot.core.settings import Settings
from bot.services import nudges, outbox
from bot.services.nudges import NudgeKind
from bot.services.offers import REMINDER_BEFORE, Notice, NoticeKind
from bot.services.outbox import Priority
from bot.ui.callbacks.offers import OfferAction, OfferCb
from bot.ui.formatting import escape
from bot.ui.i18n import Translator
from bot.ui.keyboards import snooze_row
from bot.ui.notices import recipients
from bot.ui.notices import relay as relay_notices
from bot.ui.views.offers import window_text
from models import Offer

EXPIRE_REF = "bot.worker.jobs:expire_offer"
REMIND_REF = "bot.worker.jobs:remind_offer"
NUDGE_KINDS = {NoticeKind.ALERT: NudgeKind.OFFER_ALERT, NoticeKind.REMINDER: NudgeKind.PICKUP}


def render(
    notice: Notice, translator: Translator, locale: str, zone: ZoneInfo, now: datetime
) -> str:
    """`zone` and `now` are the recipient's, for the times a notice shows."""
    params: dict[str, object] = {
        name: escape(value) if isinstance(value, str) else value
        for name, value in notice.params.items()
    }
    key = f"offers.notice.{notice.kind.value}"
    if notice.kind is NoticeKind.REMOVED:
        params["reason"] = translator.t(f"offers.report.reason.{notice.params['reason']}", locale)
    if notice.kind is NoticeKind.RESERVED:
        # The poster sees what the reserver did with their earlier reservations.
        params["record"] = translator.t(
            "offers.notice.record",
            locale,
            pickups=translator.tn("offers.notice.pickups", int(notice.params["pickups"]), locale),
            no_shows=translator.tn(
                "offers.notice.no_shows", int(notice.params["no_shows"]), locale
            ),
        )
    if notice.kind in NUDGE_KINDS and not notice.params.get("address"):
        params["address"] = translator.t("offers.card.on_map", locale)
    if notice.kind is NoticeKind.ALERT:
        window = Offer(
            pickup_start=datetime.fromisoformat(str(notice.params["start"])),
            pickup_end=datetime.fromisoformat(str(notice.params["end"])),
        )
        # A nudge may wait for the end of quiet hours: no "tonight" that morning.
        params["window"] = window_text(translator, locale, window, zone, now, relative=False)
        if notice.params.get("maker"):
            key = "offers.notice.alert_favourite"
    text = translator.t(key, locale, **params)
    if notice.kind is NoticeKind.REMINDER and notice.params.get("note"):
        # Where to ring, an hour before the end.
        text += "\n" + translator.t("offers.card.note", locale, note=params["note"])
    return text


def markup(notice: Notice, translator: Translator, locale: str) -> dict[str, Any] | None:
    """New-offer alerts and reminders carry a button that opens the offer's card; the
    poster's "X reserved" one that writes to X through the relay."""
    if notice.kind is NoticeKind.RESERVED and "reservation_id" in notice.params:
        return relay_notices.write_markup(
            translator, locale, int(notice.params["reservation_id"]), str(notice.params["name"])
        )
    if notice.kind not in NUDGE_KINDS:
        return None
    data = OfferCb(action=OfferAction.OPEN, offer_id=notice.offer_id).pack()
    button = {"text": translator.t("offers.button.open", locale), "callback_data": data}
    # Like every nudge, they carry "snooze for a week".
    return {"inline_keyboard": [[button], snooze_row(translator, locale)]}


async def enqueue(
    session: AsyncSession,
    translator: Translator,
    notices: Iterable[Notice],
    now: datetime,
    settings: Settings,
) -> int:
    """Queue each notice (a key already queued is not queued again); returns how many
    were queued. Someone who blocked the bot is skipped."""
    queued = 0
    for notice in notices:
        user = await recipients.reachable(session, notice.chat_id)
        if user is None:
            continue
        locale = recipients.locale_of(translator, user)
        zone = nudges.user_zone(user, settings.timezone)
        text = render(notice, translator, locale, zone, now)
        reply_markup = markup(notice, translator, locale)
        nudge = NUDGE_KINDS.get(notice.kind)
        if nudge is not None:
            decision = await nudges.enqueue_nudge(
                session,
                user,
                nudge,
                text=text,
                key=notice.key,
                now=now,
                default_timezone=settings.timezone,
                reply_markup=reply_markup,
            )
            queued += decision.allowed
            continue
        queued += await outbox.enqueue(
            session,
            chat_id=notice.chat_id,
            kind=f"offer.{notice.kind.value}",
            text=text,
            key=notice.key,
            now=now,
            reply_markup=reply_markup,
            priority=Priority.INTERACTIVE,
            about_user_id=notice.about_user_id,
        )
    return queued


def expire_job_id(offer_id: int) -> str:
    return f"offers:expire:{offer_id}"


def remind_job_id(offer_id: int) -> str:
    return f"offers:remind:{offer_id}"


def schedule_offer_jobs(scheduler: Scheduler | None, offer: Offer, now: datetime) -> None:
    """The end of the window closes the offer (must run, however late); an hour before,
    reservers are reminded. The periodic sweep backs both."""
    if scheduler is None:
        return
    scheduler.at(
        expire_job_id(offer.id), offer.pickup_end, EXPIRE_REF, must_run=True, offer_id=offer.id
    )
    remind_at = offer.pickup_end - REMINDER_BEFORE
    if remind_at > now + timedelta(minutes=1):
        scheduler.at(remind_job_id(offer.id), remind_at, REMIND_REF, offer_id=offer.id)


def cancel_offer_jobs(scheduler: Scheduler | None, offer_ids: Iterable[int]) -> None:
    """Offers that need no more closing nor reminding (their poster erased their data):
    the jobs go. Were one to fire anyway, it finds nothing left to do."""
    if scheduler is None:
        return
    for offer_id in offer_ids:
        scheduler.cancel(expire_job_id(offer_id))
        scheduler.cancel(remind_job_id(offer_id))
