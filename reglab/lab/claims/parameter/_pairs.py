"""The correlated-pairs experiment behind ``l1-unstable-on-correlated`` (private).

It stores the lasso's and the elastic net's metrics so that the figure can show them side by
side; see :func:`reglab.lab.claims._linear_data.correlated_pairs_bootstrap`. (It was also
behind ``enet-groups-correlated`` v1; v2 of that claim uses Zou & Hastie's grouped design.)
"""

from __future__ import annotations

import numpy as np

GRID = [
    {"design": "synthetic", "rho": 0.9},
    {"design": "synthetic", "rho": 0.99},
    {"design": "breast_cancer"},
]
N_BOOT = 50
ALPHA_RATIO = 0.1
L1_RATIO = 0.5


def run_pairs(params: dict, seed: int, n_boot: int = N_BOOT) -> dict:
    """Metrics of one design: imbalance, flip rate and both-kept share per estimator."""
    from reglab.lab.claims._linear_data import correlated_pairs_bootstrap, pair_summary

    design = str(params["design"])
    rho = float(params.get("rho", 0.0))
    out = correlated_pairs_bootstrap(
        design, seed, rho=rho, n_boot=n_boot, ratio=ALPHA_RATIO, l1_ratio=L1_RATIO
    )
    metrics: dict = {"min_pair_corr": float(min(out["corr"])), "n_pairs": float(len(out["pairs"]))}
    for name in ("lasso", "enet"):
        summary = pair_summary(out[name]["w1"], out[name]["w2"])
        for key, value in summary.items():
            metrics[f"{name}_{key}"] = value
        metrics[f"{name}_converged"] = float(out[name]["converged"])
        metrics[f"{name}_pair0"] = (
            np.column_stack([out[name]["w1"][:, 0], out[name]["w2"][:, 0]]).ravel().tolist()
        )
    metrics["grouping_ratio"] = float(out["enet"]["grouping_ratio"])
    return metrics


def label(params: dict) -> str:
    """Short name of a design for evidence and legends."""
    if params["design"] == "synthetic":
        return f"synthetic twins, rho = {params['rho']:g}"
    return "breast_cancer pairs (corr > 0.99)"


def designs_of(rows) -> list[dict]:
    """Per design (grid point): label, correlation and the seed-averaged metrics.

    ``corr`` is the nominal correlation of the pairs: rho for the synthetic twins (their
    population correlation), the smallest full-data correlation for breast_cancer's pairs;
    ``sample_corr`` is the smallest correlation seen in the drawn samples.
    """
    seen, out = [], []
    for r in rows:
        if r.params in seen:
            continue
        seen.append(r.params)
        group = rows.where(**r.params)
        sample_corr = float(group.values("min_pair_corr").min())
        d = {
            "params": r.params,
            "label": label(r.params),
            "corr": float(r.params["rho"]) if r.params["design"] == "synthetic" else sample_corr,
            "sample_corr": sample_corr,
        }
        for key in ("imbalance", "flip_rate", "both_kept"):
            for name in ("lasso", "enet"):
                d[f"{name}_{key}"] = group.mean(f"{name}_{key}")
        d["grouping_ratio"] = float(group.values("grouping_ratio").max())
        out.append(d)
    return out
