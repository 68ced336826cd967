"""Wafa analytics service."""
