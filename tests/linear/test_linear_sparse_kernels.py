"""Sparse coordinate-descent kernels and the sparse CV path: certificates and agreement.

The sparse working-set solver copies its working set's columns with
:func:`_cd_kernels.take_columns` and solves each working set to the outer tolerance; these
tests pin what that must not change: the copy is ``X[:, cols]``, and every alpha of a sparse
path (with and without intercept) is certified at ``tol * F(0)``, its objective within that
of scikit-learn's solution at ``tol=1e-12``.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import enet_path as sk_enet_path

import reglab.linear as rl
from reglab.linear.solvers import _cd_kernels as K


@pytest.mark.parametrize("seed", [0, 1])
def test_take_columns_equals_scipy_column_indexing(seed):
    rng = np.random.default_rng(seed)
    X = sp.random(40, 300, density=0.05, format="csc", random_state=seed)
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    cols = np.sort(rng.choice(300, 77, replace=False)).astype(np.int32)
    data, indices, indptr = K.take_columns(X.data, X.indices, X.indptr, cols)
    ref = X[:, cols]
    ref.sort_indices()
    got = sp.csc_matrix((data, indices, indptr), shape=(40, cols.size))
    np.testing.assert_array_equal(indptr, ref.indptr)
    np.testing.assert_array_equal(got.toarray(), ref.toarray())
    # an empty selection is a valid empty matrix
    d0, i0, p0 = K.take_columns(X.data, X.indices, X.indptr, np.zeros(0, dtype=np.int32))
    assert d0.size == 0 and i0.size == 0 and list(p0) == [0]


def _sparse_problem(n=120, p=400, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.03, format="csc", random_state=seed)
    w = np.zeros(p)
    w[rng.choice(p, 10, replace=False)] = rng.standard_normal(10)
    y = X @ w + 0.05 * rng.standard_normal(n) + 3.0
    return X, y


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_sparse_path_certified_and_agrees_with_sklearn(fit_intercept, l1_ratio, tol):
    X, y = _sparse_problem()
    res = rl.enet_path(X, y, l1_ratio=l1_ratio, n_alphas=30, tol=tol, fit_intercept=fit_intercept)
    n = X.shape[0]
    yc = y - y.mean() if fit_intercept else y
    f0 = 0.5 * float(yc @ yc) / n
    # every alpha certified at tol * F(0); the certificate bounds the suboptimality, checked
    # against scikit-learn's solution at tol=1e-12 (the dual point of the certificate may be
    # the Anderson-extrapolated one, so the gap itself is not recomputed here)
    assert np.all(res.dual_gaps <= tol * f0)
    Xd = X.toarray()
    Xc = Xd - Xd.mean(axis=0) if fit_intercept else Xd
    _, ref, _ = sk_enet_path(Xc, yc, l1_ratio=l1_ratio, alphas=res.alphas, tol=1e-12,
                             max_iter=100000)  # fmt: skip

    def primal(w, alpha):
        r = yc - Xc @ w
        return 0.5 * r @ r / n + alpha * (l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w)

    for k, alpha in enumerate(res.alphas):
        sub = primal(res.coefs[:, k], alpha) - primal(ref[:, k], alpha)
        assert sub <= tol * f0 + 1e-12 * f0


@pytest.mark.parametrize("scoring", [None, "accuracy", "neg_log_loss"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse_X", [False, True])
def test_logistic_cv_builtin_scores_equal_the_scorer(scoring, n_classes, sparse_X):
    """The all-Cs-at-once scores equal scikit-learn's scorer called on each C's estimator."""
    from sklearn.datasets import make_classification
    from sklearn.metrics import get_scorer

    X, y = make_classification(
        120, 8, n_informative=5, n_classes=n_classes, random_state=0, flip_y=0.2
    )
    X = sp.csr_matrix(X) if sparse_X else X
    kw = dict(Cs=6, l1_ratios=[1.0], tol=1e-8, max_iter=1000, use_legacy_attributes=False)
    fast = rl.LogisticRegressionCV(scoring=scoring, **kw).fit(X, y)
    # a scorer object (not a name) takes the generic per-C route
    slow = rl.LogisticRegressionCV(scoring=get_scorer(scoring or "accuracy"), **kw).fit(X, y)
    np.testing.assert_allclose(fast.scores_, slow.scores_, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(fast.coefs_paths_, slow.coefs_paths_)
    assert fast.C_ == slow.C_


def test_sparse_warm_start_with_stale_correlations_still_certified():
    """A warm-started sparse solve ranks its first working set by the correlations cached by
    the previous solve on the problem; stale ones (another penalty) cost work, never the
    certificate."""
    from reglab.linear._fit import prepare
    from reglab.linear.datafits import Quadratic
    from reglab.linear.penalties import L1L2
    from reglab.linear.solvers import CoordinateDescent

    X, y = _sparse_problem(seed=3)
    problem, _ = prepare(X, y, Quadratic())
    solver = CoordinateDescent(tol=1e-10)
    big = L1L2(alpha=0.5, l1_ratio=0.3)
    solver.solve(problem, big)  # leaves its correlations in the problem's cache
    small = L1L2(alpha=1e-3, l1_ratio=1.0)
    res = solver.solve(problem, small, w0=np.zeros(X.shape[1]))
    fresh, _ = prepare(X, y, Quadratic())
    ref = CoordinateDescent(tol=1e-12).solve(fresh, small)
    assert res.converged and res.dual_gap <= 1e-10 * problem.value_scale()

    def objective(w):
        r = problem.y - problem.matvec(w)
        return 0.5 * r @ r / X.shape[0] + small.value(w)

    assert objective(res.coef) - objective(ref.coef) <= 1e-10 * problem.value_scale()


@pytest.mark.parametrize("empty", ["none", "leading", "middle", "trailing", "all"])
def test_flat_sparse_correlations_equal_scipy(empty):
    """X^T r in one loop over the non-zeros (the full gap's kernel), empty columns anywhere."""
    rng = np.random.default_rng(4)
    X = sp.random(50, 40, density=0.1, format="lil", random_state=4)
    cut = {"none": [], "leading": [0, 1, 2], "middle": [10, 11, 20], "trailing": [38, 39]}
    X[:, cut.get(empty, list(range(40)))] = 0.0
    X = sp.csc_matrix(X)
    X.eliminate_zeros()
    r = rng.standard_normal(50)
    out = np.full(40, np.nan)
    K._xt_sparse_all(X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32), r, out)
    np.testing.assert_allclose(out, X.T @ r, rtol=1e-14, atol=1e-15)
    assert K._is_every_column(np.arange(40, dtype=np.int32), 40)
    assert not K._is_every_column(np.arange(1, 41, dtype=np.int32), 40)
    assert not K._is_every_column(np.arange(39, dtype=np.int32), 40)


def test_sparse_gap_same_on_every_column_and_on_a_listed_subset():
    """The full gap's correlations (one flat loop) equal the column-by-column branch's on the
    columns both cover, and the centred X^T r / n."""
    X, y = _sparse_problem(seed=5)
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    n, p = X.shape
    rng = np.random.default_rng(5)
    w = np.where(rng.random(p) < 0.05, rng.standard_normal(p), 0.0)
    mu = np.asarray(X.mean(axis=0)).ravel()
    v = np.ones(n)
    r = y - X @ w - (y.mean() - mu @ w)
    a, b = np.full(p, 0.01), np.zeros(p)
    E = np.zeros((0, 0), order="F")
    u_all = np.empty(p)
    g_all = K.gap_and_correlations(
        1, E, X.data, X.indices, X.indptr, mu, v, y, w, r, a, b,
        np.arange(p, dtype=np.int32), False, r, u_all,
    )  # fmt: skip
    # the same columns but one, then that one: the column-by-column branch
    sub = np.arange(1, p, dtype=np.int32)
    u_sub = np.empty(p - 1)
    K.gap_and_correlations(
        1, E, X.data, X.indices, X.indptr, mu, v, y, w, r, a, b, sub, False, r, u_sub
    )
    np.testing.assert_allclose(u_all[1:], u_sub, rtol=1e-13, atol=1e-16)
    Xc = X.toarray() - mu
    np.testing.assert_allclose(u_all, Xc.T @ r / n, rtol=1e-12, atol=1e-15)
    assert np.isfinite(g_all) and g_all >= -1e-12
