"""Wafa touch scheduler service."""
