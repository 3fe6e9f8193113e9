"""How precisely a place people share is ever kept.

Telegram sends a shared location to six decimals (about 10 cm). Nothing needs that: the
makers and offers searches work to about 100 m, and neighbours keep a ~1 km cell
(bot/services/neighbours.py). So every point in a received update is rounded to
DECIMALS before the update is stored (the inbox, its WAL, a failed update kept for
diagnosis) or handed to a handler (which might put it in conversation state or a log):
the exact point exists only in the memory of the request that brought it.
"""

from __future__ import annotations

from typing import Any

# Three decimals: at most 0.0005° off, 55 m in latitude (and less in longitude away
# from the equator).
DECIMALS = 3
KEYS = ("latitude", "longitude")


def coarsen(value: Any) -> bool:
    """Round, in place, every {"latitude", "longitude"} object inside a JSON-like value
    (an update as a dict); whether anything changed."""
    changed = False
    if isinstance(value, dict):
        if all(isinstance(value.get(key), int | float) for key in KEYS):
            for key in KEYS:
                rounded = round(float(value[key]), DECIMALS)
                if rounded != value[key]:
                    value[key] = rounded
                    changed = True
        for item in value.values():
            changed = coarsen(item) or changed
    elif isinstance(value, list):
        for item in value:
            changed = coarsen(item) or changed
    return changed
