"""Importing makers: CSV, GeoJSON, OpenStreetMap, idempotence, bad rows, unreadable files,
the CLI and the demo loader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import osmium
import osmium.osm.mutable as osm
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.app.cli import app as cli
from bot.app.demo import load_demo_makers
from bot.core.settings import Settings
from bot.services.imports.makers import UnreadableFileError, read_makers_file, upsert_makers
from bot.services.imports.osm import read_osm_file
from models import Maker, MakerSource, MakerStatus

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HEADER = "id,name,category,description,latitude,longitude,address,postcode,city,website,phone"

GOOD_CSV = f"""{HEADER}
a1,Atelier Bois,furniture,"Tables, chaises",44.84,-0.58,1 rue A,33000,Bordeaux,https://bois.example,05 56 00 00 00
a2,Bijoux Lune,jewellery,Bagues,44.85,-0.57,2 rue B,33000,Bordeaux,,
,Sans Id,clothing,"Sur
deux lignes",44.83,-0.59,3 rue C,33800,Bordeaux,,
"""

BAD_CSV = f"""{HEADER}
b1,Bon,clothing,,44.84,-0.58,,,,,
b2,,clothing,,44.84,-0.58,,,,,
b3,Latitude folle,clothing,,95,-0.58,,,,,
b4,Pas un nombre,clothing,,abc,-0.58,,,,,
b5,Trop court,clothing
b6,Catégorie inconnue,pottery,,44.84,-0.58,,,,javascript:alert(1),
b1,Doublon,clothing,,44.84,-0.58,,,,,
b7,🌱🌱,clothing,,44.84,-0.58,,,,,
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Maker)) or 0)


async def test_good_csv_is_imported_approved(session: AsyncSession, tmp_path: Path) -> None:
    parsed = read_makers_file(write(tmp_path, "m.csv", GOOD_CSV))
    summary = await upsert_makers(session, parsed, NOW)
    assert summary.line() == "created 3, updated 0, unchanged 0, skipped 0"
    rows = (await session.scalars(select(Maker).order_by(Maker.id))).all()
    assert [m.name for m in rows] == ["Atelier Bois", "Bijoux Lune", "Sans Id"]
    assert {m.status for m in rows} == {MakerStatus.APPROVED.value}
    assert [m.external_id for m in rows] == ["id:a1", "id:a2", "np:sans id|33800"]
    first = rows[0]
    assert (first.category, first.website, first.phone) == (
        "furniture",
        "https://bois.example",
        "05 56 00 00 00",
    )
    assert rows[2].description == "Sur\ndeux lignes"


async def test_reimport_changes_nothing_then_updates(session: AsyncSession, tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", GOOD_CSV)
    await upsert_makers(session, read_makers_file(path), NOW)
    again = await upsert_makers(session, read_makers_file(path), NOW)
    assert again.line() == "created 0, updated 0, unchanged 3, skipped 0"
    assert await count(session) == 3
    changed = write(tmp_path, "m2.csv", GOOD_CSV.replace("Bagues", "Bagues en argent"))
    third = await upsert_makers(session, read_makers_file(changed), NOW)
    assert third.line() == "created 0, updated 1, unchanged 2, skipped 0"


async def test_bad_rows_are_reported_by_line_and_the_rest_imported(
    session: AsyncSession, tmp_path: Path
) -> None:
    parsed = read_makers_file(write(tmp_path, "bad.csv", BAD_CSV))
    summary = await upsert_makers(session, parsed, NOW)
    assert summary.line() == "created 2, updated 0, unchanged 0, skipped 6"
    problems = {p.where: p.message for p in summary.problems}
    assert problems == {
        "line 3": "name: empty",
        "line 4": "impossible coordinates 95.0, -0.58",
        "line 5": "latitude 'abc' is not a number",
        "line 6": "3 fields instead of 11",
        "line 8": "the same maker as line 2",
        "line 9": "name: no letters",
    }
    warnings = [str(w) for w in summary.warnings]
    assert "line 7: unknown category 'pottery', imported as 'other'" in warnings
    assert any(w.startswith("line 7: website 'javascript:alert(1)'") for w in warnings)
    other = await session.scalar(select(Maker).where(Maker.external_id == "id:b6"))
    assert other is not None
    assert (other.category, other.website) == ("other", None)


async def test_geojson(session: AsyncSession, tmp_path: Path) -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-0.58, 44.84]},
                "properties": {"id": "g1", "name": "Savonnerie", "category": "cosmetics"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                "properties": {"name": "Ligne"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]},
                "properties": {"name": "Jouets", "category": "games", "postcode": "33000"},
            },
        ],
    }
    path = write(tmp_path, "m.geojson", json.dumps(document, indent=2))
    summary = await upsert_makers(session, read_makers_file(path), NOW)
    assert summary.line() == "created 2, updated 0, unchanged 0, skipped 1"
    (problem,) = summary.problems
    assert problem.where == "feature 2 (line 19)"
    assert problem.message == "the geometry is not a Point"
    soap = await session.scalar(select(Maker).where(Maker.external_id == "id:g1"))
    assert soap is not None
    assert (soap.latitude, soap.longitude, soap.category) == (44.84, -0.58, "cosmetics")
    again = await upsert_makers(session, read_makers_file(path), NOW)
    assert again.line() == "created 0, updated 0, unchanged 2, skipped 1"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "cannot read"),
        ("latin1.csv", (HEADER + "\nx,Café,food,,1,2,,,,,\n").encode("latin-1"), "not UTF-8"),
        ("empty.csv", "", "empty"),
        ("header.csv", "nom,categorie\nA,B\n", "wrong header"),
        ("m.geojson", '{"type": "Feature"}', "not a GeoJSON FeatureCollection"),
        ("broken.json", '{"type": "FeatureCollection", "features": [', "not a GeoJSON"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_files_raise(
    tmp_path: Path, name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(UnreadableFileError, match=message):
        read_makers_file(path)


def build_osm_fixture(path: Path) -> None:
    writer = osmium.SimpleWriter(str(path))
    try:
        writer.add_node(
            osm.Node(
                id=1,
                location=(-0.58, 44.84),
                tags={
                    "craft": "tailor",
                    "name": "Couture Anne",
                    "addr:housenumber": "3",
                    "addr:street": "rue du Fil",
                    "addr:postcode": "33000",
                    "addr:city": "Bordeaux",
                    "website": "https://couture.example",
                    "phone": "+33 5 56 00 00 01;+33 6 00 00 00 00",
                },
            )
        )
        writer.add_node(osm.Node(id=2, location=(-0.57, 44.85)))
        writer.add_node(osm.Node(id=3, location=(-0.55, 44.85)))
        writer.add_node(osm.Node(id=4, location=(-0.55, 44.87)))
        # A plain clothes shop (no local-production hint): not a maker.
        writer.add_node(
            osm.Node(id=5, location=(-0.5, 44.8), tags={"shop": "clothes", "name": "Chaîne"})
        )
        # A craft without a name: skipped.
        writer.add_node(osm.Node(id=6, location=(-0.5, 44.8), tags={"craft": "potter"}))
        # An unlisted craft: other.
        writer.add_node(
            osm.Node(id=7, location=(-0.52, 44.81), tags={"craft": "luthier", "name": "Violons"})
        )
        writer.add_way(
            osm.Way(
                id=45,
                nodes=[2, 3, 4, 2],
                tags={"shop": "furniture", "handmade": "yes", "name": "Meubles du Port"},
            )
        )
    finally:
        writer.close()


async def test_osm_pbf_nodes_and_ways(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "extract.osm.pbf"
    build_osm_fixture(path)
    parsed = read_osm_file(path)
    summary = await upsert_makers(session, parsed, NOW)
    assert summary.line() == "created 3, updated 0, unchanged 0, skipped 1"
    assert [str(p) for p in summary.problems] == ["node/6: name: empty"]
    rows = {m.external_id: m for m in await session.scalars(select(Maker))}
    assert set(rows) == {"node/1", "node/7", "way/45"}
    tailor = rows["node/1"]
    assert (tailor.category, tailor.address, tailor.postcode, tailor.city) == (
        "clothing",
        "3 rue du Fil",
        "33000",
        "Bordeaux",
    )
    assert (tailor.phone, tailor.source, tailor.status) == ("+33 5 56 00 00 01", "osm", "approved")
    assert rows["node/7"].category == "other"
    way = rows["way/45"]
    assert way.category == "furniture"
    # The centroid of the triangle (the closing node counted once).
    assert way.latitude == pytest.approx((44.85 + 44.85 + 44.87) / 3, abs=1e-6)
    assert way.longitude == pytest.approx((-0.57 - 0.55 - 0.55) / 3, abs=1e-6)
    again = await upsert_makers(session, read_osm_file(path), NOW)
    assert again.line() == "created 0, updated 0, unchanged 3, skipped 1"


def test_osm_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError):
        read_osm_file(tmp_path / "nope.osm.pbf")
    with pytest.raises(UnreadableFileError):
        read_osm_file(write(tmp_path, "junk.osm.pbf", b"not a pbf at all"))


def test_cli_import_reports_and_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    runner = CliRunner()
    bad = write(tmp_path, "bad.csv", BAD_CSV)
    result = runner.invoke(cli, ["import", "makers", str(bad)])
    assert result.exit_code == 0, result.output
    assert "line 4: impossible coordinates" in result.output
    assert "created 2, updated 0, unchanged 0, skipped 6" in result.output
    result = runner.invoke(cli, ["import", "makers", str(bad)])
    assert "created 0, updated 0, unchanged 2, skipped 6" in result.output
    unreadable = write(tmp_path, "x.csv", b"\xff\xfe garbage")
    result = runner.invoke(cli, ["import", "makers", str(unreadable)])
    assert result.exit_code == 1
    assert "Nothing imported" in result.output
    pbf = tmp_path / "e.osm.pbf"
    build_osm_fixture(pbf)
    result = runner.invoke(cli, ["import", "osm", str(pbf)])
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, unchanged 0, skipped 1" in result.output


async def test_unreadable_file_imports_nothing_via_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # A wrong header in an otherwise fine file: not one row gets in.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    path = write(tmp_path, "h.csv", GOOD_CSV.replace("latitude", "lat", 1))
    result = CliRunner().invoke(cli, ["import", "makers", str(path)])
    assert result.exit_code == 1


async def test_demo_loader_is_idempotent(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with sessionmaker() as session:
        assert await load_demo_makers(session, settings) == (
            "demo makers: created 200, updated 0, unchanged 0, skipped 0"
        )
        await session.commit()
    async with sessionmaker() as session:
        assert await load_demo_makers(session, settings) == (
            "demo makers: created 0, updated 0, unchanged 200, skipped 0"
        )
        assert await count(session) == 200
        sources = set(await session.scalars(select(Maker.source)))
        assert sources == {MakerSource.IMPORT.value}
