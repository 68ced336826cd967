"""Wafa survey service."""
