"""What recurring offers look like: the "🔁 Repeat" button an offer carries for its poster,
the choice of days, a template's line on the templates screen and its buttons."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_skeleton, get_day_names

from bot.services import offer_templates
from bot.services.offer_templates import TemplateEntry
from bot.ui.callbacks.offer_templates import TemplateAction, TemplateCb
from bot.ui.formatting import babel_locale, clock_time, escape
from bot.ui.i18n import current_translator, t, tn
from models import OfferTemplate


def _locale() -> str:
    """The Babel locale of the update's language (see bot.ui.formatting.babel_locale)."""
    return babel_locale(str(current_translator().current_locale))


def repeat_button(offer_id: int) -> InlineKeyboardButton:
    """Under one of the poster's own offers (/myoffers, the publish confirmation)."""
    return InlineKeyboardButton(
        text=t("offer_templates.button.repeat"),
        callback_data=TemplateCb(action=TemplateAction.NEW, target=offer_id).pack(),
    )


def repeat_keyboard(offer_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[repeat_button(offer_id)]])


def list_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("offer_templates.button.list"),
        callback_data=TemplateCb(action=TemplateAction.LIST).pack(),
    )


def list_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[list_button()]])


def templates_entry(count: int) -> tuple[str, InlineKeyboardMarkup] | None:
    """The way to the templates screen from /myoffers, for someone who has templates."""
    if count <= 0:
        return None
    text = tn("offer_templates.entry", count, count=count)
    return text, list_keyboard()


def days_label(days: int) -> str:
    if days == offer_templates.EVERY_DAY:
        return t("offer_templates.days.every_day")
    if days == offer_templates.WEEKDAYS:
        return t("offer_templates.days.weekdays")
    names = get_day_names("abbreviated", locale=_locale())
    return ", ".join(names[weekday] for weekday in range(7) if days >> weekday & 1)


def window_label(start: time, end: time) -> str:
    locale = str(current_translator().current_locale)
    return t(
        "offer_templates.window",
        start=clock_time(start, locale),
        end=clock_time(end, locale),
    )


def _day(day: date | datetime) -> str:
    return format_skeleton("MMMEd", day, locale=_locale())


def next_label(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return t(
        "offer_templates.next",
        day=_day(local),
        time=clock_time(local, str(current_translator().current_locale)),
    )


def days_question(title: str, start: time, end: time) -> str:
    return t("offer_templates.ask_days", title=escape(title), window=window_label(start, end))


def days_keyboard(offer_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for label, days in (
        ("offer_templates.days.every_day", offer_templates.EVERY_DAY),
        ("offer_templates.days.weekdays", offer_templates.WEEKDAYS),
    ):
        builder.button(
            text=t(label),
            callback_data=TemplateCb(action=TemplateAction.SAVE, target=offer_id, days=days),
        )
    builder.button(
        text=t("offer_templates.days.pick"),
        callback_data=TemplateCb(action=TemplateAction.PICK, target=offer_id, days=0),
    )
    builder.adjust(1)
    return builder.as_markup()


def picker_keyboard(offer_id: int, days: int) -> InlineKeyboardMarkup:
    """Seven toggles (the choice so far travels in the buttons: no conversation state)."""
    builder = InlineKeyboardBuilder()
    names = get_day_names("abbreviated", locale=_locale())
    for weekday in range(7):
        bit = 1 << weekday
        mark = "✅ " if days & bit else ""
        builder.button(
            text=mark + names[weekday],
            callback_data=TemplateCb(action=TemplateAction.PICK, target=offer_id, days=days ^ bit),
        )
    builder.button(
        text=t("offer_templates.days.save"),
        callback_data=TemplateCb(action=TemplateAction.SAVE, target=offer_id, days=days),
    )
    builder.adjust(4, 3, 1)
    return builder.as_markup()


def saved_text(template: OfferTemplate, next_start: datetime | None) -> str:
    zone = offer_templates.zone_named(template.timezone)
    lines = [
        t(
            "offer_templates.saved",
            title=escape(template.title),
            days=days_label(template.days),
            window=window_label(template.start_time, template.end_time),
        )
    ]
    if next_start is not None:
        lines.append(next_label(next_start, zone))
    return "\n".join(lines)


def entry_text(entry: TemplateEntry) -> str:
    template = entry.template
    zone = offer_templates.zone_named(template.timezone)
    lines = [
        f"🔁 <b>{escape(template.title)}</b>",
        days_label(template.days) + " · " + window_label(template.start_time, template.end_time),
    ]
    if template.paused:
        lines.append(t("offer_templates.paused"))
    elif entry.next_start is not None:
        lines.append(next_label(entry.next_start, zone))
    if entry.skipped:
        lines.append(t("offer_templates.skipped", days=", ".join(_day(d) for d in entry.skipped)))
    return "\n".join(lines)


def entry_keyboard(entry: TemplateEntry) -> InlineKeyboardMarkup:
    template_id = entry.template.id
    builder = InlineKeyboardBuilder()

    def button(key: str, action: TemplateAction) -> None:
        builder.button(text=t(key), callback_data=TemplateCb(action=action, target=template_id))

    if entry.template.paused:
        button("offer_templates.button.resume", TemplateAction.RESUME)
    else:
        button("offer_templates.button.pause", TemplateAction.PAUSE)
        if entry.next_start is not None:
            button("offer_templates.button.skip", TemplateAction.SKIP)
    if entry.skipped:
        button("offer_templates.button.unskip", TemplateAction.UNSKIP)
    button("offer_templates.button.delete", TemplateAction.DELETE)
    builder.adjust(1)
    return builder.as_markup()
