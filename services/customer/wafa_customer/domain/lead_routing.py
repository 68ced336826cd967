"""Which team member a new lead goes to: members whose rule matches the lead (country and/or
language) come first; members without a rule catch the rest; among the candidates the one
assigned least recently gets it (round-robin, fair over time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    id: str
    countries: Sequence[str]
    languages: Sequence[str]
    last_assigned_seq: int


def _matches(m: Member, country: str | None, language: str | None) -> bool:
    if m.countries and country not in m.countries:
        return False
    if not m.languages:
        return True
    return bool(language) and (language in m.languages or (language or "").split("-")[0] in m.languages)


def choose_owner(members: Sequence[Member], *, country: str | None, language: str | None) -> str | None:
    ruled = [m for m in members if (m.countries or m.languages) and _matches(m, country, language)]
    pool = ruled or [m for m in members if not m.countries and not m.languages]
    if not pool:
        return None
    return min(pool, key=lambda m: (m.last_assigned_seq, m.id)).id
