"""Issue 16: reglab.linear as a drop-in for scikit-learn 1.9 (parameters, shapes, features)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

import reglab.linear as rl
from reglab.linear._fit import prepare
from reglab.linear.datafits import Multinomial
from reglab.linear.penalties import L2

X_DIA, Y_DIA = load_diabetes(return_X_y=True)
X_BC, Y_BC = load_breast_cancer(return_X_y=True)
X_BC = StandardScaler().fit_transform(X_BC)
X_IRIS, Y_IRIS = load_iris(return_X_y=True)
N_DIA = X_DIA.shape[0]

PAIRS = [
    (sk.Ridge, rl.Ridge),
    (sk.Lasso, rl.Lasso),
    (sk.ElasticNet, rl.ElasticNet),
    (sk.LogisticRegression, rl.LogisticRegression),
    (sk.RidgeCV, rl.RidgeCV),
    (sk.LassoCV, rl.LassoCV),
    (sk.ElasticNetCV, rl.ElasticNetCV),
    (sk.LogisticRegressionCV, rl.LogisticRegressionCV),
]


def _data_for(est):
    if "Logistic" in type(est).__name__:
        return X_BC[:, :6], Y_BC
    return X_DIA, Y_DIA


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("sk_cls, rl_cls", PAIRS, ids=lambda c: c.__name__)
def test_every_scikit_learn_parameter_exists(sk_cls, rl_cls):
    missing = set(sk_cls().get_params()) - set(rl_cls().get_params())
    assert not missing, f"{rl_cls.__name__} lacks scikit-learn's parameters {sorted(missing)}"


@pytest.mark.parametrize("sk_cls, rl_cls", PAIRS, ids=lambda c: c.__name__)
def test_scikit_learn_defaults_are_accepted(sk_cls, rl_cls):
    """Each scikit-learn default value, set alone on reglab's estimator, fits."""
    for name, value in sk_cls().get_params().items():
        if name in ("cv",) and value is None and rl_cls is rl.LogisticRegressionCV:
            pass
        est = rl_cls().set_params(**{name: value})
        if "CV" in rl_cls.__name__ and name != "cv":
            est.set_params(cv=3)
        if name == "alphas" and rl_cls is rl.RidgeCV:
            value = tuple(np.array(value) / N_DIA)  # reglab's alpha is scikit-learn's / n
            est.set_params(alphas=value)
        X, y = _data_for(est)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            est.fit(X, y)
        assert hasattr(est, "coef_")


@pytest.mark.parametrize(
    "est, match",
    [
        (rl.Lasso(selection="random"), "selection='random' is not supported"),
        (rl.ElasticNet(precompute=np.eye(10)), "precompute=.* is not supported"),
        (rl.Ridge(solver="sag"), r"solver='sag' \(stochastic average gradient\)"),
        (rl.Ridge(solver="lsqr"), "solver='lsqr'"),
        (rl.Ridge(copy_X="no"), "copy_X must be a bool"),
        (rl.LogisticRegression(dual=True), "dual=True is not supported"),
        (rl.LogisticRegression(intercept_scaling=2.0), "intercept_scaling=2.0 is not supported"),
        (rl.LogisticRegression(solver="liblinear"), "solver='liblinear'"),
        (rl.LogisticRegression(penalty="l2", l1_ratio=0.5), "penalty='l2' contradicts l1_ratio"),
        (rl.LogisticRegression(class_weight={7: 2.0}), "class_weight has the label 7"),
        (rl.LogisticRegression(class_weight="even"), "class_weight must be None, 'balanced'"),
        (rl.LassoCV(selection="random"), "selection='random'"),
        (rl.RidgeCV(gcv_mode="qr"), "gcv_mode must be"),
        (rl.RidgeCV(cv=3, store_cv_results=True), "store_cv_results=True needs cv=None"),
        (rl.LogisticRegressionCV(Cs=0), "Cs must be a positive integer"),
        (rl.LogisticRegressionCV(Cs=[1.0, "1"]), "Cs must hold real numbers"),
        (rl.LogisticRegressionCV(penalty="l1", l1_ratios=[0.5]), "penalty='l1' contradicts"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_unsupported_values_are_refused_naming_the_parameter(est, match):
    X, y = _data_for(est)
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(X, y)


# ------------------------------------------------------------------- alphas=int
@pytest.mark.parametrize(
    "fit",
    [
        lambda: rl.LassoCV(alphas=5, cv=3).fit(X_DIA, Y_DIA).alphas_,
        lambda: rl.ElasticNetCV(alphas=5, cv=3).fit(X_DIA, Y_DIA).alphas_,
        lambda: rl.RidgeCV(alphas=5).fit(X_DIA, Y_DIA).alphas_,
        lambda: rl.lasso_path(X_DIA, Y_DIA, alphas=5).alphas,
        lambda: rl.enet_path(X_DIA, Y_DIA, alphas=5).alphas,
        lambda: rl.ridge_path(X_DIA, Y_DIA, alphas=5).alphas,
        lambda: rl.logistic_path(X_BC, Y_BC, alphas=5).alphas,
    ],
)
def test_alphas_int_is_a_number_of_alphas(fit):
    alphas = fit()
    assert alphas.shape == (5,) and np.all(np.diff(alphas) < 0)


def test_alphas_int_matches_the_default_grid_of_that_size():
    a = rl.lasso_path(X_DIA, Y_DIA, alphas=7).alphas
    b = rl.lasso_path(X_DIA, Y_DIA, n_alphas=7).alphas
    np.testing.assert_array_equal(a, b)
    assert a[0] == pytest.approx(np.abs(X_DIA.T @ Y_DIA).max() / N_DIA)


@pytest.mark.parametrize("bad", [(1, 1.0, "1"), "1", True, [True, 0.5]])
def test_non_numeric_alphas_are_refused(bad):
    with pytest.raises(TypeError, match="alphas must"):
        rl.LassoCV(alphas=bad).fit(X_DIA, Y_DIA)
    with pytest.raises(TypeError, match="alphas must"):
        rl.lasso_path(X_DIA, Y_DIA, alphas=bad)


def test_mixed_int_and_float_alphas_are_a_grid():
    est = rl.LassoCV(alphas=(1, 0.5), cv=3).fit(X_DIA, Y_DIA)
    np.testing.assert_array_equal(est.alphas_, [1.0, 0.5])


# ---------------------------------------------------------- logistic regression
def test_l1_ratio_chooses_the_penalty():
    l1 = rl.LogisticRegression(l1_ratio=1.0, C=0.1, tol=1e-10).fit(X_BC, Y_BC)
    old = rl.LogisticRegression(penalty="l1", C=0.1, tol=1e-10).fit(X_BC, Y_BC)
    l2 = rl.LogisticRegression(C=0.1, tol=1e-10).fit(X_BC, Y_BC)
    np.testing.assert_allclose(l1.coef_, old.coef_)
    assert np.count_nonzero(l1.coef_) < X_BC.shape[1] and np.all(l2.coef_ != 0)
    ref = sk.LogisticRegression(l1_ratio=1.0, C=0.1, solver="saga", tol=1e-12, max_iter=100000)
    ref.fit(X_BC, Y_BC)
    np.testing.assert_allclose(l1.coef_, ref.coef_, atol=2e-4)
    en = rl.LogisticRegression(l1_ratio=0.5, C=0.1, tol=1e-10).fit(X_BC, Y_BC)
    assert np.count_nonzero(l1.coef_) <= np.count_nonzero(en.coef_) < X_BC.shape[1]


def test_unpenalised_logistic_matches_scikit_learn():
    X = X_BC[:, :5]
    ours = rl.LogisticRegression(C=np.inf, tol=1e-12).fit(X, Y_BC)
    ref = sk.LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(X, Y_BC)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4)
    same = rl.LogisticRegression(penalty=None, tol=1e-12).fit(X, Y_BC)
    np.testing.assert_allclose(same.coef_, ours.coef_)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 2: 0.5}])
def test_class_weight_matches_scikit_learn(class_weight):
    X = StandardScaler().fit_transform(X_IRIS)
    ours = rl.LogisticRegression(class_weight=class_weight, tol=1e-12).fit(X, Y_IRIS)
    ref = sk.LogisticRegression(class_weight=class_weight, tol=1e-12, max_iter=10000)
    ref.fit(X, Y_IRIS)
    np.testing.assert_allclose(
        ours.coef_ - ours.coef_.mean(0), ref.coef_ - ref.coef_.mean(0), atol=1e-5
    )


def test_n_iter_is_an_array_like_scikit_learn():
    est = rl.LogisticRegression().fit(X_IRIS, Y_IRIS)
    assert isinstance(est.n_iter_, np.ndarray) and est.n_iter_.shape == (1,)


def test_multinomial_honours_max_iter_and_warns():
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        est = rl.LogisticRegression(max_iter=1).fit(X_IRIS, Y_IRIS)
    assert est.n_iter_[0] == 1
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        rl.LogisticRegression(l1_ratio=1.0, max_iter=3).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("load", [load_iris, load_wine, load_digits], ids=lambda f: f.__name__)
def test_multinomial_defaults_converge_without_warning(load, l1_ratio):
    X, y = load(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = rl.LogisticRegression(l1_ratio=l1_ratio).fit(X, y)
    K = np.unique(y).size
    problem, _ = prepare(X, y.astype(float), Multinomial(), n_classes=K)
    assert est.dual_gap_ <= 1e-4 * problem.value_scale()
    # Newton-CG (L2) and prox-Newton with the coupled Hessian (L1, elastic net): superlinear,
    # <= 20 steps on raw (unscaled) features, where FISTA took thousands of iterations and
    # the class-at-a-time block prox-Newton did not reach tol in 100 cycles on digits (L1)
    assert est.n_iter_[0] <= 20


@pytest.mark.parametrize("solver", [rl.NewtonCG(tol=1e-10), rl.LBFGS(tol=1e-10, max_iter=5000)])
def test_smooth_solvers_reach_scikit_learn_lbfgs_solution(solver):
    X = StandardScaler().fit_transform(X_IRIS)
    C = 0.5
    ref = sk.LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, Y_IRIS)
    problem, _ = prepare(X, Y_IRIS.astype(float), Multinomial(), n_classes=3)
    res = solver.solve(problem, L2(1.0 / (C * X.shape[0])))
    coef = res.coef.T
    np.testing.assert_allclose(coef - coef.mean(0), ref.coef_ - ref.coef_.mean(0), atol=1e-5)


# ------------------------------------------------------------ scale invariance
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_rescaled_problem_gives_rescaled_solution(sparse, fit_intercept):
    """``y -> s y, alpha -> s alpha`` scales the lasso solution by ``s``, tol=1e-4 included.

    The stopping rule ``gap <= tol * F(0)`` is relative (no absolute floor), so both solves
    stop at the same relative accuracy.
    """
    s = 1e-8
    X = sp.csc_matrix(X_DIA) if sparse else X_DIA
    a = rl.Lasso(alpha=0.5, fit_intercept=fit_intercept).fit(X, Y_DIA).coef_
    b = rl.Lasso(alpha=0.5 * s, fit_intercept=fit_intercept).fit(X, Y_DIA * s).coef_
    np.testing.assert_allclose(b / s, a, rtol=1e-4, atol=1e-4 * np.abs(a).max())
    r = rl.Ridge(alpha=0.01, solver="cd").fit(X, Y_DIA).coef_
    rs = rl.Ridge(alpha=0.01, solver="cd").fit(X, Y_DIA * s).coef_
    np.testing.assert_allclose(rs / s, r, rtol=1e-4, atol=1e-4 * np.abs(r).max())


# -------------------------------------------------------------- multi-output y
@pytest.mark.parametrize("Est", [rl.Ridge, rl.Lasso, rl.ElasticNet])
def test_multi_output_y_fits_each_target(Est):
    Y = np.column_stack([Y_DIA, X_DIA[:, 0] * 100])
    est = Est(alpha=0.01, tol=1e-10).fit(X_DIA, Y)
    assert est.coef_.shape == (2, 10) and est.intercept_.shape == (2,)
    assert est.predict(X_DIA).shape == (N_DIA, 2)
    for k in range(2):
        single = Est(alpha=0.01, tol=1e-10).fit(X_DIA, Y[:, k])
        np.testing.assert_allclose(est.coef_[k], single.coef_, rtol=1e-8, atol=1e-8)
    col = Est(alpha=0.01).fit(X_DIA, Y_DIA[:, None])
    ref = getattr(sk, Est.__name__)(alpha=0.01).fit(X_DIA, Y_DIA[:, None])
    assert col.coef_.shape == ref.coef_.shape and np.shape(col.intercept_) == np.shape(
        ref.intercept_
    )
    assert col.predict(X_DIA).shape == ref.predict(X_DIA).shape


# ---------------------------------------------------------------------- RidgeCV
def test_ridge_cv_leave_one_out_matches_scikit_learn():
    a = np.array([1e-4, 1e-3, 1e-2, 0.1])
    ours = rl.RidgeCV(alphas=a, store_cv_results=True).fit(X_DIA, Y_DIA)
    ref = sk.RidgeCV(alphas=N_DIA * a, store_cv_results=True).fit(X_DIA, Y_DIA)
    assert ours.alpha_ * N_DIA == pytest.approx(ref.alpha_)
    np.testing.assert_allclose(ours.cv_results_[:, ::-1], ref.cv_results_, rtol=1e-9)
    assert ours.best_score_ == pytest.approx(ref.best_score_)
    r2 = rl.RidgeCV(alphas=a, scoring="r2").fit(X_DIA, Y_DIA)
    ref2 = sk.RidgeCV(alphas=N_DIA * a, scoring="r2").fit(X_DIA, Y_DIA)
    assert r2.best_score_ == pytest.approx(ref2.best_score_)


def test_ridge_cv_alpha_per_target():
    rng = np.random.default_rng(0)
    Y = np.column_stack([Y_DIA, X_DIA @ rng.standard_normal(10) * 100 + rng.standard_normal(N_DIA)])
    a = np.geomspace(1e-6, 1.0, 8)
    ours = rl.RidgeCV(alphas=a, alpha_per_target=True).fit(X_DIA, Y)
    ref = sk.RidgeCV(alphas=N_DIA * a, alpha_per_target=True).fit(X_DIA, Y)
    np.testing.assert_allclose(ours.alpha_ * N_DIA, ref.alpha_)
    assert ours.alpha_[0] != ours.alpha_[1]
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)


# --------------------------------------------------------------- CV estimators
def test_elastic_net_cv_with_a_list_of_l1_ratios():
    cv = KFold(3)
    ours = rl.ElasticNetCV(l1_ratio=[0.2, 0.9], alphas=10, cv=cv, tol=1e-10).fit(X_DIA, Y_DIA)
    assert ours.mse_path_.shape == (2, 10, 3) and ours.alphas_.shape == (2, 10)
    ref = sk.ElasticNetCV(l1_ratio=[0.2, 0.9], alphas=10, cv=cv, tol=1e-12, max_iter=100000)
    ref.fit(X_DIA, Y_DIA)
    np.testing.assert_allclose(ours.alphas_, ref.alphas_, rtol=1e-10)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-5)
    assert ours.l1_ratio_ == ref.l1_ratio_ and ours.alpha_ == pytest.approx(ref.alpha_)


def test_groups_reach_the_splitter():
    groups = np.arange(N_DIA) % 4
    a = rl.LassoCV(alphas=6, cv=GroupKFold(4), tol=1e-8).fit(X_DIA, Y_DIA, groups=groups)
    folds = list(GroupKFold(4).split(X_DIA, Y_DIA, groups))
    b = rl.LassoCV(alphas=6, cv=folds, tol=1e-8).fit(X_DIA, Y_DIA)
    np.testing.assert_allclose(a.mse_path_, b.mse_path_)


def test_logistic_regression_cv_matches_scikit_learn():
    cv = StratifiedKFold(3)
    X = StandardScaler().fit_transform(X_IRIS)
    kw = {"Cs": [0.1, 1.0, 10.0], "cv": cv, "use_legacy_attributes": False}
    ours = rl.LogisticRegressionCV(**kw, tol=1e-10, max_iter=1000, scoring="neg_log_loss")
    ours.fit(X, Y_IRIS)
    ref = sk.LogisticRegressionCV(
        **kw, tol=1e-12, max_iter=10000, l1_ratios=(0.0,), scoring="neg_log_loss"
    )
    ref.fit(X, Y_IRIS)
    assert ours.C_ == ref.C_
    assert ours.scores_.shape == ref.scores_.shape == (3, 1, 3)
    assert ours.coefs_paths_.shape == ref.coefs_paths_.shape
    np.testing.assert_allclose(ours.scores_, ref.scores_, atol=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)
    # refit=False averages each fold's best solution, as scikit-learn
    ours = rl.LogisticRegressionCV(**kw, refit=False, tol=1e-10, max_iter=1000).fit(X, Y_IRIS)
    ref = sk.LogisticRegressionCV(
        **kw, refit=False, tol=1e-12, max_iter=10000, l1_ratios=(0.0,), scoring=None
    )
    ref.fit(X, Y_IRIS)
    assert ours.C_ == pytest.approx(ref.C_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-4)


def test_logistic_regression_cv_legacy_attributes():
    est = rl.LogisticRegressionCV(Cs=4, cv=3).fit(X_BC[:, :6], Y_BC)
    assert est.C_.shape == (1,) and list(est.scores_) == [1]
    assert est.scores_[1].shape == (3, 4) and est.n_iter_.shape == (1, 3, 4)
    assert est.coefs_paths_[1].shape == (3, 4, 7)


def test_logistic_regression_cv_refuses_a_fold_missing_a_class():
    y = np.array([0] * 10 + [1] * 10 + [2] * 2)
    X = np.random.default_rng(0).standard_normal((22, 3))
    with pytest.raises(ValueError, match="training set has no sample of class 0"):
        rl.LogisticRegressionCV(cv=KFold(2)).fit(X, y)


def test_sparse_ridge_alpha_tiny():
    X = sp.random(20, 60, density=0.2, random_state=1, format="csc")
    est = rl.Ridge(alpha=1e-18).fit(X, np.arange(20.0))
    assert np.all(np.isfinite(est.coef_))


def test_fitted_attributes_of_scikit_learn():
    las = rl.Lasso(alpha=1.0).fit(X_DIA, Y_DIA)
    ref = sk.Lasso(alpha=1.0).fit(X_DIA, Y_DIA)
    assert las.sparse_coef_.shape == ref.sparse_coef_.shape and sp.issparse(las.sparse_coef_)
    np.testing.assert_array_equal(las.sparse_coef_.toarray()[0], las.coef_)
    assert isinstance(rl.Ridge().fit(X_DIA, Y_DIA).solver_, rl.ClosedForm)


def test_cv_with_fewer_samples_than_folds_names_cv():
    with pytest.raises(ValueError, match=r"cv=5 folds: need 2 <= cv <= n_samples = 3"):
        rl.LassoCV(cv=5).fit(X_DIA[:3], Y_DIA[:3])
    with pytest.raises(ValueError, match="cv=5 folds"):
        rl.RidgeCV(cv=5).fit(X_DIA[:3], Y_DIA[:3])
    with pytest.raises(ValueError, match="n_splits=5"):  # a splitter names its own n_splits
        rl.LassoCV(cv=KFold(5)).fit(X_DIA[:3], Y_DIA[:3])
