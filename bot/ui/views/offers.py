"""What an offer looks like: its card (text, buttons, photo), times in the person's zone, the moderation buttons."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram import Bot
from aiogram.types import (
    InlineKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.core.settings import Settings
from bot.services import offers
from bot.services.deeplinks import DeepLink, DeepLinkKind
from bot.services.geo.distance import format_distance
from bot.ui.callbacks.offers import (
    OfferAction,
    OfferCb,
    OfferModerationAction,
    OfferModerationCb,
)
from bot.ui.formatting import escape, moment_text, truncate
from bot.ui.i18n import Translator, current_translator, t
from bot.ui.views.share import share_button
from models import Offer, User

CAPTION_DESCRIPTION = 500

TEXT_DESCRIPTION = 1000


def zone_of(user: User | None, settings: Settings) -> ZoneInfo:
    for name in (user.timezone if user else None, settings.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def window_text(
    translator: Translator,
    locale: str,
    offer: Offer,
    zone: ZoneInfo,
    now: datetime,
    *,
    relative: bool = True,
) -> str:
    """The pickup window: when it ends, and when it opens if that is still to come."""
    end = moment_text(translator, locale, offer.pickup_end, zone, now, relative=relative)
    if offer.pickup_end <= now:
        return translator.t("offers.window.over", locale, end=end)
    start = offer.pickup_start
    if start is not None and start > now:
        opens = moment_text(translator, locale, start, zone, now, relative=relative)
        return translator.t("offers.window.later", locale, start=opens, end=end)
    return translator.t("offers.window.open", locale, end=end)


def format_when(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """`moment_text` in the language of the update being handled."""
    translator = current_translator()
    return moment_text(translator, translator.current_locale, moment, zone, now)


def format_window(offer: Offer, zone: ZoneInfo, now: datetime) -> str:
    translator = current_translator()
    return window_text(translator, translator.current_locale, offer, zone, now)


def category_label(slug: str) -> str:
    return t(f"offers.category.{slug}")


def card_text(
    offer: Offer,
    zone: ZoneInfo,
    now: datetime,
    *,
    distance_km: float | None = None,
    locale: str = "fr",
    description_limit: int = TEXT_DESCRIPTION,
    number: int | None = None,
) -> str:
    # `number`: its pin on the list's map.
    mark = f"{number}. " if number is not None else ""
    lines = [f"{mark}<b>{escape(offer.title)}</b> · {category_label(offer.category)}"]
    if offer.description:
        lines += ["", escape(truncate(offer.description, description_limit)), ""]
    lines.append(t("offers.card.quantity", left=offer.quantity_left, total=offer.quantity_total))
    lines.append(format_window(offer, zone, now))
    if offers.is_urgent(offer, now):
        minutes = max(1, int((offer.pickup_end - now).total_seconds() // 60))
        lines.append(t("offers.card.urgent", minutes=minutes))
    place = escape(offer.address) if offer.address else t("offers.card.on_map")
    if distance_km is not None:
        place += " · " + format_distance(distance_km, locale)
    lines.append(t("offers.card.where", place=place))
    if offer.pickup_note:
        lines.append(t("offers.card.note", note=escape(offer.pickup_note)))
    if not offers.is_available(offer, now):
        lines += ["", t(f"offers.card.status.{offer.status}")]
    elif offer.quantity_left == 0:
        lines += ["", t("offers.card.sold_out")]
    return "\n".join(lines)


def card_keyboard(offer: Offer, now: datetime, viewer_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if offers.is_available(offer, now) and offer.quantity_left > 0 and offer.poster_id != viewer_id:
        builder.button(
            text=t("offers.button.reserve"),
            callback_data=OfferCb(action=OfferAction.RESERVE, offer_id=offer.id),
        )
    builder.button(
        text=t("offers.button.qr"), callback_data=OfferCb(action=OfferAction.QR, offer_id=offer.id)
    )
    if offer.poster_id != viewer_id:
        builder.button(
            text=t("offers.button.report"),
            callback_data=OfferCb(action=OfferAction.REPORT, offer_id=offer.id),
        )
    builder.adjust(1, 2)
    if offers.is_available(offer, now):
        builder.row(share_button(DeepLink(DeepLinkKind.OFFER, offer.id)))
    return builder.as_markup()


async def send_card(
    bot: Bot,
    chat_id: int,
    offer: Offer,
    zone: ZoneInfo,
    now: datetime,
    viewer_id: int,
    *,
    distance_km: float | None = None,
    locale: str = "fr",
    number: int | None = None,
) -> None:
    """With its photo when it has one (the caption then holds a shorter description)."""
    keyboard = card_keyboard(offer, now, viewer_id)
    if offer.photo_file_id:
        caption = card_text(
            offer,
            zone,
            now,
            distance_km=distance_km,
            locale=locale,
            description_limit=CAPTION_DESCRIPTION,
            number=number,
        )
        await bot.send_photo(chat_id, offer.photo_file_id, caption=caption, reply_markup=keyboard)
        return
    text = card_text(offer, zone, now, distance_km=distance_km, locale=locale, number=number)
    await bot.send_message(chat_id, text, reply_markup=keyboard)


def report_buttons(offer_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("offers.moderation.remove"),
        callback_data=OfferModerationCb(action=OfferModerationAction.REMOVE, offer_id=offer_id),
    )
    builder.button(
        text=t("offers.moderation.dismiss"),
        callback_data=OfferModerationCb(action=OfferModerationAction.DISMISS, offer_id=offer_id),
    )
    return builder.as_markup()


def reported_offer(
    entry: offers.ReportedOffer, zone: ZoneInfo, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """A reported offer as an organiser sees it in /moderation: why, then the card."""
    reasons = ", ".join(
        f"{t(f'offers.report.reason.{reason}')} × {count}"
        for reason, count in sorted(entry.reasons.items())
    )
    head = t("offers.moderation.item", id=entry.offer.id, reasons=reasons)
    body = card_text(entry.offer, zone, now, description_limit=300)
    return head + "\n\n" + body, report_buttons(entry.offer.id)
