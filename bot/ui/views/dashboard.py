"""What the dashboard and the contest screens show, in the reader's language: the figures of
bot.services.dashboard as display-ready JSON (numbers and dates through Babel, charts as
SVG), and the fixed texts of the pages.

The pages put every text in with `textContent` (never as HTML), except the charts, which
bot.ui.charts builds with every text escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo
from babel.dates import format_skeleton
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.catalogue import ActionCategory
from bot.services.dashboard import (
    EXPORT_KINDS,
    ContestScreen,
    Dashboard,
    ModerationQueue,
)
from bot.services.leaderboard import TeamRow
from bot.services.users import read_users
from bot.ui import charts
from bot.ui.formatting import babel_locale
from bot.ui.i18n import Translator
from bot.ui.views.actions import counted, kg, long_date, number
from models import ContestStatus

logger = logging.getLogger(__name__)

Json = dict[str, Any]

# The fixed texts of each page, sent with it (the scripts show them, never build them).
DASHBOARD_TEXTS = (
    "title",
    "loading",
    "refresh",
    "updated",
    "overview",
    "contests",
    "challenges",
    "actions",
    "offers",
    "moderation",
    "exports",
    "rank",
    "team",
    "per_member",
    "team_actions",
    "active",
    "screen_link",
    "screen_hint",
    "no_contest",
    "no_challenge",
    "no_standing",
    "pledge",
    "download",
    "downloading",
    "download_failed",
    "category",
    "category_actions",
    "category_co2",
    "error_401",
    "error_403",
    "error_other",
    "outside_telegram",
)
SCREEN_TEXTS = ("loading", "teams_waiting", "error", "closed", "live")


def _pick(translator: Translator, locale: str, prefix: str, keys: Sequence[str]) -> Json:
    return {key: translator.t(f"{prefix}.{key}", locale) for key in keys}


def dashboard_texts(translator: Translator, locale: str) -> Json:
    return _pick(translator, locale, "dashboard", DASHBOARD_TEXTS)


def screen_texts(translator: Translator, locale: str) -> Json:
    return _pick(translator, locale, "screen", SCREEN_TEXTS)


def short_week(week: date, locale: str) -> str:
    return format_skeleton("dMMM", week, locale=babel_locale(locale))


def _ratio(value: float, locale: str) -> str:
    return number(value, locale, "#,##0.0#")


def _standing(row: TeamRow, locale: str) -> Json:
    return {
        "rank": number(row.rank, locale),
        "team": row.name,
        "per_member": _ratio(row.per_member, locale),
        "actions": number(row.actions, locale),
        "active": number(row.active_members, locale),
        # For the screen's bars: a share of the leader's ratio.
        "value": row.per_member,
    }


def _category_label(translator: Translator, locale: str, category: str) -> str:
    if category in {c.value for c in ActionCategory}:
        return translator.t(f"dashboard.category.{category}", locale)
    return category


def _moderation(translator: Translator, locale: str, queue: ModerationQueue) -> list[Json]:
    return [
        {
            "label": translator.t("dashboard.moderation.pending_makers", locale),
            "value": number(queue.pending_makers, locale),
        },
        {
            "label": translator.t("dashboard.moderation.reported_offers", locale),
            "value": number(queue.reported_offers, locale),
        },
        {
            "label": translator.t("dashboard.moderation.open_reports", locale),
            "value": number(queue.open_reports, locale),
        },
    ]


def dashboard_json(data: Dashboard, translator: Translator, locale: str, screen_base: str) -> Json:
    """The dashboard's figures, ready to show. `screen_base`: the public address the
    contest screens' paths are appended to."""

    def tr(key: str, **params: object) -> str:
        return translator.t(key, locale, **params)

    def count(value: float) -> str:
        return number(value, locale)

    labels = [short_week(week, locale) for week in data.weeks]
    o = data.overview
    overview = [
        {"label": tr("dashboard.overview.people"), "value": count(o.users), "detail": ""},
        {
            "label": tr("dashboard.overview.active"),
            "value": count(o.active_this_week),
            "detail": "",
        },
        {
            "label": tr("dashboard.overview.actions"),
            "value": count(o.actions),
            "detail": tr("dashboard.overview.this_week", value=count(o.week_actions)),
        },
        {
            "label": tr("dashboard.overview.co2"),
            "value": tr("dashboard.kg", value=kg(o.co2e_g, locale)),
            "detail": tr(
                "dashboard.overview.this_week",
                value=tr("dashboard.kg", value=kg(o.week_co2e_g, locale)),
            ),
        },
    ]

    contests: list[Json] = []
    for panel in data.contests:
        contest = panel.contest
        chart = None
        if any(value for series in panel.evolution for value in series.per_member):
            chart = charts.line_chart(
                tr("dashboard.chart.evolution", name=contest.name),
                labels,
                [charts.Series(s.name, s.per_member) for s in panel.evolution],
                lambda value: _ratio(value, locale),
            )
        contests.append(
            {
                "name": contest.name,
                "open": contest.status is ContestStatus.OPEN,
                "facts": [
                    {
                        "label": tr("dashboard.contest.status"),
                        "value": tr(f"dashboard.contest.status.{contest.status.value}"),
                    },
                    {"label": tr("dashboard.contest.code"), "value": contest.join_code},
                    {"label": tr("dashboard.contest.teams"), "value": count(panel.teams)},
                    {"label": tr("dashboard.contest.members"), "value": count(panel.members)},
                ],
                "standings": [_standing(row, locale) for row in panel.standings],
                "chart": chart,
                "screen_url": f"{screen_base}/screen/{panel.screen_id}",
            }
        )

    challenges: list[Json] = []
    for item in data.challenges:
        challenge = item.challenge
        target = challenge.weekly_target
        challenges.append(
            {
                "title": challenge.title,
                "progress": min(1.0, item.week_total / target) if target else 0.0,
                "progress_text": tr(
                    "dashboard.challenge.progress",
                    total=count(item.week_total),
                    target=count(target),
                ),
                "facts": [
                    {
                        "label": tr("dashboard.challenge.participants"),
                        "value": count(item.participants),
                    },
                    {
                        "label": tr("dashboard.challenge.pledge_met"),
                        "value": tr(
                            "dashboard.challenge.weeks_of",
                            met=count(item.pledge_met_weeks),
                            weeks=counted("count.weeks", item.archived_weeks, locale, translator),
                        ),
                    },
                    {
                        "label": tr("dashboard.challenge.ends"),
                        "value": long_date(item.last_day, locale),
                    },
                ],
                "pledge": challenge.pledge,
                "chart": charts.grouped_bars(
                    tr("dashboard.chart.challenge", title=challenge.title),
                    labels,
                    [charts.Series(tr("dashboard.chart.week_total"), item.totals)],
                    count,
                    whole=True,
                    target=(tr("dashboard.chart.target", target=count(target)), target),
                )
                if any(item.totals)
                else None,
            }
        )

    categories: list[str] = []
    for row in data.actions:
        if row.category not in categories:
            categories.append(row.category)
    by_key = {(row.week, row.category): row for row in data.actions}
    shown = [c for c in categories if any(by_key[w, c].actions for w in data.weeks)]
    actions_chart = None
    co2_chart = None
    if shown:
        actions_chart = charts.stacked_bars(
            tr("dashboard.chart.actions"),
            labels,
            [
                charts.Series(
                    _category_label(translator, locale, c),
                    [by_key[w, c].actions for w in data.weeks],
                )
                for c in shown
            ],
            count,
            whole=True,
        )
        co2_chart = charts.stacked_bars(
            tr("dashboard.chart.co2"),
            labels,
            [
                charts.Series(
                    _category_label(translator, locale, c),
                    [by_key[w, c].co2e_g / 1000 for w in data.weeks],
                )
                for c in shown
            ],
            lambda value: number(value, locale, "#,##0.#"),
        )
    this_week = data.weeks[-1]
    category_rows = [
        {
            "category": _category_label(translator, locale, c),
            "actions": count(by_key[this_week, c].actions),
            "co2": tr("dashboard.kg", value=kg(by_key[this_week, c].co2e_g, locale)),
        }
        for c in shown
        if by_key[this_week, c].actions
    ]

    offers_chart = None
    if any(w.posted or w.reserved or w.picked_up for w in data.offers):
        offers_chart = charts.grouped_bars(
            tr("dashboard.chart.offers"),
            labels,
            [
                charts.Series(tr("dashboard.offers.posted"), [w.posted for w in data.offers]),
                charts.Series(tr("dashboard.offers.reserved"), [w.reserved for w in data.offers]),
                charts.Series(tr("dashboard.offers.picked_up"), [w.picked_up for w in data.offers]),
            ],
            count,
            whole=True,
        )
    totals = data.offer_totals
    offers = {
        "chart": offers_chart,
        "facts": [
            {"label": tr("dashboard.offers.open_now"), "value": count(totals.open_now)},
            {"label": tr("dashboard.offers.posted"), "value": count(totals.posted)},
            {"label": tr("dashboard.offers.reserved"), "value": count(totals.reserved)},
            {"label": tr("dashboard.offers.picked_up"), "value": count(totals.picked_up)},
        ],
    }

    return {
        "week": tr("dashboard.week", week=long_date(data.weeks[-1], locale)),
        "overview": overview,
        "contests": contests,
        "challenges": challenges,
        "actions": {
            "chart": actions_chart,
            "co2_chart": co2_chart,
            "rows": category_rows,
            "empty": tr("dashboard.no_action"),
        },
        "offers": offers,
        "moderation": _moderation(translator, locale, data.moderation),
        "exports": [
            {"kind": kind, "label": tr(f"dashboard.export.{kind}")} for kind in EXPORT_KINDS
        ],
    }


def screen_json(screen: ContestScreen, translator: Translator, locale: str) -> Json:
    def tr(key: str, **params: object) -> str:
        return translator.t(key, locale, **params)

    def count(value: float) -> str:
        return number(value, locale)

    rows = [_standing(row, locale) for row in screen.rows]
    leader = max((row["value"] for row in rows), default=0.0)
    for row in rows:
        row["share"] = row["value"] / leader if leader else 0.0
    others = screen.teams - len(rows)
    return {
        "name": screen.contest.name,
        "open": screen.contest.status is ContestStatus.OPEN,
        "week": tr("screen.week", week=long_date(screen.week, locale)),
        "rows": rows,
        "per_member": tr("screen.per_member"),
        "others": (
            tr("screen.others", count=counted("count.teams", others, locale, translator))
            if others > 0
            else ""
        ),
        "totals": [
            {"label": tr("screen.total.week_actions"), "value": count(screen.week_actions)},
            {"label": tr("screen.total.week_active"), "value": count(screen.week_active)},
            {
                "label": tr("screen.total.week_co2"),
                "value": tr("dashboard.kg", value=kg(screen.week_co2e_g, locale)),
            },
            {"label": tr("screen.total.actions"), "value": count(screen.actions)},
            {
                "label": tr("screen.total.co2"),
                "value": tr("dashboard.kg", value=kg(screen.co2e_g, locale)),
            },
        ],
    }


# ---------------------------------------------------------------- opening it from Telegram


def dashboard_url(base: str, locale: str) -> str:
    """The Mini App's address (WEB_BASE_URL + /app/), in the organiser's language."""
    return f"{base}/app/?lang={quote(locale)}"


def dashboard_keyboard(base: str, locale: str, text: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=text, web_app=WebAppInfo(url=dashboard_url(base, locale)))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def set_dashboard_menus(
    bot: Bot,
    base: str,
    translator: Translator,
    sessionmaker: async_sessionmaker[AsyncSession],
    organiser_ids: Iterable[int],
) -> None:
    """The menu button of each organiser's chat with the bot opens the dashboard (in the
    organiser's language). Set at start-up, like the organisers' commands; someone no
    longer an organiser keeps the button until then, and the dashboard refuses them."""
    ids = sorted(set(organiser_ids))
    async with sessionmaker() as session:
        known = await read_users(session, ids)
    for organiser_id in ids:
        columns = known[organiser_id].columns or {}
        locale = translator.resolve_locale(
            columns.get("language"), columns.get("telegram_language")
        )
        button = MenuButtonWebApp(
            text=translator.t("dashboard.menu_button", locale),
            web_app=WebAppInfo(url=dashboard_url(base, locale)),
        )
        try:
            await bot.set_chat_menu_button(chat_id=organiser_id, menu_button=button)
        except (TelegramBadRequest, TelegramForbiddenError) as error:
            # An organiser who never opened a chat with the bot (or blocked it) has none.
            logger.warning("no dashboard button for %s: %s", organiser_id, error.message)
