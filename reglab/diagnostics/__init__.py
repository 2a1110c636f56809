"""Diagnostics: the measurements that turn statements about regularisation into numbers.

- :func:`bias_variance`, :func:`bias_variance_sweep`: squared, zero-one (Domingos 2000) and
  log-loss (Heskes 1998) decompositions from fresh training sets of a :class:`Generator`;
- calibration: :func:`ece`, :func:`mce`, :func:`nll`, :func:`brier`,
  :func:`calibration_bins`, :func:`reliability_diagram`;
- sharpness (torch, imported lazily): :func:`top_hessian_eigenvalue`, :func:`hessian_trace`,
  :func:`epsilon_sharpness`, :func:`model_loss`;
- conditioning: :func:`condition_number`, :func:`effective_dof`,
  :func:`ridge_shrinkage_factors`;
- :func:`double_descent`, :func:`random_features_double_descent`,
  :func:`min_norm_asymptotic_risk`;
- :func:`early_stopping_as_ridge`.

Every result with a figure has a ``.plot()`` method; the helpers in
:mod:`reglab.diagnostics.plotting` return :class:`matplotlib.figure.Figure` objects.
"""

from reglab.diagnostics.bias_variance import BiasVarianceResult, bias_variance, decompose
from reglab.diagnostics.calibration import (
    CalibrationBins,
    brier,
    calibration_bins,
    check_probabilities,
    ece,
    mce,
    nll,
)
from reglab.diagnostics.conditioning import (
    condition_number,
    effective_dof,
    ridge_shrinkage_factors,
    singular_values,
)
from reglab.diagnostics.double_descent import (
    DoubleDescentResult,
    double_descent,
    min_norm_asymptotic_risk,
    random_features_double_descent,
)
from reglab.diagnostics.early_stopping_ridge import (
    ALI_KOLTER_TIBSHIRANI_BOUND,
    EarlyStoppingRidge,
    early_stopping_as_ridge,
    gd_filter,
    gradient_descent_iterates,
    ridge_filter,
)
from reglab.diagnostics.generators import (
    BootstrapGenerator,
    Generator,
    SyntheticClassification,
    SyntheticRegression,
    TestSet,
)
from reglab.diagnostics.plotting import (
    plot_bias_variance,
    plot_bias_variance_sweep,
    plot_double_descent,
    plot_early_stopping,
    plot_hessian_slice,
    plot_shrinkage,
    reliability_diagram,
)
from reglab.diagnostics.sharpness import (
    TraceEstimate,
    epsilon_sharpness,
    hessian_trace,
    model_loss,
    top_hessian_eigenvalue,
)
from reglab.diagnostics.sweep import BiasVarianceSweep, bias_variance_sweep, ridge_predictions

__all__ = [
    "ALI_KOLTER_TIBSHIRANI_BOUND",
    "BiasVarianceResult",
    "BiasVarianceSweep",
    "BootstrapGenerator",
    "CalibrationBins",
    "DoubleDescentResult",
    "EarlyStoppingRidge",
    "Generator",
    "SyntheticClassification",
    "SyntheticRegression",
    "TestSet",
    "TraceEstimate",
    "bias_variance",
    "bias_variance_sweep",
    "brier",
    "calibration_bins",
    "check_probabilities",
    "condition_number",
    "decompose",
    "double_descent",
    "early_stopping_as_ridge",
    "ece",
    "effective_dof",
    "epsilon_sharpness",
    "gd_filter",
    "gradient_descent_iterates",
    "hessian_trace",
    "mce",
    "min_norm_asymptotic_risk",
    "model_loss",
    "nll",
    "plot_bias_variance",
    "plot_bias_variance_sweep",
    "plot_double_descent",
    "plot_early_stopping",
    "plot_hessian_slice",
    "plot_shrinkage",
    "random_features_double_descent",
    "reliability_diagram",
    "ridge_filter",
    "ridge_predictions",
    "ridge_shrinkage_factors",
    "singular_values",
    "top_hessian_eigenvalue",
]
