"""A trace follows a request from HTTP through Kafka into the consumer that applies it."""

from __future__ import annotations

from typing import Any

from helpers import scalar
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from wafa_shared.testing.events import eventually
from wafa_shared.tracing import configure_tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_the_consumer_span_is_a_child_of_the_request_span_that_published_the_event(notes: Any) -> None:
    exporter = InMemorySpanExporter()
    provider = configure_tracing("notes", force=True)
    assert provider is not None
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with notes() as svc:
        incoming = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
        r = await svc.client.post("/v1/notes", json={"customer_id": "c-1", "seq": 1, "body": "traced"}, headers={**svc.auth(), "traceparent": incoming})
        assert r.status_code == 201
        await eventually(lambda: scalar(svc, "SELECT count(*) = 1 FROM note_effects"), timeout_s=30)

        def mine() -> list[Any]:
            return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]

        await eventually(lambda: any(s.kind == SpanKind.CONSUMER for s in mine()))
        server = next(s for s in mine() if s.kind == SpanKind.SERVER)
        consumer = next(s for s in mine() if s.kind == SpanKind.CONSUMER)
        assert "/v1/notes" in server.name
        assert server.parent is not None and f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
        assert consumer.name == "consume test.note.created"
        assert consumer.parent is not None and consumer.parent.span_id == server.context.span_id
        assert r.headers["traceparent"].split("-")[2] == f"{server.context.span_id:016x}"
