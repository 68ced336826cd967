"""Coupon codes: unguessable and easy to read aloud or type.

The alphabet drops the look-alikes 0/O, 1/I/L (and U, to avoid accidental words): 30
symbols, so 14 symbols carry 14 x log2(30) = 68.7 bits from `secrets` (at least 64 required).
Codes are shown in groups (`ABCD-EFGH-JKMN-PQ`); input is normalised (case, dashes, spaces).
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 14


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(code: str) -> str:
    """Canonical stored form of a code typed or scanned by a person or a POS."""
    raw = "".join(ch for ch in code.upper() if ch not in "- \t")
    if len(raw) == LENGTH and all(ch in ALPHABET for ch in raw):
        return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))
    return raw
