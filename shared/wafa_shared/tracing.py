"""OpenTelemetry traces that follow a request from HTTP through Kafka into every consumer.

The HTTP middleware opens a server span (continuing an incoming `traceparent`); events written
to the outbox carry that span's `traceparent` in their Kafka headers; a consumer opens its span
as a child of it, and events it publishes carry the consumer's span on. Spans are exported over
OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise they only feed the trace ids in logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from wafa_shared.context import traceparent_var

_propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("wafa")


def configure_tracing(service: str) -> TracerProvider:
    """Install the SDK tracer provider once per process (later calls return it)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": f"wafa-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def traceparent_of(span: Span) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


@contextmanager
def span(name: str, kind: SpanKind, parent_traceparent: str | None, **attributes: str) -> Iterator[Span]:
    """A span continuing `parent_traceparent` (if any); `traceparent_var` points at it inside."""
    carrier = {"traceparent": parent_traceparent} if parent_traceparent else {}
    with tracer.start_as_current_span(name, context=_propagator.extract(carrier), kind=kind, attributes=attributes) as current:
        token = traceparent_var.set(traceparent_of(current))
        try:
            yield current
        finally:
            traceparent_var.reset(token)
