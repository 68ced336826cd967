"""Events the survey service consumes (its handlers); what it publishes is in
`wafa_shared.events`."""

from wafa_shared.inbox import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = []
