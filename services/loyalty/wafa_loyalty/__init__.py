"""Wafa loyalty service."""
