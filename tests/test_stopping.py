"""EarlyStopping against tables of metric sequences with the expected stop index."""

import json
import math

import pytest

from reglab import EarlyStopping

NAN, INF = float("nan"), float("inf")

# (kwargs, metrics, expected stop index or None, expected reason)
TABLE = [
    # patience counts checks: stop at the patience-th non-improving check
    (dict(patience=2), [1.0, 0.9, 0.95, 0.91, 0.5], 3, "patience"),
    (dict(patience=0), [1.0, 0.9, 0.95], 2, "patience"),
    (dict(patience=3), [5, 4, 3, 2, 1], None, None),
    # wait resets on improvement
    (dict(patience=2), [1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.86], 6, "patience"),
    # min_delta is strict: an improvement of exactly min_delta does not count
    (dict(patience=1, min_delta=0.5), [2.0, 1.5], 1, "patience"),
    (dict(patience=1, min_delta=0.5), [2.0, 1.4999], None, None),
    (dict(patience=1, min_delta=0.25, mode="max"), [1.0, 1.25], 1, "patience"),
    (dict(patience=1, min_delta=0.25, mode="max"), [1.0, 1.5, 1.6], 2, "patience"),
    # equal value is not an improvement (min_delta = 0)
    (dict(patience=1), [1.0, 1.0], 1, "patience"),
    # mode max
    (dict(patience=1, mode="max"), [0.5, 0.6, 0.7, 0.65], 3, "patience"),
    # baseline must be beaten; without improving on it, patience runs out
    (dict(patience=2, baseline=0.5), [0.8, 0.7, 0.9], 1, "patience"),
    (dict(patience=2, baseline=0.5), [0.8, 0.4, 0.45, 0.46], 3, "patience"),
    # start_from_epoch: early checks ignored entirely
    (dict(patience=1, start_from_epoch=3), [1.0, 2.0, 3.0, 4.0, 5.0], 4, "patience"),
    (dict(patience=1, start_from_epoch=2), [0.1, 9.0, 1.0, 0.9], None, None),
    # non-finite stops at once, before anything else
    (dict(patience=10), [1.0, NAN], 1, "non-finite"),
    (dict(patience=10, start_from_epoch=5), [1.0, INF], 1, "non-finite"),
    (dict(patience=10, check_finite=False), [1.0, NAN, 0.5], None, None),
    # stopping threshold: strictly better than it
    (dict(patience=10, stopping_threshold=0.1), [1.0, 0.5, 0.1, 0.05], 3, "stopping_threshold"),
    (dict(patience=10, mode="max", stopping_threshold=0.9), [0.5, 0.95], 1, "stopping_threshold"),
    # divergence threshold: strictly worse than it
    (dict(patience=10, divergence_threshold=5.0), [1.0, 5.0, 5.1], 2, "divergence_threshold"),
    (dict(patience=10, mode="max", divergence_threshold=0.1), [0.5, 0.05], 1,
     "divergence_threshold"),
]  # fmt: skip


@pytest.mark.parametrize("kwargs, metrics, expected, reason", TABLE)
def test_table(kwargs, metrics, expected, reason):
    assert EarlyStopping.stop_index(metrics, **kwargs) == expected
    stopper = EarlyStopping(**kwargs)
    for m in metrics:
        if stopper.step(m):
            break
    assert stopper.reason == reason
    assert stopper.should_stop == (expected is not None)


def test_best_is_recorded_before_threshold_stop_and_hook_called():
    calls = []
    stopper = EarlyStopping(stopping_threshold=0.2, on_improvement=lambda: calls.append(1))
    assert not stopper.step(1.0)
    assert stopper.step(0.1)
    assert stopper.best == 0.1 and stopper.best_epoch == 1 and len(calls) == 2
    with pytest.raises(RuntimeError, match="after the stop"):
        stopper.step(0.05)
    stopper.reset()
    assert not stopper.step(0.5)


@pytest.mark.parametrize("kwargs, metrics, expected, reason", TABLE)
@pytest.mark.parametrize("cut", [1, 2])
def test_state_round_trip_resumes_identically(kwargs, metrics, expected, reason, cut):
    if expected is not None and expected < cut:
        return
    first = EarlyStopping(**kwargs)
    for m in metrics[:cut]:
        first.step(m)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=True))
    resumed = EarlyStopping(**kwargs)
    resumed.load_state_dict(state)
    stop = None
    for i, m in enumerate(metrics[cut:], start=cut):
        if resumed.step(m):
            stop = i
            break
    assert stop == expected
    assert resumed.reason == reason


def test_load_state_dict_refuses_other_configuration():
    state = EarlyStopping(patience=2).state_dict()
    with pytest.raises(ValueError, match=r"patience=2 \(here 3\)"):
        EarlyStopping(patience=3).load_state_dict(state)
    with pytest.raises(ValueError, match="missing keys"):
        EarlyStopping().load_state_dict({"mode": "min"})


def test_metric_can_be_any_float_like():
    class Scalar:
        def __float__(self):
            return 0.5

    stopper = EarlyStopping()
    stopper.step(Scalar())
    assert stopper.best == 0.5
    with pytest.raises(TypeError, match="metric"):
        stopper.step("abc")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="lowest"), "mode must be 'min' or 'max'"),
        (dict(min_delta=-0.1), "min_delta must be finite and >= 0"),
        (dict(min_delta=math.inf), "min_delta must be finite and >= 0"),
        (dict(patience=-1), "patience must be an int >= 0"),
        (dict(patience=1.5), "patience must be an int >= 0"),
        (dict(start_from_epoch=-2), "start_from_epoch must be an int >= 0"),
        (dict(baseline=math.nan), "baseline must not be NaN"),
        (dict(stopping_threshold="x"), "stopping_threshold must be a real number"),
    ],
)
def test_bad_configuration(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        EarlyStopping(**kwargs)


def test_importing_reglab_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, reglab; reglab.EarlyStopping(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- Keras' baseline (issue 14)
def test_baseline_follows_keras_documentation():
    """Keras: "if no epoch improves on baseline, training will run for patience epochs and
    restore weights from the best epoch in that set". The best is tracked below the
    baseline (the hook fires), only the patience reset needs the baseline beaten."""
    saves = []
    stopper = EarlyStopping(patience=3, baseline=0.5, on_improvement=lambda: saves.append(1))
    metrics = [0.9, 0.7, 0.8, 0.6]
    stops = [stopper.step(m) for m in metrics[:3]]
    assert stops == [False, False, True]  # patience = 3 checks, none beat the baseline
    assert stopper.best == 0.7 and stopper.best_epoch == 1 and len(saves) == 2
    assert stopper.reason == "patience"
    # a check that beats the baseline resets the patience, as before
    stopper = EarlyStopping(patience=2, baseline=0.5)
    assert [stopper.step(m) for m in [0.9, 0.4, 0.45]] == [False, False, False]
    assert stopper.step(0.47) and stopper.best == 0.4
    # slowly improving below the baseline still stops after patience checks
    assert EarlyStopping.stop_index([0.9, 0.8, 0.7, 0.6, 0.55], patience=3, baseline=0.5) == 2
    # min_delta applies to the baseline too; mode max
    assert EarlyStopping.stop_index([0.51, 0.52], patience=2, baseline=0.5, min_delta=0.05,
                                    mode="max") == 1  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(check_finite="no"), "check_finite must be True or False, got 'no'"),
        (dict(check_finite=1), "check_finite must be True or False"),
        (dict(patience="3"), "patience must be an int"),
        (dict(patience=2.0), "patience must be an int"),
        (dict(min_delta="0.1"), "min_delta must be a real number"),
        (dict(baseline="0.5"), "baseline must be a real number"),
    ],
)
def test_strings_are_not_booleans_or_numbers(kwargs, match):
    with pytest.raises(TypeError, match=match):
        EarlyStopping(**kwargs)


def test_step_refuses_strings_and_bad_epochs():
    stopper = EarlyStopping(patience=2)
    with pytest.raises(TypeError, match="metric must be a real number, got '0.5'"):
        stopper.step("0.5")
    with pytest.raises(TypeError, match="metric must be a real number"):
        stopper.step(True)
    with pytest.raises(TypeError, match="epoch must be an int or None"):
        stopper.step(0.5, epoch="3")
    np = pytest.importorskip("numpy")
    assert not EarlyStopping(patience=np.int64(2), check_finite=np.bool_(True)).step(np.float32(1))
