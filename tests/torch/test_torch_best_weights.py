"""BestWeights: a deep copy, bit-identical restore, restore without an early stop."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab  # noqa: E402
import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def train_step(model, opt):
    opt.zero_grad()
    model(torch.randn(8, 3)).pow(2).mean().backward()
    opt.step()


def make():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    return model, torch.optim.SGD(model.parameters(), lr=0.5)


def test_snapshot_is_a_copy_and_restore_is_bit_identical():
    model, opt = make()
    best = rt.BestWeights(model)
    best.save()
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    aliased = model.state_dict()  # what a naive implementation would keep
    for _ in range(3):
        train_step(model, opt)
    assert torch.equal(aliased["0.weight"], model[0].weight)  # the alias followed training
    assert not torch.equal(best.snapshot["0.weight"], model[0].weight)
    best.restore()
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[k]), k  # parameters and buffers (BN stats, counter)
    # the optimizer still holds the live parameters
    train_step(model, opt)
    assert not torch.equal(model[0].weight, saved["0.weight"])


def test_restore_on_exit_without_early_stop():
    model, opt = make()
    best = rt.BestWeights(model)
    stopper = reglab.EarlyStopping(mode="min", patience=10, on_improvement=best.save)
    metrics = [3.0, 2.0, 1.0, 1.5, 1.7]  # best at index 2, no stop within 5 epochs
    snapshot_at_best = None
    with best:
        for m in metrics:
            train_step(model, opt)
            assert not stopper.step(m)
            if stopper.improved:
                snapshot_at_best = {k: v.clone() for k, v in model.state_dict().items()}
    assert stopper.best_epoch == 2 and best.n_saves == 3
    for k, v in model.state_dict().items():
        assert torch.equal(v, snapshot_at_best[k]), k


def test_device_option_and_errors():
    model, _ = make()
    best = rt.BestWeights(model, device="cpu")
    with pytest.raises(RuntimeError, match="before any save"):
        best.restore()
    with best:  # nothing saved: nothing restored, no error
        pass
    best.save()
    assert best.has_snapshot
    with pytest.raises(TypeError, match="model"):
        rt.BestWeights("model")


def test_baseline_never_beaten_restores_the_best_of_the_patience_window():
    """Keras' EarlyStopping(baseline=..., patience=3, restore_best_weights=True): when no
    check beats the baseline, training runs for patience checks and the best weights of
    that set are restored (reglab restored nothing before)."""
    model = nn.Linear(1, 1, bias=False)
    best = rt.BestWeights(model)
    stopper = reglab.EarlyStopping(patience=3, baseline=0.1, on_improvement=best.save)
    metrics = [0.9, 0.4, 0.7, 0.3]
    with best:
        for epoch, metric in enumerate(metrics):
            with torch.no_grad():
                model.weight.fill_(float(epoch))  # the weights of check ``epoch``
            if stopper.step(metric):
                break
    assert epoch == 2 and stopper.best_epoch == 1
    assert model.weight.item() == 1.0  # check 1 (metric 0.4), the best of the three


def test_best_weights_arguments():
    with pytest.raises(TypeError, match="restore_on_exit must be True or False"):
        rt.BestWeights(nn.Linear(1, 1), restore_on_exit="no")
    with pytest.raises(ValueError, match="device must be a torch.device"):
        rt.BestWeights(nn.Linear(1, 1), device="gpu0")
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        rt.BestWeights("model")
