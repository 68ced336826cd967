"""Event contracts: the CloudEvents envelope, the catalog, and one schema module per producer."""

from wafa_shared.events.catalog import CATALOG, EventCatalog, UnknownEventError
from wafa_shared.events.envelope import Event, EventData, new_event

__all__ = ["CATALOG", "Event", "EventCatalog", "EventData", "UnknownEventError", "new_event"]

# Import the producer modules so their schemas register in the catalog.
from wafa_shared.events import analytics, customer, loyalty, survey, touch  # noqa: F401
