"""The command menu Telegram shows, declared by each handlers module."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)

from bot.ui.i18n import Translator

logger = logging.getLogger(__name__)


class Scope(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    # Shown only in an organiser's private chat, on top of the private commands.
    ORGANISER = "organiser"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description_key: str
    scopes: frozenset[Scope]


def command(name: str, description_key: str, *scopes: Scope) -> CommandSpec:
    return CommandSpec(name, description_key, frozenset(scopes or (Scope.PRIVATE,)))


def commands_for(specs: Iterable[CommandSpec], scope: Scope) -> list[CommandSpec]:
    if scope is Scope.ORGANISER:
        return [s for s in specs if Scope.PRIVATE in s.scopes or Scope.ORGANISER in s.scopes]
    return [s for s in specs if scope in s.scopes]


def _bot_commands(
    specs: Sequence[CommandSpec], translator: Translator, locale: str
) -> list[BotCommand]:
    return [
        BotCommand(command=s.name, description=translator.t(s.description_key, locale)[:256])
        for s in specs
    ]


async def register_commands(
    bot: Bot, specs: Sequence[CommandSpec], translator: Translator, organiser_ids: Iterable[int]
) -> None:
    """setMyCommands for every scope and language (the default language also unlabelled)."""
    private = commands_for(specs, Scope.PRIVATE)
    groups = commands_for(specs, Scope.GROUP)
    organisers = commands_for(specs, Scope.ORGANISER)
    languages: list[str | None] = [None, *sorted(translator.locales)]
    for language in languages:
        locale = language or translator.default_locale
        await bot.set_my_commands(
            _bot_commands(private, translator, locale),
            scope=BotCommandScopeDefault(),
            language_code=language,
        )
        await bot.set_my_commands(
            _bot_commands(private, translator, locale),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=language,
        )
        await bot.set_my_commands(
            _bot_commands(groups, translator, locale),
            scope=BotCommandScopeAllGroupChats(),
            language_code=language,
        )
        for organiser_id in sorted(set(organiser_ids)):
            try:
                await bot.set_my_commands(
                    _bot_commands(organisers, translator, locale),
                    scope=BotCommandScopeChat(chat_id=organiser_id),
                    language_code=language,
                )
            except TelegramBadRequest as error:
                # An organiser who never opened a chat with the bot has no chat yet.
                logger.warning("no organiser commands for %s: %s", organiser_id, error.message)
