"""Cross-validated estimators built on warm-started paths, like ``cv.glmnet``.

On every fold the whole path is fitted with warm starts (folds run in parallel with joblib)
on the alpha grid of the full data; the CV error curve gives ``alpha_min_`` (its minimum) and
``alpha_1se_``, the largest alpha whose mean error is within one standard error of the minimum
(Friedman, Hastie & Tibshirani, 2010, JSS 33(1); Hastie, Tibshirani & Friedman, ESL 7.10).
The final model is the full-data path's solution at the selected alpha.
"""

from __future__ import annotations

import numbers

import numpy as np
from joblib import Parallel, delayed
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from reglab.linear._fit import encode_binary, prepare, resolve_solver
from reglab.linear._validation import (
    check_cv_arg,
    check_l1_ratio,
    check_n_jobs,
    check_sample_weight,
    check_scalar_nonneg,
)
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.estimators import (
    _DTYPES,
    _SPARSE,
    _check_bool,
    _check_max_iter,
    _ClassifierBase,
    _LinearRegressorBase,
)
from reglab.linear.path import _grid_or_given, compute_path, path_on_gram, warn_failed
from reglab.linear.penalties import L1L2, L2
from reglab.linear.solvers import ClosedForm, ridge_grid
from reglab.linear.solvers._base import SolveResult
from reglab.linear.solvers._gram_path import fold_gram, held_out_grams, held_out_mse
from reglab.linear.solvers._polish import polish_quadratic

__all__ = ["RidgeCV", "LassoCV", "ElasticNetCV", "LogisticRegressionCV"]


def _scorer(estimator, scoring):
    """scikit-learn's scorer for ``scoring``; a bad value is a ValueError naming it."""
    if scoring is not None and not isinstance(scoring, str) and not callable(scoring):
        raise TypeError(f"scoring must be None, a str or a callable, got scoring={scoring!r}")
    try:
        return check_scoring(estimator, scoring=scoring)
    except ValueError as err:
        raise ValueError(f"scoring={scoring!r} is not a scorer: {err}") from None


def _jobs(n_jobs):
    check_n_jobs(n_jobs)
    return n_jobs


def _subset(a, idx):
    return None if a is None else a[idx]


def _split(cv, X, y, sw, *, classifier=False, groups=None):
    """The folds of ``cv``, refusing folds the CV could not score or fit.

    A training set with fewer samples than needed, or a fold whose sample weights are all
    zero on its training or its test rows (the test error would be 0/0), raises a ValueError
    naming the fold and the argument.
    """
    check_cv_arg(cv, X.shape[0])
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


def _shared_gram_applies(full, sw, folds, runs):
    """Whether every fold's path runs on a Gram matrix derived from the full data's.

    As :class:`CoordinateDescent` would choose per fold (its ``gram`` setting, dense ``X``,
    more training rows than features in every fold), with every feature penalised at every
    alpha (:func:`reglab.linear.path._gram_path_applies`) and no zero sample weight (the
    full problem drops those rows, so its rows would no longer be ``X``'s).
    """
    from reglab.linear.path import _gram_path_applies

    if full.is_sparse or (sw is not None and not np.all(sw > 0)):
        return False
    n_train = min(full.n_samples - te.size for _, te in folds)
    for _, penalty, alphas, solver, _ in runs:
        if not _gram_path_applies(full, penalty, alphas, solver):
            return False
        if not (solver.gram is True or n_train > full.n_features):
            return False
    return True


def _gram_fold(T, Tte, sums, full, rows, runs, X, y, sw, test):
    """One fold's held-out MSE curves, one per entry of ``runs``, on its derived Gram matrix."""
    G, q, yy, d, e, held_out = fold_gram(
        *(T, full.X, full.y, rows, test, full.fit_intercept),
        zy=sums[0], zr=sums[1], Tte=Tte,
    )  # fmt: skip
    x_off, y_off = full.X_offset + d, full.y_offset + e
    out = []
    for _, penalty, alphas, solver, _ in runs:
        coefs, _, _, failed = path_on_gram(G, q, yy, penalty, alphas, solver)
        warn_failed(solver, failed, alphas.size, stacklevel=2)
        # the held-out error from the held-out rows' Gram (O(p^2) per alpha), or directly
        mse = None if held_out is None else held_out_mse(held_out, coefs, d, e)
        if mse is None:
            intercepts = y_off - x_off @ coefs if full.fit_intercept else np.zeros(alphas.size)
            mse = _mse((alphas, coefs, intercepts), X[test], y[test], _subset(sw, test))
        out.append(mse)
    return out


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
        self._curve = {
            "alphas": alphas,
            "mean_test_error": mean,
            "std_error": se,
            "fold_errors": fold_errors,
            "n_nonzero": n_nonzero,
        }
        self.cv_results_ = self._curve
        if self.select not in ("min", "1se"):
            raise ValueError(f"select must be 'min' or '1se', got select={self.select!r}")
        i = i_min if self.select == "min" else i_1se
        self.alpha_ = float(alphas[i])
        return i

    def plot(self, ax=None):
        """Plot mean CV error with one-standard-error bars against log(alpha), as cv.glmnet.

        The top axis shows the number of non-zero coefficients; a dashed blue line marks
        ``alpha_min_`` and a dotted green one ``alpha_1se_``, both named with their values in
        the legend.  Returns the matplotlib axes.
        """
        check_is_fitted(self, "_curve")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        r = self._curve
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
        # the two choices cv.glmnet marks, told apart by colour and dash, each labelled
        for a, name, style, color in (
            (self.alpha_min_, "alpha_min", "--", "tab:blue"),
            (self.alpha_1se_, "alpha_1se", ":", "tab:green"),
        ):
            ax.axvline(
                np.log(a), linestyle=style, color=color, linewidth=1.2, label=f"{name} = {a:.3g}"
            )
        ax.legend(fontsize=8, loc="best")
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False  # as scikit-learn's LassoCV / ElasticNetCV
        return tags

    def _penalty_unit(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _l1_ratios(self):
        """The l1_ratio grid (a list for ElasticNetCV(l1_ratio=[...])) and whether it is one."""
        ratio = getattr(self, "l1_ratio", 1.0)
        if isinstance(ratio, str | bytes) or not np.iterable(ratio):
            return [check_l1_ratio(ratio)], False
        ratios = [check_l1_ratio(r) for r in ratio]
        if not ratios:
            raise ValueError("l1_ratio is an empty list; give at least one value in [0, 1]")
        return ratios, True

    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit paths on every fold (and every l1_ratio), choose, keep the full-data solution.

        ``groups`` is passed to the CV splitter (``GroupKFold`` and friends).  With a list of
        ``l1_ratio``, the pair (l1_ratio, alpha) of the smallest mean CV error is chosen, as in
        scikit-learn; ``select='1se'`` then applies along that l1_ratio's alphas.
        """
        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        self._check_compat()
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        full, dtype = prepare(X, y, Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)

        def make(Xt, yt, swt):
            return prepare(Xt, yt, Quadratic(), sample_weight=swt, fit_intercept=fit_intercept)[0]

        folds = _split(self.cv, X, y, sw, groups=groups)
        ratios, is_list = self._l1_ratios()
        runs = []
        for ratio in ratios:
            penalty = self._penalty_unit(ratio)
            alphas = _grid_or_given(full, penalty, self.alphas, self.eps, self.n_alphas)
            runs.append([ratio, penalty, alphas, self._solver(penalty), None])
        if self.device is not None:
            # every fold x alpha (x l1_ratio) as one batched solve in torch (torch_path)
            from reglab.linear.solvers.torch_path import torch_cv_errors

            errs = torch_cv_errors(
                X, y, sw, fit_intercept, folds, [(r[1], r[2]) for r in runs],
                device=self.device, tol=check_scalar_nonneg(self.tol, "tol", allow_zero=False),
            )  # fmt: skip
            for run, err in zip(runs, errs, strict=True):
                run[4] = err
        elif _shared_gram_applies(full, sw, folds, runs):
            # each fold's Gram is all rows' minus its held-out rows' (_gram_path.fold_gram),
            # formed once for every l1_ratio; with K-fold splits all rows' Gram is the sum of
            # the held-out ones (held_out_grams): one Gram's flops in all
            T, parts = held_out_grams(full.X, [te for _, te in folds])
            n = full.n_samples
            full._cache["gram"] = (T / n, full.X.T @ full.y / n, float(full.y @ full.y) / n)
            rows = np.ones(n) if sw is None else np.sqrt(sw / np.mean(sw))
            sums = (full.X.T @ full.y, full.X.T @ rows)
            per_fold = Parallel(n_jobs=_jobs(self.n_jobs))(
                delayed(_gram_fold)(T, Tte, sums, full, rows, runs, X, y, sw, te)
                for (_, te), Tte in zip(folds, parts, strict=True)
            )
            for r, run in enumerate(runs):
                run[4] = np.column_stack([errs[r] for errs in per_fold])
        else:
            for run in runs:
                _, penalty, alphas, solver, _ = run
                errors = Parallel(n_jobs=_jobs(self.n_jobs))(
                    delayed(_fold)(make, penalty, alphas, solver, _mse, X, y, sw, tr, te)
                    for tr, te in folds
                )
                run[4] = np.column_stack(errors)
        best = int(np.argmin([r[4].mean(axis=1).min() for r in runs]))
        ratio, penalty, alphas, solver, errors = runs[best]
        path = compute_path(full, penalty, alphas, solver)
        i = self._select(alphas, errors, np.count_nonzero(path.coefs, axis=0))
        if is_list:
            self.l1_ratio_ = float(ratio)
            sizes = {r[2].size for r in runs}
            if len(sizes) == 1:  # scikit-learn's (n_l1_ratio, n_alphas[, n_folds]) layout
                self.alphas_ = np.array([r[2] for r in runs])
                self.mse_path_ = np.array([r[4] for r in runs])
        elif hasattr(self, "l1_ratio"):
            self.l1_ratio_ = float(ratio)
        # the chosen alpha's fit polished to the exact optimum on its support, as a Lasso fit
        # is: the path certifies each alpha's objective to tol, not its coefficients
        gap = float(path.dual_gaps[i])
        done = SolveResult(path.coefs[:, i], 0.0, gap, 0, gap <= solver._tol_abs(full))
        done = polish_quadratic(full, penalty.with_alpha(float(alphas[i])), done)
        coef = done.coef
        self.coef_ = coef.astype(dtype)
        self.intercept_ = (
            dtype.type(full.y_offset - full.X_offset @ coef) if fit_intercept else dtype.type(0)
        )
        self.dual_gap_ = done.dual_gap
        self.n_iter_ = int(path.n_iters[i])
        return self

    def _solver(self, penalty):
        solver = resolve_solver(
            "cd",
            Quadratic(),
            penalty,
            check_scalar_nonneg(self.tol, "tol"),
            _check_max_iter(self.max_iter),
        )
        solver.gram = getattr(self, "precompute", "auto")
        return solver


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
    fit_intercept, tol, max_iter, positive, precompute, copy_X, random_state, selection
        As in the single-alpha estimator (``selection='random'`` and a precomputed Gram array
        are refused).
    verbose : bool or int, default=False
        Accepted for compatibility; nothing is printed.
    device : str or torch.device, optional
        Fit every fold x alpha (x l1_ratio) as one batched FISTA solve in torch on this device
        ('cpu', 'cuda'), each certified by its fold's duality gap <= ``tol * F(0)``
        (``reglab.linear.solvers.torch_path.torch_cv_errors``; ``max_iter`` is then the
        batched solver's cap of 20000 iterations); the final fit runs on the CPU.  None (the
        default) keeps everything on the CPU without importing torch.

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
        precompute="auto",
        copy_X=True,
        verbose=False,
        random_state=None,
        selection="cyclic",
        device=None,
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
        self.precompute = precompute
        self.copy_X = copy_X
        self.verbose = verbose
        self.random_state = random_state
        self.selection = selection
        self.device = device

    def _penalty_unit(self, ratio):
        return L1L2(1.0, ratio, positive=_check_bool(self.positive, "positive"))


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
        precompute="auto",
        copy_X=True,
        verbose=False,
        random_state=None,
        selection="cyclic",
        device=None,
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
        self.precompute = precompute
        self.copy_X = copy_X
        self.verbose = verbose
        self.random_state = random_state
        self.selection = selection
        self.device = device

    def _penalty_unit(self, ratio=1.0):
        return L1L2(1.0, 1.0, positive=_check_bool(self.positive, "positive"))


class _Predictions(RegressorMixin, BaseEstimator):
    """Stands in for a fitted estimator whose predictions on the training X are given.

    Lets a scikit-learn scorer (``scorer(estimator, X, y)``) score leave-one-out predictions.
    """

    def __init__(self, pred=None):
        self.pred = pred

    def predict(self, X):
        return self.pred


def _ridge_loo(problem, alphas, rows):
    """Exact leave-one-out residuals of ridge for every alpha, from one SVD (original scale).

    For a penalised least-squares fit ``yhat = H y`` the leave-one-out residual is
    ``(y_i - yhat_i) / (1 - H_ii)`` (Allen, 1974; Golub, Heath & Wahba, 1979).  On the
    weighted, centred problem ``X = U S V^T`` and ``H = v v^T / v.v + U diag(s^2 / (s^2 + n
    alpha)) U^T``, the first term being the unpenalised intercept (``v`` the row scaling,
    orthogonal to the weighted-centred columns).  Returns an (n, n_alphas) array of residuals
    divided back by the row scaling.
    """
    from reglab.linear.solvers.closed_form import _dense_centered

    Xd = _dense_centered(problem)
    n = Xd.shape[0]
    U, sv, _ = np.linalg.svd(Xd, full_matrices=False)
    y = problem.y
    F = sv[:, None] ** 2 / (sv[:, None] ** 2 + n * alphas[None, :])
    fitted = U @ (F * (U.T @ y)[:, None])
    hdiag = (U**2) @ F
    if problem.fit_intercept:
        hdiag = hdiag + (rows**2 / (rows @ rows))[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        loo = (y[:, None] - fitted) / (1.0 - hdiag)
    loo[~np.isfinite(loo)] = 0.0  # H_ii = 1: a sample the fit interpolates exactly
    return loo / rows[:, None]


class RidgeCV(_CVMixin, _LinearRegressorBase):
    """Ridge (``1/(2n)||y - Xw - b||^2 + alpha/2||w||^2``) with alpha chosen by cross-validation.

    reglab's alpha is scikit-learn's divided by ``n_samples`` (the Ridge scaling above):
    ``sklearn.linear_model.RidgeCV(alphas=n * a)`` corresponds to ``RidgeCV(alphas=a)``.
    ``cv=None`` (the default, as scikit-learn's) is the exact leave-one-out error of every
    alpha from one SVD (:func:`_ridge_loo`); a K-fold ``cv`` solves each fold's whole grid from
    one SVD.

    Parameters
    ----------
    alphas : int or array, default=100
        An int is the number of alphas of glmnet's ridge grid (alpha_max as for
        ``l1_ratio=1e-3``, down to ``eps * alpha_max``); an array is the explicit grid.
    eps : float, default=1e-4
    n_alphas : int, optional
        reglab's older spelling of ``alphas=int``.
    cv : None, int or CV splitter, default=None
        None: efficient leave-one-out.
    fit_intercept : bool, default=True
    scoring : str, callable or None, default=None
        None: mean squared error (minimised); otherwise a scikit-learn scorer (maximised),
        applied to the leave-one-out predictions (cv=None) or to each fold's model.
    gcv_mode : {None, 'auto', 'svd', 'eigen'}, default=None
        Every mode is the same exact computation here (one SVD of the centred X).
    store_cv_results : bool, default=False
        With ``cv=None``, keep ``cv_results_`` as scikit-learn does: the leave-one-out squared
        errors (or predictions when ``scoring`` is given), shape (n_samples, n_alphas) or
        (n_samples, n_targets, n_alphas).
    alpha_per_target : bool, default=False
        With a 2-D y, choose alpha separately for each target (``alpha_`` is then an array).
    n_jobs : int, optional
        Folds run in parallel with joblib.
    select : {'min', '1se'}, default='min'
        ``alpha_min_`` or ``alpha_1se_`` (one-standard-error rule, over folds or samples).

    Attributes
    ----------
    alpha_, best_score_, alphas_, mse_path_, alpha_min_, alpha_1se_, coef_, intercept_,
    dual_gap_, n_iter_, cv_results_ (when stored)
    """

    _error_name = "mean squared error"

    def __init__(
        self,
        alphas=100,
        *,
        fit_intercept=True,
        scoring=None,
        cv=None,
        gcv_mode=None,
        store_cv_results=False,
        alpha_per_target=False,
        eps=1e-4,
        n_alphas=None,
        n_jobs=None,
        select="min",
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.eps = eps
        self.n_alphas = n_alphas
        self.n_jobs = n_jobs
        self.select = select

    def _errors(self, X, y, sw, fit_intercept, alphas, folds, scorer):
        """Errors (to minimise) of every alpha: (n_alphas, n_folds or n_samples), + LOO store."""
        full, _ = prepare(X, y, Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)
        if folds is None:
            c = np.full(X.shape[0], 1.0 / X.shape[0]) if sw is None else sw / sw.sum()
            rows = np.sqrt(c * X.shape[0])
            keep = c > 0
            loo = np.zeros((X.shape[0], alphas.size))
            loo[keep] = _ridge_loo(full, alphas, rows[keep]) if np.all(keep) else 0.0
            if not np.all(keep):
                sub, _ = prepare(
                    X[keep],
                    y[keep],
                    Quadratic(),
                    sample_weight=sw[keep],
                    fit_intercept=fit_intercept,
                )
                loo[keep] = _ridge_loo(sub, alphas, rows[keep] / np.sqrt(c[keep].sum()))
            pred = y[:, None] - loo
            if scorer is None:
                # per-sample errors scaled so that their plain mean is the weighted mean
                return (loo**2 * (c * X.shape[0])[:, None]).T, loo**2
            scores = np.array(
                [
                    scorer(_Predictions(pred[:, k]), X, y, sample_weight=sw)
                    if sw is not None
                    else scorer(_Predictions(pred[:, k]), X, y)
                    for k in range(alphas.size)
                ]
            )
            return -scores[:, None], pred

        def make(Xt, yt, swt):
            return prepare(Xt, yt, Quadratic(), sample_weight=swt, fit_intercept=fit_intercept)[0]

        if scorer is None:
            score_fn = _mse
        else:

            def score_fn(path, Xte, yte, swte):
                coefs, intercepts = path[1], path[2]
                out = []
                for k in range(coefs.shape[1]):
                    pred = np.asarray(Xte @ coefs[:, k]) + intercepts[k]
                    est = _Predictions(pred)
                    out.append(
                        -(
                            scorer(est, Xte, yte)
                            if swte is None
                            else scorer(est, Xte, yte, sample_weight=swte)
                        )
                    )
                return np.array(out)

        errors = Parallel(n_jobs=_jobs(self.n_jobs))(
            delayed(_ridge_fold)(make, L2(1.0), alphas, ClosedForm(), score_fn, X, y, sw, tr, te)
            for tr, te in folds
        )
        return np.column_stack(errors), None

    def fit(self, X, y, sample_weight=None, groups=None):
        """Choose alpha by leave-one-out (cv=None) or K-fold CV, then fit at it; returns self."""
        X, y = validate_data(
            self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES, y_numeric=True, multi_output=True
        )
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        store = _check_bool(self.store_cv_results, "store_cv_results")
        per_target = _check_bool(self.alpha_per_target, "alpha_per_target")
        if self.gcv_mode not in (None, "auto", "svd", "eigen"):
            raise ValueError(
                f"gcv_mode must be None, 'auto', 'svd' or 'eigen', got gcv_mode={self.gcv_mode!r}"
            )
        if store and self.cv is not None:
            raise ValueError(
                "store_cv_results=True needs cv=None (the leave-one-out errors are what is stored)"
            )
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        Y = y[:, None] if y.ndim == 1 else y
        if per_target and Y.shape[1] == 1 and y.ndim == 1:
            per_target = False
        scorer = None if self.scoring is None else _scorer(self, self.scoring)
        folds = None if self.cv is None else _split(self.cv, X, Y[:, 0], sw, groups=groups)
        first, _ = prepare(X, Y[:, 0], Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)
        alphas = _grid_or_given(first, L2(1.0), self.alphas, self.eps, self.n_alphas)
        per = [
            self._errors(X, Y[:, t], sw, fit_intercept, alphas, folds, scorer)
            for t in range(Y.shape[1])
        ]
        errs = [e for e, _ in per]
        if per_target:
            chosen = []
            for E in errs:
                chosen.append(self._select(alphas, E, np.full(alphas.size, X.shape[1])))
            self.alpha_ = np.array([alphas[i] for i in chosen])
            best = [-errs[t][chosen[t]].mean() for t in range(len(errs))]
            self.best_score_ = np.array(best)
        else:
            E = np.mean(errs, axis=0)
            i = self._select(alphas, E, np.full(alphas.size, X.shape[1]))
            chosen = [i] * Y.shape[1]
            self.best_score_ = float(-E[i].mean())
        self.mse_path_ = errs[0] if len(errs) == 1 else np.array(errs)
        coefs, intercepts, gaps = [], [], []
        from reglab.linear._problem import duality_gap

        for t in range(Y.shape[1]):
            prob, dtype = prepare(
                X, Y[:, t], Quadratic(), sample_weight=sw, fit_intercept=fit_intercept
            )
            a = alphas[chosen[t]]
            res = ClosedForm().solve(prob, L2(a))
            coefs.append(res.coef)
            intercepts.append(prob.y_offset - prob.X_offset @ res.coef if fit_intercept else 0.0)
            gaps.append(max(duality_gap(prob, L2(a), res.coef)[0], 0.0))
        if y.ndim == 1:
            self.coef_ = coefs[0].astype(dtype)
            self.intercept_ = dtype.type(intercepts[0])
            self.dual_gap_ = gaps[0]
        else:
            self.coef_ = np.array(coefs, dtype=dtype)
            self.intercept_ = np.array(intercepts, dtype=dtype)
            self.dual_gap_ = np.array(gaps)
        self.n_iter_ = 1
        if store:
            stored = [st for _, st in per]
            self.cv_results_ = stored[0] if y.ndim == 1 else np.stack(stored, axis=1)
        else:
            self.cv_results_ = self._curve
        return self


def _logistic_fold(
    make, penalty, alphas, solver, X, y, y_enc, sw, train, test, scorer, template, builtin=None
):
    """One fold's path over the C grid and the scorer's value at every C (estimator form).

    ``builtin`` ('accuracy' or 'neg_log_loss', the scorer's own name): the scores of every C
    from one product with the path (:func:`_builtin_scores`) when the held-out fold holds
    every class, instead of a scorer call per C.
    """
    problem = make(X[train], y_enc[train], _subset(sw, train))
    path = compute_path(problem, penalty, alphas, solver)
    if builtin is not None and np.unique(y[test]).size == template._classes.size:
        scores = _builtin_scores(builtin, path, X[test], y[test], template._classes)
        # coefs_paths_ rows as the estimator form gives them: (n_out, n_features + 1) per C
        W = path.coefs.T[:, None, :] if path.coefs.ndim == 2 else path.coefs.transpose(2, 1, 0)
        b = path.intercepts.reshape(alphas.size, W.shape[1], 1)
        return scores, np.concatenate([W, b], axis=2), path.n_iters
    scores = np.empty(alphas.size)
    coefs = []
    for k in range(alphas.size):
        est = template._with_solution(path.coefs[..., k], path.intercepts[k])
        scores[k] = scorer(est, X[test], y[test])
        coefs.append(np.column_stack([est.coef_, est.intercept_]))
    return scores, np.array(coefs), path.n_iters


def _builtin_scores(name, path, Xte, yte, classes):
    """scikit-learn's 'accuracy' or 'neg_log_loss' on ``(Xte, yte)`` at every C of a path.

    The same numbers as the scorer called on each C's estimator (``predict``: the class of
    largest score, ``> 0`` for two classes; ``log_loss``: the mean of ``-log p_true`` with
    ``p`` clipped to ``[eps, 1 - eps]``), from one product ``Xte @ coefs``: the per-C scorer
    calls (input validation, label binarisation) were 75-90% of a 5-fold, 100-C L1
    ``LogisticRegressionCV`` on the quick benchmark's problems (one core).
    """
    idx = np.searchsorted(classes, yte)  # classes_ is sorted (np.unique)
    rows = np.arange(idx.size)
    if path.coefs.ndim == 2:  # two classes: (n_features, n_cs), sigmoid of one score
        S = np.asarray(Xte @ path.coefs) + path.intercepts[None, :]
        if name == "accuracy":
            return np.mean((S > 0).astype(int) == idx[:, None], axis=0)
        p1 = expit(S)
        P = np.where(idx[:, None] == 1, p1, 1.0 - p1)
    else:  # (n_features, n_classes, n_cs): softmax over the classes
        p_, k_, c_ = path.coefs.shape
        S = np.asarray(Xte @ path.coefs.reshape(p_, k_ * c_)).reshape(-1, k_, c_)
        S = S + path.intercepts.T[None, :, :]
        if name == "accuracy":
            return np.mean(np.argmax(S, axis=1) == idx[:, None], axis=0)
        P = softmax(S, axis=1)[rows, idx, :]
    eps = np.finfo(np.float64).eps
    return np.mean(np.log(np.clip(P, eps, 1.0 - eps)), axis=0)


class LogisticRegressionCV(_CVMixin, _ClassifierBase):
    """Logistic regression with C (and l1_ratio) chosen by cross-validation: scikit-learn 1.9's API.

    For every fold and l1_ratio the whole C grid is one warm-started, certified path
    (``alpha = 1 / (C sum(s))`` in mean-loss units, decreasing); each C is scored on the held-out
    fold with ``scoring`` (accuracy by default, as scikit-learn 1.9).  The best (C, l1_ratio)
    maximises the mean score over folds; ``refit=True`` refits on all data there,
    ``refit=False`` averages the folds' best coefficients and Cs (scikit-learn's rule).

    Parameters
    ----------
    Cs : int or array of floats, default=10
        An int gives ``np.logspace(-4, 4, Cs)``, as scikit-learn.
    l1_ratios : array of floats in [0, 1] or None, default=None
        None: ``(0.0,)`` (L2), scikit-learn's meaning in 1.8-1.9.
    fit_intercept : bool, default=True
    cv : None, int or CV splitter, default=None
        None: 5-fold stratified.  Every training fold must hold every class.
    dual : False
    penalty : 'deprecated' or {'l1', 'l2', 'elasticnet'}
        When given, must agree with ``l1_ratios`` ('l1': (1.0,), 'l2': (0.0,)).
    scoring : str, callable or None, default=None
        A scikit-learn scorer; None: accuracy.
    solver, tol, max_iter, class_weight, intercept_scaling, random_state, verbose
        As in :class:`~reglab.linear.LogisticRegression`.
    n_jobs : int, optional
        Folds run in parallel with joblib.
    refit : bool, default=True
    use_legacy_attributes : bool, default=True
        scikit-learn's attribute layout: True gives ``C_``/``l1_ratio_`` arrays repeated per
        class and ``scores_``/``coefs_paths_`` dicts keyed by class; False gives floats and
        arrays ``scores_`` (n_folds, n_l1_ratios, n_cs), ``coefs_paths_`` (n_folds,
        n_l1_ratios, n_cs, n_classes or 1, n_features + fit_intercept), ``n_iter_`` (n_folds,
        n_l1_ratios, n_cs).
    n_alphas, eps : optional
        reglab's glmnet-style grid: ``n_alphas`` alphas from alpha_max (the smallest alpha
        with zero coefficients) down to ``eps * alpha_max``, used instead of ``Cs`` when given.
    select : {'min', '1se'}, default='min'
        Best mean score, or the smallest C within one standard error of it (with refit).

    Attributes
    ----------
    classes_, coef_, intercept_, C_, l1_ratio_, Cs_, l1_ratios_, scores_, coefs_paths_,
    n_iter_, alpha_ (mean-loss units), alphas_, dual_gap_
    """

    _error_name = "minus the CV score"

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios=None,
        fit_intercept=True,
        cv=None,
        dual=False,
        penalty="deprecated",
        scoring=None,
        solver="auto",
        tol=1e-4,
        max_iter=100,
        class_weight=None,
        n_jobs=None,
        verbose=0,
        refit=True,
        intercept_scaling=1.0,
        random_state=None,
        use_legacy_attributes=True,
        n_alphas=None,
        eps=1e-3,
        select="min",
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes
        self.n_alphas = n_alphas
        self.eps = eps
        self.select = select

    def _ratios(self):
        given = self.l1_ratios
        if given is None or (isinstance(given, str) and given == "warn"):
            # scikit-learn 1.8-1.9's deprecated default ('warn' / None): L2, i.e. (0.0,)
            ratios = None
        elif isinstance(given, str | bytes) or not np.iterable(given):
            raise TypeError(
                f"l1_ratios must be a list of floats in [0, 1], got l1_ratios={given!r}"
            )
        else:
            ratios = [check_l1_ratio(r) for r in given]
            if not ratios:
                raise ValueError("l1_ratios is empty; give at least one value in [0, 1]")
        implied = {"l2": [0.0], "l1": [1.0]}.get(self.penalty)
        if self.penalty == "deprecated":
            return ratios if ratios is not None else [0.0]
        if self.penalty in ("l1", "l2"):
            if ratios is not None and ratios != implied:
                raise ValueError(
                    f"penalty={self.penalty!r} contradicts l1_ratios={given!r}; give l1_ratios only"
                )
            return implied
        if self.penalty == "elasticnet":
            if ratios is None:
                raise ValueError("penalty='elasticnet' needs l1_ratios, got l1_ratios=None")
            return ratios
        raise ValueError(
            f"penalty must be 'l1', 'l2' or 'elasticnet' in a CV over C, got penalty={self.penalty!r}"
        )

    def _Cs(self):
        Cs = self.Cs
        if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
            if Cs < 1:
                raise ValueError(
                    f"Cs must be a positive integer or a list of floats, got Cs={Cs!r}"
                )
            return np.logspace(-4, 4, int(Cs))
        if isinstance(Cs, str | bytes | bool) or not np.iterable(Cs):
            raise TypeError(f"Cs must be an int or a list of floats, got Cs={Cs!r}")
        vals = []
        for c in Cs:
            if isinstance(c, bool | str | bytes) or not isinstance(c, numbers.Real):
                raise TypeError(f"Cs must hold real numbers only, got {c!r} in Cs={Cs!r}")
            if not np.isfinite(c) or c <= 0:
                raise ValueError(f"Cs must be finite and > 0, got {c!r} in Cs={Cs!r}")
            vals.append(float(c))
        if not vals:
            raise ValueError("Cs is empty; give at least one C")
        return np.array(vals)

    def _with_solution(self, coef, intercept):
        """A fitted LogisticRegression holding one path solution (for the scorer)."""
        from reglab.linear.estimators import LogisticRegression

        est = LogisticRegression()
        est.classes_ = self._classes
        K = self._classes.size
        est.coef_ = coef[None, :] if K == 2 else np.asarray(coef).T
        est.intercept_ = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        est.n_features_in_ = est.coef_.shape[1]
        return est

    def fit(self, X, y, sample_weight=None, groups=None):
        """Score every (l1_ratio, C) on every fold, choose, refit; returns ``self``."""
        from reglab.linear.estimators import (
            LogisticRegression,
            _check_sklearn_only,
            _class_weights,
            _logistic_penalty,
        )

        X, y = validate_data(self, X, y, accept_sparse=_SPARSE, dtype=_DTYPES)
        fit_intercept = _check_bool(self.fit_intercept, "fit_intercept")
        refit = _check_bool(self.refit, "refit")
        legacy = self.use_legacy_attributes
        legacy = True if isinstance(legacy, str) and legacy == "warn" else legacy
        legacy = _check_bool(legacy, "use_legacy_attributes")
        _check_sklearn_only(
            self,
            [
                ("dual", lambda v: v is False or v is np.False_, "only the primal is solved"),
                ("intercept_scaling", lambda v: v == 1, "it only affects liblinear (use 1)"),
            ],
        )
        tol = check_scalar_nonneg(self.tol, "tol")
        max_iter = _check_max_iter(self.max_iter)
        check_classification_targets(y)
        datafit, y_enc, K = self._encode(y)
        self._classes = self.classes_
        sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
        cw = _class_weights(self.class_weight, self.classes_, y, sw)
        if cw is not None:
            sw = cw if sw is None else sw * cw
        ratios = self._ratios()
        folds = _split(5 if self.cv is None else self.cv, X, y, sw, classifier=True, groups=groups)
        for k, (train, _) in enumerate(folds):
            missing = np.setdiff1d(self.classes_, np.unique(y[train]))
            if missing.size:
                raise ValueError(
                    f"cv fold {k}'s training set has no sample of class {missing.tolist()[0]!r}; "
                    "use a "
                    "stratified cv with fewer folds (cv) so every class is in every training set"
                )
        scoring = self.scoring
        if isinstance(scoring, str) and scoring == "warn":  # scikit-learn 1.9's default: accuracy
            scoring = None
        scorer = _scorer(LogisticRegression(), scoring)
        if scorer is None:  # pragma: no cover - check_scoring gives accuracy for classifiers
            raise ValueError("scoring could not be resolved")
        # scikit-learn's own scorer objects for these names: computed for all Cs at once
        builtin = scoring if scoring in (None, "accuracy", "neg_log_loss") else None
        builtin = "accuracy" if scoring is None else builtin

        def make(Xt, yt, swt):
            df = Logistic() if K == 1 else Multinomial()
            return prepare(Xt, yt, df, sample_weight=swt, fit_intercept=fit_intercept, n_classes=K)[
                0
            ]

        full, dtype = prepare(
            X, y_enc, datafit, sample_weight=sw, fit_intercept=fit_intercept, n_classes=K
        )
        n_total = X.shape[0] if sw is None else float(sw.sum())
        if self.n_alphas is not None:
            pen0 = _logistic_penalty("deprecated", max(ratios[0], 1e-3), 1.0, 1.0)
            from reglab.linear.path import alpha_grid, alpha_max

            grid = alpha_grid(alpha_max(full, pen0), eps=self.eps, n_alphas=self.n_alphas)
            Cs = 1.0 / (grid * n_total)
        else:
            Cs = self._Cs()
        order = np.argsort(Cs)  # increasing C = decreasing alpha, the path's direction
        n_f, n_l, n_c = len(folds), len(ratios), Cs.size
        scores = np.zeros((n_f, n_l, n_c))
        n_iter = np.zeros((n_f, n_l, n_c), dtype=np.int64)
        width = X.shape[1] + int(fit_intercept)
        n_out = 1 if K == 1 else K
        paths = np.zeros((n_f, n_l, n_c, n_out, X.shape[1] + 1))
        for li, ratio in enumerate(ratios):
            penalty = _logistic_penalty("deprecated", ratio, 1.0, 1.0)
            solver = resolve_solver(self.solver, datafit, penalty, tol, max_iter)
            out = Parallel(n_jobs=_jobs(self.n_jobs))(
                delayed(_logistic_fold)(
                    make,
                    penalty,
                    1.0 / (Cs[order] * (len(tr) if sw is None else sw[tr].sum())),
                    solver,
                    X,
                    y,
                    y_enc,
                    sw,
                    tr,
                    te,
                    scorer,
                    self,
                    builtin,
                )
                for tr, te in folds
            )
            for fi, (sc, co, it) in enumerate(out):
                scores[fi, li, order] = sc
                paths[fi, li, order] = co
                n_iter[fi, li, order] = it
        paths = paths[..., :width] if fit_intercept else paths[..., : X.shape[1]]
        mean = scores.mean(axis=0)
        li, ci = np.unravel_index(int(np.argmax(mean)), mean.shape)
        ratio = ratios[li]
        # the error curve of the chosen l1_ratio, in decreasing alpha (cv.glmnet's plot)
        alphas_desc = 1.0 / (Cs[order] * n_total)
        nnz = np.count_nonzero(paths[:, li][:, order].mean(axis=0).reshape(n_c, -1), axis=1)
        i = self._select(alphas_desc, -scores[:, li][:, order].T, nnz)
        if refit:
            C = float(Cs[order][i])
            lr = LogisticRegression(
                C=C,
                l1_ratio=ratio,
                solver=self.solver,
                tol=tol,
                max_iter=max_iter,
                fit_intercept=fit_intercept,
            )
            lr.fit(X, y, sample_weight=sw)
            self.coef_, self.intercept_ = lr.coef_, lr.intercept_
            self.dual_gap_ = lr.dual_gap_
        else:
            best = np.argmax(scores[:, li], axis=1)  # each fold's own best C
            coef = np.mean([paths[f, li, best[f]] for f in range(n_f)], axis=0)
            self.coef_ = coef[:, : X.shape[1]].astype(dtype)
            self.intercept_ = (
                coef[:, X.shape[1]].astype(dtype) if fit_intercept else np.zeros(n_out, dtype=dtype)
            )
            C = float(np.mean(Cs[best]))
            self.dual_gap_ = np.nan  # an average of fold solutions solves no single problem
        self.alpha_ = 1.0 / (C * n_total)
        self.Cs_ = Cs
        self.l1_ratios_ = np.array(ratios)
        if legacy:
            reps = 1 if K == 1 else K
            self.C_ = np.full(reps, C)
            self.l1_ratio_ = np.full(reps, ratio)
            keys = self.classes_[1:] if K == 1 else self.classes_
            # scikit-learn's legacy layout: an l1_ratio axis last when l1_ratios was given
            single = self.l1_ratios is None or isinstance(self.l1_ratios, str)
            sc = scores[:, 0] if single else np.moveaxis(scores, 1, 2)
            self.scores_ = {cls: sc for cls in keys}
            cp = paths[:, 0] if single else np.moveaxis(paths, 1, 2)
            if K == 1:
                self.coefs_paths_ = {keys[0]: cp[..., 0, :]}
            else:
                self.coefs_paths_ = {cls: cp[..., k, :] for k, cls in enumerate(keys)}
            self.n_iter_ = (n_iter[:, 0] if single else np.moveaxis(n_iter, 1, 2))[None]
        else:
            self.C_ = C
            self.l1_ratio_ = float(ratio)
            self.scores_ = scores
            self.coefs_paths_ = paths
            self.n_iter_ = n_iter
        return self


# keep the import used for the binary encoding visible to readers of _fold
_ = encode_binary
