"""data/demo_makers.csv: well-formed, in the makers CSV format of PRODUCT.md §5."""

from __future__ import annotations

import csv
import math
from collections import Counter

import pytest

from bot.core.settings import PROJECT_ROOT

DEMO_MAKERS = PROJECT_ROOT / "data" / "demo_makers.csv"
HEADER = [
    "id",
    "name",
    "category",
    "description",
    "latitude",
    "longitude",
    "address",
    "postcode",
    "city",
    "website",
    "phone",
]
CATEGORIES = {
    "clothing",
    "accessories",
    "jewellery",
    "furniture",
    "games",
    "cosmetics",
    "home",
    "food",
    "repair",
    "other",
}
# City centres (town halls) and how many demo makers each has.
CITIES = {
    "Bordeaux": (44.8378, -0.5792, 60),
    "Nantes": (47.2186, -1.5538, 50),
    "Nancy": (48.6931, 6.1827, 40),
    "Paris": (48.8566, 2.3522, 50),
}
MAX_DISTANCE_KM = 15


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with DEMO_MAKERS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == HEADER
        parsed = list(reader)
    for row in parsed:
        assert None not in row, f"extra fields in {row}"
        assert all(value is not None for value in row.values()), f"missing fields in {row}"
    return parsed


def test_row_count(rows: list[dict[str, str]]) -> None:
    assert 180 <= len(rows) <= 220
    assert Counter(row["city"] for row in rows) == {
        city: count for city, (_, _, count) in CITIES.items()
    }


def test_ids_are_unique(rows: list[dict[str, str]]) -> None:
    ids = [row["id"] for row in rows]
    assert all(ids), "every row has an id"
    assert len(set(ids)) == len(ids)


def test_categories_are_valid(rows: list[dict[str, str]]) -> None:
    assert {row["category"] for row in rows} <= CATEGORIES


def test_coordinates_are_near_their_city(rows: list[dict[str, str]]) -> None:
    for row in rows:
        centre_lat, centre_lon, _ = CITIES[row["city"]]
        distance = distance_km(
            float(row["latitude"]), float(row["longitude"]), centre_lat, centre_lon
        )
        assert distance < MAX_DISTANCE_KM, f"{row['id']} is {distance:.1f} km from the centre"
