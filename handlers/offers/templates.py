"""Recurring offers: "🔁 Repeat" on one's own offer (which days), and the templates screen
(pause, resume, skip the next one, take a skip back, delete). Every button carries what it
needs, so no conversation state: bot/services/offer_templates.py checks the person owns
what the button names."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.services import offer_templates
from bot.services.offer_templates import TemplateError, TemplateNotFoundError
from bot.ui.callbacks.offer_templates import TemplateAction, TemplateCb
from bot.ui.editing import edit_markup, edit_text, message_of
from bot.ui.formatting import escape
from bot.ui.i18n import t
from bot.ui.views.offer_templates import (
    days_keyboard,
    days_question,
    entry_keyboard,
    entry_text,
    list_keyboard,
    picker_keyboard,
    saved_text,
)
from bot.ui.views.offers import zone_of
from models import User


async def repeat_button(
    query: CallbackQuery,
    callback_data: TemplateCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
) -> None:
    message = message_of(query)
    try:
        offer = await offer_templates.check_offer(session, callback_data.target, user.id)
    except TemplateNotFoundError:
        await query.answer(t("offer_templates.not_found"), show_alert=True)
        return
    except TemplateError as error:
        await query.answer(t(f"offer_templates.error.{error.code}"), show_alert=True)
        return
    await query.answer()
    if message is None:
        return
    zone = zone_of(user, settings)
    start = offer.pickup_start.astimezone(zone).time()
    end = offer.pickup_end.astimezone(zone).time()
    await message.answer(
        days_question(offer.title, start, end), reply_markup=days_keyboard(offer.id)
    )


async def pick_button(query: CallbackQuery, callback_data: TemplateCb) -> None:
    message = message_of(query)
    days = callback_data.days
    if message is None or not 0 <= days <= offer_templates.EVERY_DAY:
        await query.answer(t("fallback.stale_button"), show_alert=True)
        return
    await query.answer()
    # The question stays; only the toggles change (and the ownership is checked on save).
    await edit_markup(message, reply_markup=picker_keyboard(callback_data.target, days))


async def save_button(
    query: CallbackQuery,
    callback_data: TemplateCb,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    now = clock.now()
    try:
        template = await offer_templates.save_from_offer(
            session,
            user.id,
            callback_data.target,
            callback_data.days,
            zone_of(user, settings).key,
            now,
        )
    except TemplateNotFoundError:
        await query.answer(t("offer_templates.not_found"), show_alert=True)
        return
    except TemplateError as error:
        await query.answer(t(f"offer_templates.error.{error.code}"), show_alert=True)
        return
    next_start = await offer_templates.next_start(session, template, now)
    await query.answer(t("offer_templates.saved_short"))
    message = message_of(query)
    if message is not None:
        text = saved_text(template, next_start)
        await edit_text(message, text, reply_markup=list_keyboard())


async def list_templates(
    query: CallbackQuery, session: AsyncSession, user: User, clock: Clock
) -> None:
    await query.answer()
    message = message_of(query)
    if message is None:
        return
    found = await offer_templates.entries(session, user.id, clock.now())
    if not found:
        await message.answer(t("offer_templates.empty"))
        return
    await message.answer(t("offer_templates.list_head"))
    for entry in found:
        await message.answer(entry_text(entry), reply_markup=entry_keyboard(entry))


async def template_button(
    query: CallbackQuery,
    callback_data: TemplateCb,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    now = clock.now()
    action, template_id = callback_data.action, callback_data.target
    try:
        if action is TemplateAction.DELETE:
            removed = await offer_templates.remove(session, user.id, template_id)
            await query.answer(t("offer_templates.deleted_short"))
            message = message_of(query)
            if message is not None:
                await edit_text(message, t("offer_templates.deleted", title=escape(removed.title)))
            return
        if action is TemplateAction.PAUSE:
            await offer_templates.set_paused(session, user.id, template_id, True)
            toast = t("offer_templates.paused_short")
        elif action is TemplateAction.RESUME:
            await offer_templates.set_paused(session, user.id, template_id, False)
            toast = t("offer_templates.resumed_short")
        elif action is TemplateAction.SKIP:
            await offer_templates.skip_next(session, user.id, template_id, now)
            toast = t("offer_templates.skip_short")
        else:
            await offer_templates.unskip(session, user.id, template_id, now)
            toast = t("offer_templates.unskip_short")
        entry = await offer_templates.entry(session, user.id, template_id, now)
    except TemplateNotFoundError:
        await query.answer(t("offer_templates.not_found"), show_alert=True)
        return
    except TemplateError as error:
        await query.answer(t(f"offer_templates.error.{error.code}"), show_alert=True)
        return
    await query.answer(toast)
    message = message_of(query)
    if message is not None:
        await edit_text(message, entry_text(entry), reply_markup=entry_keyboard(entry))


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(repeat_button, TemplateCb.filter(F.action == TemplateAction.NEW))
    router.callback_query.register(pick_button, TemplateCb.filter(F.action == TemplateAction.PICK))
    router.callback_query.register(save_button, TemplateCb.filter(F.action == TemplateAction.SAVE))
    router.callback_query.register(
        list_templates, TemplateCb.filter(F.action == TemplateAction.LIST)
    )
    router.callback_query.register(
        template_button,
        TemplateCb.filter(
            F.action.in_(
                {
                    TemplateAction.PAUSE,
                    TemplateAction.RESUME,
                    TemplateAction.SKIP,
                    TemplateAction.UNSKIP,
                    TemplateAction.DELETE,
                }
            )
        ),
    )
    return router
