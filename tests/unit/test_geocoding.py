"""The offline gazetteer: matching that forgives spelling, France first, honest misses."""

from __future__ import annotations

import math

import pytest

from bot.services.geo.geocoding import lookup_place, normalize_name, validate_coordinates


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


def test_the_most_populous_namesake_wins() -> None:
    assert lookup_place("Paris") == lookup_place("paris")
    paris = lookup_place("Paris")
    assert paris is not None
    assert paris.population > 2_000_000
    # Valence (Drôme, ~64,000 people) beats the villages of the same name.
    valence = lookup_place("Valence")
    assert valence is not None
    assert (valence.name, valence.country_code) == ("Valence", "FR")
    assert valence.latitude == pytest.approx(44.93, abs=0.05)


def test_metropolitan_france_wins_over_overseas_namesakes() -> None:
    place = lookup_place("Saint-Denis")
    assert place is not None
    assert place.country_code == "FR"
    # Saint-Denis near Paris (~140,000 people) beats Saint-Denis de La Réunion (a bit
    # bigger) and the many small metropolitan Saint-Denis.
    assert place.population > 90_000
    assert place.latitude == pytest.approx(48.94, abs=0.05)


def test_an_overseas_commune_is_found_by_its_own_name() -> None:
    place = lookup_place("Mamoudzou")
    assert place is not None
    assert place.latitude < 0


def test_articles_delegated_communes_and_arrondissements() -> None:
    havre = lookup_place("le havre")
    assert havre is not None
    assert havre.name == "Le Havre"
    assert lookup_place("Havre") == havre
    # Cherbourg-Octeville merged into Cherbourg-en-Cotentin in 2016; people still type it.
    assert lookup_place("Cherbourg-Octeville") is not None
    arrondissement = lookup_place("Paris 11e Arrondissement")
    assert arrondissement is not None
    assert arrondissement.latitude == pytest.approx(48.86, abs=0.02)


def test_a_french_town_is_not_shadowed_by_another_towns_alternate_name() -> None:
    # "Lans" is a village of its own, not a misspelt Lens.
    place = lookup_place("Lans")
    assert place is not None
    assert place.name == "Lans"


def test_foreign_cities_are_not_in_the_french_gazetteer() -> None:
    assert lookup_place("Londres") is None
    assert lookup_place("Berlin") is None


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


# -- the GEOCODER setting and typed places (no network: Nominatim's client is replaced)


class _FakeNominatim:
    def __init__(self, answer: object = None, error: Exception | None = None) -> None:
        self.answer, self.error, self.queries = answer, error, []  # type: ignore[var-annotated]

    def geocode(self, query: str, **options: object) -> object:
        self.queries.append((query, options))
        if self.error is not None:
            raise self.error
        return self.answer


async def test_nominatim_geocoder_behind_the_same_interface() -> None:
    from types import SimpleNamespace

    from geopy.exc import GeocoderUnavailable

    from bot.services.geo.geocoding import NominatimGeocoder, OfflineGeocoder, create_geocoder

    assert isinstance(create_geocoder("offline"), OfflineGeocoder)
    geocoder = create_geocoder("nominatim")
    assert isinstance(geocoder, NominatimGeocoder)
    found = SimpleNamespace(
        address="Bègles, Gironde, France",
        latitude=44.8,
        longitude=-0.55,
        raw={"class": "boundary", "type": "administrative", "addresstype": "town"},
    )
    fake = _FakeNominatim(found)
    geocoder._client = fake
    place = await geocoder.locate("Begles")
    assert place is not None
    assert (place.name, place.latitude, place.country_code) == ("Bègles", 44.8, "FR")
    assert not place.precise  # a town's centre
    assert fake.queries == [("Begles", {"exactly_one": True, "country_codes": "fr"})]
    # Postcodes stay offline; a network failure is "not found", not a crash.
    bordeaux = await geocoder.locate("33000")
    assert bordeaux is not None
    assert bordeaux.name == "Bordeaux"
    assert len(fake.queries) == 1
    # A house number or a shop is at the door; a street is not.
    for raw, precise in (
        ({"class": "place", "type": "house", "addresstype": "place"}, True),
        ({"class": "shop", "type": "organic", "addresstype": "shop"}, True),
        ({"class": "highway", "type": "pedestrian", "addresstype": "road"}, False),
    ):
        door = SimpleNamespace(
            address="12, Rue X, Bordeaux", latitude=44.8, longitude=-0.57, raw=raw
        )
        geocoder._client = _FakeNominatim(door)
        located = await geocoder.locate("12 rue X, Bordeaux")
        assert located is not None and located.precise is precise, raw
    geocoder._client = _FakeNominatim(error=GeocoderUnavailable("down"))
    assert await geocoder.locate("Begles") is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("44.84, -0.58", (44.84, -0.58)),
        ("44,84 ; -0,58", (44.84, -0.58)),
        ("44.84 -0.58", (44.84, -0.58)),
        ("95, 0", "invalid"),
        ("0, 181", "invalid"),
        ("Bordeaux", None),
        ("33000", None),
    ],
)
def test_typed_coordinates(typed: str, expected: object) -> None:
    from bot.services.geo.places import LocationProblem, parse_coordinates

    result = parse_coordinates(typed)
    if expected == "invalid":
        assert result is LocationProblem.INVALID
    else:
        assert result == expected


async def test_resolve_text() -> None:
    from bot.services.geo.geocoding import OfflineGeocoder
    from bot.services.geo.places import GivenLocation, LocationProblem, resolve_text

    geocoder = OfflineGeocoder()
    assert await resolve_text("   ", geocoder) is LocationProblem.MISSING
    assert await resolve_text("x" * 300, geocoder) is LocationProblem.NOT_FOUND
    assert await resolve_text("nowhere-xyz", geocoder) is LocationProblem.NOT_FOUND
    nancy = await resolve_text("nancy", geocoder)
    assert isinstance(nancy, GivenLocation)
    assert nancy.label == "Nancy"


@pytest.mark.parametrize(
    ("typed", "town", "street"),
    [
        ("12 rue Sainte-Catherine, Bordeaux", "Bordeaux", "12 rue Sainte-Catherine"),
        ("12 rue Sainte-Catherine 33000 Bordeaux", "Bordeaux", "12 rue Sainte-Catherine"),
        ("12, rue Sainte-Catherine, 33000", "Bordeaux", "12, rue Sainte-Catherine"),
        ("3 place Stanislas, Nancy", "Nancy", "3 place Stanislas"),
    ],
)
async def test_a_typed_street_address_gives_its_town_not_a_precise_point(
    typed: str, town: str, street: str
) -> None:
    """The offline gazetteer knows towns, not streets: the town is found, at its centre,
    marked imprecise, with the street kept (the maker wizard then asks for a pin)."""
    from bot.services.geo.geocoding import OfflineGeocoder
    from bot.services.geo.places import GivenLocation, resolve_text

    found = await resolve_text(typed, OfflineGeocoder())
    assert isinstance(found, GivenLocation)
    assert (found.label, found.street, found.precise) == (town, street, False)


async def test_towns_postcodes_and_points_say_how_precise_they_are() -> None:
    from bot.services.geo.geocoding import OfflineGeocoder
    from bot.services.geo.places import GivenLocation, LocationProblem, point, resolve_text

    geocoder = OfflineGeocoder()
    for typed in ("Bordeaux", "33000"):
        town = await resolve_text(typed, geocoder)
        assert isinstance(town, GivenLocation)
        assert (town.precise, town.street) == (False, None)
    typed_point = await resolve_text("44.8412, -0.5731", geocoder)
    assert isinstance(typed_point, GivenLocation) and typed_point.precise
    shared = point(44.8412, -0.5731)
    assert isinstance(shared, GivenLocation) and shared.precise
    # An unknown town after the comma is still "not found", never the street alone.
    assert await resolve_text("12 rue X, Nowhere-xyz", geocoder) is LocationProblem.NOT_FOUND
