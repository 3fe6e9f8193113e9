"""Queuing a relayed message for its recipient, in their language, in the transaction
that stores it (the sender delivers it): "💬 {name} — «{title}» : {text}" with buttons to
reply, report and block. A shared place goes as a venue whose title says who sent it.

Nothing in it names the sender's Telegram account: the first name they gave Telegram and
the offer's title only; the buttons carry the reservation's id, which the recipient is
part of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox, relay
from bot.services.outbox import Priority
from bot.services.relay import Relayed
from bot.ui.callbacks.relay import RelayAction, RelayCb
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import Translator
from bot.ui.notices import recipients

KIND = "relay.message"
# A venue's title and address are short lines.
VENUE_LIMIT = 100


def _button(text: str, action: RelayAction, reservation_id: int) -> dict[str, str]:
    return {
        "text": text,
        "callback_data": RelayCb(action=action, reservation_id=reservation_id).pack(),
    }


def received_markup(translator: Translator, locale: str, reservation_id: int) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [
                _button(
                    translator.t("relay.button.reply", locale), RelayAction.WRITE, reservation_id
                )
            ],
            [
                _button(
                    translator.t("relay.button.report", locale), RelayAction.REPORT, reservation_id
                ),
                _button(
                    translator.t("relay.button.block", locale), RelayAction.BLOCK, reservation_id
                ),
            ],
        ]
    }


def write_markup(
    translator: Translator, locale: str, reservation_id: int, name: str
) -> dict[str, Any]:
    """The poster's "X reserved" notice carries "💬 Message X" (bot/ui/notices/offers.py)."""
    text = translator.t("relay.button.write_to", locale, name=truncate(name, 30))
    return {"inline_keyboard": [[_button(text, RelayAction.WRITE, reservation_id)]]}


async def enqueue(
    session: AsyncSession, translator: Translator, relayed: Relayed, now: datetime
) -> bool:
    """Queue `relayed` for its recipient; False when they cannot be reached (they blocked
    the bot): the sender is then told nothing went (the caller says so)."""
    user = await recipients.reachable(session, relayed.recipient_id)
    if user is None:
        return False
    locale = recipients.locale_of(translator, user)
    talk = relayed.conversation
    markup = received_markup(translator, locale, talk.reservation_id)
    common: dict[str, Any] = {
        "chat_id": relayed.recipient_id,
        "kind": KIND,
        "key": relay.outbox_key(relayed),
        "now": now,
        "priority": Priority.INTERACTIVE,
        # The text names the sender: /forget takes it along.
        "about_user_id": talk.me_id,
    }
    if relayed.latitude is not None and relayed.longitude is not None:
        title = translator.t("relay.place.title", locale, name=talk.my_name)
        address = translator.t("relay.place.address", locale, title=talk.title)
        call = {
            "method": "sendVenue",
            "params": {
                "chat_id": relayed.recipient_id,
                "latitude": relayed.latitude,
                "longitude": relayed.longitude,
                "title": truncate(title, VENUE_LIMIT),
                "address": truncate(address, VENUE_LIMIT),
                "reply_markup": markup,
            },
        }
        return await outbox.enqueue(session, text=title, call=call, **common)
    text = translator.t(
        "relay.message",
        locale,
        name=escape(talk.my_name),
        title=escape(talk.title),
        text=escape(relayed.text),
    )
    return await outbox.enqueue(session, text=text, reply_markup=markup, **common)
