"""scikit-learn estimators: thin compositions of a datafit, a penalty and a solver.

Objective scaling is scikit-learn's ``ElasticNet`` scaling for every regressor:
``1/(2n)||y - Xw - b||^2 + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``.  Hence
:class:`Ridge` minimises ``1/(2n)||y - Xw - b||^2 + alpha/2 ||w||^2``, which is
``sklearn.linear_model.Ridge(alpha=n * alpha)`` (scikit-learn's Ridge uses the unscaled sum).
:class:`LogisticRegression` keeps scikit-learn's ``C``:
``C * sum_i s_i log-loss_i + penalty(w)``, i.e. ``alpha = 1 / (C sum(s))`` in mean-loss units.
Every fit exposes ``dual_gap_`` (the certificate it stopped on) and ``n_iter_``.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from reglab.linear._fit import encode_binary, prepare, resolve_solver, solve_polished, unscale
from reglab.linear._validation import check_l1_ratio, check_sample_weight, check_scalar_nonneg
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.penalties import L1, L1L2, L2
from reglab.linear.solvers import CoordinateDescent

__all__ = [
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "GeneralizedLinearEstimator",
]

_SPARSE = ("csc", "csr")
_DTYPES = (np.float64, np.float32)


def _check_max_iter(max_iter):
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got max_iter={max_iter!r}")
    return int(max_iter)


def _check_bool(value, name):
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {name}={value!r}")
    return bool(value)


class _LinearRegressorBase(RegressorMixin, BaseEstimator):
    """Fit/predict shared by the least-squares estimators."""

    def _penalty(self, n_features):  # pragma: no cover - abstract
        raise NotImplementedError

    def _solver_name(self):
        return getattr(self, "solver", "auto")

    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns ``self``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Several targets are fitted independently (the objective is a sum over targets);
            ``coef_`` is then (n_targets, n_features) and ``intercept_`` (n_targets,).  An
            ``(n, 1)`` y gives scikit-learn's shapes: ``coef_`` (n_features,), ``intercept_``
            (1,), ``predict`` (n,).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; integer weights are equivalent to repeated rows.
        """
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True, multi_output=True
        )
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        tol = check_scalar_nonneg(self.tol, "tol")
        max_iter = 1000 if self.max_iter is None else _check_max_iter(self.max_iter)
        self._check_compat()
        penalty = self._penalty(X.shape[1])
        Y = y[:, None] if y.ndim == 1 else y
        prev = getattr(self, "coef_", None) if getattr(self, "warm_start", False) else None
        prev = None if prev is None else np.atleast_2d(prev)
        coefs, intercepts, gaps, iters = [], [], [], []
        dtype = X.dtype
        for k in range(Y.shape[1]):
            problem, dtype = prepare(
                X, Y[:, k], Quadratic(), sample_weight=sample_weight, fit_intercept=fit_intercept
            )
            solver = self._make_solver(problem, penalty, tol, max_iter)
            w0 = None
            if prev is not None and prev.shape == (Y.shape[1], X.shape[1]):
                w0 = prev[k]
            res = solve_polished(solver, problem, penalty, w0)
            self.solver_ = solver
            coef, intercept = unscale(problem, res.coef, res.intercept)
            coefs.append(coef)
            intercepts.append(intercept if fit_intercept else 0.0)
            gaps.append(res.dual_gap)
            iters.append(res.n_iter)
        if y.ndim == 1:
            self.coef_ = coefs[0].astype(dtype)
            self.intercept_ = dtype.type(intercepts[0])
            self.dual_gap_ = gaps[0]
            self.n_iter_ = iters[0]
        else:
            coef = np.array(coefs, dtype=dtype)
            self.coef_ = coef[0] if coef.shape[0] == 1 else coef
            self.intercept_ = np.array(intercepts, dtype=dtype)
            self.dual_gap_ = gaps[0] if len(gaps) == 1 else np.array(gaps)
            self.n_iter_ = np.array(iters)
        return self

    def _make_solver(self, problem, penalty, tol, max_iter):
        name = self._solver_name()
        solver = resolve_solver(name, problem.datafit, penalty, tol, max_iter)
        precompute = getattr(self, "precompute", "auto")
        if isinstance(name, str) and isinstance(solver, CoordinateDescent):
            # scikit-learn's precompute: coordinate descent on the Gram matrix X^T X / n
            solver.gram = precompute
        return solver

    def _check_compat(self):
        """Check the scikit-learn parameters that select no algorithm of reglab's.

        ``copy_X`` is honoured either way (reglab never writes into ``X``); ``random_state``
        only matters to scikit-learn's ``selection='random'``, which is refused, as is a
        precomputed Gram array (reglab forms ``X^T X / n`` itself from centred, weighted X).
        """
        _check_bool(getattr(self, "copy_X", True), "copy_X")
        checks = []
        if hasattr(self, "selection"):
            checks.append(
                (
                    "selection",
                    lambda v: v == "cyclic",
                    "reglab's coordinate descent sweeps working sets in index order with "
                    "Anderson extrapolation (its certified optimum does not depend on the order); "
                    "use selection='cyclic'",
                )
            )
        if hasattr(self, "precompute"):
            checks.append(
                (
                    "precompute",
                    lambda v: (
                        isinstance(v, bool | np.bool_) or (isinstance(v, str) and v == "auto")
                    ),
                    "give True, False or 'auto' (reglab computes the Gram matrix of the centred, "
                    "weighted X itself; a precomputed array is not accepted)",
                )
            )
        _check_sklearn_only(self, checks)

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=_SPARSE, dtype=_DTYPES, reset=False)
        return np.asarray(X @ self.coef_.T + self.intercept_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags


class Ridge(_LinearRegressorBase):
    """Ridge regression: ``1/(2n)||y - Xw - b||^2 + alpha/2 ||w||^2``.

    Equals ``sklearn.linear_model.Ridge(alpha=n_samples * alpha)``.  The default solver is
    the exact closed form (Cholesky; kernel form when p > n), whose ``dual_gap_`` is at
    rounding level.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength (>= 0).
    fit_intercept : bool, default=True
    copy_X : bool, default=True
        Honoured either way: reglab never writes into ``X``.
    solver : {'auto', 'closed_form', 'svd', 'cholesky', 'cd', 'fista', 'ista', 'gd'} or Solver
        'svd' and 'cholesky' (scikit-learn's exact solvers) mean the certified closed form;
        'lsqr', 'sparse_cg', 'sag', 'saga', 'lbfgs' are refused with the reason.
    tol : float, default=1e-4
        Relative duality-gap tolerance for iterative solvers.
    max_iter : int or None, default=None
        Iterations of an iterative solver (None: 1000).
    random_state : ignored
        Every reglab solver is deterministic (scikit-learn uses it for sag/saga).
    positive : bool, default=False
        Non-negative coefficients (uses coordinate descent).
    weights : array of shape (n_features,), optional
        Per-feature penalty weights; zero leaves a feature unpenalised.
    warm_start : bool, default=False

    Attributes
    ----------
    coef_, intercept_, dual_gap_, n_iter_, n_features_in_, solver_ (the solver instance used)
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        copy_X=True,
        solver="auto",
        tol=1e-4,
        max_iter=None,
        positive=False,
        random_state=None,
        weights=None,
        warm_start=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
        self.random_state = random_state
        self.weights = weights
        self.warm_start = warm_start

    def _penalty(self, n_features):
        return L2(self.alpha, weights=self.weights, positive=_check_bool(self.positive, "positive"))

    def _solver_name(self):
        if self.solver == "auto" and self.positive:
            return "cd"
        return self.solver


class ElasticNet(_LinearRegressorBase):
    """Elastic net: ``1/(2n)||y - Xw - b||^2 + alpha (l1_ratio|w|_1 + (1-l1_ratio)/2 |w|^2)``.

    Same objective and parameters as scikit-learn's ``ElasticNet``; solved by working-set
    coordinate descent (numba) that stops on the relative duality gap ``tol * F(0)``.

    Parameters
    ----------
    alpha : float, default=1.0
    l1_ratio : float in [0, 1], default=0.5
    fit_intercept : bool, default=True
        Sparse X is centred implicitly, never densified.
    max_iter : int, default=100
        Maximum outer (working-set) iterations.
    tol : float, default=1e-4
    warm_start : bool, default=False
    positive : bool, default=False
    weights : array of shape (n_features,), optional
        Per-feature penalty weights; zero leaves a feature unpenalised.
    solver : {'cd', 'fista', 'ista', 'subgradient'} or Solver, default='cd'
    precompute : {'auto', True, False}, default='auto'
        Coordinate descent on the Gram matrix ``X^T X / n`` ('auto': dense X with n > p);
        scikit-learn's default is False.  A precomputed array is refused.
    copy_X : bool, default=True
        Honoured either way: reglab never writes into ``X``.
    random_state : ignored
        Only scikit-learn's ``selection='random'`` uses it, and that is refused.
    selection : 'cyclic'
        'random' is refused (reglab's working sets are swept in index order).

    Attributes
    ----------
    coef_, intercept_, dual_gap_, n_iter_, n_features_in_
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        max_iter=100,
        tol=1e-4,
        warm_start=False,
        positive=False,
        weights=None,
        solver="cd",
        precompute="auto",
        copy_X=True,
        random_state=None,
        selection="cyclic",
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.weights = weights
        self.solver = solver
        self.precompute = precompute
        self.copy_X = copy_X
        self.random_state = random_state
        self.selection = selection

    def _penalty(self, n_features):
        return L1L2(
            self.alpha,
            check_l1_ratio(self.l1_ratio),
            weights=self.weights,
            positive=_check_bool(self.positive, "positive"),
        )

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy CSR matrix of shape (1 or n_targets, n_features), as scikit-learn."""
        check_is_fitted(self)
        return sp.csr_matrix(np.atleast_2d(self.coef_))


class Lasso(ElasticNet):
    """Lasso: ``1/(2n)||y - Xw - b||^2 + alpha ||w||_1`` (scikit-learn's scaling).

    Parameters are those of :class:`ElasticNet` without ``l1_ratio``.
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        max_iter=100,
        tol=1e-4,
        warm_start=False,
        positive=False,
        weights=None,
        solver="cd",
        precompute="auto",
        copy_X=True,
        random_state=None,
        selection="cyclic",
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.weights = weights
        self.solver = solver
        self.precompute = precompute
        self.copy_X = copy_X
        self.random_state = random_state
        self.selection = selection

    def _penalty(self, n_features):
        return L1(self.alpha, weights=self.weights, positive=_check_bool(self.positive, "positive"))


class _ClassifierBase(ClassifierMixin, BaseEstimator):
    def _encode(self, y):
        check_classification_targets(y)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]!r}): got 1 class, this classifier "
                "needs at least two"
            )
        if self.classes_.size == 2:
            return Logistic(), encode_binary(y)[1], 1
        return (
            Multinomial(),
            np.searchsorted(self.classes_, y).astype(np.float64),
            self.classes_.size,
        )

    def _fit_encoded(self, X, y, sample_weight, penalty, solver_name, tol, max_iter, fit_intercept):
        datafit, y_enc, K = self._encode(y)
        problem, dtype = prepare(
            X, y_enc, datafit, sample_weight=sample_weight, fit_intercept=fit_intercept, n_classes=K
        )
        solver = resolve_solver(solver_name, datafit, penalty, tol, max_iter)
        w0 = b0 = None
        if getattr(self, "warm_start", False) and getattr(self, "coef_", None) is not None:
            if K == 1 and self.coef_.shape == (1, X.shape[1]):
                w0, b0 = self.coef_[0], float(self.intercept_[0])
            elif K > 1 and self.coef_.shape == (K, X.shape[1]):
                w0, b0 = self.coef_.T, self.intercept_
        res = solve_polished(solver, problem, penalty, w0, b0)
        coef = np.atleast_2d(res.coef.T) if K > 1 else res.coef[None, :]
        self.coef_ = coef.astype(dtype)
        self.intercept_ = np.atleast_1d(np.asarray(res.intercept, dtype=dtype))
        if K == 1 and not fit_intercept:
            self.intercept_ = np.zeros(1, dtype=dtype)
        self.dual_gap_ = res.dual_gap
        self.n_iter_ = res.n_iter
        return self

    def decision_function(self, X):
        """Linear scores ``X @ coef_.T + intercept_`` (shape (n,) for two classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=_SPARSE, dtype=_DTYPES, reset=False)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities (sigmoid for two classes, softmax otherwise)."""
        s = self.decision_function(X)
        if s.ndim == 1:
            p = expit(s)
            return np.column_stack([1 - p, p])
        return softmax(s, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class."""
        s = self.decision_function(X)
        idx = (s > 0).astype(int) if s.ndim == 1 else np.argmax(s, axis=1)
        return self.classes_[idx]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _class_weights(class_weight, classes, y, sample_weight=None):
    """Per-sample multipliers for scikit-learn's ``class_weight`` (None, dict or 'balanced').

    'balanced' is ``sum(s) / (n_classes * sum of s over the class)`` (King & Zeng, 2001), as
    scikit-learn's ``compute_class_weight`` with sample weights ``s`` (1 when not given); a dict maps labels to weights (missing labels
    get 1) and must name only labels present in ``y``.
    """
    if class_weight is None:
        return None
    idx = np.searchsorted(classes, y)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict, got class_weight={class_weight!r}"
            )
        w = np.ones(y.shape[0]) if sample_weight is None else sample_weight
        counts = np.bincount(idx, weights=w, minlength=classes.size)
        with np.errstate(divide="ignore"):
            per_class = np.where(counts > 0, w.sum() / (classes.size * counts), 0.0)
        return per_class[idx]
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be None, 'balanced' or a dict, got {type(class_weight).__name__}"
        )
    per_class = np.ones(classes.size)
    for label, weight in class_weight.items():
        pos = np.flatnonzero(classes == label)
        if pos.size == 0:
            raise ValueError(
                f"class_weight has the label {label!r}, which is not a class of y "
                f"(classes: {classes.tolist()})"
            )
        per_class[pos[0]] = check_scalar_nonneg(weight, f"class_weight[{label!r}]")
    return per_class[idx]


def _logistic_penalty(penalty, l1_ratio, alpha, C):
    """The penalty scikit-learn >= 1.8 chooses from ``l1_ratio`` and ``C`` (or ``penalty``).

    ``penalty='deprecated'`` (the default): ``C=inf`` is unpenalised, otherwise ``l1_ratio``
    decides (0: L2, 1: L1, in between: elastic net).  An explicit ``penalty`` (deprecated in
    scikit-learn 1.8, still honoured) must agree with ``l1_ratio``.
    """
    if penalty == "deprecated":
        ratio = 0.0 if l1_ratio is None else check_l1_ratio(l1_ratio)
        if not np.isfinite(C):
            return L2(0.0)
        if ratio == 0.0:
            return L2(alpha)
        if ratio == 1.0:
            return L1(alpha)
        return L1L2(alpha, ratio)
    if penalty is None:
        return L2(0.0)
    if penalty == "l2":
        if l1_ratio not in (None, 0, 0.0):
            raise ValueError(
                f"penalty='l2' contradicts l1_ratio={l1_ratio!r}; leave penalty unset and use "
                "l1_ratio alone (scikit-learn >= 1.8)"
            )
        return L2(alpha if np.isfinite(C) else 0.0)
    if penalty == "l1":
        if l1_ratio not in (None, 0, 0.0, 1, 1.0):
            raise ValueError(
                f"penalty='l1' contradicts l1_ratio={l1_ratio!r}; leave penalty unset and use "
                "l1_ratio alone (scikit-learn >= 1.8)"
            )
        return L1(alpha if np.isfinite(C) else 0.0)
    if penalty == "elasticnet":
        if l1_ratio is None:
            raise ValueError("penalty='elasticnet' needs l1_ratio in [0, 1], got l1_ratio=None")
        return L1L2(alpha if np.isfinite(C) else 0.0, check_l1_ratio(l1_ratio))
    raise ValueError(f"penalty must be 'l2', 'l1', 'elasticnet' or None, got penalty={penalty!r}")


def _check_sklearn_only(est, allowed):
    """Refuse, naming them, scikit-learn parameters whose other values reglab cannot honour."""
    for name, ok, why in allowed:
        value = getattr(est, name)
        if not ok(value):
            shown = f"<array of shape {value.shape}>" if hasattr(value, "shape") else repr(value)
            raise ValueError(f"{name}={shown} is not supported: {why}")


def _check_C(C):
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or np.isnan(C) or C <= 0:
        raise ValueError(f"C must be finite and > 0 or np.inf, got C={C!r}")
    return float(C)


class LogisticRegression(_ClassifierBase):
    """Penalised logistic regression, binary or multinomial (softmax): scikit-learn 1.9's API.

    Minimises ``C * sum_i s_i log-loss_i + penalty(w)`` with the penalty that scikit-learn
    >= 1.8 chooses from ``l1_ratio``: ``1/2||w||^2`` (``l1_ratio=0``, the default),
    ``||w||_1`` (1) or ``l1_ratio||w||_1 + (1-l1_ratio)/2||w||^2``; ``C=np.inf`` is
    unpenalised.  ``class_weight`` multiplies each sample's weight by its class's.
    Default solvers: Newton-CG (truncated conjugate gradient with Hessian-vector products)
    for smooth multinomial and unpenalised problems; prox-Newton coordinate descent (newGLMNET,
    Yuan, Ho & Lin, 2012) for binary problems and, with the coupled multinomial Hessian
    (coordinates are feature-class pairs, intercepts eliminated), for multinomial L1 / elastic
    net, each step closed by an exact shift step.  The
    intercept is unpenalised (scikit-learn's non-liblinear solvers).

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet', None} or 'deprecated', default='deprecated'
        Deprecated in scikit-learn 1.8; when given it must agree with ``l1_ratio``.
    C : float or np.inf, default=1.0
        Inverse regularisation strength (> 0).
    l1_ratio : float in [0, 1], default=0.0
    dual : False
        Only the primal is solved; ``dual=True`` (liblinear) is refused.
    tol : float, default=1e-4
        Relative duality-gap tolerance: stop when ``gap <= tol * F(0)``.
    fit_intercept : bool, default=True
    intercept_scaling : 1
        Only liblinear's (a penalised synthetic feature); other values are refused.
    class_weight : dict, 'balanced' or None, default=None
    random_state : ignored
        Every reglab solver is deterministic (scikit-learn uses it for sag/saga/liblinear).
    solver : {'auto', 'lbfgs', 'newton-cg', 'cd', 'fista', 'ista', 'gd', 'subgradient'} or Solver
        'auto' picks as described above; 'liblinear', 'sag', 'saga', 'newton-cholesky' are
        refused with the reason.
    max_iter : int, default=100
        Iterations of the solver (Newton steps, L-BFGS or FISTA iterations, prox-Newton outer
        steps; for multinomial L1 / elastic net, cycles over the classes); a
        ConvergenceWarning is raised when it stops before ``tol``.
    verbose : int, default=0
        Accepted for compatibility; reglab's solvers print nothing.
    warm_start : bool, default=False
    n_jobs : None
        No effect (as in scikit-learn >= 1.8).

    Attributes
    ----------
    classes_, coef_ (1 or n_classes, n_features), intercept_, n_iter_ (ndarray of shape (1,)),
    dual_gap_, n_features_in_
    """

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        tol=1e-4,
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        random_state=None,
        solver="auto",
        max_iter=100,
        verbose=0,
        warm_start=False,
        n_jobs=None,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _make_penalty(self, alpha):
        return _logistic_penalty(self.penalty, self.l1_ratio, alpha, _check_C(self.C))

    def _check_compat(self):
        _check_sklearn_only(
            self,
            [
                (
                    "dual",
                    lambda v: v is False or v is np.False_,
                    "only the primal problem is "
                    "solved (the dual formulation is liblinear's); use dual=False",
                ),
                (
                    "intercept_scaling",
                    lambda v: v == 1,
                    "it only scales liblinear's penalised "
                    "synthetic intercept feature; reglab's intercept is unpenalised (use 1)",
                ),
            ],
        )

    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns ``self``."""
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES)
        self._check_compat()
        C = _check_C(self.C)
        check_classification_targets(y)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], np.float64)
        cw = _class_weights(self.class_weight, np.unique(y), y, sample_weight)
        if cw is not None:
            sample_weight = cw if sample_weight is None else sample_weight * cw
        sw_sum = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        alpha = 1.0 / (C * sw_sum) if sw_sum > 0 and np.isfinite(C) else 0.0
        penalty = self._make_penalty(alpha)
        self._fit_encoded(
            X,
            y,
            sample_weight,
            penalty,
            self.solver,
            check_scalar_nonneg(self.tol, "tol"),
            _check_max_iter(self.max_iter),
            _check_bool(self.fit_intercept, "fit_intercept"),
        )
        self.n_iter_ = np.array([self.n_iter_], dtype=np.int32)
        return self


class GeneralizedLinearEstimator(RegressorMixin, BaseEstimator):
    """Any datafit x penalty x solver triple as a scikit-learn estimator.

    A regressor for :class:`~reglab.linear.Quadratic` (default) and a classifier for
    :class:`~reglab.linear.Logistic` / :class:`~reglab.linear.Multinomial` (``predict``
    returns labels, ``predict_proba`` probabilities).

    Parameters
    ----------
    datafit : Quadratic, Logistic or Multinomial, default=Quadratic()
    penalty : L1, L2 or L1L2, default=L1(alpha=0.01)
    solver : Solver or name, default='auto'
    fit_intercept : bool, default=True
    tol : float, default=1e-4
    max_iter : int, default=100
    warm_start : bool, default=False
    """

    def __init__(
        self,
        datafit=None,
        penalty=None,
        solver="auto",
        *,
        fit_intercept=True,
        tol=1e-4,
        max_iter=100,
        warm_start=False,
    ):
        self.datafit = datafit
        self.penalty = penalty
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _is_classifier(self):
        return isinstance(self.datafit, Logistic | Multinomial)

    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns ``self``."""
        datafit = Quadratic() if self.datafit is None else self.datafit
        penalty = L1(0.01) if self.penalty is None else self.penalty
        if not isinstance(datafit, Quadratic | Logistic | Multinomial):
            raise TypeError(f"datafit must be Quadratic, Logistic or Multinomial, got {datafit!r}")
        if not hasattr(penalty, "separable_coefficients"):
            raise TypeError(f"penalty must be L1, L2 or L1L2, got {penalty!r}")
        tol = check_scalar_nonneg(self.tol, "tol")
        max_iter = _check_max_iter(self.max_iter)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        if self._is_classifier():
            X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES)
            clf = LogisticRegression()
            clf.warm_start = self.warm_start
            if getattr(self, "coef_", None) is not None:
                clf.coef_, clf.intercept_ = self.coef_, self.intercept_
            clf._fit_encoded(
                X, y, sample_weight, penalty, self.solver, tol, max_iter, fit_intercept
            )
            for k in ("classes_", "coef_", "intercept_", "dual_gap_", "n_iter_"):
                setattr(self, k, getattr(clf, k))
            return self
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True)
        problem, dtype = prepare(
            X, y, datafit, sample_weight=sample_weight, fit_intercept=fit_intercept
        )
        solver = resolve_solver(self.solver, datafit, penalty, tol, max_iter)
        w0 = None
        coef_prev = getattr(self, "coef_", None)
        # scikit-learn's warm start: reuse coef_ only when its shape fits the new data
        if self.warm_start and coef_prev is not None and np.shape(coef_prev) == (X.shape[1],):
            w0 = coef_prev
        res = solve_polished(solver, problem, penalty, w0)
        coef, intercept = unscale(problem, res.coef, res.intercept)
        self.coef_ = coef.astype(dtype)
        self.intercept_ = dtype.type(intercept)
        self.dual_gap_ = res.dual_gap
        self.n_iter_ = res.n_iter
        return self

    def _delegate(self):
        check_is_fitted(self)
        clf = LogisticRegression()
        clf.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_")})
        return clf

    @available_if(lambda self: self._is_classifier())
    def decision_function(self, X):
        """Linear scores (classification datafits)."""
        return self._delegate().decision_function(X)

    @available_if(lambda self: self._is_classifier())
    def predict_proba(self, X):
        """Class probabilities (classification datafits)."""
        return self._delegate().predict_proba(X)

    def predict(self, X):
        """Predictions: values for Quadratic, labels for classification datafits."""
        check_is_fitted(self)
        if self._is_classifier():
            return self._delegate().predict(X)
        X = validate_data(self, X, accept_sparse=_SPARSE, dtype=_DTYPES, reset=False)
        return np.asarray(X @ self.coef_ + self.intercept_)

    def score(self, X, y, sample_weight=None):
        """R^2 for regression, accuracy for classification."""
        if self._is_classifier():
            return ClassifierMixin.score(self, X, y, sample_weight)
        return RegressorMixin.score(self, X, y, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if self._is_classifier():
            tags.estimator_type = "classifier"
            tags.regressor_tags = None
            from sklearn.utils import ClassifierTags

            tags.classifier_tags = ClassifierTags()
        return tags
