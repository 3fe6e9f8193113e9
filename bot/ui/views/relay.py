"""What the relay conversation of a reservation looks like: the "write" buttons the
offers screens carry, the writing mode's prompt and buttons, a refusal's words, and a
reported conversation as a moderator reads it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.services import relay
from bot.services.relay import (
    RATE_LIMIT,
    TEXT_LIMIT,
    ClosedReason,
    Conversation,
    ReportedConversation,
)
from bot.ui.callbacks.relay import (
    RelayAction,
    RelayCb,
    RelayModerationAction,
    RelayModerationCb,
)
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t, tn
from models import User

# What a moderator reads of each reported message.
EXCERPT_LIMIT = 300


def write_button(
    reservation_id: int, name: str | None = None, number: int | None = None
) -> InlineKeyboardButton:
    """ "Message the giver" (for the reserver, `name` None) or "Message {name}" (for the
    poster, `name` the reserver's first name): enters the writing mode. `number`: the
    reservation's number in a /myoffers list."""
    if name is not None:
        text = t("relay.button.write_to", name=truncate(name, 30))
    elif number is not None:
        text = t("relay.button.write_giver_number", number=number)
    else:
        text = t("relay.button.write_giver")
    data = RelayCb(action=RelayAction.WRITE, reservation_id=reservation_id).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def writing_keyboard(reservation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("relay.button.done"),
        callback_data=RelayCb(action=RelayAction.DONE, reservation_id=reservation_id),
    )
    return builder.as_markup()


def writing_prompt(talk: Conversation) -> str:
    return t("relay.writing.prompt", name=escape(talk.other_name), title=escape(talk.title))


def closed_text(reason: ClosedReason) -> str:
    return t(f"relay.closed.{reason.value}")


def rate_limited_text(minutes: int) -> str:
    return tn("relay.rate_limited", minutes, limit=RATE_LIMIT)


def text_error(code: str) -> str:
    return t(f"relay.error.{code}", limit=TEXT_LIMIT)


def block_confirm_keyboard(reservation_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("relay.button.block_confirm"),
        callback_data=RelayCb(action=RelayAction.BLOCK_CONFIRMED, reservation_id=reservation_id),
    )
    return builder.as_markup()


def reported_conversation(entry: ReportedConversation) -> tuple[str, InlineKeyboardMarkup]:
    """A report as a moderator reads it in /moderation: who (first names), about which
    offer, the reported side's last messages, and the two decisions."""
    lines = [
        t(
            "relay.moderation.item",
            reporter=escape(entry.reporter_name),
            reported=escape(entry.reported_name),
            title=escape(entry.title),
        )
    ]
    for message in entry.messages:
        said = (
            escape(truncate(message.text, EXCERPT_LIMIT))
            if message.text
            else t("relay.moderation.place")
        )
        lines.append(f"• {said}")
    if not entry.messages:
        lines.append(t("relay.moderation.nothing"))
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("relay.moderation.close"),
        callback_data=RelayModerationCb(
            action=RelayModerationAction.CLOSE, report_id=entry.report_id
        ),
    )
    builder.button(
        text=t("relay.moderation.dismiss"),
        callback_data=RelayModerationCb(
            action=RelayModerationAction.DISMISS, report_id=entry.report_id
        ),
    )
    return "\n".join(lines), builder.as_markup()


async def send_reported_conversations(
    message: Message, session: AsyncSession, user: User, settings: Settings
) -> int:
    """The /moderation hub's relay part: open reports of relayed messages, oldest first."""
    reported = await relay.reported_conversations(session, user.id, settings.organiser_ids)
    if not reported:
        return 0
    await message.answer(tn("relay.moderation.header", len(reported)))
    for entry in reported:
        text, markup = reported_conversation(entry)
        await message.answer(text, reply_markup=markup)
    return len(reported)
