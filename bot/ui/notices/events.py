"""Queuing the events service's `Notice`s in the outbox, each rendered in its recipient's
language, inside the transaction of the change they report (the sender delivers them).

Reminders carry "can't come anymore" and wait past the person's quiet hours (the service
decided when: `not_before`); an announcement goes to a team group in the bot's default
language at the time the group's daily share allows; what answers someone's action (a
place freed up, the event full, changed or cancelled) is sent at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.services import outbox
from bot.services.events import ANNOUNCE_KIND, REMINDERS, Answer, Notice, NoticeKind
from bot.services.outbox import Priority
from bot.ui.callbacks.events import EventAction, EventCb, RsvpCb
from bot.ui.formatting import escape
from bot.ui.i18n import Translator
from bot.ui.notices import recipients
from bot.ui.views.events import when_text
from models import Event


def outbox_kind(kind: NoticeKind) -> str:
    return ANNOUNCE_KIND if kind is NoticeKind.ANNOUNCED else f"event.{kind.value}"


def render(notice: Notice, event: Event, translator: Translator, locale: str) -> str:
    params: dict[str, object] = {
        "title": escape(event.title),
        "when": when_text(translator, locale, event),
        "place": escape(event.address)
        if event.address
        else translator.t("events.card.on_map", locale),
        "category": translator.t(f"events.category.{event.category}", locale),
    }
    for name, value in notice.params.items():
        params[name] = escape(value) if isinstance(value, str) else value
    if notice.kind is NoticeKind.REJECTED:
        params["reason"] = translator.t(
            f"events.moderation.reason.{notice.params.get('reason', 'incomplete')}", locale
        )
    return translator.t(f"events.notice.{notice.kind.value}", locale, **params)


def _button(translator: Translator, locale: str, key: str, data: str) -> dict[str, Any]:
    return {"text": translator.t(key, locale), "callback_data": data}


def markup(notice: Notice, translator: Translator, locale: str) -> dict[str, Any] | None:
    event_id = notice.event_id
    open_button = _button(
        translator,
        locale,
        "events.button.open",
        EventCb(action=EventAction.OPEN, event_id=event_id).pack(),
    )
    cannot = _button(
        translator,
        locale,
        "events.button.cannot_come",
        RsvpCb(event_id=event_id, answer=Answer.NOT_GOING).pack(),
    )
    if notice.kind in REMINDERS or notice.kind is NoticeKind.PROMOTED:
        return {"inline_keyboard": [[cannot], [open_button]]}
    if notice.kind is NoticeKind.CHECKIN_OPEN:
        here = _button(
            translator,
            locale,
            "events.button.here",
            EventCb(action=EventAction.HERE, event_id=event_id).pack(),
        )
        return {"inline_keyboard": [[here]]}
    if notice.kind in (NoticeKind.REJECTED, NoticeKind.CANCELLED):
        return None
    return {"inline_keyboard": [[open_button]]}


async def enqueue(
    session: AsyncSession,
    translator: Translator,
    notices: Iterable[Notice],
    now: datetime,
    settings: Settings,
) -> int:
    """Queue each notice (a key already queued is not queued again); returns how many
    were queued. Someone who erased their data or blocked the bot is skipped."""
    queued = 0
    for notice in notices:
        event = await session.get(Event, notice.event_id)
        if event is None:  # pragma: no cover - events are never deleted
            continue
        locale: str
        if notice.kind is NoticeKind.ANNOUNCED:
            locale = settings.default_language
        else:
            user = await recipients.reachable(session, notice.chat_id)
            if user is None:
                continue
            locale = recipients.locale_of(translator, user)
        slow = notice.kind in REMINDERS or notice.kind is NoticeKind.ANNOUNCED
        queued += await outbox.enqueue(
            session,
            chat_id=notice.chat_id,
            kind=outbox_kind(notice.kind),
            text=render(notice, event, translator, locale),
            key=notice.key,
            now=now,
            reply_markup=markup(notice, translator, locale),
            not_before=notice.not_before,
            priority=Priority.NUDGE if slow else Priority.INTERACTIVE,
        )
    return queued
