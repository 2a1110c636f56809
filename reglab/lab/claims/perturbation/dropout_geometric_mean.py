"""Claim ``dropout-geometric-mean``: weight scaling = normalised geometric mean of sub-networks.

Deep dive, section 6, story 1 ("ensemble of subnetworks"). Hinton et al. (2012, "Improving
neural networks by preventing co-adaptation of feature detectors") and Srivastava et al.
(2014, JMLR): when dropout acts on the input of a softmax output layer, the
deterministic network with (inverted-dropout) weight scaling computes *exactly* the
normalised weighted geometric mean of the predictions of all 2^H sub-networks:

    NGM_k  propto  prod_m softmax(z_m)_k^{pi(m)} = exp(sum_m pi(m) z_m,k) / Z(m-terms)
           propto  exp(E_m[z_m]_k),   E_m[z_m] = W E[m o h]/(1-p) + b = W h + b,

with pi(m) = prod_j (1-p)^{m_j} p^{1-m_j}: the log-partition terms do not depend on k, and
the logits are linear in the mask. The arithmetic mean sum_m pi(m) softmax(z_m) -- what
Monte-Carlo dropout estimates (Gal & Ghahramani 2016) -- is a different average, and the
spread of the MC samples is an uncertainty that should flag errors.

Experiment. (A) A 4-10-3 ReLU network with dropout on its 10 hidden units (the input of the
softmax layer) is trained on iris; on the held-out flowers all 2^10 = 1024 masks are
enumerated with their probabilities, giving the exact NGM and the exact arithmetic mean, and
:func:`reglab.torch.mc_predict` gives a T = 1000 Monte-Carlo mean. (B) A 64-128-10 network
with dropout is trained on 500 digits; on the other 1297 :func:`reglab.torch.mc_predict`
(T = 50) gives the MC predictive variance, whose ability to rank the misclassified digits
above the correct ones is the AUROC (Mann-Whitney), with the Hanley-McNeil (1982) standard
error.

Thresholds. NGM vs weight scaling: two exact float64 computations of the same quantity,
max |difference| <= 1e-12. The arithmetic mean must differ from weight scaling by more than
1e-6 somewhere (six orders of magnitude above that exactness tolerance), and the MC mean must
be nearer the arithmetic mean than the NGM (it estimates the former; this is a comparison).
Uncertainty: AUROC - 3 SE > 0.5 in every run (significantly better than chance, one-sided at
about 0.1%).
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

EXACT_TOL = 1e-12
DIFFER_MIN = 1e-6
Z_AUROC = 3.0
HIDDEN, MC_T, UNC_T = 10, 1000, 50


def _auroc(score, positive):
    """Mann-Whitney AUROC of ``score`` for the ``positive`` rows, with Hanley-McNeil SE."""
    from scipy.stats import rankdata

    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        return float("nan"), float("nan")
    ranks = rankdata(score)
    auc = (ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (pos - 1) * (q1 - auc**2) + (neg - 1) * (q2 - auc**2)) / (pos * neg)
    return float(auc), float(np.sqrt(var))


def _exact_means(model, X, p):
    """Exact NGM and arithmetic mean over all 2^H hidden masks, and the weight-scaled output."""
    import itertools

    import torch

    lin1, lin2 = model[0], model[3]
    with torch.no_grad():
        h = torch.relu(lin1(X))  # (n, H)
        masks = torch.tensor(list(itertools.product([0.0, 1.0], repeat=HIDDEN)), dtype=X.dtype)
        pi = (masks * (1 - p) + (1 - masks) * p).prod(dim=1)  # (M,)
        z = torch.einsum("mj,nj,kj->nmk", masks, h, lin2.weight) / (1 - p) + lin2.bias
        logp = torch.log_softmax(z, dim=2)  # (n, M, K)
        ngm = torch.softmax(torch.einsum("m,nmk->nk", pi, logp), dim=1)
        am = torch.einsum("m,nmk->nk", pi, logp.exp())
        model.eval()
        ws = torch.softmax(model(X), dim=1)
    return ngm, am, ws, float(pi.sum())


class DropoutGeometricMean(Claim):
    id = "dropout-geometric-mean"
    kind = Kind.PERTURBATION
    section = "6. Dropout, story 1 (ensemble of subnetworks)"
    statement = (
        "Standard inference (no dropout, weight scaling) computes the geometric mean of the "
        "subnetworks deterministically; Monte Carlo dropout, averaging sampled masks, is a "
        "different procedure (Gal & Ghahramani 2016) whose spread measures uncertainty."
    )
    interview = (
        "Every dropout mask defines a sub-network, so training with dropout trains an "
        "exponential ensemble with shared weights. At test time we do not sample: with "
        "inverted dropout we just run the full network. For a softmax output layer that is "
        "not an approximation of some average, it is exactly the renormalised geometric "
        "mean of all sub-networks' predictions, because the log-softmax is linear in the "
        "logits up to a class-independent constant, and the logits are linear in the mask. "
        "Monte-Carlo dropout instead averages the probabilities of sampled sub-networks, "
        "which converges to the arithmetic mean, a different and usually less confident "
        "prediction; its bonus is the spread across samples, an uncertainty estimate that "
        "is high exactly where the network tends to be wrong."
    )
    grid = {"p": [0.2, 0.5]}
    smoke = {"p": [0.5]}
    seeds = 2
    smoke_seeds = 1

    def run(self, params, seed):
        import torch
        from sklearn.datasets import load_iris

        from reglab.lab.claims._torch_nets import digits, generator, mlp, train_classifier
        from reglab.torch import mc_predict

        p = float(params["p"])
        gen = generator(seed)
        rng = np.random.default_rng(seed)

        # (A) exact enumeration on iris
        Xi, yi = load_iris(return_X_y=True)
        order = rng.permutation(len(yi))
        tr, te = order[:100], order[100:]
        Xi = (Xi - Xi[tr].mean(axis=0)) / Xi[tr].std(axis=0)
        Xtr, Xte = (torch.as_tensor(Xi[i], dtype=torch.float64) for i in (tr, te))
        ytr = torch.as_tensor(yi[tr])
        net = mlp([4, HIDDEN, 3], gen, p=p, dtype=torch.float64)
        train_classifier(net, Xtr, ytr, gen, epochs=300, lr=0.01)
        ngm, am, ws, pi_sum = _exact_means(net, Xte, p)
        probs = torch.nn.Sequential(net, torch.nn.Softmax(dim=1))
        mc, _ = mc_predict(probs, Xte, samples=MC_T)

        # (B) MC-dropout uncertainty vs error on digits
        Xd, yd, Xdt, ydt = digits(seed, 500)
        big = mlp([64, 128, 10], gen, p=p)
        train_classifier(big, Xd, yd, gen, epochs=60, lr=1e-3, batch_size=50)
        mean, var = mc_predict(torch.nn.Sequential(big, torch.nn.Softmax(dim=1)), Xdt, UNC_T)
        wrong = (mean.argmax(dim=1) != ydt).numpy()
        auc_var, se_var = _auroc(var.sum(dim=1).numpy(), wrong)
        entropy = -(mean * mean.clamp_min(1e-12).log()).sum(dim=1).numpy()
        auc_ent, se_ent = _auroc(entropy, wrong)

        def gap(a, b):
            return float((a - b).abs().max())

        return {
            "ngm_vs_weight_scaling": gap(ngm, ws),
            "am_vs_weight_scaling": gap(am, ws),
            "mc_vs_am": gap(mc.double(), am),
            "mc_vs_ngm": gap(mc.double(), ngm),
            "mask_prob_sum_error": abs(pi_sum - 1.0),
            "auroc_var": auc_var,
            "auroc_var_se": se_var,
            "auroc_entropy": auc_ent,
            "auroc_entropy_se": se_ent,
            "digits_error": float(wrong.mean()),
            "ws_max_prob": ws.max(dim=1).values.tolist(),
            "am_max_prob": am.gather(1, ws.argmax(dim=1, keepdim=True)).squeeze(1).tolist(),
            "var_total": var.sum(dim=1).tolist(),
            "wrong": wrong.astype(float).tolist(),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        ngm = float(rows.values("ngm_vs_weight_scaling").max())
        am = rows.values("am_vs_weight_scaling")
        mc_am, mc_ngm = rows.values("mc_vs_am"), rows.values("mc_vs_ngm")
        auc, se = rows.values("auroc_var"), rows.values("auroc_var_se")
        mc_nearer_am = bool(np.all(mc_am < mc_ngm))
        significant = bool(np.all(auc - Z_AUROC * se > 0.5))
        passed = ngm <= EXACT_TOL and bool(np.all(am > DIFFER_MIN)) and mc_nearer_am and significant
        lines = [
            f"iris, 4-{HIDDEN}-3 net, all 2^{HIDDEN} masks enumerated: max |NGM - weight "
            f"scaling| = {ngm:.1e} (threshold {EXACT_TOL:g})",
            f"max |arithmetic mean - weight scaling| from {am.min():.3g} to {am.max():.3g} "
            f"(must exceed {DIFFER_MIN:g})",
            f"MC dropout (T={MC_T}, reglab.torch.mc_predict): max distance to arithmetic "
            f"mean {mc_am.mean():.3g}, to NGM {mc_ngm.mean():.3g} (mean over runs); nearer the "
            f"arithmetic mean in every run: {mc_nearer_am}",
        ]
        for p, g in rows.by("p").items():
            lines.append(
                f"  p={p:g}: digits test error {g.mean('digits_error'):.3f}; AUROC of MC "
                f"variance for errors {g.mean('auroc_var'):.3f} +- {g.mean('auroc_var_se'):.3f}"
                f", of predictive entropy {g.mean('auroc_entropy'):.3f}"
            )
        lines.append(f"AUROC - {Z_AUROC:g} SE > 0.5 in every run: {significant}")

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        for p, g in rows.by("p").items():
            ax1.plot(g[0].metrics["ws_max_prob"], g[0].metrics["am_max_prob"], "o", ms=3,
                     label=f"p = {p:g}")  # fmt: skip
        ax1.plot([0.3, 1], [0.3, 1], "k-", lw=0.8)
        ax1.set_xlabel("weight scaling = exact geometric mean (top class)")
        ax1.set_ylabel("exact arithmetic mean, same class")
        ax1.set_title("Geometric vs arithmetic ensemble (iris)")
        ax1.legend(fontsize=7)
        r = rows[len(rows) - 1].metrics
        var = np.asarray(r["var_total"])
        wrong = np.asarray(r["wrong"]) > 0
        bins = np.logspace(np.log10(max(var.min(), 1e-8)), np.log10(var.max()), 30)
        for sel, label in ((~wrong, "correct"), (wrong, "misclassified")):
            # fractions per bin (not densities: log-spaced bins have very unequal widths)
            ax2.hist(var[sel], bins=bins, alpha=0.6, label=label,
                     weights=np.full(int(sel.sum()), 1.0 / max(int(sel.sum()), 1)))  # fmt: skip
        ax2.set_xscale("log")
        ax2.set_xlabel("MC-dropout predictive variance (sum over classes)")
        ax2.set_ylabel("fraction of test digits")
        ax2.set_title(f"digits: AUROC {r['auroc_var']:.2f}")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        return Verdict(
            passed,
            "\n".join(lines),
            fig,
            {"ngm_vs_ws": ngm, "am_vs_ws_min": float(am.min()), "auroc_var": float(auc.mean())},
        )
