"""The "share" button every card carries (a maker, an offer, a challenge): it opens the
person's chat list, and the chosen chat gets `@bot <payload>` typed, whose one inline
result is that card (handlers/sharing/inline.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, SwitchInlineQueryChosenChat

from bot.services.deeplinks import DeepLink
from bot.ui.i18n import t


def share_button(link: DeepLink) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("share.button"),
        switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
            query=link.payload,
            allow_user_chats=True,
            allow_group_chats=True,
            allow_channel_chats=True,
        ),
    )
