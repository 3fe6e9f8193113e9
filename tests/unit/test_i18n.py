"""Every key used in the code exists in French and English, and vice versa."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.core.settings import PROJECT_ROOT
from bot.ui.i18n import create_translator

SOURCE_DIRS = ("bot", "handlers", "models")
# t("key"...), translator.t("key", ...), _key="..." constants ending in keys:
KEY_CALL = re.compile(r"""\bt\(\s*f?["']([a-z0-9_]+(?:\.[a-z0-9_{}]+)+)["']""")
KEY_LITERAL = re.compile(r"""["']((?:[a-z0-9_]+)(?:\.[a-z0-9_]+){1,4})["']""")


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for folder in SOURCE_DIRS:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            keys.update(KEY_CALL.findall(path.read_text(encoding="utf-8")))
    return {key for key in keys if "{" not in key}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(scope="module")
def translator():  # type: ignore[no-untyped-def]
    return create_translator(PROJECT_ROOT / "locales", "fr")


def test_both_languages_have_the_same_keys(translator) -> None:  # type: ignore[no-untyped-def]
    fr = set(translator.keys("fr"))
    en = set(translator.keys("en"))
    assert fr - en == set(), "keys missing in English"
    assert en - fr == set(), "keys missing in French"


def test_every_key_used_in_code_is_translated(translator) -> None:  # type: ignore[no-untyped-def]
    known = set(translator.keys("fr"))
    missing = sorted(_used_keys() - known)
    assert missing == []


def test_translations_are_filled_and_placeholders_agree(translator) -> None:  # type: ignore[no-untyped-def]
    plural = translator.plural_keys("fr")
    assert plural == translator.plural_keys("en")
    for key in translator.keys("fr"):
        if key in plural:
            forms = {
                locale: [translator.gettext(key, key, n, locale=locale) for n in (0, 1, 2, 21)]
                for locale in ("fr", "en")
            }
            for texts in forms.values():
                assert all(text and text != key for text in texts), key
            assert _placeholders(forms["fr"][2]) == _placeholders(forms["en"][2]), key
            continue
        fr = translator.t(key, "fr")
        en = translator.t(key, "en")
        assert fr and fr != key, f"{key} has no French text"
        assert en and en != key, f"{key} has no English text"
        assert _placeholders(fr) == _placeholders(en), key


def test_no_plural_hack_nor_inclusive_dot_is_left(translator) -> None:  # type: ignore[no-untyped-def]
    """A number meets a noun through gettext plural forms (locales/*/plurals.po), never
    "éco-geste(s)"; French is written without the median dot ("participant·es"): neutral
    wording instead, the same everywhere."""
    hacks = re.compile(r"\w\((?:s|e|es)\)|\w·\w")
    offending = []
    for locale in ("fr", "en"):
        for key in set(translator.keys(locale)) - translator.plural_keys(locale):
            text = translator.t(key, locale)
            if hacks.search(text.replace("Greenhood · ", "")):
                offending.append(f"{locale} {key}: {text[:60]}")
    assert offending == []


def test_count_fragments_follow_each_language(translator) -> None:  # type: ignore[no-untyped-def]
    assert [translator.tn("count.weeks", n, "fr") for n in (0, 1, 2)] == [
        "0 semaine",
        "1 semaine",
        "2 semaines",
    ]
    assert [translator.tn("count.weeks", n, "en") for n in (0, 1, 2)] == [
        "0 weeks",
        "1 week",
        "2 weeks",
    ]


def test_language_resolution(translator) -> None:  # type: ignore[no-untyped-def]
    assert translator.resolve_locale(None, "en-GB") == "en"
    assert translator.resolve_locale("fr", "en") == "fr"
    assert translator.resolve_locale(None, "de") == "fr"
    assert translator.resolve_locale(None, None) == "fr"
    assert translator.resolve_locale("", "EN_us") == "en"


def test_duplicate_key_across_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    for name in ("a.po", "b.po"):
        (folder / name).write_text('msgid "x.y"\nmsgstr "z"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="defined twice"):
        create_translator(tmp_path, "fr")


def test_plural_forms_follow_each_language(translator) -> None:  # type: ignore[no-untyped-def]
    """French puts 0 and 1 in the singular, English only 1 (gettext plural forms)."""
    fr = [translator.tn("events.card.places_left", n, "fr", count=n) for n in (0, 1, 2)]
    en = [translator.tn("events.card.places_left", n, "en", count=n) for n in (0, 1, 2)]
    assert fr == ["0 place restante", "1 place restante", "2 places restantes"]
    assert en == ["0 places left", "1 place left", "2 places left"]


def test_help_lists_every_command_in_a_section() -> None:
    from bot.ui.views.help import SECTIONS
    from handlers import get_commands

    listed = {name for names in SECTIONS.values() for name in names}
    assert {spec.name for spec in get_commands()} <= listed


def test_help_is_built_once_per_language_and_kind_of_chat() -> None:
    from bot.ui.views.help import help_text
    from handlers import get_commands

    translator = create_translator(PROJECT_ROOT / "locales", "fr")
    specs = get_commands()
    texts: dict[tuple[str, bool], str] = {}
    with translator.context():
        for language in ("fr", "en"):
            with translator.use_locale(language):
                for organiser in (False, True):
                    texts[language, organiser] = help_text(specs, organiser=organiser, group=False)
                    again = help_text(specs, organiser=organiser, group=False)
                    assert again is texts[language, organiser]  # from the cache
        # Each language and role its own text, in its own language.
        assert len(set(texts.values())) == 4
        assert texts["fr", False].startswith(translator.t("help.title", "fr"))
        assert texts["en", False].startswith(translator.t("help.title", "en"))
        assert "/newchallenge" in texts["en", True] and "/newchallenge" not in texts["en", False]
        with translator.use_locale("en"):
            # Another command list is never answered with a text built from the first.
            fewer = [spec for spec in specs if spec.name != "neighbours"]
            assert "/neighbours" not in help_text(fewer, organiser=False, group=False)
            # Reloaded catalogues: built again.
            translator.reload()
            assert help_text(specs, organiser=False, group=False) is not texts["en", False]


def test_the_me_keyboard_is_built_once_per_language_and_name_choice() -> None:
    from aiogram.types import InlineKeyboardMarkup

    from bot.services.actions import MyFigures
    from bot.ui.views.cards import me_screen_keyboard

    translator = create_translator(PROJECT_ROOT / "locales", "fr")
    boards: dict[tuple[str, bool], InlineKeyboardMarkup] = {}
    with translator.context():
        for language in ("fr", "en"):
            with translator.use_locale(language):
                for shown in (False, True):
                    figures = MyFigures(3, 1200, 2, 10, 4000, show_name=shown)
                    boards[language, shown] = me_screen_keyboard(figures)
                    assert me_screen_keyboard(figures) is boards[language, shown]
    texts = {
        key: [button.text for row in board.inline_keyboard for button in row]
        for key, board in boards.items()
    }
    assert len({tuple(buttons) for buttons in texts.values()}) == 4
    assert translator.t("me.button.show_name", "en") in texts["en", False]
    assert translator.t("me.button.hide_name", "fr") in texts["fr", True]
