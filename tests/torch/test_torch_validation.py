"""reglab.torch's validation layer: bad arguments raise ValueError/TypeError naming the
argument, at every public entry point; strings are never read as booleans (issue 13)."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402
from reglab import EarlyStopping  # noqa: E402

pytestmark = pytest.mark.torch

X = torch.randn(4, 3, 6, 6)
Y = torch.tensor([0, 1, 2, 1])
Z = torch.randn(4, 3)


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))


def sgd():
    return net().parameters()


# (id, call, exception, regex naming the argument)
CASES = [
    # ---- strings and ints are not booleans
    ("SAM adaptive str", lambda: rt.SAM(sgd(), torch.optim.SGD, adaptive="no", lr=0.1),
     TypeError, "adaptive must be True or False, got 'no'"),
    ("SAM adaptive int", lambda: rt.SAM(sgd(), torch.optim.SGD, adaptive=1, lr=0.1),
     TypeError, "adaptive must be True or False"),
    ("SAM group adaptive", lambda: rt.SAM([{"params": list(sgd()), "adaptive": "yes"}],
                                          torch.optim.SGD, lr=0.1),
     TypeError, r"param_groups\[0\]\['adaptive'\] must be True or False"),
    ("SAM group rho", lambda: rt.SAM([{"params": list(sgd()), "rho": -1.0}],
                                     torch.optim.SGD, lr=0.1),
     ValueError, r"param_groups\[0\]\['rho'\] must be finite and >= 0"),
    ("SAM rho nan", lambda: rt.SAM(sgd(), torch.optim.SGD, rho=float("nan"), lr=0.1),
     ValueError, "rho must be finite"),
    ("SAM model", lambda: rt.SAM(sgd(), torch.optim.SGD, model="net", bn_mode="both", lr=0.1),
     TypeError, "model must be an nn.Module"),
    ("LookSAM adaptive", lambda: rt.LookSAM(sgd(), torch.optim.SGD, adaptive="False", lr=0.1),
     TypeError, "adaptive must be True or False"),
    ("EarlyStopping check_finite", lambda: EarlyStopping(check_finite="no"),
     TypeError, "check_finite must be True or False, got 'no'"),
    ("dropout training", lambda: rt.dropout(Z, 0.5, "False"),
     TypeError, "training must be True or False"),
    ("dropout inplace", lambda: rt.dropout(Z, 0.5, inplace="no"),
     TypeError, "inplace must be True or False"),
    ("Dropout inplace", lambda: rt.Dropout(0.5, inplace=1), TypeError, "inplace must be True"),
    ("channel_dropout inplace", lambda: rt.channel_dropout(X, 0.5, layout="NCHW", inplace="no"),
     TypeError, "inplace must be True or False"),
    ("locked_dropout batch_first", lambda: rt.locked_dropout(Z, 0.5, batch_first="yes"),
     TypeError, "batch_first must be True or False"),
    ("drop_path scale_by_keep", lambda: rt.drop_path(X, 0.5, scale_by_keep="no"),
     TypeError, "scale_by_keep must be True or False"),
    ("drop_path training", lambda: rt.drop_path(X, 0.5, training=0),
     TypeError, "training must be True or False"),
    ("DropPath scale_by_keep", lambda: rt.DropPath(0.1, scale_by_keep="yes"),
     TypeError, "scale_by_keep must be True or False"),
    ("gaussian_noise training", lambda: rt.gaussian_noise(Z, 0.1, "yes"),
     TypeError, "training must be True or False"),
    ("mixup inplace", lambda: rt.mixup(X, Y, num_classes=3, inplace="no"),
     TypeError, "inplace must be True or False"),
    ("mixup return_lam", lambda: rt.mixup(X, Y, num_classes=3, return_lam="no"),
     TypeError, "return_lam must be True or False"),
    ("MixUpCutMix inplace", lambda: rt.MixUpCutMix(num_classes=3, inplace="no"),
     TypeError, "inplace must be True or False"),
    ("decay_mask exclude_bias", lambda: rt.decay_mask(net(), exclude_bias="no"),
     TypeError, "exclude_bias must be True or False"),
    ("weight_decay_param_groups exclude_norm",
     lambda: rt.weight_decay_param_groups(net(), 0.1, exclude_norm="no"),
     TypeError, "exclude_norm must be True or False"),
    ("jacobian create_graph", lambda: rt.jacobian_penalty(
        Z.clone().requires_grad_(), Z.clone().requires_grad_() * 2, create_graph="no"),
     TypeError, "create_graph must be True or False"),
    ("mc_predict return_modules", lambda: rt.mc_predict(
        nn.Sequential(nn.Dropout(0.5)), Z, 2, return_modules="no"),
     TypeError, "return_modules must be True or False"),
    ("BestWeights restore_on_exit", lambda: rt.BestWeights(net(), restore_on_exit="no"),
     TypeError, "restore_on_exit must be True or False"),
    # ---- mapping keys must exist, mask values are bools or tensors
    ("l1 mask typo", lambda: rt.l1_penalty(net(), mask={"typo": True}),
     ValueError, r"mask names \['typo'\], which are not parameter names"),
    ("l2 mask typo", lambda: rt.l2_penalty(net(), mask={"0.weight": True, "2.wieght": True}),
     ValueError, r"mask names \['2.wieght'\]"),
    ("l1 mask str value", lambda: rt.l1_penalty(net(), mask={"0.weight": "no"}),
     TypeError, r"mask\['0.weight'\] must be True or False, got 'no'"),
    ("l1 mask callable str", lambda: rt.l1_penalty(net(), mask=lambda n, p: "yes"),
     TypeError, r"mask\['0.weight'\] must be True or False"),
    ("l2 exclude", lambda: rt.l2_penalty(net(), exclude=[3]), TypeError, "exclude must be"),
    ("l2 params", lambda: rt.l2_penalty(torch.randn(3)), TypeError, "params must be"),
    ("spectral input_shapes typo", lambda: rt.spectral_norm_penalty(
        net(), input_shapes={"9": (3,)}), ValueError, r"input_shapes names \['9'\]"),
    ("DropConnect names", lambda: rt.DropConnect(nn.Linear(2, 2), 0.5, names=("wieght",)),
     ValueError, "names"),
    ("WeightNoise names", lambda: rt.WeightNoise(nn.Linear(2, 2), 0.5, names=("wieght",)),
     ValueError, "names"),
    # ---- finiteness and ranges
    ("dropout p>1", lambda: rt.dropout(Z, 1.5), ValueError, r"p must be in \[0, 1\]"),
    ("dropout p nan", lambda: rt.dropout(Z, float("nan")), ValueError, "p must be in"),
    ("dropout p str", lambda: rt.dropout(Z, "0.5"), TypeError, "p must be a real number"),
    ("drop_path_rates depth", lambda: rt.drop_path_rates(0, 0.1), ValueError, "depth must be"),
    ("drop_path_rates depth float", lambda: rt.drop_path_rates(12.0, 0.1),
     TypeError, "depth must be an int"),
    ("gaussian_noise std inf", lambda: rt.gaussian_noise(Z, float("inf")),
     ValueError, "std must be finite"),
    ("gaussian_noise int x", lambda: rt.gaussian_noise(torch.ones(3, dtype=torch.long), 0.1),
     TypeError, "x must be a floating-point tensor"),
    ("gradient_noise_std step", lambda: rt.gradient_noise_std(-1),
     ValueError, "step must be an int >= 0"),
    ("gradient_noise_std eta", lambda: rt.gradient_noise_std(1, eta=float("nan")),
     ValueError, "eta must be finite"),
    ("GradientNoise params", lambda: rt.GradientNoise([1.0, 2.0]),
     TypeError, "params must be tensors"),
    ("GradientNoise generator", lambda: rt.GradientNoise(list(sgd()), generator=0),
     TypeError, "generator must be a torch.Generator"),
    ("operator_norm tol", lambda: rt.operator_norm(nn.Linear(3, 2), (3,), tol=float("nan")),
     ValueError, "tol must be finite"),
    ("operator_norm input_shape", lambda: rt.operator_norm(nn.Linear(3, 2), (0,)),
     ValueError, "input_shape must be"),
    ("operator_norm input_shape str", lambda: rt.operator_norm(nn.Linear(3, 2), "3"),
     TypeError, "input_shape must be a sequence"),
    ("weight_decay nan", lambda: rt.weight_decay_param_groups(net(), float("nan")),
     ValueError, "weight_decay must be finite"),
    ("mixup alpha 0", lambda: rt.mixup(X, Y, alpha=0.0, num_classes=3),
     ValueError, "alpha must be finite and > 0"),
    ("MixUpCutMix prob", lambda: rt.MixUpCutMix(prob=1.5), ValueError, "prob must be in"),
    ("MixUpCutMix mode", lambda: rt.MixUpCutMix(mode="Batch"), ValueError, "mode must be one"),
    ("MixUpCutMix num_classes", lambda: rt.MixUpCutMix(num_classes=0),
     ValueError, "num_classes must be an int >= 1"),
    ("MixUpCutMix layout", lambda: rt.MixUpCutMix(layout="HW"), ValueError, "layout must"),
    ("mixup labels range", lambda: rt.mixup(X, torch.tensor([0, 1, 2, 3]), num_classes=3),
     ValueError, r"y holds label 3, outside \[0, 3\)"),
    ("mc_predict samples", lambda: rt.mc_predict(nn.Dropout(), Z, samples=0),
     ValueError, "samples must be an int >= 1"),
    ("mc_predict types", lambda: rt.mc_predict(nn.Dropout(), Z, types=[nn.Dropout]),
     TypeError, "types must be a tuple"),
    ("mc_dropout model", lambda: rt.mc_dropout_modules("net"), TypeError, "model must be"),
    # ---- labels, dtypes, choices
    ("smooth_one_hot int dtype", lambda: rt.smooth_one_hot(Y, 4, 0.1, dtype=torch.int64),
     TypeError, "dtype must be a floating-point torch.dtype"),
    ("smooth_one_hot float labels", lambda: rt.smooth_one_hot(Y.float(), 4, 0.1),
     TypeError, "target must hold integer class labels"),
    ("smooth_one_hot out of range", lambda: rt.smooth_one_hot(Y, 2, 0.1),
     ValueError, r"target holds label 2, outside \[0, 2\)"),
    ("smooth_one_hot convention", lambda: rt.smooth_one_hot(Y, 4, 0.1, convention="even"),
     ValueError, "convention must be one of"),
    ("lsce negative weight", lambda: rt.label_smoothing_cross_entropy(
        Z, Y, 0.1, weight=torch.tensor([1.0, -2.0, 1.0])),
     ValueError, "weight must hold finite class weights >= 0"),
    ("lsce ignore_index", lambda: rt.label_smoothing_cross_entropy(Z, Y, 0.1, ignore_index=1.5),
     TypeError, "ignore_index must be an int"),
    ("lsce reduction", lambda: rt.label_smoothing_cross_entropy(Z, Y, 0.1, reduction="avg"),
     ValueError, "reduction must be one of"),
    ("lsce int logits", lambda: rt.label_smoothing_cross_entropy(Y.view(4, 1) * Y, Y, 0.1),
     TypeError, "logits must be a floating-point tensor"),
    ("LSCE module weight", lambda: rt.LabelSmoothingCrossEntropy(weight=torch.tensor([-1.0])),
     ValueError, "weight must hold finite class weights >= 0"),
    ("LSCE module ignore_index", lambda: rt.LabelSmoothingCrossEntropy(ignore_index="-100"),
     TypeError, "ignore_index must be an int"),
    ("soft CE 0-d", lambda: rt.soft_target_cross_entropy(torch.tensor(1.0), torch.tensor(1.0)),
     ValueError, "logits must be"),
    ("channel layout", lambda: rt.ChannelDropout(0.1, layout="CNHW"),
     ValueError, "'N' \\(if any\\) first"),
    ("flush_label_checks wait", lambda: rt.flush_label_checks(wait="no"),
     TypeError, "wait must be True or False"),
    ("SAM zero_grad", lambda: rt.SAM(sgd(), torch.optim.SGD, lr=0.1).zero_grad("no"),
     TypeError, "set_to_none must be True or False"),
    ("generator type", lambda: rt.Dropout(0.1, generator=0), TypeError, "generator must be"),
    ("DropPath generator type", lambda: rt.DropPath(0.1, generator="g"),
     TypeError, "generator must be"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "exc", "match"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_argument_raises_naming_it(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_numpy_integers_and_bools_are_accepted():
    np = pytest.importorskip("numpy")
    assert rt.drop_path_rates(np.int64(3), np.float32(0.2))[-1] == pytest.approx(0.2)
    mean, var = rt.mc_predict(nn.Dropout(0.5), torch.ones(3), samples=np.int32(4))
    assert mean.shape == (3,)
    assert rt.decay_mask(net(), exclude_bias=np.bool_(True))["0.weight"]
    q = rt.smooth_one_hot(Y, np.int64(4), np.float64(0.1))
    assert q.shape == (4, 4)


def test_the_silent_wrong_answers_of_issue_13_are_gone():
    model = net()
    # a mistyped mask key no longer switches the penalty off (it returned 0)
    with pytest.raises(ValueError, match="typo"):
        rt.l1_penalty(model, mask={"typo": True})
    assert rt.l1_penalty(model, mask={"0.weight": True}) > 0
    # SAM(adaptive="no") switched ASAM on
    with pytest.raises(TypeError, match="adaptive"):
        rt.SAM(model.parameters(), torch.optim.SGD, adaptive="no", lr=0.1)
    assert (
        rt.SAM(model.parameters(), torch.optim.SGD, adaptive=False, lr=0.1).param_groups[0][
            "adaptive"
        ]
        is False
    )


# ---------------------------------------------------------------- property-based
hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

NAN, INF = float("nan"), float("inf")
NOT_A_NUMBER = st.one_of(st.text(max_size=3), st.booleans(), st.none())
BAD = {
    # a string or an int must never be read by its truthiness
    "bool": st.one_of(st.text(max_size=3), st.integers(), st.none(), st.floats()),
    "probability": st.one_of(
        st.floats(min_value=1.0, exclude_min=True), st.floats(max_value=0.0, exclude_max=True),
        st.sampled_from([NAN, INF, -INF]), NOT_A_NUMBER,
    ),
    "nonnegative": st.one_of(
        st.floats(max_value=0.0, exclude_max=True), st.sampled_from([NAN, INF, -INF]),
        NOT_A_NUMBER,
    ),
    "positive_int": st.one_of(
        st.integers(max_value=0), st.floats(), st.text(max_size=3), st.booleans(),
    ),
}  # fmt: skip

IMG = torch.rand(4, 3, 6, 6)
SEQ = torch.randn(5, 4, 3)

# (argument, kind, call taking the bad value)
ARGS = [
    ("training", "bool", lambda v: rt.dropout(Z, 0.5, v)),
    ("inplace", "bool", lambda v: rt.dropout(Z, 0.5, inplace=v)),
    ("inplace", "bool", lambda v: rt.Dropout(0.5, inplace=v)),
    ("training", "bool", lambda v: rt.drop_path(IMG, 0.2, v)),
    ("scale_by_keep", "bool", lambda v: rt.drop_path(IMG, 0.2, scale_by_keep=v)),
    ("scale_by_keep", "bool", lambda v: rt.DropPath(0.2, scale_by_keep=v)),
    ("batch_first", "bool", lambda v: rt.locked_dropout(SEQ, 0.2, batch_first=v)),
    ("batch_first", "bool", lambda v: rt.LockedDropout(0.2, batch_first=v)),
    ("inplace", "bool", lambda v: rt.channel_dropout(IMG, 0.2, layout="NCHW", inplace=v)),
    ("training", "bool", lambda v: rt.gaussian_noise(Z, 0.1, v)),
    ("adaptive", "bool", lambda v: rt.SAM(sgd(), torch.optim.SGD, adaptive=v, lr=0.1)),
    ("check_finite", "bool", lambda v: EarlyStopping(check_finite=v)),
    ("inplace", "bool", lambda v: rt.mixup(IMG, Y, num_classes=3, inplace=v)),
    ("return_lam", "bool", lambda v: rt.cutmix(IMG, Y, num_classes=3, return_lam=v)),
    ("inplace", "bool", lambda v: rt.MixUpCutMix(num_classes=3, inplace=v)),
    ("exclude_1d", "bool", lambda v: rt.decay_mask(net(), exclude_1d=v)),
    ("exclude_bias", "bool", lambda v: rt.weight_decay_param_groups(net(), 0.1, exclude_bias=v)),
    ("restore_on_exit", "bool", lambda v: rt.BestWeights(net(), restore_on_exit=v)),
    ("return_modules", "bool", lambda v: rt.mc_predict(nn.Dropout(), Z, 2, return_modules=v)),
    ("wait", "bool", lambda v: rt.flush_label_checks(v)),
    ("p", "probability", lambda v: rt.dropout(Z, v)),
    ("p", "probability", lambda v: rt.Dropout(v)),
    ("p", "probability", lambda v: rt.drop_path(IMG, v)),
    ("p", "probability", lambda v: rt.drop_path(IMG, v, residual=IMG)),
    ("p", "probability", lambda v: rt.DropPath(v)),
    ("p", "probability", lambda v: rt.channel_dropout(IMG, v, layout="NCHW")),
    ("p", "probability", lambda v: rt.locked_dropout(SEQ, v, batch_first=False)),
    ("p", "probability", lambda v: rt.DropConnect(nn.Linear(3, 2), v)),
    ("max_rate", "probability", lambda v: rt.drop_path_rates(4, v)),
    ("eps", "probability", lambda v: rt.smooth_one_hot(Y, 3, v)),
    ("eps", "probability", lambda v: rt.label_smoothing_cross_entropy(Z, Y, v)),
    ("eps", "probability", lambda v: rt.LabelSmoothingCrossEntropy(v)),
    (
        "label_smoothing",
        "probability",
        lambda v: rt.mixup(IMG, Y, num_classes=3, label_smoothing=v),
    ),
    ("prob", "probability", lambda v: rt.MixUpCutMix(prob=v)),
    ("switch_prob", "probability", lambda v: rt.MixUpCutMix(switch_prob=v)),
    ("std", "nonnegative", lambda v: rt.gaussian_noise(Z, v)),
    ("std", "nonnegative", lambda v: rt.GaussianNoise(v)),
    ("std", "nonnegative", lambda v: rt.WeightNoise(nn.Linear(3, 2), v)),
    ("rho", "nonnegative", lambda v: rt.SAM(sgd(), torch.optim.SGD, rho=v, lr=0.1)),
    ("eta", "nonnegative", lambda v: rt.SAM(sgd(), torch.optim.SGD, eta=v, lr=0.1)),
    ("look_alpha", "nonnegative", lambda v: rt.SAM(sgd(), torch.optim.SGD, look_alpha=v, lr=0.1)),
    ("weight_decay", "nonnegative", lambda v: rt.weight_decay_param_groups(net(), v)),
    ("eta", "nonnegative", lambda v: rt.gradient_noise_std(3, eta=v)),
    ("gamma", "nonnegative", lambda v: rt.GradientNoise(list(sgd()), gamma=v)),
    ("mixup_alpha", "nonnegative", lambda v: rt.MixUpCutMix(mixup_alpha=v)),
    ("min_delta", "nonnegative", lambda v: EarlyStopping(min_delta=v)),
    ("samples", "positive_int", lambda v: rt.mc_predict(nn.Dropout(), Z, v)),
    ("num_classes", "positive_int", lambda v: rt.smooth_one_hot(Y, v)),
    ("num_classes", "positive_int", lambda v: rt.MixUpCutMix(num_classes=v)),
    ("n_iter", "positive_int", lambda v: rt.operator_norm(nn.Linear(3, 2), (3,), n_iter=v)),
    ("n_iter", "positive_int", lambda v: rt.spectral_norm_penalty(net(), n_iter=v)),
    ("interval", "positive_int", lambda v: rt.SAM(sgd(), torch.optim.SGD, interval=v, lr=0.1)),
    ("depth", "positive_int", lambda v: rt.drop_path_rates(v, 0.1)),
    (
        "projections",
        "positive_int",
        lambda v: rt.jacobian_penalty(
            Z.clone().requires_grad_(), Z.clone().requires_grad_() * 2, v
        ),
    ),
]


@pytest.mark.parametrize(("arg", "kind", "call"), ARGS,
                         ids=[f"{i}-{a[0]}" for i, a in enumerate(ARGS)])  # fmt: skip
def test_property_bad_values_raise_naming_the_argument(arg, kind, call):
    @hypothesis.settings(max_examples=10, deadline=None, database=None, derandomize=True)
    @hypothesis.given(BAD[kind])
    def check(value):
        if kind == "positive_int" and value is None:
            return
        with pytest.raises((ValueError, TypeError)) as info:
            call(value)
        assert arg in str(info.value), (value, str(info.value))

    check()


# ---------------------------------------------------------------- the sweep's findings
@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: rt.SAM("params", torch.optim.SGD, lr=0.1), TypeError, "params must"),
        (lambda: rt.SAM(None, torch.optim.SGD, lr=0.1), TypeError, "params must"),
        (lambda: rt.SAM(list(sgd()), torch.optim.SGD, rho=1e300, lr=0.1), ValueError,
         "rho must be <="),
        (lambda: rt.gaussian_noise(Z, 1e300), ValueError, "std must be <="),
        (lambda: rt.GradientNoise(list(sgd()), eta=1e300), ValueError, "eta must be <="),
        (lambda: rt.mixup(X, Y, num_classes=10**12), ValueError, "num_classes must be an int <="),
        (lambda: rt.smooth_one_hot(Y, 10**12), ValueError, "num_classes must be an int <="),
        (lambda: rt.drop_path_rates(10**12, 0.1), ValueError, "depth must be an int <="),
        (lambda: rt.mc_predict(nn.Dropout(), Z, 10**12), ValueError, "samples must be an int <="),
        (lambda: rt.operator_norm(nn.Linear(3, 2), (3,), n_iter=10**12), ValueError, "n_iter"),
        (lambda: rt.dropout(torch.ones(3, dtype=torch.long), 0.5), TypeError,
         "x must be a floating-point tensor"),
        (lambda: rt.locked_dropout(torch.ones(3, 2, dtype=torch.long), 0.5, batch_first=True),
         TypeError, "x must be a floating-point tensor"),
        (lambda: rt.drop_path(X, 0.5, residual="x"), TypeError, "residual must be a torch.Tensor"),
        (lambda: rt.jacobian_penalty(Z.clone().requires_grad_(), Z * 2), ValueError,
         "y must be computed from x"),
        (lambda: rt.jacobian_penalty(Z.clone().requires_grad_(), Z.clone().requires_grad_()),
         ValueError, "y must be computed from x"),
        (lambda: rt.mc_predict(nn.Sequential(nn.Linear(3, 2), nn.Dropout()), torch.randn(4, 5)),
         ValueError, r"model\(x\) failed on x \(Tensor\(4, 5\)\)"),
    ],
)  # fmt: skip
def test_sweep_findings(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_gradient_noise_std_does_not_overflow():
    assert rt.gradient_noise_std(10, eta=0.3, gamma=1e300) == 0.0
    assert rt.gradient_noise_std(3, eta=0.3, gamma=0.55) == pytest.approx((0.3 / 4**0.55) ** 0.5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: rt.DropConnect(nn.Linear(2, 2), 0.5, names=object()), "names must be"),
        (lambda: rt.WeightNoise(nn.Linear(2, 2), 0.5, names=float("nan")), "names must be"),
        (lambda: rt.GradientNoise(object()), "params must be an iterable"),
        (lambda: rt.decay_mask("net"), "model must be"),
        (lambda: rt.decay_mask(net(), exclude=object()), "exclude must be"),
        (lambda: rt.l1_penalty(net(), exclude=object()), "exclude must be"),
        (lambda: rt.weight_decay_param_groups(net(), 0.1, exclude=object()), "exclude must be"),
    ],
)
def test_sweep_poor_messages_now_name_the_argument(call, match):
    with pytest.raises(TypeError, match=match):
        call()
