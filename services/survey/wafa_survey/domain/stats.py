"""Survey statistics, each formula once with its source (plain functions, no I/O).

The inputs are the aggregates SQL computes over the responses (counts, sums, variances), so
results stay set-based however many responses there are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as sps


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile (1.959964 for 95 %)."""
    return float(sps.norm.ppf(1 - (1 - confidence) / 2))


@dataclass(frozen=True)
class NpsEstimate:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    standard_error: float
    ci_low: float
    ci_high: float


def nps_with_ci(promoters: int, passives: int, detractors: int, confidence: float = 0.95) -> NpsEstimate | None:
    """NPS = 100·(p_P - p_D) with a Wald interval for a difference of two proportions of one
    multinomial sample: Var(p̂_P - p̂_D) = [p_P + p_D - (p_P - p_D)²] / n, so the interval is
    NPS ± z·100·√Var (Rocks, B. 2016, "Interval estimation for the Net Promoter Score",
    The American Statistician 70(4), 365-372, the "Wald" method). Bounds are clipped to ±100.
    None when there are no answers."""
    n = promoters + passives + detractors
    if n == 0:
        return None
    p_p, p_d = promoters / n, detractors / n
    diff = p_p - p_d
    se = math.sqrt(max(p_p + p_d - diff**2, 0.0) / n) * 100
    z = z_value(confidence)
    nps = diff * 100
    return NpsEstimate(n, promoters, passives, detractors, nps, se, max(-100.0, nps - z * se), min(100.0, nps + z * se))


def cronbach_alpha(item_variances: list[float], total_variance: float) -> float | None:
    """Cronbach's alpha alpha = k/(k-1) · (1 - Σσ²_i / σ²_X) over k items (Cronbach, 1951,
    Psychometrika 16, 297-334), with sample variances (ddof 1) of complete cases.
    None with fewer than two items or no spread in the totals."""
    k = len(item_variances)
    if k < 2 or total_variance <= 0:
        return None
    return k / (k - 1) * (1 - sum(item_variances) / total_variance)


def required_sample_size(population: int, margin: float, confidence: float = 0.95, proportion: float = 0.5) -> int:
    """Responses needed to estimate a proportion within ±`margin`: Cochran's n₀ = z²·p(1-p)/e²
    with the finite population correction n = n₀ / (1 + (n₀ - 1)/N) (Cochran, W. G. 1977,
    Sampling Techniques, 3rd ed., eq. 4.1-4.2), rounded up; never more than N."""
    z = z_value(confidence)
    n0 = z * z * proportion * (1 - proportion) / (margin * margin)
    n = n0 / (1 + (n0 - 1) / population)
    return min(population, math.ceil(n - 1e-9))


def achieved_margin(responses: int, population: int | None, confidence: float = 0.95, proportion: float = 0.5) -> float | None:
    """Margin of error of a proportion with `responses` answers: z·√(p(1-p)/n), times the
    finite population correction √((N-n)/(N-1)) when the population size N is known."""
    if responses <= 0:
        return None
    e = z_value(confidence) * math.sqrt(proportion * (1 - proportion) / responses)
    if population is not None and population > 1:
        e *= math.sqrt(max(population - responses, 0) / (population - 1))
    return e


def top_box_share(counts: dict[int, int], boxes: set[int]) -> float | None:
    """Share (%) of answers in the given top boxes, e.g. 4 and 5 on a 1-5 CSAT (top-2-box)."""
    n = sum(counts.values())
    return None if n == 0 else 100 * sum(c for v, c in counts.items() if v in boxes) / n


@dataclass(frozen=True)
class AttributeScore:
    name: str
    satisfaction: float
    importance: float
    points: int


def satisfaction_index(attributes: list[AttributeScore]) -> float | None:
    """Customer satisfaction index 0-100 weighted by stated importance:
    CSI = 100 · Σ w_i·(s̄_i - 1)/(points_i - 1) with w_i = ī_i / Σ ī, where s̄_i and ī_i are
    attribute i's mean satisfaction and importance (the importance-weighted index of the
    course material, rescaled so the lowest answer is 0 and the highest 100)."""
    total = sum(a.importance for a in attributes)
    if not attributes or total <= 0:
        return None
    return 100 * sum((a.importance / total) * (a.satisfaction - 1) / (a.points - 1) for a in attributes)


QUADRANTS = {
    (True, False): "concentrate_here",
    (True, True): "keep_up_the_good_work",
    (False, False): "low_priority",
    (False, True): "possible_overkill",
}


def ipa_quadrants(attributes: list[AttributeScore]) -> dict[str, str]:
    """Importance-performance analysis (Martilla & James, 1977, Journal of Marketing 41(1)):
    axes cross at the grand means of importance and of satisfaction (on a 0-1 rescale, so
    attributes on different point scales compare). At the mean counts as high."""
    if not attributes:
        return {}

    def rescale(v: float, points: int) -> float:
        return (v - 1) / (points - 1)

    imp = {a.name: rescale(a.importance, a.points) for a in attributes}
    sat = {a.name: rescale(a.satisfaction, a.points) for a in attributes}
    mean_imp = sum(imp.values()) / len(imp)
    mean_sat = sum(sat.values()) / len(sat)
    return {a.name: QUADRANTS[(imp[a.name] >= mean_imp - 1e-12, sat[a.name] >= mean_sat - 1e-12)] for a in attributes}


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    p_value: float
    dof: int
    significant: bool


def chi_square(table: list[list[int]], alpha: float = 0.05) -> ChiSquare | None:
    """Pearson's chi-square test of independence of a contingency table
    (`scipy.stats.chi2_contingency`, without Yates' continuity correction). Rows or columns
    with no observation are dropped; None when fewer than 2x2 remain."""
    rows = [r for r in table if sum(r) > 0]
    if len(rows) < 2:
        return None
    cols = [j for j in range(len(rows[0])) if sum(r[j] for r in rows) > 0]
    if len(cols) < 2:
        return None
    trimmed = [[r[j] for j in cols] for r in rows]
    result = sps.chi2_contingency(trimmed, correction=False)
    p = float(result.pvalue)
    return ChiSquare(float(result.statistic), p, int(result.dof), p < alpha)
