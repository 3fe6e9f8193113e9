"""Gettext catalogs from `locales/`, compiled in memory at start-up.

Every feature keeps its strings in its own catalogue file
(`locales/<lang>/LC_MESSAGES/<feature>.po`); they are merged into one translation per
language, so features never fight over one file. Message ids are keys such as
`start.greeting`, and every key has a French and an English text.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core.settings import SUPPORTED_LANGUAGES

P = ParamSpec("P")
T = TypeVar("T")


def load_catalog(locale_dir: Path, locale: str) -> Catalog:
    """Merge every .po file of one language into a single catalogue."""
    merged = Catalog(locale=locale, domain="messages")
    for po_path in sorted((locale_dir / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            part = read_po(handle, locale=locale)
        for message in part:
            if not message.id:
                continue
            if merged.get(message.id) is not None:
                raise ValueError(f"{po_path}: key {message.id!r} is defined twice")
            merged.add(message.id, message.string)
    return merged


def compile_catalog(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator(I18n):
    """aiogram's I18n, fed from .po files compiled at start instead of committed .mo files."""

    def __init__(self, *, path: Path, default_locale: str = "fr") -> None:
        # A menu button's texts, asked for by several routers' filters on every text
        # message; emptied when the catalogues are reloaded.
        self._every_translation: dict[str, frozenset[str]] = {}
        self._rendered: dict[tuple[str, Hashable], tuple[object, Any]] = {}
        super().__init__(path=path, default_locale=default_locale, domain="messages")

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for locale in SUPPORTED_LANGUAGES:
            locale_dir = self.path / locale
            if locale_dir.is_dir():
                translations[locale] = compile_catalog(load_catalog(locale_dir, locale))
        if self.default_locale not in translations:
            raise RuntimeError(f"no catalogue for the default language {self.default_locale!r}")
        return translations

    def reload(self) -> None:
        super().reload()
        self._every_translation = {}
        self._rendered = {}

    def resolve_locale(self, *candidates: str | None) -> str:
        """The first candidate we have a catalogue for ('en-GB' counts as 'en')."""
        for candidate in candidates:
            if not candidate:
                continue
            base = candidate.lower().replace("_", "-").split("-")[0]
            if base in self.locales:
                return base
        return self.default_locale

    def t(self, key: str, locale: str | None = None, /, **params: object) -> str:
        """Translate `key` into `locale` (the current one if None) and fill `{params}`."""
        text = self.gettext(key, locale=locale)
        return text.format(**params) if params else text

    def tn(self, key: str, count: int, locale: str | None = None, /, **params: object) -> str:
        """`key` in the plural form of `locale` that fits `count` (gettext plural forms:
        French says "1 éco-geste, 0 éco-geste, 2 éco-gestes", English "0 eco-actions");
        `{count}` in the text is the number as given in `params`, else `count` itself."""
        text = self.gettext(key, key, count, locale=locale)
        return text.format(**{"count": count, **params})

    def plural_keys(self, locale: str) -> set[str]:
        """The keys with plural forms."""
        return {
            str(message.id[0])
            for message in load_catalog(self.path / locale, locale)
            if isinstance(message.id, tuple)
        }

    def every_translation(self, key: str) -> frozenset[str]:
        """The text of `key` in every language, to recognise a keyboard button in any of them."""
        texts = self._every_translation.get(key)
        if texts is None:
            texts = frozenset(self.gettext(key, locale=locale) for locale in self.locales)
            self._every_translation[key] = texts
        return texts

    def rendered(self, key: Hashable, build: Callable[[], T], *, source: object) -> T:
        """A text or a keyboard made only of translations and `source` (which must not
        change), built once per language: `build` runs in the current language the first
        time. A hit needs the very same `source` object, so another one never gets a stale
        one. What is built is shared by every caller: it is never changed after."""
        cache_key = (self.current_locale, key)
        cached = self._rendered.get(cache_key)
        if cached is not None and cached[0] is source:
            return cast(T, cached[1])
        text = build()
        self._rendered[cache_key] = (source, text)
        return text

    def keys(self, locale: str) -> Iterable[str]:
        # A plural entry's id is (singular, plural): the singular is its key.
        return [
            str(message.id[0] if isinstance(message.id, tuple) else message.id)
            for message in load_catalog(self.path / locale, locale)
            if message.id
        ]


def create_translator(locales_dir: Path, default_locale: str) -> Translator:
    return Translator(path=locales_dir, default_locale=default_locale)


def current_translator() -> Translator:
    translator = Translator.get_current(no_error=False)
    if not isinstance(translator, Translator):  # pragma: no cover - wiring error
        raise TypeError("the active I18n is not a Translator")
    return translator


def t(key: str, /, **params: object) -> str:
    """Translate into the language of the update being handled.

    Values in `params` are inserted as they are: escape user-supplied text first
    (`bot.formatting.escape`), since messages are sent as HTML.
    """
    return current_translator().t(key, None, **params)


def tn(key: str, count: int, /, **params: object) -> str:
    """`t` for a text about a number of things, in the plural form that fits `count`."""
    return current_translator().tn(key, count, None, **params)


def per_locale(build: Callable[P, T]) -> Callable[P, T]:
    """Build once per translator, language and arguments, then reuse: for localized
    content that nobody modifies afterwards, such as the main-menu keyboard that goes with
    most replies (building a keyboard costs more than the rest of handling a /help).
    Arguments must be hashable."""
    built: dict[tuple[Hashable, ...], Any] = {}

    @functools.wraps(build)
    def cached(*args: P.args, **kwargs: P.kwargs) -> T:
        translator = current_translator()
        key = (id(translator), translator.current_locale, args, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = build(*args, **kwargs)
        result: T = built[key]
        return result

    return cached
