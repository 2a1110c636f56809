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
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from reglab.linear._fit import encode_binary, prepare, resolve_solver, unscale
from reglab.linear._validation import check_l1_ratio, check_sample_weight, check_scalar_nonneg
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.penalties import L1, L1L2, L2

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
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; integer weights are equivalent to repeated rows.
        """
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        tol = check_scalar_nonneg(self.tol, "tol")
        max_iter = _check_max_iter(self.max_iter)
        penalty = self._penalty(X.shape[1])
        problem, dtype = prepare(
            X, y, Quadratic(), sample_weight=sample_weight, fit_intercept=fit_intercept
        )
        solver = resolve_solver(self._solver_name(), problem.datafit, penalty, tol, max_iter)
        w0 = None
        if getattr(self, "warm_start", False) and getattr(self, "coef_", None) is not None:
            if self.coef_.shape == (X.shape[1],):
                w0 = self.coef_
        res = solver.solve(problem, penalty, w0)
        coef, intercept = unscale(problem, res.coef, res.intercept)
        self.coef_ = coef.astype(dtype)
        self.intercept_ = dtype.type(intercept) if fit_intercept else dtype.type(0.0)
        self.dual_gap_ = res.dual_gap
        self.n_iter_ = res.n_iter
        return self

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=_SPARSE, dtype=_DTYPES, reset=False)
        return np.asarray(X @ self.coef_ + self.intercept_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
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
    solver : {'auto', 'closed_form', 'cd', 'fista', 'ista', 'gd'} or Solver, default='auto'
    tol : float, default=1e-4
        Relative duality-gap tolerance for iterative solvers.
    max_iter : int, default=1000
    positive : bool, default=False
        Non-negative coefficients (uses coordinate descent).
    weights : array of shape (n_features,), optional
        Per-feature penalty weights; zero leaves a feature unpenalised.
    warm_start : bool, default=False

    Attributes
    ----------
    coef_, intercept_, dual_gap_, n_iter_, n_features_in_
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        solver="auto",
        tol=1e-4,
        max_iter=1000,
        positive=False,
        weights=None,
        warm_start=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive
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

    def _penalty(self, n_features):
        return L1L2(
            self.alpha,
            check_l1_ratio(self.l1_ratio),
            weights=self.weights,
            positive=_check_bool(self.positive, "positive"),
        )


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
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.weights = weights
        self.solver = solver

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
        res = solver.solve(problem, penalty, w0, b0)
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


class LogisticRegression(_ClassifierBase):
    """Penalised logistic regression, binary or multinomial (softmax).

    Minimises ``C * sum_i s_i log-loss_i + penalty(w)`` with penalty ``1/2||w||^2`` ('l2'),
    ``||w||_1`` ('l1') or ``l1_ratio||w||_1 + (1-l1_ratio)/2||w||^2`` ('elasticnet'):
    scikit-learn's objective.  Binary problems use prox-Newton coordinate descent (newGLMNET,
    Yuan, Ho & Lin, 2012); multinomial ones use FISTA.  The intercept is unpenalised.

    Parameters
    ----------
    penalty : {'l2', 'l1', 'elasticnet'}, default='l2'
    C : float, default=1.0
        Inverse regularisation strength (> 0).
    l1_ratio : float in [0, 1], optional
        Required for 'elasticnet'.
    fit_intercept : bool, default=True
    tol : float, default=1e-4
        Relative duality-gap tolerance.
    max_iter : int, default=100
    solver : {'auto', 'cd', 'fista', 'ista', 'gd', 'subgradient'} or Solver, default='auto'
    warm_start : bool, default=False

    Attributes
    ----------
    classes_, coef_ (n_classes or 1, n_features), intercept_, dual_gap_, n_iter_
    """

    def __init__(
        self,
        penalty="l2",
        *,
        C=1.0,
        l1_ratio=None,
        fit_intercept=True,
        tol=1e-4,
        max_iter=100,
        solver="auto",
        warm_start=False,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.warm_start = warm_start

    def _make_penalty(self, alpha):
        if self.penalty == "l2":
            return L2(alpha)
        if self.penalty == "l1":
            return L1(alpha)
        if self.penalty == "elasticnet":
            if self.l1_ratio is None:
                raise ValueError("penalty='elasticnet' needs l1_ratio in [0, 1], got l1_ratio=None")
            return L1L2(alpha, check_l1_ratio(self.l1_ratio))
        raise ValueError(
            f"penalty must be 'l2', 'l1' or 'elasticnet', got penalty={self.penalty!r}"
        )

    def fit(self, X, y, sample_weight=None):
        """Fit the model; returns ``self``."""
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES)
        C = check_scalar_nonneg(self.C, "C", allow_zero=False)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], np.float64)
        sw_sum = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
        alpha = 1.0 / (C * sw_sum) if sw_sum > 0 else 1.0
        penalty = self._make_penalty(alpha)
        return self._fit_encoded(
            X,
            y,
            sample_weight,
            penalty,
            self.solver,
            check_scalar_nonneg(self.tol, "tol"),
            _check_max_iter(self.max_iter),
            _check_bool(self.fit_intercept, "fit_intercept"),
        )


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
        res = solver.solve(problem, penalty, w0)
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
