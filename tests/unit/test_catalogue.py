"""The eco-action catalogue: the shipped data file and the loader's validation."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from bot.core.settings import PROJECT_ROOT
from bot.services.catalogue import (
    MAX_TITLE_LENGTH,
    ActionCategory,
    Catalogue,
    CatalogueError,
    EcoAction,
    default_catalogue,
    load_catalogue,
)

REQUIRED_SLUGS = ("veggie_meal", "bike_trip", "saved_food", "local_maker")


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue(PROJECT_ROOT / "data" / "actions.yaml")


# --- the shipped file -----------------------------------------------------------


def test_shipped_catalogue_is_large_enough(shipped: Catalogue) -> None:
    assert len(shipped) >= 36
    assert shipped.categories() == list(ActionCategory)
    for category in ActionCategory:
        assert len(shipped.in_category(category)) >= 4, category


def test_required_slugs_are_present(shipped: Catalogue) -> None:
    for slug in REQUIRED_SLUGS:
        assert slug in shipped
        assert shipped.by_slug(slug) is not None
    veggie = shipped.by_slug("veggie_meal")
    assert veggie is not None and veggie.category is ActionCategory.FOOD
    bike = shipped.by_slug("bike_trip")
    assert bike is not None and bike.category is ActionCategory.TRANSPORT


def test_every_action_is_well_formed(shipped: Catalogue) -> None:
    for action in shipped:
        for language in ("fr", "en"):
            assert 0 < len(action.titles[language]) <= MAX_TITLE_LENGTH, action.slug
            assert action.unit[language], action.slug
        assert action.co2e_kg > 0, action.slug
        assert isinstance(action.co2e_kg, Decimal)
        assert action.daily_cap >= 1, action.slug
        assert action.source.name, action.slug
        assert action.source.url or action.source.note, action.slug
        if action.source.is_estimate:
            assert action.source.note, action.slug


def test_figures_are_exact_decimals(shipped: Catalogue) -> None:
    veggie = shipped.by_slug("veggie_meal")
    assert veggie is not None
    assert veggie.co2e_kg == Decimal("3.9")
    # Adding up many logs must not drift as floats would.
    assert sum((veggie.co2e_kg for _ in range(10)), Decimal(0)) == Decimal("39.0")


def test_lookups(shipped: Catalogue) -> None:
    assert shipped.by_slug("no_such_action") is None
    assert "no_such_action" not in shipped
    food = shipped.in_category(ActionCategory.FOOD)
    assert all(action.category is ActionCategory.FOOD for action in food)
    # File order is kept, both overall and within a category.
    assert [a for a in shipped.actions if a.category is ActionCategory.FOOD] == food
    veggie = shipped.by_slug("veggie_meal")
    assert veggie is not None
    assert veggie.title("fr") == "Repas végétarien au lieu de viande"
    assert veggie.title("en") != veggie.title("fr")
    assert veggie.title("de") == veggie.title("fr")
    assert veggie.unit_label("en") == "one meal"


def test_actions_are_immutable_and_hashable(shipped: Catalogue) -> None:
    action = shipped.actions[0]
    assert isinstance(action, EcoAction)
    with pytest.raises(AttributeError):
        action.slug = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        action.titles["fr"] = "autre"  # type: ignore[index]
    assert len({*shipped.actions}) == len(shipped)


def test_default_catalogue_is_cached() -> None:
    first = default_catalogue()
    assert first is default_catalogue()
    assert first.by_slug("local_maker") is not None


# --- validation -----------------------------------------------------------------

GOOD_ENTRY = """\
  - slug: {slug}
    category: food
    title: {{fr: Repas végétarien, en: Vegetarian meal}}
    co2e_kg: 3.9
    unit: {{fr: un repas, en: one meal}}
    daily_cap: 3
    source: {{name: ADEME Impact CO2, url: "https://impactco2.fr"}}
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "actions.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def entry(slug: str = "veggie_meal", **replace: str) -> str:
    """One valid entry, with some of its lines replaced (`key="value"`, raw YAML)."""
    lines = GOOD_ENTRY.format(slug=slug).splitlines()
    out = []
    for line in lines:
        key = line.strip().removeprefix("- ").split(":", 1)[0]
        if key in replace:
            if replace[key]:
                indent = line[: len(line) - len(line.lstrip())]
                prefix = "- " if line.lstrip().startswith("- ") else ""
                out.append(f"{indent}{prefix}{key}: {replace[key]}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def load_entries(tmp_path: Path, *entries: str) -> Catalogue:
    return load_catalogue(write(tmp_path, "actions:\n" + "".join(entries)))


def test_a_minimal_valid_file_loads(tmp_path: Path) -> None:
    catalogue = load_entries(tmp_path, entry("veggie_meal"), entry("bike_trip"))
    assert [action.slug for action in catalogue] == ["veggie_meal", "bike_trip"]
    assert catalogue.categories() == [ActionCategory.FOOD]


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"category": "gardening"}, "unknown category 'gardening'"),
        ({"title": "{fr: Repas végétarien}"}, "title: missing the en text"),
        ({"title": '{fr: "", en: Vegetarian meal}'}, "title: missing the fr text"),
        ({"title": f"{{fr: {'x' * 41}, en: ok}}"}, "41 characters"),
        ({"unit": "{en: one meal}"}, "unit: missing the fr text"),
        ({"co2e_kg": "0"}, "co2e_kg must be positive"),
        ({"co2e_kg": "-1.5"}, "co2e_kg must be positive"),
        ({"co2e_kg": "lots"}, "co2e_kg must be a number"),
        ({"co2e_kg": "true"}, "co2e_kg must be a number"),
        ({"co2e_kg": ".nan"}, "finite"),
        ({"daily_cap": "0"}, "daily_cap must be at least 1"),
        ({"daily_cap": "2.5"}, "daily_cap must be a whole number"),
        ({"source": "{url: 'https://impactco2.fr'}"}, "source needs a name"),
        ({"source": "{name: ADEME}"}, "needs a url or a note"),
        ({"source": "{name: estimate, url: 'https://impactco2.fr'}"}, "estimate needs a note"),
        ({"source": "{name: ADEME, url: 'impactco2.fr'}"}, "must start with https://"),
        ({"source": "{name: ADEME, note: ok, year: 2023}"}, "unknown source key(s) year"),
        ({"daily_cap": ""}, "missing daily_cap"),
    ],
)
def test_invalid_entries_are_refused_naming_the_slug(
    tmp_path: Path, replace: dict[str, str], message: str
) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_entries(tmp_path, entry("bike_trip"), entry("veggie_meal", **replace))
    assert "'veggie_meal'" in str(caught.value)
    assert message in str(caught.value)


def test_duplicate_slugs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="'veggie_meal': duplicate slug"):
        load_entries(tmp_path, entry("veggie_meal"), entry("bike_trip"), entry("veggie_meal"))


@pytest.mark.parametrize(
    "slug",
    ["Veggie_Meal", "veggie-meal", "végé", "a" * 25, '""', "12 x"],
)
def test_bad_slugs_are_refused(tmp_path: Path, slug: str) -> None:
    with pytest.raises(CatalogueError, match=r"action #2 .*the slug must be"):
        load_entries(tmp_path, entry("bike_trip"), entry(slug))


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    body = entry("veggie_meal") + "    emoji: x\n"
    with pytest.raises(CatalogueError, match="'veggie_meal': unknown key"):
        load_entries(tmp_path, body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "must be a mapping with an 'actions' list"),
        ("- slug: veggie_meal\n", "must be a mapping with an 'actions' list"),
        ("actions: []\n", "has no actions"),
        ("actions:\n  - just text\n", "action #1: must be a mapping"),
        ("actions: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(write(tmp_path, body))


def test_missing_file_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue(tmp_path / "nowhere.yaml")
