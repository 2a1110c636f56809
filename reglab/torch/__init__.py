"""reglab.torch: deep-learning regularizers with torch's conventions.

Function + ``nn.Module`` pairs, ``torch.optim`` wrappers, explicit randomness
(``generator=`` on every stochastic function), ``p = 0`` and eval mode returning the input
itself, dtype/device/memory format preserved. Modules follow the seed's kinds: penalties on
parameters (:mod:`.penalties`), function penalties (:mod:`.function`), SAM (:mod:`.sam`),
perturbations (:mod:`.dropout`, :mod:`.drop_path`, :mod:`.mc_dropout`, :mod:`.mixing`,
:mod:`.noise`), targets (:mod:`.targets`)
and training (:mod:`.best_weights`; the early-stopping rule is :class:`reglab.EarlyStopping`).

Every function and module traces under ``torch.compile(fullgraph=True)`` without a graph
break, in training and evaluation mode (DropPath selects with a broadcast mask instead of
gathering row indices, MixUp/CutMix draw with tensor ops, label checks become asynchronous
asserts); pass ``generator=None`` there, since dynamo cannot trace a ``torch.Generator``.
Every argument goes through one validation layer (:mod:`._checks`): a bad value raises a
``ValueError``/``TypeError`` naming the argument, and strings are never read as booleans.
"""

from reglab.torch._checks import flush_label_checks
from reglab.torch.best_weights import BestWeights
from reglab.torch.drop_path import DropPath, drop_path, drop_path_rates
from reglab.torch.dropout import (
    ChannelDropout,
    DropConnect,
    Dropout,
    LockedDropout,
    channel_dropout,
    dropout,
    locked_dropout,
)
from reglab.torch.function import jacobian_penalty, operator_norm, spectral_norm_penalty
from reglab.torch.mc_dropout import STOCHASTIC_MODULES, mc_dropout, mc_dropout_modules, mc_predict
from reglab.torch.mixing import MixUpCutMix, cutmix, mixup
from reglab.torch.noise import (
    GaussianNoise,
    GradientNoise,
    WeightNoise,
    gaussian_noise,
    gradient_noise_std,
)
from reglab.torch.penalties import (
    NORM_LAYERS,
    decay_mask,
    l1_penalty,
    l2_penalty,
    weight_decay_param_groups,
)
from reglab.torch.sam import SAM, LookSAM
from reglab.torch.targets import (
    LabelSmoothingCrossEntropy,
    label_smoothing_cross_entropy,
    smooth_one_hot,
    soft_target_cross_entropy,
)

__all__ = [
    "NORM_LAYERS",
    "SAM",
    "STOCHASTIC_MODULES",
    "BestWeights",
    "ChannelDropout",
    "DropConnect",
    "DropPath",
    "Dropout",
    "GaussianNoise",
    "GradientNoise",
    "LabelSmoothingCrossEntropy",
    "LockedDropout",
    "LookSAM",
    "MixUpCutMix",
    "WeightNoise",
    "channel_dropout",
    "cutmix",
    "decay_mask",
    "drop_path",
    "drop_path_rates",
    "dropout",
    "flush_label_checks",
    "gaussian_noise",
    "gradient_noise_std",
    "jacobian_penalty",
    "l1_penalty",
    "l2_penalty",
    "label_smoothing_cross_entropy",
    "locked_dropout",
    "mc_dropout",
    "mc_dropout_modules",
    "mc_predict",
    "mixup",
    "operator_norm",
    "smooth_one_hot",
    "soft_target_cross_entropy",
    "spectral_norm_penalty",
    "weight_decay_param_groups",
]
