"""What the makers directory shows: a maker card and its buttons, a page of the nearest makers."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services import makers
from bot.services.deeplinks import DeepLink, DeepLinkKind
from bot.services.geo.distance import format_distance
from bot.services.makers import NearbyPage
from bot.ui.callbacks.makers import MakerAction, MakerCb, MakersListAction, MakersListCb
from bot.ui.callbacks.offers import OfferAction, OfferCb
from bot.ui.formatting import escape, truncate
from bot.ui.i18n import t
from bot.ui.views.action_places import actions_line
from bot.ui.views.share import share_button
from models import Maker, MakerCategory

PAGE_SIZE = 5
# Farther than this, makers are not "near": the list says so.
NEARBY_KM = 30.0

VENUE_TITLE_LIMIT = 100

DESCRIPTION_SHOWN = 1000


def category_label(slug: str) -> str:
    return t(f"makers.category.{slug}")


def card_text(maker: Maker) -> str:
    lines = [f"<b>{escape(maker.name)}</b>", category_label(maker.category)]
    if maker.description:
        lines += ["", escape(truncate(maker.description, DESCRIPTION_SHOWN))]
    details = []
    address = makers.shown_address(maker.address, maker.city, maker.pin_precise)
    if address:
        details.append(t("makers.card.address", address=escape(address)))
    if maker.website:
        details.append(t("makers.card.website", website=escape(maker.website)))
    if maker.phone:
        details.append(t("makers.card.phone", phone=escape(maker.phone)))
    if details:
        lines += ["", *details]
    if place_actions := actions_line(maker):
        lines += ["", place_actions]
    return "\n".join(lines)


def card_keyboard(maker: Maker, favourite: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if favourite:
        builder.button(
            text=t("makers.card.favourite_remove"),
            callback_data=MakerCb(action=MakerAction.UNFAVOURITE, maker_id=maker.id),
        )
    else:
        builder.button(
            text=t("makers.card.favourite_add"),
            callback_data=MakerCb(action=MakerAction.FAVOURITE, maker_id=maker.id),
        )
    if makers.is_web_url(maker.website):
        builder.button(text=t("makers.card.website_button"), url=maker.website)
    builder.button(
        text=t("makers.card.qr_button"),
        callback_data=MakerCb(action=MakerAction.QR, maker_id=maker.id),
    )
    builder.button(
        text=t("offers.button.maker_offers"),
        callback_data=OfferCb(action=OfferAction.MAKER, offer_id=maker.id),
    )
    builder.adjust(1, 2, 1)
    builder.row(share_button(DeepLink(DeepLinkKind.MAKER, maker.id)))
    return builder.as_markup()


def category_of(value: object) -> MakerCategory | None:
    """The category a search is filtered on; None for every category (what conversation
    data kept by an earlier release calls "all")."""
    try:
        return MakerCategory(str(value))
    except ValueError:
        return None


def category_button_label(category: MakerCategory | None) -> str:
    return t("makers.category.all") if category is None else category_label(category)


def page_view(
    search: dict[str, Any], page: NearbyPage, locale: str
) -> tuple[str, InlineKeyboardMarkup]:
    place = escape(search["label"]) if search.get("label") else t("makers.list.here")
    lines = [t("makers.list.header", place=place)]
    category = category_of(search.get("category"))
    if category is not None:
        lines.append(t("makers.list.filter_category", category=category_label(category)))
    if search.get("words"):
        lines.append(t("makers.list.filter_words", words=escape(search["words"])))
    lines.append("")
    builder = InlineKeyboardBuilder()
    if not page.makers:
        lines.append(t("makers.list.empty"))
    elif page.offset == 0 and page.makers[0].distance_km > NEARBY_KM:
        # Nothing close: say so, and how far the nearest are, rather than list makers
        # hundreds of kilometres away as if they were "near".
        lines += [
            t(
                "makers.list.far",
                radius=format_distance(NEARBY_KM, locale),
                distance=format_distance(page.makers[0].distance_km, locale),
            ),
            "",
        ]
    for number, nearby in enumerate(page.makers, start=page.offset + 1):
        maker = nearby.maker
        lines.append(
            t(
                "makers.list.item",
                number=number,
                name=escape(maker.name),
                category=category_label(maker.category),
                distance=format_distance(nearby.distance_km, locale),
            )
        )
        builder.button(
            text=f"{number}. {truncate(maker.name, 40)}",
            callback_data=MakerCb(action=MakerAction.OPEN, maker_id=maker.id),
        )
    if page.makers:
        lines += ["", t("makers.list.hint")]
    sizes = [1] * len(page.makers)
    if page.has_more:
        builder.button(
            text=t("makers.list.more"),
            callback_data=MakersListCb(
                action=MakersListAction.MORE,
                search=int(search["id"]),
                offset=page.offset + PAGE_SIZE,
                category=category,
            ),
        )
        sizes.append(1)
    for choice in (None, *MakerCategory):
        mark = "✓ " if choice == category else ""
        builder.button(
            text=mark + category_button_label(choice),
            callback_data=MakersListCb(
                action=MakersListAction.CATEGORY,
                search=int(search["id"]),
                offset=0,
                category=choice,
            ),
        )
    builder.adjust(*sizes, 3)
    builder.row(
        InlineKeyboardButton(
            text=t("places.change"),
            callback_data=MakersListCb(
                action=MakersListAction.PLACE,
                search=int(search["id"]),
                offset=0,
                category=category,
            ).pack(),
        )
    )
    return "\n".join(lines), builder.as_markup()


def owner_link(maker: Maker, names: dict[int, str]) -> str:
    """Who submitted a listing, as a mention the moderator can open (Telegram shows the
    person's profile), or a dash for an imported one."""
    if maker.owner_id is None:
        return "—"
    name = names.get(maker.owner_id) or t("moderation.owner_unknown")
    return f'<a href="tg://user?id={maker.owner_id}">{escape(name)}</a>'
