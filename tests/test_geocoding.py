"""The offline gazetteer: matching that forgives spelling, France first, honest misses."""

from __future__ import annotations

import math

import pytest

from bot.services.geocoding import (
    lookup_place,
    normalize_name,
    validate_coordinates,
)


@pytest.mark.parametrize(
    "query",
    [
        "Saint-Étienne",
        "saint etienne",
        "St-Étienne",
        "ST ETIENNE",
        "st. étienne",
        " Saint Etienne ",
    ],
)
def test_saint_accent_case_and_hyphen_variants_find_the_same_town(query: str) -> None:
    place = lookup_place(query)
    assert place is not None
    assert place.name == "Saint-Étienne"
    assert place.country_code == "FR"
    assert place.population > 100_000
    assert 45.3 < place.latitude < 45.5
    assert 4.3 < place.longitude < 4.5


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("NANCY", "Nancy"),
        ("bordeaux", "Bordeaux"),
        ("aix en provence", "Aix-en-Provence"),
        ("L'Haÿ-les-Roses", "L'Haÿ-les-Roses"),
        ("l hay les roses", "L'Haÿ-les-Roses"),
        ("Ste-Foy-la-Grande", "Sainte-Foy-la-Grande"),
        ("merignac", "Mérignac"),
    ],
)
def test_french_towns_are_found_whatever_the_spelling(query: str, name: str) -> None:
    place = lookup_place(query)
    assert place is not None
    assert (place.name, place.country_code) == (name, "FR")


def test_france_wins_over_bigger_namesakes_abroad() -> None:
    # Paris (Texas), Valencia ("Valence" in French) and others are bigger or as big.
    assert lookup_place("Paris") == lookup_place("paris")
    paris = lookup_place("Paris")
    assert paris is not None
    assert paris.country_code == "FR"
    valence = lookup_place("Valence")
    assert valence is not None
    assert (valence.name, valence.country_code) == ("Valence", "FR")


def test_among_same_country_namesakes_the_most_populous_wins() -> None:
    place = lookup_place("Saint-Denis")
    assert place is not None
    assert place.country_code == "FR"
    # Saint-Denis near Paris (~100,000 people) beats the many small French Saint-Denis.
    assert place.population > 90_000
    assert place.latitude == pytest.approx(48.94, abs=0.05)


def test_a_french_town_is_not_shadowed_by_another_towns_alternate_name() -> None:
    # "Lans" is a village of its own, even though Lens lists "lans" among its names.
    place = lookup_place("Lans")
    assert place is not None
    assert place.name == "Lans"


def test_foreign_names_of_big_cities_abroad_are_understood() -> None:
    london = lookup_place("Londres")
    assert london is not None
    assert (london.name, london.country_code) == ("London", "GB")


@pytest.mark.parametrize("query", ["nowhere-xyz", "", "   ", "!!!", "x" * 500, "Москва-нет"])
def test_unknown_or_empty_queries_find_nothing(query: str) -> None:
    assert lookup_place(query) is None


def test_postcodes_resolve_to_their_main_commune() -> None:
    place = lookup_place(" 33000 ")
    assert place is not None
    assert place.name == "Bordeaux"
    assert lookup_place("99999") is None


def test_normalize_name() -> None:
    assert normalize_name("St-Étienne-du-Rouvray") == "saint etienne du rouvray"
    assert normalize_name("Œuilly") == normalize_name("oeuilly") == "oeuilly"
    assert normalize_name("Ste  Marie") == "sainte marie"
    assert normalize_name("Stenay") == "stenay"  # only whole words are abbreviations


@pytest.mark.parametrize(
    ("lat", "lon", "valid"),
    [
        (44.84, -0.58, True),
        (0.0, 0.0, True),
        (90.0, 180.0, True),
        (-90.0, -180.0, True),
        (90.000001, 0.0, False),
        (91.0, 0.0, False),
        (-91.0, 0.0, False),
        (0.0, 180.5, False),
        (0.0, -181.0, False),
        (999.0, 0.0, False),
        (math.nan, 0.0, False),
        (0.0, math.nan, False),
        (math.inf, 0.0, False),
        (0.0, -math.inf, False),
    ],
)
def test_validate_coordinates(lat: float, lon: float, valid: bool) -> None:
    assert validate_coordinates(lat, lon) is valid
