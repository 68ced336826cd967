"""Test helpers: real PostgreSQL and broker per test session, a clean state per test."""
