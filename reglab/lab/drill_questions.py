"""The drill's questions: the deep dive's ten most-asked questions and its gotchas table.

Each question carries a strong answer in our words, the key ideas a complete answer covers
(a checklist the user grades themself against) and the lab claims whose live verdicts the drill
quotes next to the strong answer. There is no keyword scorer: a scorer that counts words
gives a negated answer ("dropout is NOT off at inference") the same marks as the right one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    """A key idea a complete answer covers (shown as a checklist for self-grading)."""

    label: str


@dataclass(frozen=True)
class Question:
    id: str
    source: str
    prompt: str
    answer: str
    concepts: tuple[Concept, ...]
    claims: tuple[str, ...]


def _c(label: str) -> Concept:
    return Concept(label)


QUESTIONS: tuple[Question, ...] = (
    Question(
        "bias-variance",
        "top 10, #1",
        "What is the bias-variance trade-off?",
        "Expected squared test error splits into bias^2 (error of the average prediction), "
        "variance (how much the prediction moves across training sets) and irreducible noise. "
        "Regularization accepts a little bias to remove a lot of variance; the best strength "
        "sits at the bottom of the resulting U-curve.",
        (
            _c("bias squared"),
            _c("variance across training sets"),
            _c("irreducible noise"),
            _c("regularization trades variance for bias"),
        ),
        ("bias-variance-identity", "bias-variance-u-curve"),
    ),
    Question(
        "l1-vs-l2",
        "top 10, #2",
        "What is the difference between L1 and L2 regularization?",
        "L1's constraint set is a diamond with corners on the axes, so the optimum often lands "
        "on a corner and coefficients are exactly zero (sparsity, feature selection); L2's is "
        "a sphere with no corners, so it sets none to zero: it shrinks the fit along each "
        "principal direction of the data by s^2/(s^2 + lambda) -- proportionally only for "
        "orthogonal features; on correlated features a single coefficient can even grow. "
        "Bayesian view: L1 is MAP under a Laplace prior, L2 under a Gaussian prior.",
        (
            _c("L1 gives exact zeros / sparsity"),
            _c("geometry: diamond corners vs sphere"),
            _c("L2 shrinks proportionally"),
            _c("Laplace vs Gaussian prior"),
        ),
        ("l1-l2-geometry", "l1-exact-zeros", "l2-shrinks-proportionally"),
    ),
    Question(
        "dropout",
        "top 10, #3",
        "What does dropout do, in training and at inference?",
        "In training each unit is zeroed with probability p and the survivors are scaled by "
        "1/(1-p) (inverted dropout), so every activation keeps its expectation. At inference "
        "dropout is off and nothing needs rescaling; the deterministic net approximates the "
        "geometric mean of the exponentially many thinned sub-networks.",
        (
            _c("random zeroing with probability p"),
            _c("rescale by 1/(1-p)"),
            _c("off at inference"),
            _c("ensemble of sub-networks"),
        ),
        ("dropout-inference-scaling", "dropout-geometric-mean"),
    ),
    Question(
        "dropout-variants",
        "section 6, variants",
        "DropConnect, spatial dropout, DropPath: what does each drop, and where does it fit?",
        "DropConnect zeroes individual weights instead of activations (Wan et al. 2013). "
        "Spatial dropout (Dropout1d/2d) zeroes whole feature maps, because neighbouring "
        "activations of a CNN are so correlated that element-wise dropout barely removes "
        "information (Tompson et al. 2015). DropPath (stochastic depth) skips a whole residual "
        "branch per sample, keeping the identity path, and is standard in vision transformers "
        "and ConvNeXt (Huang et al. 2016). Each is judged against plain dropout at the same "
        "rate in the architecture it was made for.",
        (
            _c("DropConnect drops weights"),
            _c("spatial dropout drops whole channels (correlated neighbours)"),
            _c("DropPath drops residual branches per sample"),
            _c("where each is used (CNNs, ViTs / residual nets)"),
        ),
        ("dropout-variants-in-use",),
    ),
    Question(
        "early-stopping",
        "top 10, #4",
        "Why does early stopping work?",
        "Training error keeps falling while validation error turns up once the model starts "
        "fitting noise; stopping at the validation minimum (and restoring those weights) keeps "
        "the effective capacity small. For least squares, gradient descent stopped at time t "
        "behaves like ridge with lambda about 1/t: its risk is within a factor 1.69 of ridge's.",
        (
            _c("stops before fitting noise"),
            _c("validation set monitoring"),
            _c("equivalent to L2 with lambda ~ 1/t"),
            _c("restore best weights"),
        ),
        ("early-stopping-is-ridge", "early-stopping-restore-best", "early-stopping-patience"),
    ),
    Question(
        "augmentation",
        "top 10, #5",
        "What is data augmentation doing mathematically?",
        "It enlarges the training set with label-preserving transformations, which is the "
        "same as asking the function to be invariant to those transformations: the model can "
        "memorise individual points but not their whole orbit, so it learns the invariance.",
        (
            _c("label-preserving transformations"),
            _c("enforces invariance"),
            _c("larger effective dataset"),
        ),
        ("augmentation-enforces-invariance",),
    ),
    Question(
        "label-smoothing",
        "top 10, #6",
        "What is label smoothing and why does it help?",
        "Replace the one-hot target by (1-eps) one-hot + eps/K. Cross-entropy against it has a "
        "finite optimum, a logit gap of log(1 + K(1-eps)/eps), so logits stay bounded, the "
        "model's confidence drops. That lower confidence is mechanical, not evidence of better "
        "calibration: ECE improves when the plain model is over-confident and can get worse "
        "when it is already calibrated, so measure ECE in both regimes.",
        (
            _c("soft targets (1-eps) + eps/K"),
            _c("bounded logits / no extreme logits"),
            _c("calibration / over-confidence"),
        ),
        ("label-smoothing-bounded-logits",),
    ),
    Question(
        "mixup",
        "top 10, #7",
        "What is MixUp?",
        "Train on convex combinations lambda x_i + (1-lambda) x_j with the same combination of "
        "labels, lambda ~ Beta(alpha, alpha). It asks the model to behave linearly between "
        "examples, a strong data-dependent regularizer. Soft targets lower confidence "
        "mechanically; calibration (ECE) improves when the plain model is over-confident and "
        "can get worse when it is already calibrated.",
        (
            _c("interpolate pairs of inputs"),
            _c("labels mixed the same way"),
            _c("linear behaviour between examples"),
            _c("calibration"),
        ),
        ("mixup-calibration",),
    ),
    Question(
        "sgd-implicit",
        "top 10, #8",
        "What is the implicit regularization of SGD?",
        "Mini-batch noise, whose scale grows with lr/batch size, keeps SGD out of sharp minima "
        "and biases it to flatter ones; full-batch GD instead "
        "drifts to the edge of stability where the top Hessian eigenvalue is about 2/lr. "
        "That flatter means better generalisation is an empirical tendency, not a law: "
        "sharpness changes under reparametrisation (Dinh et al. 2017), so check how well "
        "sharpness ranks the generalisation gap before leaning on it.",
        (
            _c("mini-batch noise"),
            _c("flat minima"),
            _c("noise scale lr / batch size"),
        ),
        ("sgd-noise-flat-minima",),
    ),
    Question(
        "adamw",
        "top 10, #9",
        "AdamW vs Adam + L2: what is the difference?",
        "With Adam, an L2 term is added to the gradient and then divided by the adaptive "
        "second-moment scale, so heavily-updated weights are barely regularized. AdamW decouples "
        "the decay: it multiplies the weights by (1 - lr*wd) outside the adaptive step, so all "
        "weights shrink at the same rate. For plain SGD the two are identical.",
        (
            _c("decoupled decay"),
            _c("adaptive scaling weakens L2"),
            _c("identical for SGD"),
        ),
        ("weight-decay-vs-l2", "adamw-vs-adam-l2"),
    ),
    Question(
        "sam",
        "top 10, #10",
        "What is SAM?",
        "Sharpness-Aware Minimization minimises the worst loss in a rho-ball: it steps to "
        "w + rho g/||g||, takes the gradient there, and applies it at w. It seeks flat minima "
        "and costs two forward-backward passes per step; its reported gains are largest with "
        "noisy labels (Foret et al. 2021), so compare it with SGD at a matched training loss.",
        (
            _c("worst-case loss in a neighbourhood"),
            _c("flat minima"),
            _c("two passes / ascent then descent"),
        ),
        ("sam-flatter-minima",),
    ),
    Question(
        "gotcha-l1-sparse",
        "gotchas",
        "L1 is sparse and L2 is not: why?",
        "Geometry. The L1 ball has corners on the axes and the loss contours usually touch it "
        "there, so some coordinates are exactly zero; equivalently the subgradient of |w| at 0 "
        "is [-1, 1], so a coefficient stays at zero while |X_j^T r|/n <= alpha. The L2 ball is "
        "round, its gradient vanishes at 0, so nothing is pushed exactly to zero.",
        (
            _c("corners on the axes"),
            _c("subgradient at zero"),
            _c("L2 is round / smooth"),
        ),
        ("l1-exact-zeros", "l1-l2-geometry"),
    ),
    Question(
        "gotcha-l2-weight-decay",
        "gotchas",
        "Are L2 and weight decay the same?",
        "For SGD, yes: the iterates are identical. For Adam, no: the L2 gradient is "
        "preconditioned away; AdamW restores uniform decay by decoupling it.",
        (_c("same for SGD"), _c("not for Adam"), _c("AdamW decouples")),
        ("weight-decay-vs-l2", "adamw-vs-adam-l2"),
    ),
    Question(
        "gotcha-dropout-inference",
        "gotchas",
        "What does dropout do at inference?",
        "Nothing: it is switched off (model.eval()). Inverted dropout's 1/(1-p) scaling during "
        "training already made the expected activations match. Forgetting the scaling shifts "
        "activations by (1-p); forgetting eval() keeps the noise on.",
        (
            _c("switched off"),
            _c("training-time scaling makes expectations match"),
        ),
        ("dropout-inference-scaling", "dropout-forgot-eval"),
    ),
    Question(
        "gotcha-early-stopping",
        "gotchas",
        "Why does early stopping help?",
        "It is L2 in disguise (lambda about 1/(lr t)) and it stops once validation loss stops "
        "improving, before the model fits the noise; keep the best-validation weights, and "
        "report test error on data the stopping rule never saw (the validation score you "
        "stopped on is optimistically biased).",
        (
            _c("like L2 / ridge"),
            _c("validation loss stops improving"),
            _c("fitting noise"),
        ),
        ("early-stopping-is-ridge", "early-stopping-restore-best", "early-stopping-leakage"),
    ),
    Question(
        "gotcha-augmentation",
        "gotchas",
        "Why does data augmentation work?",
        "It increases the effective dataset size and enforces invariance to the augmentations.",
        (_c("effective dataset size"), _c("invariance")),
        ("augmentation-enforces-invariance",),
    ),
    Question(
        "gotcha-mixup",
        "gotchas",
        "What's MixUp?",
        "Linear interpolation of pairs of examples and of their labels; it encourages linear "
        "behaviour between training examples.",
        (_c("interpolation of pairs"), _c("linear")),
        ("mixup-calibration", "cutmix-vs-mixup"),
    ),
    Question(
        "gotcha-l2-prior",
        "gotchas",
        "L2 corresponds to what prior?",
        "A zero-mean Gaussian prior N(0, tau^2 I): the MAP estimate is ridge with "
        "lambda = sigma^2/tau^2.",
        (_c("Gaussian prior"), _c("MAP")),
        ("l2-gaussian-map",),
    ),
    Question(
        "gotcha-l1-prior",
        "gotchas",
        "L1 corresponds to what prior?",
        "A Laplace (double-exponential) prior: sharply peaked at zero, so the MAP has exact "
        "zeros; the lasso is that MAP.",
        (_c("Laplace prior"),),
        ("l1-laplace-map",),
    ),
    Question(
        "gotcha-sgd-vs-gd",
        "gotchas",
        "Why does SGD generalise better than full-batch GD?",
        "Implicit regularization: its gradient noise, scaled by lr/batch size, steers it to "
        "flat minima.",
        (_c("gradient noise"), _c("flat minima")),
        ("sgd-noise-flat-minima",),
    ),
    Question(
        "gotcha-dropout-hurts",
        "gotchas",
        "When does dropout hurt?",
        "When the model already underfits (it removes capacity it needs) and when data is "
        "plentiful, as in LLM pre-training at scale.",
        (
            _c("underfitting"),
            _c("plenty of data"),
        ),
        ("dropout-hurts-underfitting",),
    ),
)
