"""Bias-variance decompositions: exact identities, oracles, back-ends and bad input."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier

from reglab.diagnostics import (
    BootstrapGenerator,
    SyntheticClassification,
    SyntheticRegression,
    TestSet,
    bias_variance,
    decompose,
)

LOSSES = ["squared", "zero_one", "log"]


def _setup(loss):
    """A generator and a non-trivial learner for each loss."""
    if loss == "squared":
        return SyntheticRegression(4, noise=0.7, function="sine"), Ridge(alpha=3.0)
    gen = SyntheticClassification(3, n_classes=3, separation=2.0)
    if loss == "zero_one":
        return gen, DecisionTreeClassifier(max_depth=3)
    return gen, LogisticRegression(C=0.5)


def _random_predictions(loss, rng, R=7, n=25, K=3):
    """Arbitrary predictions and truth to test the algebra of each decomposition."""
    if loss == "squared":
        test = TestSet(X=np.zeros((n, 1)), mean=rng.normal(size=n), noise_var=rng.random(n))
        preds = rng.normal(size=(R, n))
        y = test.mean + np.sqrt(test.noise_var) * rng.normal(size=(R, n))
        exact = ((preds - test.mean) ** 2 + test.noise_var).mean(axis=0)
        return preds, y, test, exact
    p = rng.dirichlet(np.ones(K), size=n)
    test = TestSet(X=np.zeros((n, 1)), proba=p)
    y = rng.integers(0, K, size=(R, n))
    if loss == "zero_one":
        preds = rng.integers(0, K, size=(R, n))
        exact = (1 - p[np.arange(n), preds]).mean(axis=0)
    else:
        preds = rng.dirichlet(np.ones(K), size=(R, n))
        exact = -(p[None] * np.log(preds)).sum(axis=2).mean(axis=0)
    return preds, y, test, exact


@pytest.mark.parametrize("loss", LOSSES)
def test_terms_add_up_to_expected_loss_exactly(loss):
    # the decomposition of the per-round expected loss is algebra: it must hold for *any*
    # predictions and truth, point by point (Domingos' c1, c2 included)
    preds, y, test, exact = _random_predictions(loss, np.random.default_rng(1))
    res = decompose(preds, y, test, loss)
    total = res.bias2_points + res.variance_points + res.noise_points
    np.testing.assert_allclose(total, exact, rtol=1e-12, atol=1e-12)


def test_domingos_two_class_coefficient():
    # for two classes c1 = 2 P_D(y = y*) - 1 (Domingos 2000, Theorem 1)
    rng = np.random.default_rng(2)
    preds, y, test, _ = _random_predictions("zero_one", rng, R=9, n=40, K=2)
    res = decompose(preds, y, test, "zero_one")
    y_star = test.proba.argmax(axis=1)
    q_star = (preds == y_star).mean(axis=0)
    np.testing.assert_allclose(res.details["c1"], 2 * q_star - 1, atol=1e-12)
    # and c2 = -1 on biased points, so the net variance is unbiased minus biased variance
    raw = res.details
    assert res.variance == pytest.approx(raw["unbiased_variance"] - raw["biased_variance"])


@pytest.mark.parametrize("loss", LOSSES)
def test_identity_with_measured_error_on_known_generator(loss):
    gen, est = _setup(loss)
    res = bias_variance(est, gen, n_train=60, n_test=80, rounds=30, loss=loss, seed=3)
    assert res.identity_error == pytest.approx(res.decomposed_loss - res.expected_loss, abs=1e-12)
    assert abs(res.identity_error) < 4 * res.identity_standard_error
    assert res.standard_error > 0 and res.variance != 0
    assert not res.is_estimate


@pytest.mark.parametrize("loss", LOSSES)
def test_oracle_has_no_bias_and_no_variance(loss):
    gen, _ = _setup(loss)
    if loss == "squared":

        def fit(X, y):
            return gen.f

    elif loss == "zero_one":

        def fit(X, y):
            return lambda Xt: gen.proba(Xt).argmax(axis=1)

    else:

        def fit(X, y):
            return gen.proba

    res = bias_variance(fit, gen, n_train=10, n_test=50, rounds=5, loss=loss)
    assert res.bias2 == pytest.approx(0.0, abs=1e-12)
    assert res.variance == pytest.approx(0.0, abs=1e-12)
    assert abs(res.expected_loss - res.noise) < 4 * res.identity_standard_error + 1e-12
    if loss == "squared":
        assert res.noise == pytest.approx(gen.noise**2)


def test_ridge_decomposition_matches_closed_form_variance_ordering():
    # more regularisation: less variance, more bias (same training sets)
    gen = SyntheticRegression(5, noise=1.0)
    lo = bias_variance(Ridge(alpha=0.01), gen, n_train=20, n_test=50, rounds=40)
    hi = bias_variance(Ridge(alpha=200.0), gen, n_train=20, n_test=50, rounds=40)
    assert hi.variance < lo.variance and hi.bias2 > lo.bias2


def test_results_identical_across_backends():
    gen, est = _setup("squared")
    kw = dict(n_train=40, n_test=30, rounds=6, seed=11)
    a = bias_variance(est, gen, n_jobs=1, **kw)
    b = bias_variance(est, gen, n_jobs=2, **kw)
    np.testing.assert_array_equal(a.variance_points, b.variance_points)
    np.testing.assert_array_equal(a.expected_loss_points, b.expected_loss_points)


@pytest.mark.slow
def test_dask_backend_identical():
    distributed = pytest.importorskip("distributed")
    gen, est = _setup("squared")
    kw = dict(n_train=40, n_test=30, rounds=4, seed=5)
    local = bias_variance(est, gen, **kw)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = bias_variance(est, gen, scheduler=client, **kw)
        by_address = bias_variance(est, gen, scheduler=cluster.scheduler_address, **kw)
    np.testing.assert_array_equal(local.expected_loss_points, remote.expected_loss_points)
    np.testing.assert_array_equal(local.expected_loss_points, by_address.expected_loss_points)
    assert local.bias2 == remote.bias2
    with pytest.raises(TypeError, match="scheduler must be a Dask scheduler address"):
        bias_variance(est, gen, scheduler=3, **kw)


def test_training_function_receives_seed_and_matches_sklearn():
    gen = SyntheticRegression(3, noise=0.5)
    seen = []

    def fit(X, y, seed):
        seen.append(seed)
        est = Ridge(alpha=1.0).fit(X, y)
        return est.predict

    a = bias_variance(fit, gen, n_train=30, n_test=20, rounds=3)
    b = bias_variance(Ridge(alpha=1.0), gen, n_train=30, n_test=20, rounds=3)
    assert len(set(seen)) == 3
    np.testing.assert_allclose(a.expected_loss_points, b.expected_loss_points, rtol=1e-12)


@pytest.mark.torch
def test_torch_training_function():
    torch = pytest.importorskip("torch")
    gen = SyntheticRegression(3, noise=0.5)

    def fit(X, y, seed):
        torch.manual_seed(seed)
        Xt = torch.as_tensor(X, dtype=torch.float64)
        w = torch.linalg.lstsq(Xt, torch.as_tensor(y)[:, None]).solution

        def predict(Xq):
            return (torch.as_tensor(Xq) @ w).squeeze(1)

        return predict

    res = bias_variance(fit, gen, n_train=30, n_test=20, rounds=4)
    ref = bias_variance(
        Ridge(alpha=1e-12, fit_intercept=False), gen, n_train=30, n_test=20, rounds=4
    )
    assert res.expected_loss == pytest.approx(ref.expected_loss, rel=1e-6)


def test_bootstrap_generator_is_an_estimate_with_exact_identity():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    gen = BootstrapGenerator(X, y, noise_var=2500.0)
    res = bias_variance(Ridge(alpha=0.1), gen, n_train=200, n_test=100, rounds=5)
    assert res.is_estimate
    # scored against fixed observed labels: the identity is exact, the noise is as stated
    assert res.identity_error == pytest.approx(0.0, abs=1e-8 * res.expected_loss)
    assert res.noise == pytest.approx(2500.0)
    with pytest.raises(ValueError, match="n_test=500 exceeds"):
        bias_variance(Ridge(), gen, n_train=50, n_test=500, rounds=2)


def test_bootstrap_classification():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    gen = BootstrapGenerator(X, y + 10, task="classification")
    res = bias_variance(
        DecisionTreeClassifier(max_depth=2), gen, n_train=50, n_test=30, rounds=3, loss="zero_one"
    )
    assert res.is_estimate and res.noise == 0.0
    assert res.identity_error == pytest.approx(0.0, abs=1e-12)


class _BadShapes(SyntheticRegression):
    def sample(self, n, rng):
        X, y = super().sample(n, rng)
        return X[:-1], y


def test_bad_input():
    gen = SyntheticRegression(3)
    with pytest.raises(
        ValueError, match=r"rounds must be an integer in \[2, 10000000\], got rounds=1"
    ):
        bias_variance(Ridge(), gen, n_train=10, n_test=5, rounds=1)
    with pytest.raises(ValueError, match=r"generator.sample\(10\) returned X \(9, 3\)"):
        bias_variance(Ridge(), _BadShapes(3), n_train=10, n_test=5, rounds=2)
    with pytest.raises(ValueError, match="loss must be one of"):
        bias_variance(Ridge(), gen, n_train=10, n_test=5, rounds=2, loss="hinge")
    with pytest.raises(ValueError, match="loss='zero_one' does not fit a regression"):
        bias_variance(Ridge(), gen, n_train=10, n_test=5, rounds=2, loss="zero_one")
    with pytest.raises(TypeError, match="Generator protocol"):
        bias_variance(Ridge(), object(), n_train=10, n_test=5, rounds=2)
    with pytest.raises(
        ValueError, match=r"n_train must be an integer in \[1, 10000000\], got n_train=0"
    ):
        bias_variance(Ridge(), gen, n_train=0, n_test=5, rounds=2)
    with pytest.raises(TypeError, match="must return a predict callable"):
        bias_variance(lambda X, y: 3.0, gen, n_train=10, n_test=5, rounds=2)
    cls = SyntheticClassification(2)
    with pytest.raises(ValueError, match="rows of predicted probabilities must sum to 1"):
        bias_variance(
            lambda X, y: lambda Xt: np.full((len(Xt), 2), 0.7),
            cls,
            n_train=10,
            n_test=5,
            rounds=2,
            loss="log",
        )


def test_plot_returns_figure():
    gen, est = _setup("squared")
    res = bias_variance(est, gen, n_train=30, n_test=20, rounds=3)
    assert isinstance(res.plot(), Figure)
