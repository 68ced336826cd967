"""Selecting whom to invite: simple random or proportionally stratified, reproducible from a
recorded seed; and the transactional trigger's sampling draw (no I/O)."""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict


def proportional_allocation(strata_sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split `n` over strata in proportion to their sizes (largest-remainder rounding, ties
    by stratum name), never more than a stratum holds."""
    total = sum(strata_sizes.values())
    if total == 0:
        return {s: 0 for s in strata_sizes}
    n = min(n, total)
    exact = {s: n * size / total for s, size in strata_sizes.items()}
    alloc = {s: min(strata_sizes[s], math.floor(v)) for s, v in exact.items()}
    left = n - sum(alloc.values())
    for s in sorted(exact, key=lambda s: (-(exact[s] - math.floor(exact[s])), s)):
        if left <= 0:
            break
        if alloc[s] < strata_sizes[s]:
            alloc[s] += 1
            left -= 1
    return alloc


def select_sample(population: list[tuple[str, str | None]], n: int, seed: int, *, stratified: bool) -> tuple[list[str], dict[str, int]]:
    """Choose `n` of (member, stratum) pairs. Simple random sampling without replacement, or
    stratified with proportional allocation; the same population order, n and seed always
    give the same selection. Returns the chosen members (in population order) and the allocation."""
    rng = random.Random(seed)
    members = sorted({m for m, _ in population})
    strata_of = {m: s for m, s in population}
    if not stratified:
        chosen = set(rng.sample(members, min(n, len(members))))
        return [m for m in members if m in chosen], {"all": len(chosen)}
    groups: dict[str, list[str]] = defaultdict(list)
    for m in members:
        groups[strata_of[m] or "unknown"].append(m)
    alloc = proportional_allocation({s: len(g) for s, g in groups.items()}, n)
    chosen = set()
    for s in sorted(groups):
        chosen.update(rng.sample(groups[s], alloc[s]))
    return [m for m in members if m in chosen], alloc


def sampled(key: str, rate: float) -> bool:
    """Deterministic Bernoulli draw for the event trigger: hash(key) mapped to [0, 1) is below
    `rate`. A redelivered event gives the same answer, as inbox handlers must."""
    if rate >= 1:
        return True
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate
