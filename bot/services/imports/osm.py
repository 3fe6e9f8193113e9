"""Makers from an OpenStreetMap extract (`greenhood import osm FILE.osm.pbf`), with pyosmium.

What counts as a maker, and its category:

- any node or way tagged `craft=*`: the craft decides the category (CRAFT_CATEGORIES,
  e.g. tailor -> clothing, jeweller -> jewellery, carpenter -> furniture, potter -> home,
  watchmaker -> repair); a craft we do not list is `other`, unless the object is also a
  shop we list, whose category then wins;
- a node or way tagged `shop=*` with a value in SHOP_CATEGORIES (clothes, jewelry,
  furniture, toys, cosmetics, bag, shoes, leather, pottery, houseware, …) AND a hint of
  local production: a `craft=*` tag, or `handmade=yes|only`, or `product=*` /
  `produce=*` (what the shop makes), or `workshop=yes`. A plain chain store selling
  clothes is not a maker.

Unnamed objects are skipped. A way is placed at the mean of its nodes' locations (its
centroid, which is what a map pin needs for a building outline). Fields: `name`,
`description`, `addr:housenumber` + `addr:street`, `addr:postcode`, `addr:city`,
`website` (or `contact:website`, `url`), `phone` (or `contact:phone`; the first of a
`;` list). The OSM id ("node/123", "way/45") makes re-imports idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.services.imports.makers import (
    BadRowError,
    ParsedMakers,
    Problem,
    UnreadableFileError,
    make_record,
)
from models import MakerCategory, MakerSource

C = MakerCategory
CRAFT_CATEGORIES: dict[str, MakerCategory] = {
    **dict.fromkeys(
        ("tailor", "dressmaker", "sewing", "hatmaker", "embroiderer", "furrier", "knitter"),
        C.CLOTHING,
    ),
    **dict.fromkeys(
        ("shoemaker", "leather", "saddler", "bag_maker", "cobbler", "glover"), C.ACCESSORIES
    ),
    **dict.fromkeys(("jeweller", "goldsmith", "silversmith", "gemstone_cutter"), C.JEWELLERY),
    **dict.fromkeys(
        ("carpenter", "cabinet_maker", "joiner", "upholsterer", "furniture", "turner"),
        C.FURNITURE,
    ),
    **dict.fromkeys(("toymaker", "toy_maker", "games"), C.GAMES),
    **dict.fromkeys(("soap_maker", "soapmaker", "perfumer", "cosmetics"), C.COSMETICS),
    **dict.fromkeys(
        (
            "pottery",
            "potter",
            "ceramics",
            "glassblower",
            "glass",
            "basket_maker",
            "weaver",
            "candlemaker",
            "blacksmith",
            "bookbinder",
            "stained_glass",
            "woodcarver",
            "quilter",
        ),
        C.HOME,
    ),
    **dict.fromkeys(
        (
            "bakery",
            "baker",
            "brewery",
            "winery",
            "distillery",
            "cider",
            "confectionery",
            "chocolatier",
            "cheese",
            "cheesemaker",
            "beekeeper",
            "oil_mill",
            "jam",
        ),
        C.FOOD,
    ),
    **dict.fromkeys(
        (
            "watchmaker",
            "clockmaker",
            "electronics_repair",
            "shoe_repair",
            "bicycle_repair",
            "computer_repair",
            "repair",
        ),
        C.REPAIR,
    ),
}
SHOP_CATEGORIES: dict[str, MakerCategory] = {
    **dict.fromkeys(("clothes", "fashion", "tailor", "boutique", "fabric"), C.CLOTHING),
    **dict.fromkeys(("bag", "shoes", "leather", "fashion_accessories"), C.ACCESSORIES),
    **dict.fromkeys(("jewelry", "jewellery", "watches"), C.JEWELLERY),
    **dict.fromkeys(("furniture", "antiques"), C.FURNITURE),
    **dict.fromkeys(("toys", "games"), C.GAMES),
    **dict.fromkeys(("cosmetics", "perfumery", "beauty_products"), C.COSMETICS),
    **dict.fromkeys(
        ("houseware", "interior_decoration", "pottery", "ceramics", "candles", "craft", "art"),
        C.HOME,
    ),
    **dict.fromkeys(("bakery", "cheese", "confectionery", "chocolate", "wine"), C.FOOD),
    **dict.fromkeys(("repair", "electronics_repair", "shoe_repair"), C.REPAIR),
}
HANDMADE_VALUES = frozenset({"yes", "only"})


def classify(tags: dict[str, str]) -> MakerCategory | None:
    """Our category for an object with these tags, or None if it is no maker."""
    craft = tags.get("craft")
    shop = tags.get("shop")
    shop_category = SHOP_CATEGORIES.get(shop) if shop else None
    if craft:
        by_craft = CRAFT_CATEGORIES.get(craft)
        if by_craft is not None:
            return by_craft
        return shop_category or MakerCategory.OTHER
    if shop_category is None:
        return None
    local = (
        tags.get("handmade") in HANDMADE_VALUES
        or bool(tags.get("product"))
        or bool(tags.get("produce"))
        or tags.get("workshop") == "yes"
    )
    return shop_category if local else None


def _values(
    tags: dict[str, str], category: MakerCategory, lat: float, lon: float
) -> dict[str, Any]:
    street = " ".join(filter(None, (tags.get("addr:housenumber"), tags.get("addr:street"))))
    website = tags.get("website") or tags.get("contact:website") or tags.get("url") or ""
    phone = (tags.get("phone") or tags.get("contact:phone") or "").split(";")[0]
    return {
        "name": tags.get("name", ""),
        "category": category.value,
        "description": tags.get("description:fr") or tags.get("description") or "",
        "latitude": lat,
        "longitude": lon,
        "address": street,
        "postcode": tags.get("addr:postcode", ""),
        "city": tags.get("addr:city", ""),
        "website": website,
        "phone": phone,
    }


def read_osm_file(path: Path) -> ParsedMakers:
    """Every maker of an OSM file (.osm.pbf, .osm, .osm.bz2…); raises UnreadableFileError."""
    import osmium

    if not path.is_file():
        raise UnreadableFileError(f"cannot read {path}: no such file")

    parsed = ParsedMakers()
    seen: set[str] = set()

    def add(osm_id: str, tags: dict[str, str], lat: float, lon: float) -> None:
        category = classify(tags)
        if category is None or osm_id in seen:
            return
        seen.add(osm_id)
        try:
            record, warnings = make_record(
                _values(tags, category, lat, lon), MakerSource.OSM, external_id=osm_id
            )
        except BadRowError as error:
            parsed.skipped.append(Problem(osm_id, str(error)))
            return
        parsed.records.append(record)
        parsed.warnings.extend(Problem(osm_id, warning) for warning in warnings)

    def wanted(tags: Any) -> bool:
        return "craft" in tags or "shop" in tags

    class Handler(osmium.SimpleHandler):
        def node(self, node: Any) -> None:
            if wanted(node.tags) and node.location.valid():
                tags = {tag.k: tag.v for tag in node.tags}
                add(f"node/{node.id}", tags, node.location.lat, node.location.lon)

        def way(self, way: Any) -> None:
            if not wanted(way.tags):
                return
            points = [(n.location.lat, n.location.lon) for n in way.nodes if n.location.valid()]
            if len(points) > 1 and points[0] == points[-1]:
                points.pop()  # a closed outline repeats its first node
            if not points:
                parsed.skipped.append(Problem(f"way/{way.id}", "no node locations"))
                return
            lat = sum(p[0] for p in points) / len(points)
            lon = sum(p[1] for p in points) / len(points)
            add(f"way/{way.id}", {tag.k: tag.v for tag in way.tags}, lat, lon)

    try:
        Handler().apply_file(str(path), locations=True)
    except (RuntimeError, OSError, ValueError) as error:
        raise UnreadableFileError(f"{path} is not a readable OSM file: {error}") from None
    return parsed
