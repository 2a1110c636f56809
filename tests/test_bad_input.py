"""Bad input ends in a ValueError or TypeError that names the argument (issue 13).

Property-based over the public functions and classes of reglab.diagnostics and
reglab.augment: for every checked argument, hypothesis draws values outside its domain
(NaN, infinities, out-of-range numbers, bools and strings where numbers belong, strings
where bools belong, unknown choices, arrays with a NaN anywhere, empty arrays) and the call
must raise ValueError/TypeError whose message contains the argument's name: never a NaN or
inf result, a hang, or a raw NumPy/SciPy/torch error. A parametrised table pins the same
for representative arguments of the other packages. benchmarks/bad_input_sweep.py runs
the exhaustive version over the whole API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reglab import diagnostics as diag
from reglab.augment import audio, text

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------------- bad-value strategies

NON_NUMBERS = st.one_of(st.text(max_size=4), st.booleans(), st.none())
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def bad_real(low: float | None = None, high: float | None = None, open_low: bool = False):
    """Values outside [low, high] (or (low, high] with open_low), non-finite, non-numbers."""
    parts = [NON_FINITE, NON_NUMBERS]
    if low is not None:
        top = low if open_low else np.nextafter(low, -np.inf)
        parts.append(st.floats(max_value=top, allow_nan=False, allow_infinity=False))
    if high is not None:
        parts.append(
            st.floats(min_value=np.nextafter(high, np.inf), allow_nan=False, allow_infinity=False)
        )
    return st.one_of(*parts)


def bad_int(low: int, high: int | None = None):
    parts = [
        st.integers(max_value=low - 1),
        st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()),
        st.text(max_size=3),
        st.booleans(),
    ]
    if high is not None:
        parts.append(st.integers(min_value=high + 1, max_value=10**15))
    return st.one_of(*parts)


BAD_BOOL = st.one_of(st.sampled_from(["no", "yes", "False", ""]), st.integers(), st.none())


def bad_choice(choices: tuple[str, ...]):
    return st.one_of(st.text(max_size=6).filter(lambda s: s not in choices), st.integers())


def nan_somewhere(shape: tuple[int, ...], fill: float = 0.5):
    """A finite array of ``shape`` with one NaN or inf at a drawn position."""
    size = int(np.prod(shape))

    def build(args):
        i, v = args
        a = np.full(shape, fill, dtype=float) + np.arange(size).reshape(shape) * 1e-3
        a.flat[i] = v
        return a

    return st.tuples(st.integers(0, size - 1), NON_FINITE).map(build)


def bad_array(shape: tuple[int, ...]):
    return st.one_of(
        nan_somewhere(shape),
        st.just(np.zeros((0,) + shape[1:])),
        st.just(np.full(shape, "x")),
        st.just("not an array"),
    )


# ------------------------------------------------------------------------------ the table


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    return X, X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.normal(size=20)


def _probs():
    p = np.random.default_rng(1).random((12, 3))
    return p / p.sum(1, keepdims=True), np.arange(12) % 3


def _tone():
    return (0.5 * np.sin(2 * np.pi * 440 * np.arange(2000) / 16000)).astype(np.float32)


X, Y = _data()
P, L = _probs()
SR = 16000
TEXT = "the quick brown fox jumps"

#: (name, callable, valid keyword arguments, {argument: strategy of bad values})
CASES: list[tuple[str, Callable, Callable[[], dict], dict[str, Any]]] = [
    (
        "condition_number",
        diag.condition_number,
        lambda: {"X": X, "lam": 0.5},
        {"X": bad_array(X.shape), "lam": bad_real(0.0)},
    ),
    (
        "effective_dof",
        diag.effective_dof,
        lambda: {"X": X, "lam": 0.5},
        {"X": bad_array(X.shape), "lam": bad_real(0.0)},
    ),
    (
        "ridge_shrinkage_factors",
        diag.ridge_shrinkage_factors,
        lambda: {"X": X, "lam": 0.5},
        {"lam": bad_real(0.0)},
    ),
    (
        "gd_filter",
        diag.gd_filter,
        lambda: {"s": np.array([2.0, 1.0]), "lr": 0.1, "steps": 3, "n": 10},
        {
            "s": bad_array((2,)),
            "lr": bad_real(0.0, open_low=True),
            "n": bad_int(1),
            "steps": bad_real(0.0),
        },
    ),
    (
        "ridge_filter",
        diag.ridge_filter,
        lambda: {"s": np.array([2.0, 1.0]), "lam": 0.1, "n": 10},
        {"s": bad_array((2,)), "lam": bad_real(0.0), "n": bad_int(1)},
    ),
    (
        "early_stopping_as_ridge",
        diag.early_stopping_as_ridge,
        lambda: {"X": X, "y": Y, "lr": 0.1, "steps": 5},
        {
            "X": bad_array(X.shape),
            "y": bad_array(Y.shape),
            "lr": bad_real(0.0, open_low=True),
            "steps": bad_int(1),
        },
    ),
    (
        "gradient_descent_iterates",
        diag.gradient_descent_iterates,
        lambda: {"X": X, "y": Y, "lr": 0.1, "steps": 5},
        {
            "X": bad_array(X.shape),
            "lr": st.one_of(bad_real(0.0, open_low=True), st.floats(50.0, 1e300)),
            "steps": bad_int(1),
        },
    ),
    (
        "ridge_predictions",
        diag.ridge_predictions,
        lambda: {"X": X, "y": Y, "X_test": X, "alphas": [0.1, 1.0]},
        {
            "X": bad_array(X.shape),
            "y": bad_array(Y.shape),
            "X_test": bad_array(X.shape),
            "alphas": bad_real(0.0),
            "fit_intercept": BAD_BOOL,
            "method": bad_choice(("auto", "gram", "svd")),
        },
    ),
    (
        "double_descent",
        diag.double_descent,
        lambda: {"n_train": 10, "n_features": [4, 20], "rounds": 2},
        {
            "signal": bad_real(0.0, open_low=True),
            "noise": bad_real(0.0),
            "rounds": bad_int(2),
            "include_noise": BAD_BOOL,
        },
    ),
    (
        "min_norm_asymptotic_risk",
        diag.min_norm_asymptotic_risk,
        lambda: {"gamma": 0.5},
        {
            "gamma": bad_real(0.0, open_low=True),
            "signal": bad_real(0.0),
            "noise": bad_real(0.0),
            "include_noise": BAD_BOOL,
        },
    ),
    (
        "SyntheticRegression",
        diag.SyntheticRegression,
        lambda: {"n_features": 3},
        {
            "n_features": bad_int(1),
            "noise": bad_real(0.0),
            "signal": bad_real(0.0),
            "features": bad_choice(("normal", "uniform")),
        },
    ),
    (
        "SyntheticClassification",
        diag.SyntheticClassification,
        lambda: {"n_features": 2},
        {"n_classes": bad_int(2), "separation": bad_real(0.0)},
    ),
    (
        "BootstrapGenerator",
        diag.BootstrapGenerator,
        lambda: {"X": X, "y": Y},
        {
            "X": bad_array(X.shape),
            "y": bad_array(Y.shape),
            "test_fraction": bad_real(0.0, 1.0, open_low=True).filter(lambda v: v != 1.0),
            "noise_var": bad_real(0.0).filter(lambda v: v is not None),
            "task": bad_choice(("regression", "classification")),
        },
    ),
    (
        "calibration_bins",
        diag.calibration_bins,
        lambda: {"probs": P, "labels": L},
        {
            "probs": nan_somewhere(P.shape),
            "n_bins": bad_int(1),
            "strategy": bad_choice(("uniform", "quantile")),
        },
    ),
    (
        "ece",
        diag.ece,
        lambda: {"probs": P, "labels": L},
        {"probs": nan_somewhere(P.shape), "labels": nan_somewhere(L.shape)},
    ),
    (
        "bias_variance",
        diag.bias_variance,
        lambda: {
            "make_estimator": _ridge(),
            "generator": diag.SyntheticRegression(3),
            "n_train": 10,
            "n_test": 5,
            "rounds": 2,
        },
        {
            "rounds": bad_int(2),
            "n_train": bad_int(1),
            "n_test": bad_int(1),
            "loss": bad_choice(("squared", "zero_one", "log")),
            "n_jobs": st.one_of(st.just(0), st.text(max_size=2), st.booleans(), st.floats()),
        },
    ),
    (
        "time_stretch",
        audio.time_stretch,
        lambda: {"samples": _tone(), "rate": 1.5, "sample_rate": SR},
        {
            "samples": nan_somewhere((2000,)),
            "rate": bad_real(0.1, 10.0),
            "sample_rate": bad_int(1000, 768_000),
            "seed": st.one_of(st.integers(max_value=-1), st.text(max_size=2), st.floats()),
        },
    ),
    (
        "pitch_shift",
        audio.pitch_shift,
        lambda: {"samples": _tone(), "n_steps": 2.0, "sample_rate": SR},
        {"n_steps": bad_real(-24.0, 24.0), "sample_rate": bad_int(1000, 768_000)},
    ),
    (
        "gain",
        audio.gain,
        lambda: {"samples": _tone(), "db": 6.0},
        {"samples": nan_somewhere((2000,)), "db": bad_real(-120.0, 120.0)},
    ),
    (
        "add_noise",
        audio.add_noise,
        lambda: {"samples": _tone(), "snr": 10.0, "seed": 0},
        {"snr": bad_real(-120.0, 120.0), "seed": st.one_of(st.text(max_size=2), st.floats())},
    ),
    (
        "word_dropout",
        text.word_dropout,
        lambda: {"texts": TEXT, "p": 0.3, "seed": 0},
        {
            "p": bad_real(0.0, 1.0),
            "mask_token": st.one_of(st.integers(), st.none(), st.floats()),
            "seed": st.one_of(st.text(max_size=2), st.floats(), st.integers(max_value=-1)),
        },
    ),
    (
        "random_deletion",
        text.random_deletion,
        lambda: {"texts": TEXT, "p": 0.3, "seed": 0},
        {"p": bad_real(0.0, 1.0)},
    ),
    (
        "random_swap",
        text.random_swap,
        lambda: {"texts": TEXT, "n_swaps": 1, "seed": 0},
        {"n_swaps": bad_int(0)},
    ),
]


def _ridge():
    from sklearn.linear_model import Ridge

    return Ridge()


def _image_cases():
    pytest.importorskip("torch")
    pytest.importorskip("kornia")
    from reglab.augment import image as im

    return [
        (
            "Rotation",
            im.Rotation,
            lambda: {},
            {"degrees": st.one_of(st.text(min_size=1), NON_FINITE), "p": bad_real(0.0, 1.0)},
        ),
        (
            "Translation",
            im.Translation,
            lambda: {},
            {"fraction": bad_real(0.0, 1.0), "p": bad_real(0.0, 1.0)},
        ),
        (
            "ColorJitter",
            im.ColorJitter,
            lambda: {},
            {"brightness": bad_real(0.0, 1.0), "hue": bad_real(0.0, 0.5)},
        ),
        ("HorizontalFlip", im.HorizontalFlip, lambda: {}, {"p": bad_real(0.0, 1.0)}),
        (
            "RandomResizedCrop",
            im.RandomResizedCrop,
            lambda: {},
            {"scale": st.one_of(st.text(min_size=1), st.tuples(NON_FINITE, st.just(1.0)))},
        ),
        (
            "Pipeline",
            im.Pipeline,
            lambda: {"transforms": [im.HorizontalFlip()]},
            {"policy": bad_choice(("per_sample", "per_batch"))},
        ),
    ]


def _flatten(cases):
    return [
        pytest.param(fn, make, arg, strategy, id=f"{name}-{arg}")
        for name, fn, make, bad in cases
        for arg, strategy in bad.items()
    ]


def _check(fn: Callable, kwargs: dict, arg: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        fn(**kwargs)
    # the message names the argument (as the word, or as the start of an indexed name)
    assert re.search(rf"\b{re.escape(arg)}\b", str(info.value)), (arg, str(info.value))
    # raised by reglab's own check, not passed through from a library
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert "reglab" in tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_filename


@pytest.mark.parametrize(("fn", "make", "arg", "strategy"), _flatten(CASES))
def test_diagnostics_and_audio_text_refuse_bad_input(fn, make, arg, strategy):
    _property(fn, make, arg, strategy)()


def _property(fn, make, arg, strategy):
    @SETTINGS
    @given(bad=strategy)
    def prop(bad):
        _check(fn, {**make(), arg: bad}, arg)

    return prop


def test_image_transforms_refuse_bad_input():
    # one test for all of them: the torch/kornia import is paid once
    for fn, make, arg, strategy in [p.values for p in _flatten(_image_cases())]:
        _property(fn, make, arg, strategy)()


# ------------------------------------------------------------- the other packages, a table


def _others():
    import reglab

    rows = [
        (reglab.EarlyStopping, {"mode": "maximum"}, "mode"),
        (reglab.EarlyStopping, {"patience": -1}, "patience"),
        (reglab.catalog, {"kind": "nonsense"}, "kind"),
        (reglab.Kind, {"value": "nonsense"}, "value"),
    ]
    from reglab import lab

    rows += [
        (lab.get_claim, {"claim_id": "no-such-claim"}, "claim"),
        (lab.expand_grid, {"grid": {"a": "xyz"}}, "grid"),
    ]
    return rows


@pytest.mark.parametrize(("fn", "kwargs", "arg"), _others())
def test_other_packages_name_the_argument(fn, kwargs, arg):
    with pytest.raises((ValueError, TypeError, KeyError)) as info:
        fn(**kwargs)
    assert arg in str(info.value)
