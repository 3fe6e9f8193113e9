"""/cancel, /language, /settings, /me and the main-menu buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import users
from bot.ui.callbacks.settings import LanguageCb, SettingsAction, SettingsCb
from bot.ui.commands import Scope, command
from bot.ui.editing import edit_text
from bot.ui.filters import Magic, MenuButton
from bot.ui.i18n import Translator, t
from bot.ui.keyboards import language_picker, main_menu
from bot.ui.views.settings import settings_view
from models import User

COMMANDS = [
    command("settings", "commands.settings", Scope.PRIVATE),
    command("language", "commands.language", Scope.PRIVATE),
    command("cancel", "commands.cancel", Scope.PRIVATE),
]


async def cancel(message: Message, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    key = "cancel.done" if had_state else "cancel.nothing"
    reply_markup = main_menu() if message.chat.type == "private" else None
    await message.answer(t(key), reply_markup=reply_markup)


async def language(message: Message, locale: str) -> None:
    await message.answer(t("language.choose"), reply_markup=language_picker(locale))


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    session: AsyncSession,
    user: User,
    i18n: Translator,
) -> None:
    await users.set_language(session, user.id, callback_data.code.value)
    locale = callback_data.code.value
    # The rest of this update must speak the new language already.
    with i18n.use_locale(locale):
        await query.answer(t("language.changed"))
        if query.message is not None and not isinstance(query.message, InaccessibleMessage):
            await edit_text(query.message, t("language.changed"))
            await query.message.answer(t("menu.refreshed"), reply_markup=main_menu())


async def settings(message: Message, locale: str) -> None:
    text, markup = settings_view(locale)
    await message.answer(text, reply_markup=markup)


async def settings_language(query: CallbackQuery, locale: str) -> None:
    await query.answer()
    if query.message is not None and not isinstance(query.message, InaccessibleMessage):
        await edit_text(
            query.message, t("language.choose"), reply_markup=language_picker(locale, back=True)
        )


async def settings_back(query: CallbackQuery, locale: str) -> None:
    await query.answer()
    if query.message is not None and not isinstance(query.message, InaccessibleMessage):
        text, markup = settings_view(locale)
        await edit_text(query.message, text, reply_markup=markup)


async def settings_close(query: CallbackQuery) -> None:
    await query.answer()
    if query.message is not None and not isinstance(query.message, InaccessibleMessage):
        await edit_text(query.message, t("settings.closed"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(cancel, Command("cancel"))
    router.message.register(language, Command("language"), Magic(F.chat.type == "private"))
    router.callback_query.register(language_chosen, LanguageCb.filter())
    router.message.register(settings, MenuButton("menu.settings"), Magic(F.chat.type == "private"))
    router.message.register(settings, Command("settings"), Magic(F.chat.type == "private"))
    router.callback_query.register(
        settings_language, SettingsCb.filter(F.action == SettingsAction.LANGUAGE)
    )
    router.callback_query.register(
        settings_close, SettingsCb.filter(F.action == SettingsAction.CLOSE)
    )
    router.callback_query.register(
        settings_back, SettingsCb.filter(F.action == SettingsAction.BACK)
    )
    return router
