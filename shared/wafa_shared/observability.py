"""JSON logs carrying request and trace ids, W3C trace context, and the Prometheus metrics.

The ids live in context variables: set by the HTTP middleware or by the consumer from event
headers, read by the log formatter and copied into the headers of every event written to the
outbox, so one request can be followed through Kafka into every consumer it touches.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from opentelemetry import trace
from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wafa_shared.context import request_id_var, service_var, traceparent_var
from wafa_shared.tracing import continue_trace, traceparent_of

__all__ = ["request_id_var", "service_var", "traceparent_var"]  # re-exported: older imports read them here

HTTP_REQUESTS = Counter("wafa_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "wafa_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_BACKLOG = Gauge("wafa_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("wafa_outbox_published_total", "Events published by the relay", ["service"])
CONSUMER_LAG = Gauge("wafa_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic", "partition"])
EVENTS_CONSUMED = Counter("wafa_events_consumed_total", "Events applied by consumers", ["service", "consumer", "result"])
DLQ_SIZE = Gauge("wafa_dlq_size", "Dead letters waiting for ops", ["service"])
WEBHOOK_ATTEMPTS = Counter("wafa_webhook_attempts_total", "Outbound webhook attempts", ["service", "result"])


def trace_id() -> str | None:
    tp = traceparent_var.get()
    return tp.split("-")[1] if tp else None


def context_headers() -> dict[str, str]:
    """Headers to put on an outgoing event so consumers continue this trace."""
    out: dict[str, str] = {}
    if (rid := request_id_var.get()) is not None:
        out["x-request-id"] = rid
    if (tp := traceparent_var.get()) is not None:
        out["traceparent"] = tp
    return out


@contextmanager
def carrying(headers: str | None) -> Iterator[None]:
    """Inside: the request id and trace of `headers` (an outbox row's JSON, `context_headers`
    of another task), for work done on behalf of that request in a shared task (a purchase
    group's lane); nothing changes for None."""
    if headers is None:
        yield
        return
    found = orjson.loads(headers)
    tokens = (request_id_var.set(found.get("x-request-id")), traceparent_var.set(found.get("traceparent")))
    try:
        yield
    finally:
        request_id_var.reset(tokens[0])
        traceparent_var.reset(tokens[1])


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given to the logger are kept."""

    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": service_var.get(),
            "request_id": request_id_var.get(),
            "trace_id": trace_id(),
        }
        for k, v in record.__dict__.items():
            if k not in self._skip and not k.startswith("_"):
                doc[k] = v
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


class RequestContextMiddleware:
    """Pure ASGI middleware: request id and trace context in, the same ids out, metrics recorded.
    (Pure ASGI rather than BaseHTTPMiddleware: it sits on every request's hot path.)"""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        rid = (headers.get("x-request-id") or secrets.token_hex(8))[:64]
        method = scope.get("method", "")
        tokens = (request_id_var.set(rid), service_var.set(self.service))
        start = time.perf_counter()
        status = 500
        # FastAPI opens the HTTP server span when the OpenTelemetry SDK is configured; continue
        # it. Otherwise carry the W3C trace context on by hand (no span is recorded).
        active = trace.get_current_span()
        tp = traceparent_of(active) if active.get_span_context().is_valid else continue_trace(headers.get("traceparent"))
        tp_token = traceparent_var.set(tp)

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode()), (b"traceparent", tp.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            traceparent_var.reset(tp_token)
            HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, path).observe(time.perf_counter() - start)
            request_id_var.reset(tokens[0])
            service_var.reset(tokens[1])
