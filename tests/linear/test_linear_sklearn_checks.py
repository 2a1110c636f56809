"""Every reglab.linear estimator passes scikit-learn's estimator checks."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from reglab.linear import (
    ElasticNet,
    ElasticNetCV,
    GeneralizedLinearEstimator,
    Lasso,
    LassoCV,
    Logistic,
    LogisticRegression,
    LogisticRegressionCV,
    Ridge,
    RidgeCV,
)

ESTIMATORS = [
    Ridge(),
    Lasso(),
    ElasticNet(),
    LogisticRegression(),
    LogisticRegression(l1_ratio=1.0),
    LogisticRegression(l1_ratio=0.5, C=10.0, max_iter=1000),
    LogisticRegression(C=np.inf),
    LogisticRegression(class_weight="balanced"),
    GeneralizedLinearEstimator(),
    GeneralizedLinearEstimator(datafit=Logistic()),
    # small grids keep the CV checks quick; the defaults are tested elsewhere
    RidgeCV(alphas=5),
    RidgeCV(alphas=5, cv=3),
    LassoCV(alphas=5, cv=3),
    ElasticNetCV(alphas=5, cv=3),
    LogisticRegressionCV(Cs=3, cv=2),
]


# No expected failure, the CV estimators included: scikit-learn's weight checks give a CV
# estimator explicit folds (LeaveOneGroupOut, the weighted rows in one group), so a weighted
# dataset and its repeated-rows copy are split alike; the final fit, polished to the exact
# optimum on its support (solvers/_polish.py), then agrees to ~1e-11.
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator",
    [
        GeneralizedLinearEstimator(tol=1e-12, max_iter=100_000),
        Lasso(alpha=0.01, tol=1e-12, max_iter=100_000),
    ],
    ids=["GeneralizedLinearEstimator", "Lasso(alpha=0.01)"],
)
def test_sparse_weight_equivalence_at_a_tight_tolerance(estimator):
    """A weight of k is k repeated rows, on sparse X, once the fits are converged."""
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_sparse_data

    check_sample_weight_equivalence_on_sparse_data(type(estimator).__name__, estimator)
