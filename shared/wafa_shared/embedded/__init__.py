"""Embedded infrastructure for dev and tests: PostgreSQL and a Kafka-protocol broker from wheels."""
