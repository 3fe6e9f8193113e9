"""/help: every command a person can use where they are, grouped, from the same command
list Telegram's menu is registered from (nothing to keep in step by hand)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.ui.commands import CommandSpec, Scope
from bot.ui.i18n import current_translator, t

# The section of each command, in the order /help lists them.
SECTIONS: dict[str, tuple[str, ...]] = {
    "help.section.act": ("act", "me", "challenges", "leaderboard", "team"),
    "help.section.local": (
        "makers",
        "favourites",
        "offers",
        "newoffer",
        "myoffers",
        "alerts",
        "events",
        "myevents",
        "newevent",
        "neighbours",
        "maker",
    ),
    "help.section.organisers": (
        "newchallenge",
        "contest",
        "broadcast",
        "moderation",
        "stats",
        "export",
    ),
    "help.section.you": ("start", "settings", "language", "cancel", "forget", "help"),
}


def help_text(specs: Sequence[CommandSpec], *, organiser: bool, group: bool) -> str:
    """The commands of this chat's kind (a group's, or a private chat's with the
    organisers' on top for an organiser), by section; built once per language and kind
    of chat (some thirty translations each)."""
    return current_translator().rendered(
        ("help", organiser, group),
        lambda: _help_text(specs, organiser=organiser, group=group),
        source=specs,
    )


def _help_text(specs: Sequence[CommandSpec], *, organiser: bool, group: bool) -> str:
    if group:
        wanted: set[Scope] = {Scope.GROUP}
    else:
        wanted = {Scope.PRIVATE, Scope.ORGANISER} if organiser else {Scope.PRIVATE}
    available = {spec.name: spec for spec in specs if spec.scopes & wanted}
    parts = [t("help.title")]
    for section, names in SECTIONS.items():
        lines = [
            f"/{name} — {t(available[name].description_key)}" for name in names if name in available
        ]
        if lines:
            parts.append(f"<b>{t(section)}</b>\n" + "\n".join(lines))
    if not group:
        parts.append(t("help.menu_hint"))
    return "\n\n".join(parts)
