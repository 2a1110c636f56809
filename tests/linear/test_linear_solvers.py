"""Solvers: certificates, agreement between solvers, declared requirements, baselines."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from reglab.linear import (
    FISTA,
    ISTA,
    L1,
    L1L2,
    L2,
    ClosedForm,
    CoordinateDescent,
    GradientDescent,
    Logistic,
    Multinomial,
    Quadratic,
    Subgradient,
)
from reglab.linear._fit import prepare
from reglab.linear._problem import duality_gap

rng = np.random.default_rng(0)
X_WIDE = rng.standard_normal((30, 60))
Y_WIDE = X_WIDE[:, :4] @ np.array([2.0, -1.0, 1.5, 1.0]) + 0.3 * rng.standard_normal(30)
X_TALL = rng.standard_normal((80, 12))
Y_TALL = X_TALL[:, :3] @ np.ones(3) + rng.standard_normal(80)
Y_BIN = np.where(X_TALL[:, 0] + 0.5 * rng.standard_normal(80) > 0, 1.0, -1.0)
Y_MULTI = np.digitize(X_TALL[:, 0] + 0.3 * rng.standard_normal(80), [-0.5, 0.5]).astype(float)

WEIGHTS = np.r_[0.0, np.ones(11)]
PENALTIES = [
    L1(0.05),
    L1L2(0.05, 0.5),
    L2(0.1),
    L1(0.05, weights=WEIGHTS),
    L1L2(0.05, 0.3, positive=True),
]


def _problem(datafit, X, y, **kw):
    K = 3 if isinstance(datafit, Multinomial) else 1
    return prepare(X, y, datafit, n_classes=K, **kw)[0]


def _rel_gap(problem, penalty, res):
    return duality_gap(problem, penalty, res.coef, res.intercept)[0] / problem.value_scale()


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
@pytest.mark.parametrize("shape", ["wide", "tall", "sparse"])
def test_cd_certificate_and_agreement_with_fista(penalty, shape):
    X, y = (X_WIDE, Y_WIDE) if shape == "wide" else (X_TALL, Y_TALL)
    if shape == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    if penalty.weights is not None and penalty.weights.size != X.shape[1]:
        penalty = L1(0.05, weights=np.r_[0.0, np.ones(X.shape[1] - 1)])
    problem = _problem(Quadratic(), X, y, fit_intercept=True)
    cd = CoordinateDescent(tol=1e-10).solve(problem, penalty)
    fi = FISTA(tol=1e-10, max_iter=100000).solve(problem, penalty)
    assert cd.converged and cd.dual_gap <= 1e-10 * problem.value_scale()
    # the solver's certificate may use the extrapolated dual point; the plain residual one is
    # looser but must still be small
    assert _rel_gap(problem, penalty, cd) <= 1e-8
    # both are certified: each objective is within the other's gap of the optimum
    p_cd = duality_gap(problem, penalty, cd.coef)[1]
    p_fi = duality_gap(problem, penalty, fi.coef)[1]
    assert p_cd - p_fi <= cd.dual_gap + 1e-12 and p_fi - p_cd <= fi.dual_gap + 1e-12
    if shape == "tall":  # strongly convex: the coefficients are close too
        np.testing.assert_allclose(cd.coef, fi.coef, atol=1e-4)
    if penalty.positive:
        assert np.all(cd.coef >= 0)


@pytest.mark.parametrize("penalty", [L1(0.02), L1L2(0.02, 0.5), L2(0.05)], ids=repr)
@pytest.mark.parametrize("sparse", [False, True])
def test_prox_newton_logistic_certificate(penalty, sparse):
    X = sp.csc_matrix(X_TALL) if sparse else X_TALL
    problem = _problem(Logistic(), X, Y_BIN, fit_intercept=True)
    cd = CoordinateDescent(tol=1e-10).solve(problem, penalty)
    fi = FISTA(tol=1e-10, max_iter=200000).solve(problem, penalty)
    assert cd.converged and _rel_gap(problem, penalty, cd) <= 1e-10
    np.testing.assert_allclose(cd.coef, fi.coef, atol=1e-4)
    np.testing.assert_allclose(cd.intercept, fi.intercept, atol=1e-4)


@pytest.mark.parametrize("solver", [FISTA, ISTA])
def test_proximal_gradient_multinomial(solver):
    problem = _problem(Multinomial(), X_TALL, Y_MULTI, fit_intercept=True)
    pen = L1(0.01)
    tol = 1e-8 if solver is FISTA else 1e-6  # ISTA is slow on purpose: it is the baseline
    res = solver(tol=tol, max_iter=200000).solve(problem, pen)
    assert res.converged and _rel_gap(problem, pen, res) <= tol
    assert res.coef.shape == (12, 3)


def test_closed_form_matches_cd_wide_and_tall():
    for X, y in ((X_WIDE, Y_WIDE), (X_TALL, Y_TALL)):
        problem = _problem(Quadratic(), X, y, fit_intercept=True)
        pen = L2(0.3)
        cf = ClosedForm().solve(problem, pen)
        cd = CoordinateDescent(tol=1e-12, max_iter=1000).solve(problem, pen)
        assert abs(cf.dual_gap) < 1e-10
        assert cd.dual_gap <= 1e-12 * problem.value_scale()
        # alpha-strong convexity: alpha/2 ||w - w*||^2 <= P(w) - P(w*) <= gap (cf is exact),
        # the gap being known to a few ulps of F(0) (a difference of two F(0)-sized values)
        rounding = 64 * np.finfo(np.float64).eps * problem.value_scale()
        bound = np.sqrt(2 * (cd.dual_gap + abs(cf.dual_gap) + rounding) / pen.alpha)
        assert np.linalg.norm(cf.coef - cd.coef) <= bound + 1e-12
        np.testing.assert_allclose(cf.coef, cd.coef, rtol=1e-4, atol=1e-9)


def test_gradient_descent_history_and_certificate():
    problem = _problem(Quadratic(), X_TALL, Y_TALL, fit_intercept=True)
    gd = GradientDescent(tol=None, max_iter=25, keep_history=True)
    res = gd.solve(problem, L2(0.0))
    assert gd.history_.shape == (26, 12)
    np.testing.assert_array_equal(gd.history_[0], 0.0)
    # each step is w - grad/L exactly
    L = problem.lipschitz()
    w1 = gd.history_[0] - problem.rmatvec(-problem.y / 80) / L
    np.testing.assert_allclose(gd.history_[1], w1)
    np.testing.assert_allclose(gd.history_[-1], res.coef)
    conv = GradientDescent(tol=1e-10, max_iter=100000).solve(problem, L2(0.1))
    exact = ClosedForm().solve(problem, L2(0.1))
    assert conv.converged
    np.testing.assert_allclose(conv.coef, exact.coef, atol=1e-5)


def test_subgradient_never_gives_exact_zeros():
    problem = _problem(Quadratic(), X_WIDE, Y_WIDE, fit_intercept=True)
    pen = L1(0.2)
    exact = CoordinateDescent(tol=1e-10).solve(problem, pen)
    res = Subgradient(tol=None, max_iter=500).solve(problem, pen)
    assert np.count_nonzero(exact.coef) < 20
    assert np.count_nonzero(res.coef) == 60
    # ... although it does approach the objective
    assert res.dual_gap < 0.5 * duality_gap(problem, pen, np.zeros(60))[0]


@pytest.mark.parametrize(
    "solver, penalty, missing",
    [
        (GradientDescent(), L1(0.1), "penalty.gradient"),
        (ClosedForm(), L1(0.1), "penalty.gradient"),
        (ClosedForm(), L1L2(0.1), "penalty.hessian_diag"),
    ],
)
def test_solver_names_what_is_missing(solver, penalty, missing):
    with pytest.raises(TypeError, match=missing.replace(".", r"\.")):
        solver.check(Quadratic(), penalty)


def test_closed_form_needs_quadratic_datafit():
    with pytest.raises(TypeError, match=r"datafit\.normal_equations \(Logistic has none\)"):
        ClosedForm().check(Logistic(), L2(1.0))


def test_cd_multinomial_block_prox_newton_reaches_fista_optimum():
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    n = X.shape[0]
    problem = _problem(Multinomial(), X, y.astype(float), fit_intercept=True)
    for pen in (L1(1.0 / n), L1L2(1.0 / n, 0.5)):
        cd = CoordinateDescent(tol=1e-8, max_iter=300).solve(problem, pen)
        ref = FISTA(tol=1e-8, max_iter=200000).solve(problem, pen)

        def objective(res, pen=pen):
            z = problem.predictor(res.coef, res.intercept)
            return problem.datafit.value(problem.y, z) + pen.value(res.coef)

        assert cd.dual_gap <= 1e-8 * problem.value_scale()
        assert objective(cd) <= objective(ref) + 1e-8 * problem.value_scale()
        assert cd.converged and 10 * cd.n_iter < ref.n_iter  # FISTA needs 10x the iterations


def test_nonconvergence_warns_with_gap():
    problem = _problem(Quadratic(), X_WIDE, Y_WIDE, fit_intercept=True)
    with pytest.warns(ConvergenceWarning, match=r"duality gap \d\.\d+e[-+]\d+ > tol"):
        res = FISTA(tol=1e-12, max_iter=3).solve(problem, L1(0.01))
    assert not res.converged and res.n_iter == 3


@pytest.mark.parametrize(
    "option", [{"anderson_k": 0}, {"use_working_sets": False}, {"gram": False}]
)
def test_acceleration_options_do_not_change_the_solution(option):
    problem = _problem(Quadratic(), X_TALL, Y_TALL, fit_intercept=True)
    ref = CoordinateDescent(tol=1e-12).solve(problem, L1(0.02))
    res = CoordinateDescent(tol=1e-12, **option).solve(problem, L1(0.02))
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-8)


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize(
    "option",
    [{"mixed_precision": True}, {"anderson_k": 0}, {"mixed_precision": True, "anderson_k": 3}],
    ids=["float32-model", "no-anderson", "float32-model-anderson3"],
)
def test_prox_newton_options_keep_the_certified_solution(option, fit_intercept):
    """The float32 curvature and the model's Anderson steps change the path, not the answer.

    A wide dense problem takes the direct (non-Gram) model CD, where both act.  Both runs are
    certified to tol; with the elastic net's strong convexity in w, mu = alpha (1 - l1_ratio),
    ``mu/2 ||w - w*||^2 <= gap``, so two certified solutions are within the sum of the radii.
    """
    problem = _problem(Logistic(), X_WIDE, np.sign(Y_WIDE), fit_intercept=fit_intercept)
    pen = L1L2(0.01, 0.5)
    base = {"mixed_precision": False, "anderson_k": 5}
    ref = CoordinateDescent(tol=1e-10, **base).solve(problem, pen)
    res = CoordinateDescent(tol=1e-10, **{**base, **option}).solve(problem, pen)
    mu = pen.alpha * (1 - pen.l1_ratio)
    rounding = 64 * np.finfo(np.float64).eps * problem.value_scale()
    for r in (ref, res):
        assert r.converged and _rel_gap(problem, pen, r) <= 1e-10
    # (the intercept is unpenalised: the bound holds for w, with b minimised out)
    radius = sum(np.sqrt(2 * (r.dual_gap + rounding) / mu) for r in (ref, res))
    assert np.linalg.norm(res.coef - ref.coef) <= radius


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("n", [100, 200])
def test_logistic_path_reaches_tight_tolerances(n, fit_intercept):
    """Near the optimum objective differences are lost to rounding; the line search's slope
    test still takes the Newton step.  With Armijo's test alone these paths stalled at a gap
    of ~1e-10 F(0), every Newton step of length ~1e-9, until max_iter (500 steps)."""
    from reglab.linear import logistic_path

    rs = np.random.default_rng(0)
    X = rs.standard_normal((n, n))
    w = np.zeros(n)
    w[:10] = rs.standard_normal(10)
    y = np.where(rs.random(n) < 1 / (1 + np.exp(-X @ w)), 1.0, -1.0)
    tol = 1e-11
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        path = logistic_path(
            X, y, l1_ratio=1.0, n_alphas=30, fit_intercept=fit_intercept, tol=tol, max_iter=500
        )
    problem = _problem(Logistic(), X, y, fit_intercept=fit_intercept)
    assert np.all(path.dual_gaps <= tol * problem.value_scale())
    assert path.n_iters.max() <= 50


@pytest.mark.parametrize(
    "setting, dense, fast, entries, expected",
    [
        ("auto", True, True, 2**19, True),
        ("auto", True, True, 2**19 - 1, False),  # fits the caches: nothing to gain
        ("auto", True, True, 2**29 + 1, False),  # a copy over 2 GiB only when asked
        (True, True, True, 2**29 + 1, True),
        (True, False, True, 2**20, False),  # sparse X: no float32 copy
        (True, True, False, 2**20, False),  # a datafit without the compiled exact gradient
        (False, True, True, 2**20, False),
    ],
)
def test_mixed_precision_rule(setting, dense, fast, entries, expected):
    from reglab.linear.solvers.cd import _use_mixed_precision

    assert _use_mixed_precision(setting, dense, fast, entries) is expected


def test_mixed_precision_option_is_checked():
    with pytest.raises(ValueError, match="mixed_precision=.float16."):
        CoordinateDescent(mixed_precision="float16")


def test_unpenalised_feature_is_fitted_and_certified():
    w = np.r_[100.0, np.zeros(11)]
    problem = _problem(Quadratic(), X_TALL, Y_TALL, fit_intercept=True)
    pen = L1(10.0, weights=np.r_[0.0, np.ones(11)])
    res = CoordinateDescent(tol=1e-10).solve(problem, pen, w0=w)
    assert res.converged
    np.testing.assert_array_equal(res.coef[1:], 0.0)  # alpha is huge for the others
    x0 = problem.X[:, 0]
    np.testing.assert_allclose(res.coef[0], x0 @ problem.y / (x0 @ x0), rtol=1e-8)


@pytest.mark.parametrize("penalty", [p for p in PENALTIES if p.weights is None], ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_compiled_gap_equals_reference_gap(penalty, fmt):
    """The CD outer loop's compiled certificate is ``duality_gap`` at the same dual point."""
    from reglab.linear.solvers import _cd_kernels as K

    X = X_WIDE if fmt == "dense" else sp.csc_matrix(np.where(np.abs(X_WIDE) > 0.8, X_WIDE, 0.0))
    problem = _problem(Quadratic(), X, Y_WIDE, fit_intercept=True)
    n, p = problem.X.shape
    rs = np.random.default_rng(1)
    w = 0.3 * rs.standard_normal(p) * (rs.random(p) < 0.2)
    if penalty.positive:
        w = np.abs(w)
    r = problem.y - problem.matvec(w)
    a, b = penalty.separable_coefficients(p)
    if fmt == "dense":
        args = (0, problem.X, np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32))
        mu, v = np.zeros(0), np.zeros(0)
    else:
        Xs = problem.X
        args = (1, np.zeros((0, 0), order="F"), Xs.data, Xs.indices, Xs.indptr)
        mu, v = problem.mu, problem.v
    u = np.empty(p)
    for r_dual in (r, r + 0.01 * rs.standard_normal(n)):
        gap = K.gap_and_correlations(
            *args,
            mu,
            v,
            problem.y,
            w,
            r,
            a,
            b,
            np.arange(p, dtype=np.int32),
            penalty.positive,
            r_dual,
            u,
        )
        ref = duality_gap(problem, penalty, w, 0.0, theta=r_dual / n)[0]
        np.testing.assert_allclose(gap, ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(u, problem.rmatvec(r_dual / n), rtol=1e-10, atol=1e-12)


def _kernel_design(problem):
    """The ``(mode, X, data, indices, indptr)`` arguments of the numba kernels."""
    if sp.issparse(problem.X):
        Xs = problem.X
        return (1, np.zeros((0, 0), order="F"), Xs.data, Xs.indices, Xs.indptr)
    return (0, problem.X, np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32))


@pytest.mark.parametrize("penalty", [p for p in PENALTIES if p.weights is None], ids=repr)
@pytest.mark.parametrize("fmt", ["dense", "csc"])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_logistic_gap_equals_reference_gap(penalty, fmt, weighted):
    """The prox-Newton loop's compiled certificate, derivatives, intercept and datafit value
    equal the Logistic datafit's own methods and ``duality_gap``."""
    from reglab.linear.datafits import _norm_weights
    from reglab.linear.solvers import _cd_kernels as K

    X = X_TALL if fmt == "dense" else sp.csc_matrix(np.where(np.abs(X_TALL) > 0.8, X_TALL, 0.0))
    sw = np.random.default_rng(2).uniform(0.0, 3.0, X.shape[0]) if weighted else None
    problem = _problem(Logistic(), X, Y_BIN, fit_intercept=True, sample_weight=sw)
    n, p = problem.X.shape
    rs = np.random.default_rng(3)
    w = 0.5 * rs.standard_normal(p) * (rs.random(p) < 0.5)
    if penalty.positive:
        w = np.abs(w)
    c = _norm_weights(problem.sample_weight, n)
    xw = problem.matvec(w)
    b = K.logistic_intercept(problem.y, c, xw, 0.0, 50)
    np.testing.assert_allclose(b, problem.optimal_intercept(xw, 0.0), rtol=1e-10, atol=1e-13)
    z = xw + b
    a_, b_ = penalty.separable_coefficients(p)
    u = np.empty(p)
    gap = K.logistic_gap_and_correlations(
        *_kernel_design(problem), problem.y, c, z, w, a_, b_, penalty.positive, u
    )
    ref = duality_gap(problem, penalty, w, b)[0]
    np.testing.assert_allclose(gap, ref, rtol=1e-9, atol=1e-13)
    df = problem.datafit
    theta = -df.raw_gradient(problem.y, z, problem.sample_weight)
    np.testing.assert_allclose(u, problem.rmatvec(theta), rtol=1e-10, atol=1e-14)
    g, d = np.empty(n), np.empty(n)
    K.logistic_derivatives(problem.y, c, z, g, d)
    np.testing.assert_allclose(g, -theta, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(d, df.raw_hessian(problem.y, z, problem.sample_weight), rtol=1e-12)
    q = rs.standard_normal(n)
    np.testing.assert_allclose(
        K.logistic_value(problem.y, c, z, q, 0.3),
        df.value(problem.y, z + 0.3 * q, problem.sample_weight),
        rtol=1e-12,
    )


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("penalty", [L1(0.01), L1L2(0.01, 0.5), L1(0.01, positive=True)], ids=repr)
def test_newton_model_gram_form_equals_direct_form(fit_intercept, penalty):
    """The Gram form of the prox-Newton model's CD takes the same steps as the direct form
    (and both minimise the model: equal ``delta``, ``q = X delta + db`` and ``db``)."""
    from reglab.linear.solvers import _cd_kernels as K

    problem = _problem(Logistic(), X_TALL, Y_BIN, fit_intercept=fit_intercept)
    n, p = problem.X.shape
    rs = np.random.default_rng(4)
    w = np.abs(0.2 * rs.standard_normal(p))
    z = problem.matvec(w) + 0.3
    g = problem.datafit.raw_gradient(problem.y, z)
    d = problem.datafit.raw_hessian(problem.y, z)
    a_, b_ = penalty.separable_coefficients(p)
    ws = np.arange(p, dtype=np.int32)
    design = _kernel_design(problem)
    out = {}
    for label, design_args in (("gram", design), ("direct", (1, *_csc_args(problem.X)))):
        delta, q, db = np.zeros(p), np.zeros(n), np.zeros(1)
        K.newton_inner(
            *design_args, g, d, w, delta, q, ws, a_, b_, penalty.positive, fit_intercept,
            db, 10000, 1e-13, 5, np.zeros((0, 0), np.float32, order="F"), np.zeros(0),
        )  # fmt: skip
        out[label] = (delta, q + db[0], db[0])
    assert 4 * p <= n  # the dense call took the Gram branch
    for x, y in zip(out["gram"], out["direct"], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-8, atol=1e-10)
    # q is X delta + db
    np.testing.assert_allclose(out["gram"][1], problem.X @ out["gram"][0] + out["gram"][2])


def _csc_args(X):
    """A CSC copy of dense ``X`` as kernel arguments: the sparse (direct-form) code path."""
    Xs = sp.csc_matrix(X)
    return (
        np.zeros((0, 0), order="F"),
        Xs.data,
        Xs.indices.astype(np.int32),
        Xs.indptr.astype(np.int32),
    )


@pytest.mark.parametrize("shape", [(80, 12), (30, 60)], ids=["tall-gram", "wide"])
@pytest.mark.parametrize("datafit", [Quadratic(), Logistic()], ids=repr)
def test_memory_order_of_dense_X_does_not_change_the_fit(shape, datafit):
    """C-ordered X is used as given (no Fortran copy up front): the Gram matrix comes from
    it directly and the column kernels from a cached Fortran copy; the fit is the same."""
    X = (X_TALL if shape == (80, 12) else X_WIDE).copy(order="C")
    y = Y_BIN if isinstance(datafit, Logistic) else (Y_TALL if shape == (80, 12) else Y_WIDE)
    if shape == (30, 60) and isinstance(datafit, Logistic):
        y = np.where(Y_WIDE > 0, 1.0, -1.0)
    fits = []
    for Xo in (np.ascontiguousarray(X), np.asfortranarray(X)):
        problem = _problem(datafit, Xo, y, fit_intercept=True)
        assert problem.X.flags.c_contiguous == Xo.flags.c_contiguous  # kept as given
        fits.append(CoordinateDescent(tol=1e-12, max_iter=1000).solve(problem, L1(0.02)))
    # the centred X differs in its last bits between the two orders, so the two certified
    # solutions agree as far as the certificate fixes them: the objective to ~tol * F(0), the
    # coefficients of this (not strongly convex, p > n) lasso to ~sqrt(gap), not bit for bit
    # (seen: 1.2e-9 apart at gaps 1e-12 and 4e-14, objectives 3e-17 apart)
    objs = [duality_gap(problem, L1(0.02), f.coef, f.intercept)[1] for f in fits]
    np.testing.assert_allclose(objs[0], objs[1], rtol=1e-11)
    np.testing.assert_allclose(fits[0].coef, fits[1].coef, rtol=1e-6, atol=1e-8)
    assert fits[0].dual_gap >= 0 and fits[1].dual_gap >= 0


def _gram_state(X, y, w):
    n = X.shape[0]
    G = X.T @ X / n
    q = X.T @ y / n
    return np.ascontiguousarray(G), q, float(y @ y) / n, q - G @ w


def test_gram_active_newton_step_lands_on_the_solution_or_the_face_boundary():
    """From a point with the optimal support and signs, one active-set Newton step gives the
    CD solution; when the face's minimiser flips a sign, the step stops where that coordinate
    reaches zero (exactly 0) and the objective still decreases."""
    from reglab.linear.solvers import _cd_kernels as K

    problem = _problem(Quadratic(), X_TALL, Y_TALL, fit_intercept=False)
    X, y = problem.X, problem.y
    pen = L1(0.05)
    p = X.shape[1]
    a, b = pen.separable_coefficients(p)
    ws = np.arange(p, dtype=np.int32)
    ref = CoordinateDescent(tol=1e-14, max_iter=1000).solve(problem, pen).coef
    support = ref != 0
    # a perturbed point on the optimal face
    w = np.where(support, ref * 1.3 + 0.01 * np.sign(ref), 0.0)
    G, q, yy, h = _gram_state(X, y, w)
    assert K._gram_active_newton(G, q, yy, w, h, a, b, ws, np.sign(w))
    np.testing.assert_allclose(w, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h, q - G @ w, atol=1e-12)  # h kept equal to q - G w
    # a point on a wrong face: a coordinate whose sign is opposite to the solution's
    j = int(np.flatnonzero(support)[0])
    w = ref.copy()
    w[j] = -0.05 * np.sign(ref[j])
    G, q, yy, h = _gram_state(X, y, w)
    f_before = K._gram_obj(q, yy, w, h, a, b, ws)
    assert K._gram_active_newton(G, q, yy, w, h, a, b, ws, np.sign(w))
    assert w[j] == 0.0
    assert K._gram_obj(q, yy, w, h, a, b, ws) < f_before


@pytest.mark.parametrize("anderson_k", [0, 3])
def test_inner_cd_doubling_checks_certify_and_overshoot_at_most_twice(anderson_k):
    # inner_cd checks its working-set gap after check_every epochs, then doubles the interval
    # up to check_max: the returned gap must still certify tol, and the epochs run may exceed
    # those of checking after every cycle by at most a factor 2 (checks at 1, 3, 7, 15, ...)
    from reglab.linear.solvers import _cd_kernels as K

    rng = np.random.default_rng(3)
    X = sp.random(300, 120, density=0.05, format="csc", random_state=3)
    y = X @ rng.standard_normal(120) + 0.05 * rng.standard_normal(300)
    n, p = X.shape
    alpha = 1e-3 * np.max(np.abs(X.T @ y)) / n
    L = np.asarray(X.multiply(X).sum(0)).ravel() / n
    cols = (X.data.astype(np.float64), X.indices.astype(np.int32), X.indptr.astype(np.int32))
    tol = 1e-10 * 0.5 * np.mean(y**2)

    def solve(check_every, check_max):
        w, r, r_acc, flag = np.zeros(p), y.copy(), np.zeros(n), np.zeros(1, dtype=np.int64)
        args = (np.zeros(p), np.zeros(n), np.zeros(p), np.zeros(3), y, w, r, L)
        epochs, gap = K.inner_cd(
            *(1, np.zeros((0, 0), order="F"), *cols, *args, np.full(p, alpha), np.zeros(p)),
            *(np.arange(p, dtype=np.int32), False, tol, 100000, anderson_k, check_every),
            *(r_acc, flag, check_max),
        )
        # the dual point is the residual, or the Anderson residual when that one was better
        return epochs, gap, (w, (r_acc if flag[0] else r) / n)

    unit = anderson_k + 1  # epochs per Anderson cycle (checks fall on whole cycles)
    e_every, gap_every, w_every = solve(unit, unit)
    e_doubling, gap_doubling, w_doubling = solve(unit, 1 << 20)
    assert gap_every <= tol and gap_doubling <= tol
    assert e_every <= e_doubling <= 2 * e_every
    assert e_every > 8 * unit  # long enough for the interval to have doubled a few times
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=False)
    for w, theta in (w_every, w_doubling):
        assert duality_gap(problem, L1(alpha), w, 0.0, theta=theta)[0] <= 1.01 * tol


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("size", [1, 7, 40, 199])
def test_select_working_set_matches_a_stable_argsort(positive, size):
    # the support and unpenalised features first (score -inf), zero columns last (+inf);
    # every feature tied (to rounding) with the size-th score is taken too, so that the order
    # of a floating-point sum cannot decide between tied features; the result sorted
    # ascending without a sort (one pass in index order)
    from reglab.linear.solvers import _cd_kernels as K

    rng = np.random.default_rng(size)
    p = 200
    u = np.round(rng.standard_normal(p), 1)  # many exact ties among the scores
    w = np.where(rng.random(p) < 0.1, rng.standard_normal(p), 0.0)
    a = np.where(rng.random(p) < 0.05, 0.0, 0.5)
    norms = np.where(rng.random(p) < 0.05, 0.0, 1.0)  # unit norms keep the rounded ties
    val = u if positive else np.abs(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(w != 0, -np.inf, np.where(norms == 0, np.inf, np.where(a == 0, -np.inf,
                     (a - val) / np.sqrt(norms))))  # fmt: skip
    kth = np.sort(d)[size - 1]
    band = kth + 1e-9 * abs(kth) if np.isfinite(kth) else kth
    expected = np.flatnonzero(d <= band)
    assert expected.size >= size
    # a score 1e-16 relative away from the threshold (a sum in another order) is taken alike
    jitter = u * (1.0 + 1e-16 * rng.standard_normal(p))
    np.testing.assert_array_equal(
        K.select_working_set(jitter, w, a, norms, positive, size), expected
    )
    got = K.select_working_set(u, w, a, norms, positive, size)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("layout", ["random", "ties", "sorted", "reversed"])
def test_kth_smallest_equals_a_sort_and_leaves_its_input(layout):
    # the working-set threshold: quickselect with a three-way partition, any order, any ties
    from reglab.linear.solvers import _cd_kernels as K

    rng = np.random.default_rng(1)
    d = {
        "random": rng.standard_normal(301),
        "ties": np.concatenate(
            [np.full(100, -np.inf), np.round(rng.standard_normal(150)), np.full(51, np.inf)]
        )[rng.permutation(301)],  # fmt: skip
        "sorted": np.arange(301.0),
        "reversed": np.arange(301.0)[::-1].copy(),
    }[layout]
    before = d.copy()
    ref = np.sort(d)
    for k in (0, 1, 99, 100, 150, 249, 250, 300):
        assert K._kth_smallest(d, k) == ref[k]
    np.testing.assert_array_equal(d, before)


def test_anderson_weights_solve_the_regularised_normal_equations():
    # c = z / sum(z), (U U^T / tr(U U^T) + 1e-10 I) z = 1 with U_k = w_{k+1} - w_k: the
    # written-out elimination against LAPACK's solve; an all-equal history has no weights
    from reglab.linear.solvers import _cd_kernels as K

    rng = np.random.default_rng(2)
    W = np.cumsum(rng.standard_normal((6, 40)) * 0.5 ** np.arange(6)[:, None], axis=0)
    U = np.diff(W, axis=0)
    C = U @ U.T
    C = C / np.trace(C) + 1e-10 * np.eye(5)
    z = np.linalg.solve(C, np.ones(5))
    np.testing.assert_allclose(K._anderson(W, 5), z / z.sum(), rtol=1e-9)
    assert K._anderson(np.ones((6, 40)), 5).shape == (0,)


def test_dense_kernels_give_the_same_with_data_none():
    # data=None prunes the CSC branches at compile time (first-call cost); the dense results
    # must be those of the run-time mode=0 branch with empty CSC arrays, bit for bit
    from reglab.linear.solvers import _cd_kernels as K

    rng = np.random.default_rng(3)
    n, p = 40, 25
    X = np.asfortranarray(rng.standard_normal((n, p)))
    y = rng.standard_normal(n)
    w = np.where(rng.random(p) < 0.4, rng.standard_normal(p), 0.0)
    a, b = np.full(p, 0.1), np.full(p, 0.05)
    ws = np.arange(p, dtype=np.int32)
    e_f, e_i = np.zeros(0), np.zeros(0, dtype=np.int32)
    outs = []
    for data in (None, e_f):
        r = np.empty(n)
        K.residual(0, X, data, e_i, e_i, y, w, r)
        us = np.empty(p)
        gap = K.gap_and_correlations(
            0, X, data, e_i, e_i, e_f, e_f, y, w, r, a, b, ws, False, r, us
        )
        w2, r2 = w.copy(), r.copy()
        L = (X**2).sum(axis=0) / n
        epochs, ws_gap = K.inner_cd(
            *(0, X, data, e_i, e_i, e_f, e_f, e_f, np.zeros(3), y, w2, r2, L, a, b, ws, False),
            *(1e-12, 10000, 5, 20, np.zeros(n), np.zeros(1, dtype=np.int64), 20),
        )
        outs.append((r, us, gap, w2, epochs, ws_gap))
    np.testing.assert_allclose(outs[0][0], y - X @ w, rtol=1e-12, atol=1e-12)
    for x0, x1 in zip(outs[0], outs[1], strict=True):
        np.testing.assert_array_equal(x0, x1)
    assert outs[0][5] <= 1e-12  # the inner solve reached its tolerance
