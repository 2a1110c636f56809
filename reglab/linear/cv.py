"""Cross-validated estimators built on warm-started paths, like ``cv.glmnet``.

On every fold the whole path is fitted with warm starts (folds run in parallel with joblib)
on the alpha grid of the full data; the CV error curve gives ``alpha_min_`` (its minimum) and
``alpha_1se_``, the largest alpha whose mean error is within one standard error of the minimum
(Friedman, Hastie & Tibshirani, 2010, JSS 33(1); Hastie, Tibshirani & Friedman, ESL 7.10).
The final model is the full-data path's solution at the selected alpha.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from reglab.linear._fit import encode_binary, prepare, resolve_solver
from reglab.linear._validation import check_l1_ratio, check_sample_weight, check_scalar_nonneg
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.estimators import (
    _DTYPES,
    _SPARSE,
    _check_bool,
    _check_max_iter,
    _ClassifierBase,
    _LinearRegressorBase,
)
from reglab.linear.path import _grid_or_given, compute_path
from reglab.linear.penalties import L1L2, L2
from reglab.linear.solvers import ClosedForm, ridge_grid

__all__ = ["RidgeCV", "LassoCV", "ElasticNetCV", "LogisticRegressionCV"]


def _subset(a, idx):
    return None if a is None else a[idx]


def _split(cv, X, y, sw, *, classifier=False, groups=None):
    """The folds of ``cv``, refusing folds the CV could not score or fit.

    A training set with fewer samples than needed, or a fold whose sample weights are all
    zero on its training or its test rows (the test error would be 0/0), raises a ValueError
    naming the fold and the argument.
    """
    folds = list(check_cv(cv, y, classifier=classifier).split(X, y, groups))
    for k, (train, test) in enumerate(folds):
        if train.size == 0 or test.size == 0:
            raise ValueError(
                f"cv fold {k} has an empty training or test set ({train.size} / {test.size} "
                "samples); use fewer folds (cv) or more samples"
            )
        if sw is not None:
            for part, idx in (("training", train), ("test", test)):
                if not np.any(sw[idx] > 0):
                    raise ValueError(
                        f"sample_weight is zero on every {part} sample of cv fold {k}; "
                        "every fold needs positive weights (shuffle the folds or drop "
                        "the zero-weight rows)"
                    )
    return folds


def _fold(make_problem_fn, penalty, alphas, solver, score_fn, X, y, sw, train, test):
    problem = make_problem_fn(X[train], y[train], _subset(sw, train))
    path = compute_path(problem, penalty, alphas, solver)
    return score_fn(path, X[test], y[test], _subset(sw, test))


def _ridge_fold(make_problem_fn, penalty, alphas, solver, score_fn, X, y, sw, train, test):
    problem = make_problem_fn(X[train], y[train], _subset(sw, train))
    coefs = ridge_grid(problem, alphas, penalty.weights)
    intercepts = (
        problem.y_offset - problem.X_offset @ coefs if problem.fit_intercept else 0 * alphas
    )
    return score_fn((alphas, coefs, intercepts), X[test], y[test], _subset(sw, test))


def _mse(path, X, y, sw):
    coefs, intercepts = path[1], getattr(path, "intercepts", None)
    if intercepts is None:
        intercepts = path[2]
    pred = np.asarray(X @ coefs) + intercepts
    err = (pred - y[:, None]) ** 2
    return np.average(err, axis=0, weights=sw)


class _CVMixin:
    """Error curve, alpha_min / alpha_1se selection and the cv.glmnet plot."""

    def _select(self, alphas, fold_errors, n_nonzero):
        mean = fold_errors.mean(axis=1)
        k = fold_errors.shape[1]
        se = fold_errors.std(axis=1, ddof=1) / np.sqrt(k) if k > 1 else np.zeros_like(mean)
        i_min = int(np.argmin(mean))
        within = np.flatnonzero(mean <= mean[i_min] + se[i_min])
        i_1se = int(within[np.argmax(alphas[within])])
        self.alphas_ = alphas
        self.mse_path_ = fold_errors
        self.alpha_min_ = float(alphas[i_min])
        self.alpha_1se_ = float(alphas[i_1se])
        self.cv_results_ = {
            "alphas": alphas,
            "mean_test_error": mean,
            "std_error": se,
            "fold_errors": fold_errors,
            "n_nonzero": n_nonzero,
        }
        if self.select not in ("min", "1se"):
            raise ValueError(f"select must be 'min' or '1se', got select={self.select!r}")
        i = i_min if self.select == "min" else i_1se
        self.alpha_ = float(alphas[i])
        return i

    def plot(self, ax=None):
        """Plot mean CV error with one-standard-error bars against log(alpha), as cv.glmnet.

        The top axis shows the number of non-zero coefficients; dashed lines mark
        ``alpha_min_`` and ``alpha_1se_``.  Returns the matplotlib axes.
        """
        check_is_fitted(self, "cv_results_")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        r = self.cv_results_
        la = np.log(r["alphas"])
        ax.errorbar(
            la,
            r["mean_test_error"],
            yerr=r["std_error"],
            fmt="o",
            color="tab:red",
            ecolor="grey",
            markersize=3,
            capsize=2,
        )
        for a, name in ((self.alpha_min_, "alpha_min"), (self.alpha_1se_, "alpha_1se")):
            ax.axvline(np.log(a), linestyle="--", color="k", linewidth=0.8, label=name)
        ax.set_xlabel("log(alpha)")
        ax.set_ylabel(self._error_name)
        top = ax.twiny()
        top.set_xlim(ax.get_xlim())
        ticks = np.linspace(0, la.size - 1, num=min(8, la.size)).astype(int)
        top.set_xticks(la[ticks])
        top.set_xticklabels([str(int(n)) for n in np.asarray(r["n_nonzero"])[ticks]])
        top.set_xlabel("number of non-zero coefficients")
        return ax


class _RegressorCV(_CVMixin, _LinearRegressorBase):
    _error_name = "mean squared error"

    def _penalty_unit(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None):
        """Fit paths on every fold, choose alpha, keep the full-data solution there."""
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        penalty = self._penalty_unit()
        full, dtype = prepare(X, y, Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)
        alphas = _grid_or_given(full, penalty, self.alphas, self.eps, self.n_alphas)
        solver = self._solver(penalty)

        def make(Xt, yt, swt):
            return prepare(Xt, yt, Quadratic(), sample_weight=swt, fit_intercept=fit_intercept)[0]

        folds = _split(self.cv, X, y, sw)
        fold_fn = _ridge_fold if isinstance(solver, ClosedForm) else _fold
        errors = Parallel(n_jobs=self.n_jobs)(
            delayed(fold_fn)(make, penalty, alphas, solver, _mse, X, y, sw, tr, te)
            for tr, te in folds
        )
        if isinstance(solver, ClosedForm):
            coefs = ridge_grid(full, alphas, penalty.weights)
            path = None
        else:
            path = compute_path(full, penalty, alphas, solver)
            coefs = path.coefs
        i = self._select(alphas, np.column_stack(errors), np.count_nonzero(coefs, axis=0))
        coef = coefs[:, i]
        self.coef_ = coef.astype(dtype)
        self.intercept_ = (
            dtype.type(full.y_offset - full.X_offset @ coef) if fit_intercept else dtype.type(0)
        )
        if path is None:
            from reglab.linear._problem import duality_gap

            self.dual_gap_ = max(duality_gap(full, penalty.with_alpha(self.alpha_), coef)[0], 0.0)
            self.n_iter_ = 1
        else:
            self.dual_gap_ = float(path.dual_gaps[i])
            self.n_iter_ = int(path.n_iters[i])
        return self

    def _solver(self, penalty):
        return resolve_solver(
            "cd",
            Quadratic(),
            penalty,
            check_scalar_nonneg(self.tol, "tol"),
            _check_max_iter(self.max_iter),
        )


_CV_DOC = """

    Parameters
    ----------
    eps : float, default=1e-3
        ``alpha_min = eps * alpha_max`` for the default grid.
    alphas : int or array, default=100
        An int is the number of alphas of the default grid (scikit-learn >= 1.7); an array is
        the explicit grid.  Strings and bools are refused.
    n_alphas : int, optional
        reglab's older spelling of ``alphas=int``; must agree with ``alphas`` when both are
        given.
    cv : int or CV splitter, default=5
    n_jobs : int, optional
        Folds run in parallel with joblib.
    select : {'min', '1se'}, default='min'
        Which alpha the final model uses: ``alpha_min_`` or ``alpha_1se_``.
    fit_intercept, tol, max_iter, positive
        As in the single-alpha estimator.

    Attributes
    ----------
    alpha_, alpha_min_, alpha_1se_, alphas_, mse_path_ (n_alphas, n_folds), cv_results_,
    coef_, intercept_, dual_gap_, n_iter_
"""


class ElasticNetCV(_RegressorCV):
    __doc__ = "Elastic net with alpha chosen by K-fold CV on warm-started paths." + _CV_DOC

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        eps=1e-3,
        n_alphas=None,
        alphas=100,
        cv=5,
        n_jobs=None,
        select="min",
        fit_intercept=True,
        tol=1e-4,
        max_iter=100,
        positive=False,
    ):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.select = select
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive

    def _penalty_unit(self):
        return L1L2(
            1.0, check_l1_ratio(self.l1_ratio), positive=_check_bool(self.positive, "positive")
        )


class LassoCV(ElasticNetCV):
    __doc__ = "Lasso with alpha chosen by K-fold CV on warm-started paths." + _CV_DOC

    def __init__(
        self,
        *,
        eps=1e-3,
        n_alphas=None,
        alphas=100,
        cv=5,
        n_jobs=None,
        select="min",
        fit_intercept=True,
        tol=1e-4,
        max_iter=100,
        positive=False,
    ):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.select = select
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.positive = positive

    def _penalty_unit(self):
        return L1L2(1.0, 1.0, positive=_check_bool(self.positive, "positive"))


class RidgeCV(_RegressorCV):
    __doc__ = (
        "Ridge (``1/(2n)||y - Xw - b||^2 + alpha/2||w||^2``) with alpha chosen by K-fold CV;"
        " each fold's whole grid comes from one SVD." + _CV_DOC
    )

    def __init__(
        self,
        *,
        eps=1e-4,
        n_alphas=None,
        alphas=100,
        cv=5,
        n_jobs=None,
        select="min",
        fit_intercept=True,
    ):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.select = select
        self.fit_intercept = fit_intercept

    def _penalty_unit(self):
        return L2(1.0)

    def _solver(self, penalty):
        return ClosedForm()


def _log_loss_scores(K):
    def score(path, X, y_enc, sw):
        coefs, intercepts = path.coefs, path.intercepts
        if K == 1:
            z = np.asarray(X @ coefs) + intercepts
            loss = np.logaddexp(0.0, -y_enc[:, None] * z)
        else:
            z = np.einsum("np,pka->nka", X.toarray() if hasattr(X, "toarray") else X, coefs)
            z = z + intercepts.T[None]
            lse = np.logaddexp.reduce(z, axis=1)
            loss = lse - z[np.arange(len(y_enc)), y_enc.astype(int)]
        return np.average(loss, axis=0, weights=sw)

    return score


class LogisticRegressionCV(_CVMixin, _ClassifierBase):
    """Penalised logistic regression with alpha chosen by stratified K-fold CV.

    ``alpha`` is in mean-loss units (``mean_i log-loss + alpha * penalty``); ``C_`` reports the
    equivalent scikit-learn ``C = 1 / (alpha n)``.  The CV error is the mean log-loss
    (the deviance / 2, glmnet's default measure).
    """ + _CV_DOC.replace("positive", "l1_ratio")

    _error_name = "mean log-loss"

    def __init__(
        self,
        *,
        penalty="l1",
        l1_ratio=None,
        eps=1e-3,
        n_alphas=None,
        alphas=50,
        cv=5,
        n_jobs=None,
        select="min",
        fit_intercept=True,
        tol=1e-4,
        max_iter=100,
    ):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.select = select
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, X, y, sample_weight=None):
        """Fit paths on every fold, choose alpha, keep the full-data solution there."""
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        datafit, y_enc, K = self._encode(y)
        from reglab.linear.estimators import LogisticRegression

        penalty = LogisticRegression(self.penalty, l1_ratio=self.l1_ratio)._make_penalty(1.0)
        full, dtype = prepare(
            X, y_enc, datafit, sample_weight=sw, fit_intercept=fit_intercept, n_classes=K
        )
        alphas = _grid_or_given(full, penalty, self.alphas, self.eps, self.n_alphas, default=50)
        solver = resolve_solver(
            "auto",
            datafit,
            penalty,
            check_scalar_nonneg(self.tol, "tol"),
            _check_max_iter(self.max_iter),
        )

        def make(Xt, yt, swt):
            df = Logistic() if K == 1 else Multinomial()
            return prepare(Xt, yt, df, sample_weight=swt, fit_intercept=fit_intercept, n_classes=K)[
                0
            ]

        folds = _split(self.cv, X, y, sw, classifier=True)
        errors = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold)(make, penalty, alphas, solver, _log_loss_scores(K), X, y_enc, sw, tr, te)
            for tr, te in folds
        )
        path = compute_path(full, penalty, alphas, solver)
        nnz = np.count_nonzero(path.coefs.reshape(-1, alphas.size), axis=0)
        i = self._select(alphas, np.column_stack(errors), nnz)
        coef = path.coefs[..., i]
        self.coef_ = (coef[None, :] if K == 1 else coef.T).astype(dtype)
        self.intercept_ = np.atleast_1d(path.intercepts[i]).astype(dtype)
        self.C_ = 1.0 / (self.alpha_ * (X.shape[0] if sw is None else sw.sum()))
        self.dual_gap_ = float(path.dual_gaps[i])
        self.n_iter_ = int(path.n_iters[i])
        return self


# keep the import used for the binary encoding visible to readers of _fold
_ = encode_binary
