r"""Bias-variance decomposition from fresh training sets.

For each of ``rounds`` rounds a fresh training set D_r is drawn from a generator that knows
the truth, a model is fitted, and it predicts at fixed test points x_j whose labels t are drawn
afresh every round. Three losses, each with a decomposition whose parts add up exactly:

Squared loss (Geman, Bienenstock & Doursat, 1992)
    E_{D,t}[(t - yhat)^2] = (f - ybar)^2 + E_D[(yhat - ybar)^2] + sigma^2
    = bias^2 + variance + noise, with ybar = E_D[yhat] and f = E[t | x].

Zero-one loss (Domingos, 2000, "A unified bias-variance decomposition", Theorem 2)
    With the optimal prediction y* = argmax_k p(k | x), the main prediction y_m = mode of the
    predictions over training sets, q = distribution of the predictions over D:
    N = 1 - p(y*), B = 1[y_m != y*], V = 1 - q(y_m), and
    E_{D,t}[L] = c1 N + B + c2 V, where
    c1 = q(y*) - sum_{k != y*} q(k) p(k) / (1 - p(y*))   (= 2 q(y*) - 1 for two classes),
    c2 = 1 if y_m = y*, else -q(y*) / (1 - q(y_m)).
    The identity is exact for any q and p (it is algebra on 1 - sum_k q(k) p(k)), so the
    reported terms are the *additive* ones: ``noise`` = c1 N, ``bias2`` = B and
    ``variance`` = c2 V (the net variance: unbiased minus biased variance). The raw N and V and
    the coefficients are in ``details``. mlxtend reports B and V without the coefficients, and
    its parts do not add up to the loss (mlxtend#964).

Log loss (Heskes, 1998, "Bias/variance decompositions for likelihood-based estimators")
    With the normalised geometric mean qbar(k) = exp(E_D[log q_D(k)]) / Z:
    E_{D,t}[-log q_D(t)] = H(p) + KL(p || qbar) + E_D[KL(qbar || q_D)]
    = noise + bias + variance, where E_D[KL(qbar || q_D)] = -log Z.

Every expectation over D is the average over the rounds, so the decomposition of the
*per-round* expected loss is exact and the only gap between ``bias2 + variance + noise`` and
the measured test loss (sampled labels) is Monte-Carlo noise from the labels:
``identity_error`` with its standard error ``identity_standard_error``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from reglab.diagnostics import _rounds
from reglab.diagnostics._validation import (
    MAX_ABS,
    MAX_COUNT,
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_seed,
    short_repr,
)
from reglab.diagnostics.generators import Generator, TestSet

__all__ = ["BiasVarianceResult", "bias_variance", "decompose"]

# clip probabilities inside log loss so that one confident wrong prediction gives a large
# finite loss instead of inf; 1e-12 costs at most 27.6 nats per point
_LOG_EPS = 1e-12


@dataclass(frozen=True, repr=False)
class BiasVarianceResult:
    """Bias, variance, noise and measured test loss, averaged and per test point.

    Attributes
    ----------
    loss : str
    bias2, variance, noise : float
        The additive terms, averaged over test points (for zero-one loss the Domingos terms
        B, c2 V and c1 N; for log loss the KL terms; see the module docstring).
    expected_loss : float
        Measured expected test loss: average over rounds and test points of the loss against
        freshly drawn labels.
    standard_error : float
        Monte-Carlo standard error of ``expected_loss`` (rounds are independent).
    identity_error : float
        ``bias2 + variance + noise - expected_loss``: zero up to label-sampling noise.
    identity_standard_error : float
        Standard error of ``identity_error``.
    bias2_points, variance_points, noise_points, expected_loss_points : ndarray (n_test,)
    mean_prediction : ndarray
        Average prediction (squared), main prediction (zero-one) or normalised geometric
        mean (log) per test point.
    rounds, n_train, n_test : int
    is_estimate : bool
        True for bootstrap generators on real data: the truth is the observed label, so the
        decomposition is an estimate and noise is folded into the bias unless given.
    details : dict
        Extra per-loss quantities (zero-one: raw noise N, raw variance V, c1, c2, unbiased and
        biased variance).
    """

    loss: str
    bias2: float
    variance: float
    noise: float
    expected_loss: float
    standard_error: float
    identity_error: float
    identity_standard_error: float
    bias2_points: np.ndarray
    variance_points: np.ndarray
    noise_points: np.ndarray
    expected_loss_points: np.ndarray
    mean_prediction: np.ndarray
    rounds: int
    n_train: int
    n_test: int
    is_estimate: bool
    details: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        # the per-point arrays run to thousands of numbers: show their shapes only
        return short_repr(
            self,
            (
                "loss",
                "bias2",
                "variance",
                "noise",
                "expected_loss",
                "standard_error",
                "identity_error",
                "rounds",
                "n_train",
                "n_test",
                "is_estimate",
            ),
        )

    @property
    def decomposed_loss(self) -> float:
        """bias2 + variance + noise."""
        return self.bias2 + self.variance + self.noise

    def plot(self):
        """Per-test-point decomposition figure (see :func:`plot_bias_variance`)."""
        from reglab.diagnostics.plotting import plot_bias_variance

        return plot_bias_variance(self)


def _squared(preds, test: TestSet):
    ybar = preds.mean(axis=0)
    bias2 = (ybar - test.mean) ** 2
    noise = np.asarray(test.noise_var, dtype=float)
    if test.y is not None:
        # observed labels: E_eps (y - ybar)^2 = bias^2 + sigma^2, subtract the stated noise
        bias2 = bias2 - noise
    variance = ((preds - ybar) ** 2).mean(axis=0)
    expected = (preds - test.mean) ** 2 + (0.0 if test.y is not None else noise)
    return bias2, variance, noise, ybar, expected, {}


def _zero_one(preds, test: TestSet):
    R, n = preds.shape
    K = test.proba.shape[1]
    q = np.zeros((n, K))
    np.add.at(q, (np.tile(np.arange(n), R), preds.ravel()), 1.0 / R)
    p = test.proba
    y_star = p.argmax(axis=1)
    y_main = q.argmax(axis=1)
    rows = np.arange(n)
    p_star, q_star, q_main = p[rows, y_star], q[rows, y_star], q[rows, y_main]
    N = 1.0 - p_star
    B = (y_main != y_star).astype(float)
    V = 1.0 - q_main
    off = (q * p).sum(axis=1) - q_star * p_star  # sum_{k != y*} q(k) p(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        c1 = np.where(N > 0, q_star - off / np.where(N > 0, N, 1.0), 0.0)
        c2 = np.where(B == 0, 1.0, -q_star / np.where(V > 0, V, 1.0))
    expected = 1.0 - p[rows, preds]
    details = {
        "raw_noise": float(N.mean()),
        "raw_variance": float(V.mean()),
        "unbiased_variance": float((V * (B == 0)).mean()),
        "biased_variance": float((V * (B == 1)).mean()),
        "c1": c1,
        "c2": c2,
    }
    return B, c2 * V, c1 * N, y_main, expected, details


def _log(preds, test: TestSet):
    logq = np.log(np.clip(preds, _LOG_EPS, 1.0))
    mean_log = logq.mean(axis=0)  # (n, K)
    log_Z = np.log(np.exp(mean_log).sum(axis=1))
    log_qbar = mean_log - log_Z[:, None]
    p = test.proba
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    noise = -plogp.sum(axis=1)
    bias = (plogp - p * log_qbar).sum(axis=1)
    variance = -log_Z
    expected = -(p[None] * logq).sum(axis=2)
    return bias, variance, noise, np.exp(log_qbar), expected, {}


def _loss_values(preds, y_test, loss: str) -> np.ndarray:
    """Loss of every round's prediction against that round's labels, shape (R, n)."""
    if loss == "squared":
        return (y_test - preds) ** 2
    if loss == "zero_one":
        return (preds != y_test).astype(float)
    R, n, _ = preds.shape
    picked = preds[np.arange(R)[:, None], np.arange(n)[None, :], y_test]
    return -np.log(np.clip(picked, _LOG_EPS, 1.0))


def decompose(
    preds: np.ndarray,
    y_test: np.ndarray,
    test: TestSet,
    loss: str,
    *,
    n_train: int = 0,
    is_estimate: bool = False,
) -> BiasVarianceResult:
    """Decompose the loss of ``rounds`` sets of predictions at fixed test points.

    Parameters
    ----------
    preds : ndarray
        Shape (rounds, n_test) for squared (values) and zero-one (integer labels) loss,
        (rounds, n_test, n_classes) for log loss (probabilities).
    y_test : ndarray of shape (rounds, n_test)
        Labels drawn afresh for each round.
    test : TestSet
        The truth at the test points.
    loss : {"squared", "zero_one", "log"}
    """
    loss = check_choice(loss, "loss", _rounds.LOSSES)
    if not isinstance(test, TestSet):
        raise TypeError(f"test must be a reglab.diagnostics.TestSet, got {type(test).__name__}")
    want = 3 if loss == "log" else 2
    preds = check_array(preds, "preds", ndim=want, dtype=None, max_abs=MAX_ABS)
    y_test = check_array(y_test, "y_test", ndim=2, dtype=None, max_abs=MAX_ABS)
    if preds.shape[0] < 2 or y_test.shape != preds.shape[:2]:
        raise ValueError(
            f"preds must hold >= 2 rounds and y_test its shape (rounds, n_test), got preds "
            f"{preds.shape} and y_test {y_test.shape}"
        )
    if loss != "squared":
        preds = preds if loss == "log" else preds.astype(int)
        y_test = y_test.astype(int)
    n_train = check_int(n_train, "n_train", low=0)
    is_estimate = check_bool(is_estimate, "is_estimate")
    parts = {"squared": _squared, "zero_one": _zero_one, "log": _log}[loss]
    bias2, variance, noise, centre, expected, details = parts(preds, test)
    losses = _loss_values(preds, y_test, loss)
    R = losses.shape[0]
    per_round = losses.mean(axis=1)
    # per round: exact expectation over the labels minus the sampled loss; its mean over
    # rounds is exactly bias2 + variance + noise - measured loss
    gap = expected.mean(axis=1) - per_round
    return BiasVarianceResult(
        loss=loss,
        bias2=float(bias2.mean()),
        variance=float(variance.mean()),
        noise=float(noise.mean()),
        expected_loss=float(per_round.mean()),
        standard_error=float(per_round.std(ddof=1) / np.sqrt(R)),
        identity_error=float((bias2 + variance + noise).mean() - per_round.mean()),
        identity_standard_error=float(gap.std(ddof=1) / np.sqrt(R)),
        bias2_points=bias2,
        variance_points=variance,
        noise_points=noise,
        expected_loss_points=losses.mean(axis=0),
        mean_prediction=centre,
        rounds=R,
        n_train=n_train,
        n_test=preds.shape[1],
        is_estimate=is_estimate,
        details=details,
    )


def bias_variance(
    make_estimator,
    generator: Generator,
    *,
    n_train: int,
    n_test: int,
    rounds: int,
    loss: str = "squared",
    n_jobs: int = 1,
    scheduler=None,
    seed: int = 0,
) -> BiasVarianceResult:
    """Measure bias, variance and noise of a learning algorithm on fresh training sets.

    Parameters
    ----------
    make_estimator : scikit-learn estimator or callable
        An unfitted scikit-learn estimator (cloned for every round; a ``random_state`` left
        at None is set to the round's seed), or a training function ``fit(X, y) -> predict``
        (e.g. a torch training loop) where ``predict(X_test)`` returns values (squared),
        labels or probabilities (zero-one) or probabilities (log). If the function accepts a
        ``seed`` keyword it receives the round's seed.
    generator : Generator
        Knows the truth (see :mod:`reglab.diagnostics.generators`).
    n_train, n_test : int
        Training-set size per round; number of fixed test points.
    rounds : int
        Number of fresh training sets (>= 2).
    loss : {"squared", "zero_one", "log"}, default="squared"
        Squared loss for regression; zero-one (Domingos 2000) or log loss (Heskes 1998) for
        classification. See the module docstring for the exact decompositions.
    n_jobs : int, default=1
        joblib workers for the rounds (ignored when ``scheduler`` is given): -1 all cores,
        -2 all but one, ...; between -os.cpu_count() and 4 * os.cpu_count().
    scheduler : str or distributed.Client, optional
        Dask scheduler address or client; rounds are submitted there.
    seed : int, default=0
        Root seed. Round r uses child r of ``SeedSequence(seed)``: results are identical
        for every back-end and worker count.

    Returns
    -------
    BiasVarianceResult

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from reglab.diagnostics import SyntheticRegression, bias_variance
    >>> res = bias_variance(Ridge(alpha=1.0), SyntheticRegression(5), n_train=50,
    ...                     n_test=100, rounds=20)
    >>> abs(res.identity_error) < 4 * res.identity_standard_error + 1e-12
    True
    """
    return _run(
        make_estimator,
        generator,
        n_train,
        n_test,
        rounds,
        loss,
        n_jobs,
        scheduler,
        seed,
        None,
        None,
    )[0]


def _run(
    make_estimator, generator, n_train, n_test, rounds, loss, n_jobs, scheduler, seed, param, values
) -> list[BiasVarianceResult]:
    rounds = _rounds.check_rounds(rounds)
    _rounds.check_loss(loss, generator)
    n_train = _check_size("n_train", n_train)
    n_test = _check_size("n_test", n_test)
    # joblib's convention: -1 all cores, -2 all but one, ...; more than 4 workers per core
    # only adds memory (each holds a copy of the estimator and the data)
    cores = os.cpu_count() or 1
    n_jobs = check_int(n_jobs, "n_jobs", low=-cores, high=4 * cores)
    if n_jobs == 0:
        raise ValueError("n_jobs must be a non-zero integer (-1: all cores), got n_jobs=0")
    seed = check_seed(seed, allow_generator=False) or 0
    _rounds.check_scheduler(scheduler)
    test_ss, round_ss = _rounds.round_seeds(seed, rounds)
    test = _rounds.draw_test_set(generator, n_test, test_ss)
    tasks = [(make_estimator, generator, n_train, test, loss, ss, param, values) for ss in round_ss]
    out = _rounds.run_rounds(_rounds.one_round, tasks, n_jobs, scheduler)
    preds = np.stack([o[0] for o in out], axis=1)  # (n_values, rounds, n_test[, K])
    y_test = np.stack([o[1] for o in out])
    return [
        decompose(p, y_test, test, loss, n_train=n_train, is_estimate=generator.is_estimate)
        for p in preds
    ]


def _check_size(name: str, value: object) -> int:
    return check_int(value, name, low=1, high=MAX_COUNT)
