"""/forget: erase everything about the person, after a confirmation."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.scheduling import Scheduler
from bot.core.settings import Settings
from bot.services import erasure
from bot.ui.callbacks.neighbours import ForgetAction, ForgetCb
from bot.ui.commands import Scope, command
from bot.ui.conversations import forget_conversations
from bot.ui.editing import edit_text, message_of
from bot.ui.filters import Magic
from bot.ui.i18n import Translator, t
from bot.ui.notices import events as event_notices
from bot.ui.notices import offers as offer_notices
from models import User

COMMANDS = [command("forget", "commands.forget", Scope.PRIVATE)]


def forget_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("forget.button.confirm"), callback_data=ForgetCb(action=ForgetAction.CONFIRM)
    )
    builder.button(
        text=t("forget.button.cancel"), callback_data=ForgetCb(action=ForgetAction.CANCEL)
    )
    builder.adjust(1)
    return builder.as_markup()


async def forget_command(message: Message) -> None:
    await message.answer(t("forget.confirm"), reply_markup=forget_keyboard())


async def forget_button(
    query: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    settings: Settings,
    clock: Clock,
    translator: Translator,
    scheduler: Scheduler | None = None,
) -> None:
    message = message_of(query)
    await query.answer()
    if callback_data.action is ForgetAction.CANCEL:
        if message is not None:
            await edit_text(message, t("forget.cancelled"))
        return
    # Conversation state first, in every chat: it may hold places or drafts of this person.
    await forget_conversations(state.storage, user.id)
    now = clock.now()
    forgotten = await erasure.forget(session, user.id, now)
    await offer_notices.enqueue(session, translator, forgotten.notices, now, settings)
    await event_notices.enqueue(session, translator, forgotten.event_notices, now, settings)
    offer_notices.cancel_offer_jobs(scheduler, forgotten.offer_ids)
    if message is not None:
        await edit_text(message, t("forget.done"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(forget_command, Command("forget"), Magic(F.chat.type == "private"))
    router.callback_query.register(
        forget_button, ForgetCb.filter(), Magic(F.message.chat.type == "private")
    )
    return router
