"""Wafa customer service."""
