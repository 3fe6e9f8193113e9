"""Notification settings (reached from /settings) and the "snooze for a week" button
every nudge carries (features attach `bot.keyboards.snooze_row(...)` to their nudges)."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import nudges
from bot.services.nudges import PERSON_KINDS, Prefs
from bot.ui.callbacks.settings import (
    NotifAction,
    NotifCb,
    NotifKindCb,
    SettingsAction,
    SettingsCb,
    SnoozeCb,
)
from bot.ui.commands import CommandSpec
from bot.ui.editing import edit_text
from bot.ui.filters import Magic
from bot.ui.formatting import moment_text
from bot.ui.i18n import current_translator, t
from bot.ui.views.actions import counted
from bot.ui.views.settings import settings_view
from models import User

COMMANDS: list[CommandSpec] = []


def _minutes(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def _quiet_label(prefs: Prefs) -> str:
    if prefs.quiet is None:
        return t("notif.quiet.off")
    return t("notif.quiet.range", start=_minutes(prefs.quiet[0]), end=_minutes(prefs.quiet[1]))


def _local(when: datetime, zone_name: str, user: User, now: datetime) -> str:
    translator = current_translator()
    zone = nudges.user_zone(user, zone_name)
    return moment_text(translator, translator.current_locale, when, zone, now)


def notifications_view(
    prefs: Prefs, user: User, settings: Settings, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    zone = nudges.user_zone(user, settings.timezone)
    snoozed = prefs.snoozed_until is not None and prefs.snoozed_until > now
    snooze_line = (
        t("notif.snoozed", until=_local(prefs.snoozed_until, settings.timezone, user, now))
        if snoozed and prefs.snoozed_until is not None
        else ""
    )
    text = t(
        "notif.text",
        quiet=_quiet_label(prefs),
        cap=counted("count.reminders", prefs.daily_cap),
        zone=str(zone),
        snoozed=snooze_line,
    )
    builder = InlineKeyboardBuilder()
    for kind in PERSON_KINDS:
        state = "off" if kind.value in prefs.opted_out else "on"
        builder.button(
            text=t(f"notif.kind.{state}", label=t(f"nudges.kind.{kind.value}")),
            callback_data=NotifKindCb(kind=kind),
        )
    builder.button(
        text=t("notif.button.quiet", quiet=_quiet_label(prefs)),
        callback_data=NotifCb(action=NotifAction.QUIET),
    )
    builder.button(
        text=t("notif.button.cap", cap=prefs.daily_cap),
        callback_data=NotifCb(action=NotifAction.CAP),
    )
    if snoozed:
        builder.button(
            text=t("notif.button.unsnooze"), callback_data=NotifCb(action=NotifAction.UNSNOOZE)
        )
    else:
        builder.button(
            text=t("notif.button.snooze"), callback_data=NotifCb(action=NotifAction.SNOOZE)
        )
    builder.button(text=t("notif.button.back"), callback_data=NotifCb(action=NotifAction.BACK))
    # The switches two by two (an odd one alone on its row), then one button per row.
    switch_rows = [2] * (len(PERSON_KINDS) // 2) + [1] * (len(PERSON_KINDS) % 2)
    builder.adjust(*switch_rows, 1, 1, 1, 1)
    return text, builder.as_markup()


async def _show(
    query: CallbackQuery, session: AsyncSession, user: User, settings: Settings, clock: Clock
) -> None:
    prefs = await nudges.load_prefs(session, user.id)
    text, markup = notifications_view(prefs, user, settings, clock.now())
    await query.answer()
    message = query.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        await edit_text(message, text, reply_markup=markup)


async def open_notifications(
    query: CallbackQuery, session: AsyncSession, user: User, settings: Settings, clock: Clock
) -> None:
    await _show(query, session, user, settings, clock)


async def toggle_kind(
    query: CallbackQuery,
    callback_data: NotifKindCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    if callback_data.kind not in PERSON_KINDS:
        # A switch no longer offered (team recaps, on a settings view shown before).
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    await nudges.toggle_kind(session, user.id, callback_data.kind)
    await _show(query, session, user, settings, clock)


async def back(query: CallbackQuery, locale: str) -> None:
    await query.answer()
    message = query.message
    if message is not None and not isinstance(message, InaccessibleMessage):
        text, markup = settings_view(locale)
        await edit_text(message, text, reply_markup=markup)


async def change(
    query: CallbackQuery,
    callback_data: NotifCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    if callback_data.action == NotifAction.QUIET:
        await nudges.next_quiet_preset(session, user.id)
    elif callback_data.action == NotifAction.CAP:
        await nudges.next_cap(session, user.id)
    elif callback_data.action == NotifAction.SNOOZE:
        await nudges.snooze_week(session, user.id, clock.now())
    elif callback_data.action == NotifAction.UNSNOOZE:
        await nudges.unsnooze(session, user.id)
    await _show(query, session, user, settings, clock)


async def snooze_from_a_nudge(
    query: CallbackQuery, session: AsyncSession, user: User, settings: Settings, clock: Clock
) -> None:
    until = await nudges.snooze_week(session, user.id, clock.now())
    await query.answer(
        t("nudges.snoozed", until=_local(until, settings.timezone, user, clock.now())),
        show_alert=True,
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(Magic(F.message.chat.type == "private"))
    router.callback_query.register(
        open_notifications, SettingsCb.filter(F.action == SettingsAction.NOTIFICATIONS)
    )
    router.callback_query.register(toggle_kind, NotifKindCb.filter())
    router.callback_query.register(back, NotifCb.filter(F.action == NotifAction.BACK))
    router.callback_query.register(change, NotifCb.filter())
    router.callback_query.register(snooze_from_a_nudge, SnoozeCb.filter())
    return router
