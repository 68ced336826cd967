"""BG/NBD and Gamma-Gamma maximum likelihood against the published CDNOW estimates.

Tolerances: the published estimates are printed to 3 significant decimals (BG/NBD: r=0.243,
alpha=4.414, a=0.793, b=2.426; Gamma-Gamma: p=6.25, q=3.74, gamma=15.44); we require agreement
to the last printed digit, i.e. |ours - published| <= 0.0015 (BG/NBD) and <= 0.015 (p, q) /
0.015 (gamma) - a half unit of the printed precision plus rounding slack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wafa_analytics.domain import bgnbd, clv, gammagamma, rfm

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow() -> np.ndarray:
    return np.genfromtxt(DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True)


def test_cdnow_sample_has_the_2357_customers_of_the_paper(cdnow: np.ndarray) -> None:
    assert len(cdnow) == 2357
    assert int(cdnow["x"].sum()) == 2457  # repeat transactions in the calibration period (FHL 2005)


def test_bgnbd_fit_on_cdnow_reproduces_fader_hardie_lee_2005(cdnow: np.ndarray) -> None:
    res = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    p = res.params
    assert abs(p.r - 0.243) <= 0.0015
    assert abs(p.alpha - 4.414) <= 0.0015
    assert abs(p.a - 0.793) <= 0.0015
    assert abs(p.b - 2.426) <= 0.0015
    assert res.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # published LL


def test_gamma_gamma_fit_on_cdnow_reproduces_fader_hardie_2013(cdnow: np.ndarray) -> None:
    res = gammagamma.fit(cdnow["x"], cdnow["zbar"])
    p = res.params
    assert abs(p.p - 6.25) <= 0.015
    assert abs(p.q - 3.74) <= 0.015
    assert abs(p.gamma - 15.44) <= 0.015


def test_conditional_expectation_matches_the_published_value_for_cdnow_customer_1() -> None:
    # Fader, Hardie & Lee, "Implementing the BG/NBD model" note: customer 1 (x=2, t_x=30.43,
    # T=38.86) is expected to make 1.226 purchases in the next 39 weeks.
    p = bgnbd.BGNBDParams(0.243, 4.414, 0.793, 2.426)
    assert float(bgnbd.expected_purchases(p, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))[0]) == pytest.approx(1.226, abs=0.001)


def test_probability_alive_is_one_without_repeats_and_falls_with_silence() -> None:
    p = bgnbd.BGNBDParams(0.243, 4.414, 0.793, 2.426)
    alive = bgnbd.probability_alive(p, np.array([0.0, 3.0, 3.0]), np.array([0.0, 38.0, 5.0]), np.array([39.0, 39.0, 39.0]))
    assert alive[0] == 1.0
    assert alive[1] > 0.8 > 0.3 > alive[2]


def test_expected_spend_shrinks_the_observed_mean_towards_the_population_mean() -> None:
    g = gammagamma.GammaGammaParams(6.25, 3.74, 15.44)
    population = 6.25 * 15.44 / (3.74 - 1)
    spend = gammagamma.expected_spend(g, np.array([0.0, 1.0, 50.0]), np.array([0.0, 100.0, 100.0]))
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 100.0
    assert spend[1] == pytest.approx(6.25 * (15.44 + 100.0) / (6.25 + 3.74 - 1))


def test_clv_without_discount_over_one_month_is_expected_purchases_times_spend() -> None:
    bg = bgnbd.BGNBDParams(0.243, 4.414, 0.793, 2.426)
    g = gammagamma.GammaGammaParams(6.25, 3.74, 15.44)
    x, t_x, T, m = (np.array([v]) for v in (4.0, 30.0, 38.0, 40.0))
    value = clv.clv(bg, g, x, t_x, T, m, months=1, annual_discount=0.0)
    expected = bgnbd.expected_purchases(bg, clv.WEEKS_PER_MONTH, x, t_x, T) * gammagamma.expected_spend(g, x, m)
    assert value[0] == pytest.approx(expected[0])
    assert clv.clv(bg, g, x, t_x, T, m, months=12, annual_discount=0.2)[0] < clv.clv(bg, g, x, t_x, T, m, months=12, annual_discount=0.0)[0]


def test_rfm_quintiles_give_ties_one_score_and_the_best_fifth_five() -> None:
    assert rfm.quintile_scores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintile_scores([5, 5, 5]) == [1, 1, 1]
    assert rfm.quintile_scores([10.0, 1.0], higher_is_better=False) == [1, 3]
    assert [rfm.segment(5, 5), rfm.segment(3, 3), rfm.segment(5, 1), rfm.segment(1, 5), rfm.segment(1, 2), rfm.segment(2, 1), rfm.segment(1, 1)] == [
        "Champions",
        "Loyal",
        "New",
        "Cannot lose them",
        "At risk",
        "Hibernating",
        "Lost",
    ]
