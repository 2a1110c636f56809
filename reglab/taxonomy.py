"""The deep dive's five kinds of regularization, as data.

Section 1 of the deep dive sorts every technique into one of five kinds; the lab groups its
claims by the same kinds (plus a diagnostics group for claims about measurement itself, such
as the bias-variance decomposition).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Kind of a regularizer (deep dive, section 1) or of a lab claim."""

    PARAMETER = "parameter"
    FUNCTION = "function"
    PERTURBATION = "perturbation"
    TRAINING = "training"
    ARCHITECTURE = "architecture"
    DIAGNOSTICS = "diagnostics"

    @property
    def heading(self) -> str:
        return _TITLES[self]

    @classmethod
    def _missing_(cls, value: object) -> Kind:
        # Kind("bogus") would otherwise end in enum's bare "'bogus' is not a valid Kind"
        valid = ", ".join(k.value for k in cls)
        raise ValueError(f"Kind value {value!r} is not a kind; expected one of: {valid}")

    @classmethod
    def parse(cls, value: str | Kind) -> Kind:
        """Return the kind named ``value``; raise a ValueError listing the valid names."""
        if isinstance(value, Kind):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            valid = ", ".join(k.value for k in cls)
            raise ValueError(f"kind={value!r} is not a kind; expected one of: {valid}") from None


_TITLES = {
    Kind.PARAMETER: "Penalty on parameters",
    Kind.FUNCTION: "Penalty on the function",
    Kind.PERTURBATION: "Stochastic perturbation",
    Kind.TRAINING: "Implicit constraint via training",
    Kind.ARCHITECTURE: "Architectural constraint",
    Kind.DIAGNOSTICS: "Bias-variance and diagnostics",
}


@dataclass(frozen=True)
class Technique:
    """A named regularization technique and where reglab implements it."""

    name: str
    kind: Kind
    where: str


_CATALOG: tuple[Technique, ...] = (
    Technique("L2 / ridge", Kind.PARAMETER, "reglab.linear.Ridge, reglab.torch.l2_penalty"),
    Technique("L1 / lasso", Kind.PARAMETER, "reglab.linear.Lasso, reglab.torch.l1_penalty"),
    Technique("elastic net", Kind.PARAMETER, "reglab.linear.ElasticNet"),
    Technique("weight decay (decoupled)", Kind.PARAMETER, "reglab.torch.weight_decay_param_groups"),
    Technique("spectral norm", Kind.FUNCTION, "reglab.torch.spectral_norm_penalty"),
    Technique("Jacobian penalty", Kind.FUNCTION, "reglab.torch.jacobian_penalty"),
    Technique("sharpness-aware minimization", Kind.FUNCTION, "reglab.torch.SAM"),
    Technique("dropout and variants", Kind.PERTURBATION, "reglab.torch.Dropout, DropPath, ..."),
    Technique("data augmentation", Kind.PERTURBATION, "reglab.augment"),
    Technique("MixUp / CutMix", Kind.PERTURBATION, "reglab.torch.MixUpCutMix"),
    Technique("label smoothing", Kind.PERTURBATION, "reglab.torch.LabelSmoothingCrossEntropy"),
    Technique("noise injection", Kind.PERTURBATION, "reglab.torch.GaussianNoise"),
    Technique("early stopping", Kind.TRAINING, "reglab.EarlyStopping"),
    Technique("SGD noise / learning rate", Kind.TRAINING, "reglab.lab claims"),
    Technique("convolutional weight sharing", Kind.ARCHITECTURE, "reglab.lab claims"),
    Technique("pooling", Kind.ARCHITECTURE, "reglab.lab claims"),
)


def catalog(kind: Kind | str | None = None) -> list[Technique]:
    """Return the techniques of the deep dive, optionally only those of one ``kind``."""
    if kind is None:
        return list(_CATALOG)
    k = Kind.parse(kind)
    return [t for t in _CATALOG if t.kind is k]
