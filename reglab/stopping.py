"""Framework-agnostic early stopping: a pure decision rule over a metric history.

No framework is imported: feed it floats, one per check (typically per epoch), and it says
when to stop. The decision order, checked at every :meth:`EarlyStopping.step`:

1. a non-finite metric (NaN, +-inf) stops immediately (``check_finite=True``);
2. checks with ``epoch < start_from_epoch`` are ignored (warm-up; they neither improve nor
   count against patience);
3. the metric *improves* iff it beats the best so far by strictly more than ``min_delta``
   (``min``: ``metric < best - min_delta``; a change of exactly ``min_delta`` is not an
   improvement); an improvement records the new best and calls ``on_improvement`` (e.g.
   :class:`reglab.torch.BestWeights`'s ``save``);
4. reaching ``stopping_threshold`` (strictly better than it) stops — after recording the
   improvement, so restore-best sees it;
5. crossing ``divergence_threshold`` (strictly worse than it) stops;
6. ``wait`` is reset to 0 by a check that improves *and* beats ``baseline`` (when given) by
   more than ``min_delta``; every other check increments it, and ``wait >= patience`` stops.
   ``patience`` counts checks, not epochs (``patience=0`` stops at the first check that does
   not reset ``wait``).

``baseline`` follows Keras' documentation of ``EarlyStopping(baseline=...,
restore_best_weights=True)``: when no check beats the baseline, training runs for
``patience`` checks and the best weights *of that set* are restored. So the best is tracked
from the first check on (``best`` is the best metric seen, never the baseline itself) and
``on_improvement`` fires for improvements that do not reach the baseline; only resetting the
patience needs the baseline beaten. (Keras' code, unlike its documentation, does not stop on
a check that improves on the best without beating the baseline: a series that keeps improving
slowly below the baseline never stops there. Here it stops after ``patience`` checks, as
documented.)

The state (best, wait, ...) round-trips through :meth:`~EarlyStopping.state_dict` so a resumed
run stops where the uninterrupted one would. Snapshotting the best weights is a hook
(``on_improvement``), e.g. :class:`reglab.torch.BestWeights`'s ``save``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any

__all__ = ["EarlyStopping"]

_CONFIG = (
    "mode",
    "min_delta",
    "patience",
    "baseline",
    "start_from_epoch",
    "stopping_threshold",
    "divergence_threshold",
    "check_finite",
)


def _optional_real(name: str, value: object) -> float | None:
    return None if value is None else _real(name, value)


def _real(name: str, value: object) -> float:
    if _is_bool(value) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def _is_bool(value: object) -> bool:
    # numpy.bool_ is not a subclass of bool; recognised by name to keep this module free of
    # imports
    kind = type(value)
    return isinstance(value, bool) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    )


def _bool(name: str, value: object) -> bool:
    """``value`` itself if it is a bool: a string such as ``"no"`` is truthy and would switch
    the option on."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _nonnegative_int(name: str, value: object) -> int:
    if _is_bool(value) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


class EarlyStopping:
    """Decide when to stop training from a sequence of validation metrics.

    Parameters
    ----------
    mode : {'min', 'max'}
        Whether lower or higher metrics are better.
    min_delta : float
        Minimum strict improvement, >= 0.
    patience : int
        Number of consecutive non-improving checks tolerated, >= 0.
    baseline : float, optional
        Value a check must beat (by more than ``min_delta``) to reset the patience count;
        the best is still tracked below it (Keras' documented behaviour, see the module
        docstring).
    start_from_epoch : int
        Checks with a smaller epoch are ignored.
    stopping_threshold : float, optional
        Stop as soon as the metric is strictly better than this.
    divergence_threshold : float, optional
        Stop as soon as the metric is strictly worse than this.
    check_finite : bool
        Stop on NaN/inf metrics.
    on_improvement : callable, optional
        Called with no argument whenever the metric improves (e.g. to snapshot weights).

    Attributes
    ----------
    best : float or None
        Best metric so far (None before the first counted check).
    best_epoch : int or None
    wait : int
        Consecutive non-improving checks.
    improved : bool
        Whether the last check improved.
    should_stop : bool
    stopped_epoch : int or None
    reason : str or None
        ``'non-finite'``, ``'patience'``, ``'stopping_threshold'`` or
        ``'divergence_threshold'``.

    Examples
    --------
    >>> stopper = EarlyStopping(mode="min", patience=2)
    >>> [stopper.step(m) for m in [1.0, 0.9, 0.95, 0.91]]
    [False, False, False, True]
    >>> EarlyStopping.stop_index([1.0, 0.9, 0.95, 0.91, 0.5], patience=2)
    3
    """

    def __init__(
        self,
        *,
        mode: str = "min",
        min_delta: float = 0.0,
        patience: int = 0,
        baseline: float | None = None,
        start_from_epoch: int = 0,
        stopping_threshold: float | None = None,
        divergence_threshold: float | None = None,
        check_finite: bool = True,
        on_improvement: Callable[[], Any] | None = None,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.min_delta = _real("min_delta", min_delta)
        if self.min_delta < 0 or math.isinf(self.min_delta):
            raise ValueError(f"min_delta must be finite and >= 0, got {min_delta!r}")
        self.patience = _nonnegative_int("patience", patience)
        self.start_from_epoch = _nonnegative_int("start_from_epoch", start_from_epoch)
        self.baseline = _optional_real("baseline", baseline)
        self.stopping_threshold = _optional_real("stopping_threshold", stopping_threshold)
        self.divergence_threshold = _optional_real("divergence_threshold", divergence_threshold)
        self.check_finite = _bool("check_finite", check_finite)
        if on_improvement is not None and not callable(on_improvement):
            raise TypeError(f"on_improvement must be callable, got {on_improvement!r}")
        self.on_improvement = on_improvement
        self.reset()

    def reset(self) -> None:
        """Forget the history (configuration kept)."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.n_checks = 0
        self.improved = False
        self.should_stop = False
        self.stopped_epoch: int | None = None
        self.reason: str | None = None

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    def _improves(self, metric: float, reference: float | None) -> bool:
        if reference is None:
            return True
        shift = -self.min_delta if self.mode == "min" else self.min_delta
        return self._better(metric, reference + shift)

    def step(self, metric: float, epoch: int | None = None) -> bool:
        """Record one check; returns True when training should stop.

        Parameters
        ----------
        metric : float
            Anything ``float()`` accepts (a 0-d tensor too).
        epoch : int, optional
            Defaults to the number of checks so far (0-based).
        """
        if self.should_stop:
            raise RuntimeError(
                f"step() called after the stop at epoch {self.stopped_epoch} "
                f"({self.reason}); call reset() to reuse"
            )
        if isinstance(metric, str | bytes) or _is_bool(metric):
            # float("0.5") would parse a string; a bool is not a metric
            raise TypeError(f"metric must be a real number, got {metric!r}")
        try:
            metric = float(metric)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"metric must be a real number, got {metric!r}") from None
        if epoch is not None and (_is_bool(epoch) or not isinstance(epoch, Integral)):
            raise TypeError(f"epoch must be an int or None, got {epoch!r}")
        epoch = self.n_checks if epoch is None else int(epoch)
        self.n_checks += 1
        self.improved = False
        if self.check_finite and not math.isfinite(metric):
            return self._stop(epoch, "non-finite")
        if epoch < self.start_from_epoch:
            return False
        beats_baseline = self._improves(metric, self.baseline)
        if self._improves(metric, self.best):
            self.best, self.best_epoch, self.improved = metric, epoch, True
            if beats_baseline:
                self.wait = 0
            if self.on_improvement is not None:
                self.on_improvement()
        thr = self.stopping_threshold
        if thr is not None and self._better(metric, thr):
            return self._stop(epoch, "stopping_threshold")
        div = self.divergence_threshold
        if div is not None and self._better(div, metric):
            return self._stop(epoch, "divergence_threshold")
        if not (self.improved and beats_baseline):
            self.wait += 1
            if self.wait >= self.patience:
                return self._stop(epoch, "patience")
        return False

    def _stop(self, epoch: int, reason: str) -> bool:
        self.should_stop, self.stopped_epoch, self.reason = True, epoch, reason
        return True

    @classmethod
    def stop_index(cls, metrics: Iterable[float], **kwargs) -> int | None:
        """Index (0-based) of the check at which a fresh stopper stops on ``metrics``, or
        None if it never does. ``kwargs`` are the constructor's."""
        stopper = cls(**kwargs)
        for i, m in enumerate(metrics):
            if stopper.step(m):
                return i
        return None

    def state_dict(self) -> dict:
        """Configuration and state as plain Python values (JSON-serialisable)."""
        state = {k: getattr(self, k) for k in _CONFIG}
        state.update(
            best=self.best,
            best_epoch=self.best_epoch,
            wait=self.wait,
            n_checks=self.n_checks,
            improved=self.improved,
            should_stop=self.should_stop,
            stopped_epoch=self.stopped_epoch,
            reason=self.reason,
        )
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore the state; the configuration must match this instance's."""
        missing = [k for k in (*_CONFIG, "best", "wait", "n_checks") if k not in state]
        if missing:
            raise ValueError(f"state is missing keys {missing}")
        differ = [k for k in _CONFIG if state[k] != getattr(self, k)]
        if differ:
            raise ValueError(
                "state was saved with a different configuration: "
                + ", ".join(f"{k}={state[k]!r} (here {getattr(self, k)!r})" for k in differ)
            )
        for k in ("best", "best_epoch", "wait", "n_checks", "improved", "should_stop",
                  "stopped_epoch", "reason"):  # fmt: skip
            setattr(self, k, state.get(k))

    def __repr__(self) -> str:
        cfg = ", ".join(f"{k}={getattr(self, k)!r}" for k in _CONFIG)
        return f"EarlyStopping({cfg})"
