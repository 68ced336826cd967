"""OpenTelemetry traces that follow a request from HTTP through Kafka into every consumer.

The HTTP middleware opens a server span (continuing an incoming `traceparent`); events written
to the outbox carry that span's `traceparent` in their Kafka headers; a consumer opens its span
as a child of it, and events it publishes carry the consumer's span on. Spans are exported over
OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Without it (or `WAFA_TRACING=1`) no SDK is
installed — recording spans costs ~150 us per request — and only the W3C trace context is carried
(in logs, response headers and event headers), at no measurable cost.
"""

from __future__ import annotations

import os
import secrets
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


def enabled() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def configure_tracing(service: str, *, force: bool = False) -> TracerProvider | None:
    """Install the SDK tracer provider once per process when tracing is asked for (an OTLP
    endpoint, `WAFA_TRACING=1`, or `force`); later calls return it."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    if not (force or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("WAFA_TRACING") == "1"):
        return None
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


def continue_trace(parent: str | None) -> str:
    """A W3C traceparent continuing `parent`'s trace with a new span id, or a new trace."""
    trace_id = None
    if parent:
        parts = parent.split("-")
        if len(parts) == 4 and len(parts[1]) == 32:
            trace_id = parts[1]
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@contextmanager
def span(name: str, kind: SpanKind, parent_traceparent: str | None, **attributes: str) -> Iterator[Span | None]:
    """A span continuing `parent_traceparent` (if any); `traceparent_var` points at it inside.
    Without the SDK it only carries the trace context on (yields None)."""
    if not enabled():
        token = traceparent_var.set(continue_trace(parent_traceparent))
        try:
            yield None
        finally:
            traceparent_var.reset(token)
        return
    carrier = {"traceparent": parent_traceparent} if parent_traceparent else {}
    with tracer.start_as_current_span(name, context=_propagator.extract(carrier), kind=kind, attributes=attributes) as current:
        token = traceparent_var.set(traceparent_of(current))
        try:
            yield current
        finally:
            traceparent_var.reset(token)
