"""Wizard drafts survive the conversation's state, and a tampered state reads as defaults."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.services import drafts
from bot.services.makers import ListingDraft
from bot.services.offers import OfferDraft


def test_both_drafts_round_trip_through_json_values() -> None:
    offer = OfferDraft(
        title="Pain",
        description="Du jour",
        category="bakery",
        quantity=4,
        pickup_end=datetime(2026, 1, 5, 18, 30, tzinfo=UTC),
        latitude=44.8,
        longitude=-0.5,
        address="Marché",
        maker_id=7,
        photo_file_id="photo",
    )
    state = offer.to_state()
    assert state["pickup_end"] == "2026-01-05T18:30:00+00:00"
    assert OfferDraft.from_state(state) == offer
    listing = ListingDraft(
        name="Atelier", website="https://a.example", latitude=1, longitude=2, pin_precise=False
    )
    assert ListingDraft.from_state(listing.to_state()) == listing


def test_missing_empty_or_ill_typed_values_read_as_defaults() -> None:
    tampered: dict[str, object] = {
        "title": 12,
        "category": "",
        "quantity": True,
        "pickup_end": "not a time",
        "latitude": "44.8",
        "maker_id": 3.5,
        "photo_file_id": "",
    }
    assert OfferDraft.from_state(tampered) == OfferDraft()
    assert ListingDraft.from_state({"website": "", "phone": None, "longitude": 2}) == (
        ListingDraft(longitude=2.0)
    )
    # Only a real boolean says the pin is not at the door.
    for forged in (0, "false", None, 0.0):
        assert ListingDraft.from_state({"pin_precise": forged}).pin_precise is True


def test_a_draft_field_without_default_or_of_another_type_is_refused() -> None:
    @dataclass
    class NoDefault:
        name: str

    @dataclass
    class OddField:
        tags: list[str] | None = None

    with pytest.raises(TypeError):
        drafts.from_state(NoDefault, {"name": "x"})
    with pytest.raises(TypeError):
        drafts.from_state(OddField, {"tags": ["x"]})
