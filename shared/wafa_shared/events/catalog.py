"""The registry of event types: which topic carries each, and the schema of its data.

Consumers validate on read through `CATALOG.parse`; an unknown type or version is an error the
consumer sends to the dead-letter topic with its reason. The AsyncAPI document is generated
from this registry, never written by hand.
"""

from __future__ import annotations

from typing import Any, TypeVar

from wafa_shared.events.envelope import Event, EventData

D = TypeVar("D", bound=type[EventData])


class UnknownEventError(ValueError):
    """The event's type or version is not in the catalog."""


class EventCatalog:
    def __init__(self) -> None:
        self._schemas: dict[tuple[str, int], type[EventData]] = {}

    def register(self, model: D) -> D:
        self._schemas[(model.event_type, model.version)] = model
        return model

    def schema(self, event_type: str, version: int = 1) -> type[EventData]:
        try:
            return self._schemas[(event_type, version)]
        except KeyError:
            raise UnknownEventError(f"unknown event type {event_type!r} version {version}") from None

    def parse(self, event: Event) -> EventData:
        """The typed payload of `event`; raises UnknownEventError or pydantic.ValidationError."""
        return self.schema(event.type, event.dataversion).model_validate(event.data)

    def types_for_topic(self, topic: str) -> list[str]:
        return sorted({t for (t, _), m in self._schemas.items() if m.topic == topic})

    def topics(self) -> list[str]:
        return sorted({m.topic for m in self._schemas.values()})

    def all(self) -> list[type[EventData]]:
        return [self._schemas[k] for k in sorted(self._schemas)]

    def asyncapi(self, title: str = "Wafa events", topics: list[str] | None = None) -> dict[str, Any]:
        """An AsyncAPI 3.0 document of the events on `topics` (all topics when None)."""
        wanted = set(topics) if topics else set(self.topics())
        channels: dict[str, Any] = {}
        messages: dict[str, Any] = {}
        operations: dict[str, Any] = {}
        for model in self.all():
            if model.topic not in wanted:
                continue
            name = f"{model.event_type}.v{model.version}"
            messages[name] = {
                "name": model.event_type,
                "title": model.event_type,
                "summary": (model.__doc__ or "").strip().split("\n")[0],
                "contentType": "application/cloudevents+json",
                "payload": model.model_json_schema(),
            }
            ch = channels.setdefault(
                model.topic,
                {"address": model.topic, "messages": {}, "description": f"Events of {model.topic}, keyed by customer id"},
            )
            ch["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        for topic in channels:
            operations[f"publish.{topic}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{topic}"},
            }
        return {
            "asyncapi": "3.0.0",
            "info": {
                "title": title,
                "version": "1.0.0",
                "description": "CloudEvents 1.0 envelopes in JSON structured mode; `data` per message below.",
            },
            "defaultContentType": "application/cloudevents+json",
            "channels": channels,
            "operations": operations,
            "components": {"messages": messages},
        }


CATALOG = EventCatalog()
event = CATALOG.register
