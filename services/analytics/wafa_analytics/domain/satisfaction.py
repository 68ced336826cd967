"""Satisfaction measures computed from survey scores.

- NPS (Reichheld): % promoters (9-10) minus % detractors (0-6) among answers to the 0-10
  "would you recommend" question; ranges -100..100.
- CSAT and CES: the mean of the scores as the survey service computed them.
- CSI (customer satisfaction index, course document 000): the importance-weighted mean of the
  satisfaction scores given to the attributes of the offer, sum(w_i * s_i) / sum(w_i). A response
  carries `attributes = {name: {"satisfaction": s, "importance": w}}`; a missing importance
  weighs 1, a missing satisfaction falls back to `score`. No attributes: no CSI for that response.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


def csi(attributes: Mapping[str, Mapping[str, Decimal]]) -> Decimal | None:
    num = den = Decimal(0)
    for scores in attributes.values():
        s = scores.get("satisfaction", scores.get("score"))
        if s is None:
            continue
        w = scores.get("importance", Decimal(1))
        num += w * s
        den += w
    if den == 0:
        return None
    return (num / den).quantize(Decimal("0.0001"))


def is_detractor(nps: int | None) -> bool:
    return nps is not None and nps <= DETRACTOR_MAX
