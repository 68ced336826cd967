"""Context of the work in progress (request, trace, service), read by logs and copied into the
headers of events written to the outbox."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
traceparent_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("traceparent", default=None)
service_var: contextvars.ContextVar[str] = contextvars.ContextVar("service", default="wafa")
