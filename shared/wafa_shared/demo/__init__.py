"""The demo business: a realistic synthetic retailer generated from a seed and loaded into a
running platform through its public APIs, so a newcomer's `make run` shows a living system."""

from wafa_shared.demo.business import Business, generate
from wafa_shared.demo.load import DemoError, DemoSummary, seed_demo

__all__ = ["Business", "DemoError", "DemoSummary", "generate", "seed_demo"]
