"""The lab's statistics: intervals against scipy, and every verdict rule turning at its threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from reglab.lab.stats import (
    CONDITIONAL,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Effect,
    bootstrap_effect,
    decide,
    decide_conditional,
    decide_equivalence,
    holm,
    intersection_union,
    mean_effect,
    minimum_detectable_effect,
    paired_effect,
    seeds_for_power,
    tost,
)


def _effect(est, half, n=8, **kw):
    return Effect("e", est, est - half, est + half, n, **kw)


# -- intervals ------------------------------------------------------------------------------
def test_paired_effect_is_the_paired_t_interval():
    rng = np.random.default_rng(0)
    c = rng.normal(1.0, 0.3, 10)
    t = c - 0.2 + rng.normal(0, 0.05, 10)
    e = paired_effect(t, c, name="d")
    d = t - c
    lo, hi = st.t.interval(0.95, 9, loc=d.mean(), scale=st.sem(d))
    assert e.estimate == pytest.approx(d.mean())
    assert (e.low, e.high) == pytest.approx((lo, hi))
    assert e.p_value == pytest.approx(st.ttest_rel(t, c).pvalue)
    assert e.n == 10


def test_paired_effect_log_ratio_and_mean_effect_null():
    t, c = np.array([2.0, 4.0, 8.0]), np.array([1.0, 2.0, 4.0])
    e = paired_effect(t, c, name="r", log_ratio=True)
    assert (e.estimate, e.low, e.high) == pytest.approx((math.log(2),) * 3)
    m = mean_effect([1.0, 2.0, 3.0], name="m", null=2.0)
    assert m.estimate == pytest.approx(0.0) and m.p_value == pytest.approx(1.0)
    assert m.low == pytest.approx(-st.t.ppf(0.975, 2) * 1 / math.sqrt(3))


def test_one_seed_gives_no_interval_and_is_inconclusive():
    e = paired_effect([1.0], [2.0], name="d")
    assert not e.has_interval and e.format().endswith("(no interval: n=1)")
    assert decide(e, "decrease", 0.1) == INCONCLUSIVE


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: paired_effect([1, 2], [1], name="d"), "must pair seed by seed"),
        (lambda: paired_effect([], [], name="d"), "treated is empty"),
        (lambda: paired_effect([1, -1], [1, 1], name="d", log_ratio=True), "log_ratio"),
        (lambda: mean_effect([1, np.nan], name="m"), "non-finite"),
        (lambda: paired_effect([1, 2], [1, 2], name="d", smallest=0), r"smallest=0"),
        (lambda: Effect("x", 2.0, 0.0, 1.0, 3), "must contain estimate=2.0"),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bootstrap_effect_covers_the_median_and_is_reproducible():
    rng = np.random.default_rng(1)
    x = rng.normal(0.5, 0.2, 30)
    e1 = bootstrap_effect(x, np.median, name="med", n_boot=500, seed=3)
    e2 = bootstrap_effect(x, np.median, name="med", n_boot=500, seed=3)
    assert e1 == e2
    assert e1.low < np.median(x) < e1.high and e1.low > 0 and e1.p_value < 0.01
    pairs = np.column_stack([x, x - 0.1])
    ed = bootstrap_effect(pairs, lambda a: float(np.mean(a[:, 0] - a[:, 1])), name="d", n_boot=200)
    assert ed.estimate == pytest.approx(0.1)
    with pytest.raises(ValueError, match="n_boot=10"):
        bootstrap_effect(x, np.mean, name="m", n_boot=10)


# -- power --------------------------------------------------------------------------------
def test_seeds_for_power_formula_and_floor():
    z = st.norm.ppf(0.975) + st.norm.ppf(0.8)
    assert seeds_for_power(1.0, 0.5) == math.ceil((z * 2) ** 2) == 32
    assert seeds_for_power(0.01, 1.0) == 5  # at least 5 seeds
    k = seeds_for_power(0.3, 0.1)
    assert minimum_detectable_effect(0.3, k) <= 0.1 < minimum_detectable_effect(0.3, k - 1)
    with pytest.raises(ValueError, match="delta=0"):
        seeds_for_power(1.0, 0)
    with pytest.raises(ValueError, match="power=1.5"):
        seeds_for_power(1.0, 0.1, power=1.5)


# -- decide: the rule turns where the interval crosses 0 and the smallest effect --------------
@pytest.mark.parametrize("direction", ["decrease", "increase"])
def test_decide_turns_at_zero_and_at_the_smallest_effect(direction):
    s = 1.0 if direction == "increase" else -1.0
    delta, half = 1.0, 0.5
    # sweep the estimate in the claimed direction; the CI is est +- 0.5
    assert decide(_effect(s * 0.6, half), direction, delta) == SUPPORTED  # lo = 0.1 > 0
    assert decide(_effect(s * 0.5, 0.6), direction, delta) == INCONCLUSIVE  # lo < 0 < 1 < hi
    assert decide(_effect(s * 0.49, half), direction, delta) == NOT_SUPPORTED  # hi < 1
    assert decide(_effect(s * 0.51, half), direction, delta) == SUPPORTED  # lo > 0
    assert decide(_effect(-s * 2.0, half), direction, delta) == NOT_SUPPORTED  # opposite sign


def test_decide_require_smallest_turns_at_the_smallest_effect():
    assert decide(_effect(1.6, 0.5), "increase", 1.0, require_smallest=True) == SUPPORTED
    assert decide(_effect(1.4, 0.5), "increase", 1.0, require_smallest=True) == INCONCLUSIVE
    # a real but small effect is not "large"
    assert decide(_effect(0.3, 0.1), "increase", 1.0, require_smallest=True) == NOT_SUPPORTED
    assert decide(_effect(0.3, 0.1), "increase", 1.0) == SUPPORTED


def test_decide_refuses_a_bad_direction_or_smallest():
    with pytest.raises(ValueError, match="direction='down'"):
        decide(_effect(1, 0.1), "down", 1.0)
    with pytest.raises(ValueError, match="smallest=-1"):
        decide(_effect(1, 0.1), "increase", -1)


def test_decide_conditional_turns_with_each_regime():
    pred = {"overconfident": True, "calibrated": False}
    holds, fails, unsure = _effect(-2.0, 0.5), _effect(1.0, 0.5), _effect(-0.5, 1.0)

    def dc(a, b):
        return decide_conditional(
            {"overconfident": a, "calibrated": b}, pred, "decrease", smallest=1.0
        )

    assert dc(holds, fails) == CONDITIONAL
    assert dc(holds, holds) == SUPPORTED
    assert dc(fails, fails) == NOT_SUPPORTED
    assert dc(fails, holds) == NOT_SUPPORTED  # the opposite of the named pattern
    assert dc(holds, unsure) == INCONCLUSIVE
    assert dc(unsure, fails) == INCONCLUSIVE
    with pytest.raises(ValueError, match="must be the same"):
        decide_conditional({"a": holds}, pred, "decrease", 1.0)
    with pytest.raises(ValueError, match="predicts the effect in no regime"):
        decide_conditional({"a": holds}, {"a": False}, "decrease", 1.0)


# -- several checks -------------------------------------------------------------------------
def test_holm_steps_down_and_turns_at_alpha_over_m_minus_i():
    # m = 3: thresholds 0.05/3, 0.05/2, 0.05/1 in order of p
    assert holm({"a": 0.016, "b": 0.024, "c": 0.049}) == {"a": True, "b": True, "c": True}
    assert holm({"a": 0.017, "b": 0.024, "c": 0.049}) == {"a": False, "b": False, "c": False}
    assert holm({"a": 0.03, "b": 0.026, "c": 0.001}) == {"a": False, "b": False, "c": True}
    # once one is kept, larger p-values are kept even below alpha
    assert holm({"a": 0.001, "b": 0.03, "c": 0.04}) == {"a": True, "b": False, "c": False}
    with pytest.raises(ValueError, match=r"p_values\['a'\]=1.5"):
        holm({"a": 1.5})


def test_intersection_union_needs_every_check():
    assert intersection_union({"a": SUPPORTED, "b": SUPPORTED}) == SUPPORTED
    assert intersection_union({"a": SUPPORTED, "b": INCONCLUSIVE}) == INCONCLUSIVE
    assert intersection_union({"a": NOT_SUPPORTED, "b": INCONCLUSIVE}) == NOT_SUPPORTED
    with pytest.raises(ValueError, match="must be SUPPORTED"):
        intersection_union({"a": "PASS"})


def test_tost_turns_at_the_margin():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1, 12)
    noise = (noise - noise.mean()) / noise.std(ddof=1) * 0.1  # mean 0, sd 0.1 exactly
    q = st.t.ppf(0.95, 11) * 0.1 / math.sqrt(12)
    inside = tost(noise + 0.5 - q - 0.01, margin=0.5)  # 90% CI's upper end just inside
    outside = tost(noise + 0.5 - q + 0.01, margin=0.5)
    assert inside.p_value < 0.05 <= outside.p_value
    assert decide_equivalence(inside) == SUPPORTED
    assert decide_equivalence(outside) == INCONCLUSIVE
    assert decide_equivalence(tost(noise + 0.5 + q + 0.01, margin=0.5)) == NOT_SUPPORTED


def test_in_units_of_smallest_signs_the_claimed_direction_positive():
    e = Effect("e", -0.02, -0.03, -0.01, 5, smallest=0.01)
    assert e.in_units_of_smallest("decrease") == pytest.approx((2.0, 1.0, 3.0))
    assert e.in_units_of_smallest("increase") == pytest.approx((-2.0, -3.0, -1.0))
