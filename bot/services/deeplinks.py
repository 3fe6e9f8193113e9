"""`/start <payload>` deep links: join_<challenge>, team_<team>, maker_<id>, offer_<id>,
event_<id>, place_<maker id> (an action place's counter QR), checkin_<code> (an event's check-in QR code: its random code, not its id)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Telegram allows [A-Za-z0-9_-]{1,64} in a start parameter.
_PAYLOAD = re.compile(r"^(?P<kind>[a-z]+)_(?P<id>[1-9][0-9]{0,17})$")


class DeepLinkKind(StrEnum):
    JOIN = "join"
    TEAM = "team"
    MAKER = "maker"
    OFFER = "offer"
    EVENT = "event"
    CHECKIN = "checkin"
    # An action place's counter QR (a maker listing that declares eco-actions).
    PLACE = "place"


@dataclass(frozen=True, slots=True)
class DeepLink:
    kind: DeepLinkKind
    target_id: int

    @property
    def payload(self) -> str:
        return f"{self.kind.value}_{self.target_id}"


def parse_payload(payload: str | None) -> DeepLink | None:
    """The link a payload names, or None for anything malformed or unknown."""
    if not payload:
        return None
    match = _PAYLOAD.match(payload.strip())
    if match is None:
        return None
    try:
        kind = DeepLinkKind(match["kind"])
    except ValueError:
        return None
    return DeepLink(kind, int(match["id"]))


def deep_link_url(bot_username: str, link: DeepLink) -> str:
    return f"https://t.me/{bot_username}?start={link.payload}"
