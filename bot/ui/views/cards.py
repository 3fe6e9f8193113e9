"""The words on the pictures people post: the `/me` card, a challenge's card and the QR
posters (bot/ui/pictures/cards.py, posters.py), in the reader's language, and sending
them (drawn in a worker thread, awaited)."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.services.actions import MyFigures
from bot.services.cards import ChallengeCard, MeCard
from bot.services.deeplinks import DeepLink, DeepLinkKind, deep_link_url
from bot.ui.callbacks.actions import MeCardCb
from bot.ui.formatting import escape
from bot.ui.i18n import current_translator, t
from bot.ui.pictures.cards import (
    CardFormat,
    ChallengeCardTexts,
    MeCardTexts,
    Stat,
    challenge_card,
    me_card,
)
from bot.ui.pictures.posters import PosterTexts, qr_poster
from bot.ui.views.actions import kg, me_keyboard, number


def _bot_line(bot_username: str) -> str:
    return t("cards.footer", bot=f"@{bot_username}")


def me_card_texts(card: MeCard, first_name: str, bot_username: str, locale: str) -> MeCardTexts:
    figures = card.figures
    stats = [
        Stat(
            t("cards.me.streak"),
            t("cards.me.streak_value", weeks=number(figures.streak_weeks, locale)),
        ),
        Stat(t("cards.me.total"), t("cards.me.total_value", co2=kg(figures.total_co2e_g, locale))),
    ]
    if card.team is not None:
        team = card.team
        if card.team_rank is not None:
            team = t("cards.me.team_value", team=card.team, rank=card.team_rank, teams=card.teams)
        stats.append(Stat(t("cards.me.team"), team))
    if card.rank is not None:
        stats.append(
            Stat(
                t("cards.me.rank"),
                t("cards.me.rank_value", rank=card.rank, people=number(card.people, locale)),
            )
        )
    return MeCardTexts(
        brand=t("cards.me.brand"),
        title=t("cards.me.title", name=first_name),
        hero=number(figures.week_actions, locale),
        hero_label=t("cards.me.hero", co2=kg(figures.week_co2e_g, locale)),
        stats=tuple(stats),
        footer=_bot_line(bot_username),
    )


async def me_picture(
    card: MeCard, first_name: str, bot: Bot, locale: str, shape: CardFormat
) -> BufferedInputFile:
    me = await bot.me()
    texts = me_card_texts(card, first_name, me.username or "", locale)
    picture = await asyncio.to_thread(me_card, texts, shape)
    return BufferedInputFile(picture, filename=f"greenhood-{shape.value}.png")


def me_screen_keyboard(figures: MyFigures) -> InlineKeyboardMarkup:
    """/me's whole keyboard: it depends only on the language and whether the name shows,
    so it is built once for each (bot.ui.i18n.Translator.rendered)."""
    return current_translator().rendered(
        ("me.keyboard", figures.show_name),
        lambda: me_card_keyboard(me_keyboard(figures)),
        source=me_keyboard,
    )


def me_card_keyboard(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """/me's buttons, and the card to post in either shape: square (a photo) or story (a
    file: Telegram keeps its size). Drawn when asked: /me itself answers at once."""
    builder = InlineKeyboardBuilder.from_markup(markup)
    builder.row()
    builder.button(
        text=t("cards.me.square_button"), callback_data=MeCardCb(shape=CardFormat.SQUARE)
    )
    builder.button(text=t("cards.me.story_button"), callback_data=MeCardCb(shape=CardFormat.STORY))
    builder.adjust(1)
    return builder.as_markup()


async def challenge_picture(card: ChallengeCard, bot: Bot, locale: str) -> BufferedInputFile:
    me = await bot.me()
    username = me.username or ""
    challenge = card.view.challenge
    percent = round(100 * min(card.view.fraction, 9.99))
    texts = ChallengeCardTexts(
        brand=t("cards.challenge.brand"),
        title=challenge.title,
        progress=f"{number(card.view.week_total, locale)} / {number(challenge.weekly_target, locale)}",
        percent=t("picture.percent", percent=percent),
        days_left=t("cards.challenge.days_left", days=card.days_left),
        mine=t(
            "cards.challenge.mine",
            week=number(card.mine_this_week, locale),
            total=number(card.mine_in_all, locale),
        ),
        pledge_label=t("picture.pledge") if challenge.pledge else None,
        pledge=challenge.pledge,
        scan=t("cards.challenge.scan"),
        footer=_bot_line(username),
    )
    link = deep_link_url(username, DeepLink(DeepLinkKind.JOIN, challenge.id))
    picture = await asyncio.to_thread(challenge_card, texts, card.view.fraction, link)
    return BufferedInputFile(picture, filename=f"challenge-{challenge.id}-card.png")


async def poster_document(
    bot: Bot, link: DeepLink, name: str, detail: str
) -> tuple[BufferedInputFile, str]:
    """The A4 poster (PDF) of a QR code, and its caption."""
    me = await bot.me()
    username = me.username or ""
    texts = PosterTexts(
        call_to_action=t(f"cards.poster.cta_{link.kind.value}"),
        name=name,
        detail=detail,
        bot=t("cards.poster.bot", bot=f"@{username}"),
        brand="Greenhood",
    )
    poster = await asyncio.to_thread(qr_poster, texts, deep_link_url(username, link))
    caption = t("cards.poster.caption", name=escape(name))
    return BufferedInputFile(poster.pdf, filename=f"{link.payload}-poster-a4.pdf"), caption
