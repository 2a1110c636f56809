"""The compiled Gram path and the CV folds' Gram matrices derived from the full data's.

A training fold's centred, weighted Gram statistics are formed as the full data's minus the
held-out rows' (``_gram_path.fold_gram``): they must equal the statistics of the fold's own
problem, and the CV estimators must give the same curves and selection with and without
the shared Gram.  The compiled path must give the per-alpha loop's solutions, each
certified by its duality gap on the true problem.
"""

import numpy as np
import pytest
from sklearn import linear_model as sklm
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

import reglab.linear as rl
import reglab.linear.cv as cvmod
from reglab.linear._fit import prepare
from reglab.linear._problem import duality_gap
from reglab.linear.datafits import Quadratic
from reglab.linear.path import compute_path
from reglab.linear.penalties import L1L2
from reglab.linear.solvers import CoordinateDescent
from reglab.linear.solvers._gram_path import fold_gram, syrk_gram


def _tall(n=400, p=30, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) + shift
    X[:, 1] = 0.7 * X[:, 0] + 0.3 * X[:, 1]  # some correlation
    y = X[:, :4] @ np.array([1.5, -2.0, 0.0, 1.0]) + rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("test_share", [0.2, 0.7])
def test_fold_gram_equals_the_folds_own_gram(fit_intercept, weighted, test_share):
    # large feature means (1e3): centring all rows first keeps - d d^T from cancelling digits
    X, y = _tall(shift=1e3)
    rng = np.random.default_rng(1)
    sw = rng.uniform(0.2, 3.0, X.shape[0]) if weighted else None
    full, _ = prepare(X, y, Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)
    rows = np.ones(X.shape[0]) if sw is None else np.sqrt(sw / sw.mean())
    T = syrk_gram(full.X, 1.0)
    test = np.sort(rng.choice(X.shape[0], int(test_share * X.shape[0]), replace=False))
    train = np.setdiff1d(np.arange(X.shape[0]), test)
    G, q, yy, d, e, _ = fold_gram(T, full.X, full.y, rows, test, center=fit_intercept)
    fold, _ = prepare(
        X[train], y[train], Quadratic(), sample_weight=None if sw is None else sw[train],
        fit_intercept=fit_intercept,
    )  # fmt: skip
    m = fold.n_samples
    G0, q0, yy0 = fold.X.T @ fold.X / m, fold.X.T @ fold.y / m, fold.y @ fold.y / m
    np.testing.assert_allclose(G, G0, rtol=0, atol=1e-12 * np.abs(G0).max())
    np.testing.assert_allclose(q, q0, rtol=0, atol=1e-12 * np.abs(q0).max())
    assert yy == pytest.approx(yy0, rel=1e-12)
    np.testing.assert_allclose(full.X_offset + d, fold.X_offset, rtol=1e-13)
    assert full.y_offset + e == pytest.approx(fold.y_offset, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(G, G.T)


def _without_shared_gram(monkeypatch, est, X, y, sw=None):
    with monkeypatch.context() as m:
        m.setattr(cvmod, "_shared_gram_applies", lambda *args: False)
        return est.fit(X, y, sample_weight=sw)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_lassocv_identical_with_and_without_shared_gram(monkeypatch, weighted, fit_intercept):
    X, y = _tall(shift=2.0)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    cv = KFold(5, shuffle=True, random_state=0)
    kw = dict(cv=cv, tol=1e-10, fit_intercept=fit_intercept)
    shared = rl.LassoCV(**kw).fit(X, y, sample_weight=sw)
    direct = _without_shared_gram(monkeypatch, rl.LassoCV(**kw), X, y, sw)
    np.testing.assert_allclose(shared.mse_path_, direct.mse_path_, rtol=1e-9)
    assert shared.alpha_ == direct.alpha_
    np.testing.assert_allclose(shared.coef_, direct.coef_, rtol=1e-9, atol=1e-12)
    assert shared.intercept_ == pytest.approx(direct.intercept_, rel=1e-9, abs=1e-12)


def test_shared_gram_is_used_on_tall_dense_data_only(monkeypatch):
    X, y = _tall()
    calls = []
    original = cvmod._gram_fold

    def spy(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(cvmod, "_gram_fold", spy)
    rl.LassoCV(cv=5).fit(X, y)
    assert len(calls) == 5  # one per fold
    calls.clear()
    rl.LassoCV(cv=5, precompute=False).fit(X, y)
    assert calls == []
    calls.clear()
    sw = np.ones(X.shape[0])
    sw[::7] = 0.0  # zero weights: the full problem drops rows, the per-fold route is taken
    rl.LassoCV(cv=5).fit(X, y, sample_weight=sw)
    assert calls == []


def test_elasticnetcv_list_shared_gram_matches_direct(monkeypatch):
    X, y = _tall(n=300, p=25, seed=4)
    kw = dict(l1_ratio=[0.1, 0.5, 0.9], cv=KFold(4, shuffle=True, random_state=1), tol=1e-10)
    shared = rl.ElasticNetCV(**kw).fit(X, y)
    direct = _without_shared_gram(monkeypatch, rl.ElasticNetCV(**kw), X, y)
    np.testing.assert_allclose(shared.mse_path_, direct.mse_path_, rtol=1e-9)
    assert (shared.alpha_, shared.l1_ratio_) == (direct.alpha_, direct.l1_ratio_)


def test_zero_weight_rows_are_dropped_rows():
    X, y = _tall(n=300, p=20, seed=5)
    sw = np.ones(X.shape[0])
    sw[::5] = 0.0
    keep = sw > 0
    cv = [(tr, te) for tr, te in KFold(3, shuffle=True, random_state=0).split(X[keep])]
    idx = np.flatnonzero(keep)
    cv_full = [(idx[tr], idx[te]) for tr, te in cv]
    a = rl.LassoCV(cv=cv_full, tol=1e-10).fit(X, y, sample_weight=sw)
    b = rl.LassoCV(cv=cv, tol=1e-10).fit(X[keep], y[keep])
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=1e-8)
    assert a.alpha_ == b.alpha_


def test_lassocv_tall_agrees_with_scikit_learn():
    X, y = _tall(n=500, p=30, seed=6)
    cv = KFold(5, shuffle=True, random_state=0)
    ours = rl.LassoCV(cv=cv, tol=1e-10).fit(X, y)
    theirs = sklm.LassoCV(cv=cv, alphas=ours.alphas_, tol=1e-12, max_iter=100000).fit(X, y)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
@pytest.mark.parametrize("positive", [False, True])
def test_compiled_gram_path_is_certified_and_equals_the_loop(l1_ratio, positive):
    X, y = _tall(n=600, p=40, seed=7)
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=True)
    penalty = L1L2(1.0, l1_ratio, positive=positive)
    amax = np.max(np.abs(problem.X.T @ problem.y)) / (problem.n_samples * l1_ratio)
    alphas = np.geomspace(amax, 1e-3 * amax, 30)
    solver = CoordinateDescent(tol=1e-10)
    path = compute_path(problem, penalty, alphas, solver)
    scale = problem.value_scale()
    # each alpha certified by the gap recomputed on the problem itself (not the Gram state)
    for k, alpha in enumerate(alphas):
        gap = duality_gap(problem, penalty.with_alpha(alpha), path.coefs[:, k])[0]
        assert gap <= 1e-10 * scale * (1 + 1e-6) + 1e-15 * scale
        assert path.dual_gaps[k] <= 1e-10 * scale
    # the same optimum as solving alpha by alpha: both certified to 1e-10 F(0), so their
    # objectives agree to that (coefficients only to ~sqrt(gap / curvature))
    w = None
    for k, alpha in enumerate(alphas):
        pen = penalty.with_alpha(alpha)
        w = solver.solve(problem, pen, w).coef
        ours, loop = (duality_gap(problem, pen, c)[1] for c in (path.coefs[:, k], w))
        assert abs(ours - loop) <= 2e-10 * scale
        np.testing.assert_allclose(path.coefs[:, k], w, rtol=1e-4, atol=1e-5)
    if positive:
        assert np.all(path.coefs >= 0)


def test_compiled_gram_path_warns_when_it_stops_early():
    X, y = _tall(n=600, p=40, seed=8)
    with pytest.warns(ConvergenceWarning, match="did not converge at"):
        rl.lasso_path(X, y, n_alphas=20, tol=1e-14, max_iter=1)
    with pytest.warns(ConvergenceWarning, match="did not converge at"):
        rl.LassoCV(cv=3, tol=1e-14, max_iter=1).fit(X, y)


def test_gram_path_with_an_alpha_of_zero_takes_the_general_route():
    # alpha = 0 leaves every feature unpenalised: the Gram gap would not be a certificate
    X, y = _tall(n=200, p=10, seed=9)
    path = rl.lasso_path(X, y, alphas=[0.1, 0.0], tol=1e-10)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]

    def f(w):
        return 0.5 * np.mean((y - X @ w) ** 2)

    # certified: the reported gap bounds the true suboptimality of the least-squares fit
    assert 0 <= f(path[1][:, -1]) - f(ols) <= path[2][-1] + 1e-15
    assert path[2][-1] <= 1e-10 * 0.5 * np.mean(y**2)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize(
    ("value", "match"),
    [(np.nan, "X contains NaN"), (np.inf, "X contains inf"), (-np.inf, "X contains inf"),
     (1e160, "X is too large for float64")],
)  # fmt: skip
def test_one_pass_validation_still_names_each_bad_x(order, value, match):
    # the single dot-product pass (_finite_and_in_scale) only skips checks it proves; a bad
    # entry anywhere still gets the exact check's message
    from reglab.linear._validation import _finite_and_in_scale, check_X_y

    X, y = _tall(n=50, p=6)
    X = np.asarray(X, order=order)
    assert _finite_and_in_scale(X)
    X[37, 4] = value
    assert not _finite_and_in_scale(X)
    with pytest.raises(ValueError, match=match):
        check_X_y(X, y)
    with pytest.raises(ValueError, match=match):
        rl.lasso_path(X, y, n_alphas=3)


def test_one_pass_validation_accepts_what_the_exact_checks_accept():
    from reglab.linear._validation import _finite_and_in_scale, check_scale, check_X_y

    rng = np.random.default_rng(0)
    for scale in (1e-200, 1.0, 1e140):
        X = rng.standard_normal((100, 8)) * scale
        check_scale(X, "X")  # within the limit
        assert _finite_and_in_scale(X)
    # float32 sums of squares overflow at 3.4e38: the fast pass declines, the exact checks pass
    X32 = (rng.standard_normal((100, 8)) * 1e18).astype(np.float32)
    assert not _finite_and_in_scale(X32)
    check_X_y(X32, np.ones(100, dtype=np.float32))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_held_out_mse_from_the_gram_equals_the_residuals(fit_intercept, weighted):
    from reglab.linear.cv import _mse
    from reglab.linear.solvers._gram_path import held_out_mse

    X, y = _tall(n=300, p=12, seed=10, shift=3.0)
    rng = np.random.default_rng(2)
    sw = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    full, _ = prepare(X, y, Quadratic(), sample_weight=sw, fit_intercept=fit_intercept)
    rows = np.ones(X.shape[0]) if sw is None else np.sqrt(sw / sw.mean())
    test = np.arange(0, X.shape[0], 4)
    G, q, yy, d, e, held_out = fold_gram(
        syrk_gram(full.X, 1.0), full.X, full.y, rows, test, center=fit_intercept
    )
    coefs = rng.standard_normal((X.shape[1], 7))
    intercepts = (full.y_offset + e) - (full.X_offset + d) @ coefs
    if not fit_intercept:
        intercepts = np.zeros(7)
    direct = _mse((None, coefs, intercepts), X[test], y[test], None if sw is None else sw[test])
    np.testing.assert_allclose(held_out_mse(held_out, coefs, d, e), direct, rtol=1e-11)


def test_held_out_mse_declines_when_the_residual_is_tiny(monkeypatch):
    # noiseless y: at small alpha the held-out error is ~1e-12 of y's spread, where the
    # Gram form's difference of terms has no digits left; the residuals are formed instead
    from reglab.linear.solvers._gram_path import held_out_mse

    X, _ = _tall(n=300, p=12, seed=11)
    y = X @ np.linspace(-1, 1, 12)
    full, _ = prepare(X, y, Quadratic(), fit_intercept=True)
    test = np.arange(0, 300, 5)
    out = fold_gram(syrk_gram(full.X, 1.0), full.X, full.y, np.ones(300), test)
    exact = np.linalg.lstsq(full.X, full.y, rcond=None)[0][:, None]
    assert held_out_mse(out[5], exact, out[3], out[4]) is None
    shared = rl.LassoCV(cv=5, tol=1e-12, eps=1e-6).fit(X, y)
    direct = _without_shared_gram(monkeypatch, rl.LassoCV(cv=5, tol=1e-12, eps=1e-6), X, y)
    # both routes certified to 1e-12 F(0): the tiny errors agree to that scale, not relatively
    scale = direct.mse_path_.max()
    np.testing.assert_allclose(shared.mse_path_, direct.mse_path_, rtol=1e-7, atol=1e-14 * scale)


def test_full_gram_as_the_sum_of_the_held_out_grams():
    from sklearn.model_selection import ShuffleSplit

    from reglab.linear.solvers._gram_path import held_out_grams

    X, y = _tall(n=500, p=20, seed=12, shift=1.0)
    full, _ = prepare(X, y, Quadratic(), fit_intercept=True)
    direct = syrk_gram(full.X, 1.0)
    tests = [te for _, te in KFold(5, shuffle=True, random_state=0).split(X)]
    T, parts = held_out_grams(full.X, tests)
    np.testing.assert_allclose(T, direct, rtol=0, atol=1e-12 * np.abs(direct).max())
    for te, part in zip(tests, parts, strict=True):
        np.testing.assert_allclose(part, syrk_gram(full.X[te], 1.0), rtol=1e-14, atol=1e-12)
    # held-out sets that do not partition the rows: the full Gram is formed directly
    tests = [te for _, te in ShuffleSplit(4, test_size=0.2, random_state=0).split(X)]
    T, parts = held_out_grams(full.X, tests)
    np.testing.assert_array_equal(T, direct)
    assert parts == [None] * 4


def test_lassocv_with_a_shuffle_split_matches_the_direct_route(monkeypatch):
    from sklearn.model_selection import ShuffleSplit

    X, y = _tall(n=300, p=15, seed=13)
    kw = dict(cv=ShuffleSplit(4, test_size=0.25, random_state=0), tol=1e-10)
    shared = rl.LassoCV(**kw).fit(X, y)
    direct = _without_shared_gram(monkeypatch, rl.LassoCV(**kw), X, y)
    # both certified to a gap of 1e-10 F(0): coefficients (hence the errors) agree to ~1e-9
    np.testing.assert_allclose(shared.mse_path_, direct.mse_path_, rtol=1e-7)
    assert shared.alpha_ == direct.alpha_
