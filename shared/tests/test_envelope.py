"""The envelope's fast JSON writer says exactly what pydantic would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from wafa_shared.events.envelope import Event, envelope_fields, envelope_json, new_event
from wafa_shared.events.loyalty import LineSummary, PurchaseRecorded


def _pydantic_json(event: Event) -> bytes:
    return orjson.dumps(event.model_dump(mode="json"))


def _purchase() -> PurchaseRecorded:
    return PurchaseRecorded(
        purchase_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        order_id="o-1",
        amount=Decimal("55.00"),
        currency="SAR",
        occurred_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        lines=[LineSummary(sku="SKU-1", category="perfume", quantity=Decimal(2), amount=Decimal("25.00"))],
    )


def test_to_json_matches_pydantic_for_a_published_event() -> None:
    data = _purchase()
    riyadh = timezone(timedelta(hours=3))
    for at in (datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 1, 13, 0, tzinfo=riyadh)):
        event = new_event(data, source="loyalty", subject=data.customer_id, time=at)
        assert event.to_json() == _pydantic_json(event)


def test_to_json_keeps_extension_attributes_and_hand_built_data() -> None:
    parsed = Event.from_json(orjson.dumps({"type": "x.y", "source": "s", "data": {"a": 1}, "traceparent": "00-abc-def-01"}))
    assert orjson.loads(parsed.to_json())["traceparent"] == "00-abc-def-01"
    assert parsed.to_json() == _pydantic_json(parsed)
    by_hand = Event.model_construct(id=uuid.uuid4(), type="x.y", source="s", time=datetime.now(UTC), data={"amount": Decimal("1.50")})
    assert orjson.loads(by_hand.to_json())["data"] == {"amount": "1.50"}


def test_bulk_envelopes_are_the_json_of_the_event_new_event_builds() -> None:
    """`outbox.add_data` writes `envelope_json(envelope_fields(...))` without building an
    `Event`: the same bytes as the event's own JSON, and pydantic's."""
    data = _purchase()
    fields = envelope_fields(data, source="loyalty", subject=data.customer_id, time=datetime(2026, 3, 1, 10, 0, 0, 5, tzinfo=UTC))
    event = Event.model_construct(**fields)
    assert envelope_json(fields) == event.to_json() == _pydantic_json(event)
    assert Event.from_json(envelope_json(fields)) == event


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # pydantic's own, about the int and UUID keys
def test_to_json_writes_hand_built_data_with_keys_that_are_not_strings_as_pydantic_does() -> None:
    by_hand = Event.model_construct(id=uuid.uuid4(), type="x.y", source="s", time=datetime.now(UTC), data={1: "one", uuid.UUID(int=7): Decimal("2.5")})
    assert by_hand.to_json() == _pydantic_json(by_hand)
