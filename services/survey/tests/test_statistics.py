"""The statistics equal hand-computed or scipy reference values on fixed fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from wafa_survey.domain.sampling import proportional_allocation, sampled, select_sample
from wafa_survey.domain.stats import (
    AttributeScore,
    achieved_margin,
    chi_square,
    cronbach_alpha,
    ipa_quadrants,
    nps_with_ci,
    required_sample_size,
    satisfaction_index,
    top_box_share,
)


def test_nps_and_its_wald_interval_match_the_hand_computation() -> None:
    # 5 promoters, 3 passives, 2 detractors: NPS = 50 - 20 = 30;
    # Var = (0.5 + 0.2 - 0.3^2)/10 = 0.061; SE = 100*sqrt(0.061) = 24.6982; CI = 30 ± 1.959964*24.6982
    est = nps_with_ci(5, 3, 2)
    assert est is not None
    assert est.nps == pytest.approx(30.0)
    assert est.standard_error == pytest.approx(24.698178, abs=1e-6)
    assert est.ci_low == pytest.approx(30 - 48.40754, abs=1e-4)
    assert est.ci_high == pytest.approx(30 + 48.40754, abs=1e-4)


def test_nps_interval_is_clipped_to_the_scale_and_absent_without_answers() -> None:
    assert nps_with_ci(0, 0, 0) is None
    est = nps_with_ci(3, 0, 0)
    assert est is not None and est.nps == 100 and est.ci_high == 100 and est.ci_low == 100  # no spread


def test_cronbach_alpha_equals_the_formula_on_a_fixed_item_matrix() -> None:
    items = np.array([[4, 5, 4], [3, 3, 2], [5, 5, 5], [2, 3, 3], [4, 4, 5], [1, 2, 1]], dtype=float)
    k = items.shape[1]
    expected = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    alpha = cronbach_alpha(list(items.var(axis=0, ddof=1)), float(items.sum(axis=1).var(ddof=1)))
    assert alpha == pytest.approx(expected)
    assert alpha == pytest.approx(1.5 * (1 - 6.3 / (86.8333333 / 5)), abs=1e-6)  # by hand: item variances 2.1667+1.4667+2.6667, total 17.3667
    assert cronbach_alpha([1.0], 2.0) is None


def test_chi_square_equals_scipy_without_continuity_correction() -> None:
    table = [[30, 10, 10], [10, 10, 30]]
    result = chi_square(table)
    reference = sps.chi2_contingency(table, correction=False)
    assert result is not None
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.dof == 2 and result.significant
    # by hand: expected counts are 20,10,20 in both rows -> chi2 = 2*(100/20 + 0 + 100/20) = 20
    assert result.statistic == pytest.approx(20.0)
    assert chi_square([[5, 0, 0], [0, 0, 0]]) is None


def test_sample_size_uses_cochran_with_finite_population_correction() -> None:
    # n0 = 1.959964^2 * 0.25 / 0.05^2 = 384.146; with N = 10 000: 384.146 / (1 + 383.146/10000) = 369.98 -> 370
    assert required_sample_size(10_000, 0.05, 0.95) == 370
    # N = 1000: 384.146 / 1.383146 = 277.74 -> 278
    assert required_sample_size(1000, 0.05, 0.95) == 278
    # 99 %, ±3 %, N = 5000: z = 2.575829, n0 = 1843.03, n = 1843.03/(1+1842.03/5000) = 1346.8 -> 1347
    assert required_sample_size(5000, 0.03, 0.99) == 1347
    assert required_sample_size(50, 0.01) == 50


def test_achieved_margin_shrinks_with_responses_and_uses_the_population_size() -> None:
    assert achieved_margin(0, 100) is None
    assert achieved_margin(400, None) == pytest.approx(1.959964 * 0.5 / 20, abs=1e-6)
    assert achieved_margin(278, 1000) == pytest.approx(1.959964 * math.sqrt(0.25 / 278) * math.sqrt(722 / 999), abs=1e-9)
    assert achieved_margin(278, 1000) < 0.05  # the planned sample reaches the target margin


def test_csat_top_two_box_and_importance_weighted_csi() -> None:
    assert top_box_share({5: 3, 4: 1, 3: 2, 1: 2}, {4, 5}) == pytest.approx(50.0)
    attrs = [AttributeScore("price", 3.0, 5.0, 5), AttributeScore("staff", 5.0, 3.0, 5)]
    # weights 5/8 and 3/8; rescaled satisfactions 0.5 and 1.0 -> 100*(0.3125 + 0.375) = 68.75
    assert satisfaction_index(attrs) == pytest.approx(68.75)


def test_importance_performance_quadrants_cross_at_the_grand_means() -> None:
    attrs = [
        AttributeScore("price", 2.0, 4.5, 5),  # important, weak -> concentrate here
        AttributeScore("staff", 4.5, 4.6, 5),  # important, strong -> keep up
        AttributeScore("parking", 2.2, 2.0, 5),  # unimportant, weak -> low priority
        AttributeScore("music", 4.4, 1.8, 5),  # unimportant, strong -> possible overkill
    ]
    assert ipa_quadrants(attrs) == {
        "price": "concentrate_here",
        "staff": "keep_up_the_good_work",
        "parking": "low_priority",
        "music": "possible_overkill",
    }


def test_stratified_selection_is_proportional_and_reproducible_from_its_seed() -> None:
    population = [(f"c{i:03d}", "gold" if i < 200 else "silver") for i in range(1000)]
    chosen, alloc = select_sample(population, 100, seed=42, stratified=True)
    assert alloc == {"gold": 20, "silver": 80}
    assert len(chosen) == 100 and sum(1 for c in chosen if int(c[1:]) < 200) == 20
    assert select_sample(population, 100, seed=42, stratified=True)[0] == chosen
    assert select_sample(population, 100, seed=43, stratified=True)[0] != chosen
    simple, _ = select_sample(population, 50, seed=7, stratified=False)
    assert len(set(simple)) == 50
    assert proportional_allocation({"a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}


def test_trigger_sampling_is_deterministic_per_event_and_near_its_rate() -> None:
    keys = [f"survey:{i}" for i in range(10_000)]
    share = sum(sampled(k, 0.2) for k in keys) / len(keys)
    assert 0.18 < share < 0.22
    assert [sampled(k, 0.2) for k in keys[:100]] == [sampled(k, 0.2) for k in keys[:100]]
    assert all(sampled(k, 1.0) for k in keys[:10])
