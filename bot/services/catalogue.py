"""The eco-action catalogue (PRODUCT.md §2.4): `data/actions.yaml`, loaded and checked.

Every action has a stable slug, a category, a French and an English title, the
estimated kg CO2e one occurrence avoids (a `Decimal`, so totals add up exactly), what
one occurrence is, a daily cap and the public source of its figure. The file is
validated strictly: a mistake in it stops the bot at start-up with a message naming
the action, rather than surfacing later as a wrong number in a challenge.

Pure: no Telegram, no database. Nothing is read at import time; `default_catalogue()`
reads the shipped file once, on first use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

DEFAULT_CATALOGUE_PATH = PROJECT_ROOT / "data" / "actions.yaml"
SLUG_PATTERN = re.compile(r"[a-z0-9_]{1,24}")
MAX_TITLE_LENGTH = 40
"""A title is a button label on a phone: longer ones get cut by Telegram clients."""

_REQUIRED_KEYS = frozenset({"slug", "category", "title", "co2e_kg", "unit", "daily_cap", "source"})
_SOURCE_KEYS = frozenset({"name", "url", "note"})


class CatalogueError(ValueError):
    """The catalogue file is missing, unreadable or breaks a rule of its schema."""


class ActionCategory(StrEnum):
    """The categories of PRODUCT.md §2.4, in the order the `/act` keyboard shows them."""

    FOOD = "food"
    TRANSPORT = "transport"
    ENERGY = "energy"
    WASTE = "waste"
    WATER = "water"
    CONSUMPTION = "consumption"


@dataclass(frozen=True, slots=True)
class ActionSource:
    """Where a figure comes from: a public source, or `estimate` with its derivation."""

    name: str
    url: str | None = None
    note: str | None = None

    @property
    def is_estimate(self) -> bool:
        return self.name.strip().lower() == "estimate"


@dataclass(frozen=True, slots=True)
class EcoAction:
    """One loggable eco-action. `titles` and `unit` map a language code to text."""

    slug: str
    category: ActionCategory
    titles: Mapping[str, str] = field(hash=False)
    co2e_kg: Decimal
    unit: Mapping[str, str] = field(hash=False)
    daily_cap: int
    source: ActionSource

    def title(self, language: str) -> str:
        """The title in `language`, falling back to French (the first language)."""
        return self.titles.get(language) or self.titles[SUPPORTED_LANGUAGES[0]]

    def unit_label(self, language: str) -> str:
        """What one occurrence is, in `language`, falling back to French."""
        return self.unit.get(language) or self.unit[SUPPORTED_LANGUAGES[0]]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The actions in file order, with lookups by slug and by category."""

    actions: tuple[EcoAction, ...]
    _by_slug: Mapping[str, EcoAction] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, EcoAction] = {}
        for action in self.actions:
            if action.slug in index:
                raise CatalogueError(f"action {action.slug!r}: duplicate slug")
            index[action.slug] = action
        object.__setattr__(self, "_by_slug", MappingProxyType(index))

    def __iter__(self) -> Iterator[EcoAction]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def by_slug(self, slug: str) -> EcoAction | None:
        return self._by_slug.get(slug)

    def in_category(self, category: ActionCategory) -> list[EcoAction]:
        """The actions of `category`, in file order."""
        return [action for action in self.actions if action.category is category]

    def categories(self) -> list[ActionCategory]:
        """The categories holding at least one action, in `ActionCategory` order."""
        present = {action.category for action in self.actions}
        return [category for category in ActionCategory if category in present]


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate the catalogue at `path` (default: the shipped `data/actions.yaml`).

    Raises `CatalogueError` with a message naming the faulty action.
    """
    path = DEFAULT_CATALOGUE_PATH if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read the catalogue {path}: {exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"the catalogue {path} is not valid YAML: {exc}") from exc
    return parse_catalogue(document)


def parse_catalogue(document: object) -> Catalogue:
    """Validate an already-parsed catalogue document (a mapping with an `actions` list)."""
    if not isinstance(document, dict) or not isinstance(document.get("actions"), list):
        raise CatalogueError("the catalogue must be a mapping with an 'actions' list")
    entries: list[Any] = document["actions"]
    if not entries:
        raise CatalogueError("the catalogue has no actions")
    # Catalogue() itself refuses duplicate slugs.
    return Catalogue(tuple(_parse_action(entry, n) for n, entry in enumerate(entries, start=1)))


@cache
def default_catalogue() -> Catalogue:
    """The shipped catalogue, read once per process on first use."""
    return load_catalogue()


def _parse_action(entry: object, position: int) -> EcoAction:
    if not isinstance(entry, dict):
        raise CatalogueError(f"action #{position}: must be a mapping")
    slug = entry.get("slug")
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise CatalogueError(
            f"action #{position} (slug {slug!r}): the slug must be 1 to 24 characters"
            " among a-z, 0-9 and _"
        )
    where = f"action {slug!r}"

    missing = _REQUIRED_KEYS - entry.keys()
    if missing:
        raise CatalogueError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = entry.keys() - _REQUIRED_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")

    raw_category = entry["category"]
    try:
        category = ActionCategory(raw_category)
    except ValueError:
        allowed = ", ".join(category.value for category in ActionCategory)
        raise CatalogueError(
            f"{where}: unknown category {raw_category!r} (expected one of {allowed})"
        ) from None

    titles = _texts(entry["title"], f"{where}: title")
    for language, title in titles.items():
        if len(title) > MAX_TITLE_LENGTH:
            raise CatalogueError(
                f"{where}: the {language} title is {len(title)} characters long"
                f" (at most {MAX_TITLE_LENGTH})"
            )

    return EcoAction(
        slug=slug,
        category=category,
        titles=titles,
        co2e_kg=_co2e(entry["co2e_kg"], where),
        unit=_texts(entry["unit"], f"{where}: unit"),
        daily_cap=_daily_cap(entry["daily_cap"], where),
        source=_source(entry["source"], where),
    )


def _texts(value: object, where: str) -> Mapping[str, str]:
    """A `{fr: ..., en: ...}` mapping with a non-empty text for every supported language."""
    if not isinstance(value, dict):
        raise CatalogueError(f"{where} must be a mapping of {'/'.join(SUPPORTED_LANGUAGES)}")
    texts: dict[str, str] = {}
    for language in SUPPORTED_LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise CatalogueError(f"{where}: missing the {language} text")
        texts[language] = text.strip()
    unknown = value.keys() - set(SUPPORTED_LANGUAGES)
    if unknown:
        raise CatalogueError(f"{where}: unknown language(s) {', '.join(sorted(map(str, unknown)))}")
    return MappingProxyType(texts)


def _co2e(value: object, where: str) -> Decimal:
    # bool is an int: `co2e_kg: yes` must not become 1 kg.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogueError(f"{where}: co2e_kg must be a number, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CatalogueError(f"{where}: co2e_kg must be a finite number, not {value!r}")
    # Through str, so the YAML's 0.18 is Decimal("0.18"), not the float's binary expansion.
    amount = Decimal(str(value))
    if amount <= 0:
        raise CatalogueError(f"{where}: co2e_kg must be positive, not {value!r}")
    return amount


def _daily_cap(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogueError(f"{where}: daily_cap must be a whole number, not {value!r}")
    if value < 1:
        raise CatalogueError(f"{where}: daily_cap must be at least 1, not {value}")
    return value


def _source(value: object, where: str) -> ActionSource:
    if not isinstance(value, dict):
        raise CatalogueError(f"{where}: source must be a mapping with name, url and/or note")
    unknown = value.keys() - _SOURCE_KEYS
    if unknown:
        raise CatalogueError(
            f"{where}: unknown source key(s) {', '.join(sorted(map(str, unknown)))}"
        )
    name = _optional_text(value.get("name"), f"{where}: source name")
    if name is None:
        raise CatalogueError(f"{where}: the source needs a name (or 'estimate')")
    url = _optional_text(value.get("url"), f"{where}: source url")
    if url is not None and not url.startswith(("https://", "http://")):
        raise CatalogueError(f"{where}: the source url must start with https://, not {url!r}")
    note = _optional_text(value.get("note"), f"{where}: source note")
    if url is None and note is None:
        raise CatalogueError(f"{where}: the source needs a url or a note")
    if name.lower() == "estimate" and note is None:
        raise CatalogueError(f"{where}: an estimate needs a note explaining its derivation")
    return ActionSource(name=name, url=url, note=note)


def _optional_text(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogueError(f"{where} must be text, not {value!r}")
    return value.strip() or None
