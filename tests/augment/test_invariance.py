"""invariance_gap: zero for invariant models, closed forms for constructed ones."""

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("kornia")

from reglab.augment import image as im  # noqa: E402
from reglab.augment import invariance_gap  # noqa: E402
from reglab.augment.invariance import InvarianceGap  # noqa: E402

pytestmark = pytest.mark.torch


def images(n=16, seed=0):
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(seed))


class RowSum(torch.nn.Module):
    """Logits from per-row sums: invariant to horizontal flips, not to vertical ones."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(6, 3)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.w(self.drop(x.sum(-1)[:, 0]))


def test_invariant_model_has_zero_gap():
    torch.manual_seed(0)
    model = RowSum()
    gap = invariance_gap(model, lambda x: x.flip(-1), images())
    assert gap == InvarianceGap(mean_kl=pytest.approx(0.0, abs=1e-12), flip_rate=0.0, n=16)


def test_eval_mode_is_used_and_training_flag_restored():
    torch.manual_seed(0)
    model = RowSum().train()
    # In train mode dropout would make two passes differ; the measurement uses eval mode.
    assert invariance_gap(model, lambda x: x, images()).mean_kl == pytest.approx(0.0, abs=1e-12)
    assert model.training


def test_closed_form_kl_and_flip_rate():
    # Two-class logits (a, 0) vs (-a, 0): KL(p||q) = (2 sigma(a) - 1) * a, and every arg-max
    # flips for a > 0.
    a = torch.tensor([0.5, 1.0, 2.0, 3.0])

    def model(x):
        return torch.stack([x, torch.zeros_like(x)], dim=1)

    gap = invariance_gap(model, lambda x: -x, a)
    sig = torch.sigmoid(a.double())
    expected = float(((2 * sig - 1) * a.double()).mean())
    assert gap.mean_kl == pytest.approx(expected, rel=1e-12)
    assert gap.flip_rate == 1.0 and gap.n == 4


def test_iterable_of_labelled_batches_and_pipeline_transform():
    torch.manual_seed(0)
    model = RowSum()
    data = [(images(8, s), torch.zeros(8)) for s in range(3)]
    flip = im.Pipeline([im.HorizontalFlip(p=1.0)])
    assert invariance_gap(model, flip, data).mean_kl == pytest.approx(0.0, abs=1e-12)
    vflip = im.Pipeline([im.VerticalFlip(p=1.0)])
    gap = invariance_gap(model, vflip, data)
    assert gap.n == 24 and gap.mean_kl > 1e-6 and 0.0 <= gap.flip_rate <= 1.0
    # Batching does not change the answer: one batch of all 24 gives the same numbers.
    whole = invariance_gap(model, vflip, torch.cat([d[0] for d in data]))
    # (float32 logits: a different batch size may take a different BLAS path)
    assert whole.mean_kl == pytest.approx(gap.mean_kl, rel=1e-5)
    assert whole.flip_rate == gap.flip_rate


def test_bad_input():
    model = RowSum()
    with pytest.raises(ValueError, match="empty batch"):
        invariance_gap(model, lambda x: x, torch.zeros(0, 1, 6, 6))
    with pytest.raises(ValueError, match="data is empty"):
        invariance_gap(model, lambda x: x, [])
    with pytest.raises(TypeError, match="transform must be callable"):
        invariance_gap(model, 3, images())
    with pytest.raises(TypeError, match="data must be"):
        invariance_gap(model, lambda x: x, 3)
    with pytest.raises(ValueError, match=r"shape \(B, K\)"):
        invariance_gap(lambda x: x.sum(), lambda x: x, images())
    with pytest.raises(ValueError, match="not finite"):
        invariance_gap(lambda x: torch.full((2, 3), math.nan), lambda x: x, images(2))
