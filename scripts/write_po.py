"""Write a pair of .po files (fr, en) from a Python dict of key -> (fr, en).

Usage: python scripts/write_po.py STRINGS.py FEATURE
Developers' convenience for adding a feature's strings in one go; the .po files are
the source of truth afterwards.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    strings = runpy.run_path(sys.argv[1])["S"]
    feature = sys.argv[2]
    for index, locale in enumerate(("fr", "en")):
        catalog = Catalog(locale=locale, project="greenhood", domain=feature)
        for key, texts in strings.items():
            catalog.add(key, texts[index])
        path = ROOT / "locales" / locale / "LC_MESSAGES" / f"{feature}.po"
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    main()
