"""The offline French postcode gazetteer."""

from __future__ import annotations

import csv
import gzip
import math

import pytest

from bot.services.geo import postcodes
from bot.services.geo.postcodes import PostcodePlace, is_postcode, lookup_postcode


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.mark.parametrize(
    ("code", "name", "latitude", "longitude"),
    [
        ("33000", "Bordeaux", 44.84, -0.58),
        ("44000", "Nantes", 47.218, -1.554),
        ("54000", "Nancy", 48.692, 6.184),
        ("75011", "Paris", 48.859, 2.380),
        ("69003", "Lyon", 45.760, 4.850),
        ("97400", "Saint-Denis", -20.88, 55.45),  # La Réunion
        ("20000", "Ajaccio", 41.92, 8.74),
    ],
)
def test_known_postcodes(code: str, name: str, latitude: float, longitude: float) -> None:
    place = lookup_postcode(code)
    assert place is not None
    assert place.postcode == code
    assert place.name.startswith(name)
    assert distance_km(place.latitude, place.longitude, latitude, longitude) < 10


def test_bordeaux_exactly() -> None:
    place = lookup_postcode("33000")
    assert place is not None
    assert place.name == "Bordeaux"
    assert isinstance(place, PostcodePlace)


def test_shared_postcode_names_the_most_populous_commune() -> None:
    # 01000 serves Bourg-en-Bresse and the smaller Saint-Denis-lès-Bourg.
    place = lookup_postcode("01000")
    assert place is not None
    assert place.name == "Bourg-en-Bresse"


@pytest.mark.parametrize("text", ["33000", " 33 000 ", "33\u00a0000", "\t33000\n"])
def test_typed_forms_are_accepted(text: str) -> None:
    assert is_postcode(text)
    place = lookup_postcode(text)
    assert place is not None
    assert place.postcode == "33000"
    assert place.name == "Bordeaux"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "3300",
        "330000",
        "33-000",
        "33000a",
        "F-33000",
        "Bordeaux",
        "３３０００",  # full-width digits
        "33000 Bordeaux",
        "3" * 1000,
        "-3300",
        "3.3e4",
    ],
)
def test_junk_is_rejected(text: str) -> None:
    assert not is_postcode(text)
    assert lookup_postcode(text) is None


@pytest.mark.parametrize("code", ["00000", "99999", "33999"])
def test_unknown_postcodes(code: str) -> None:
    assert is_postcode(code)
    assert lookup_postcode(code) is None


def test_table_is_complete_and_sane() -> None:
    with gzip.open(postcodes.DATA_FILE, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 6000
    assert len({row["postcode"] for row in rows}) == len(rows)
    for row in rows:
        assert len(row["postcode"]) == 5
        assert row["postcode"].isdigit()
        assert row["name"]
        lat, lon = float(row["latitude"]), float(row["longitude"])
        if row["postcode"] < "97000":  # metropolitan France and Corsica
            assert 41.3 < lat < 51.1
            assert -5.2 < lon < 9.6
        else:
            assert -90 <= lat <= 90
            assert -180 <= lon <= 180


def test_table_is_loaded_once() -> None:
    postcodes.warm_up()
    before = postcodes._table.cache_info().hits
    lookup_postcode("44000")
    lookup_postcode("54000")
    assert postcodes._table.cache_info().misses == 1
    assert postcodes._table.cache_info().hits == before + 2
