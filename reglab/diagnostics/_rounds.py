"""Running bias-variance rounds: seeds, estimator adapters and execution back-ends.

Every round gets its own child of one :class:`numpy.random.SeedSequence`, spawned in the
calling process before anything is dispatched, so the numbers do not depend on the back-end
(sequential, joblib workers or a Dask cluster) nor on the order in which rounds finish.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from reglab.diagnostics._validation import MAX_COUNT, check_int
from reglab.diagnostics.generators import Generator, TestSet

LOSSES = ("squared", "zero_one", "log")


def check_rounds(rounds: object) -> int:
    """An integer >= 2: a variance needs two training sets."""
    return check_int(rounds, "rounds", low=2, high=MAX_COUNT)


def check_loss(loss: str, generator: Generator) -> None:
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    task = getattr(generator, "task", None)
    if task not in ("regression", "classification"):
        raise TypeError(
            "generator must follow the reglab.diagnostics.Generator protocol (task, n_classes, "
            f"is_estimate, sample, test_set); got {type(generator).__name__} with task={task!r}"
        )
    if (loss == "squared") != (task == "regression"):
        raise ValueError(f"loss={loss!r} does not fit a {task} generator")


def round_seeds(seed: int, rounds: int) -> tuple[np.random.SeedSequence, list]:
    """Seed of the test set and one child seed per round, independent of the back-end."""
    test_ss, rounds_ss = np.random.SeedSequence(seed).spawn(2)
    return test_ss, rounds_ss.spawn(rounds)


def draw_test_set(generator: Generator, n_test: int, seed_seq) -> TestSet:
    test = generator.test_set(n_test, np.random.default_rng(seed_seq))
    if not isinstance(test, TestSet):
        raise TypeError(
            f"generator.test_set must return a reglab.diagnostics.TestSet, got {type(test).__name__}"
        )
    X = np.asarray(test.X)
    if X.ndim != 2 or X.shape[0] != n_test:
        raise ValueError(
            f"generator.test_set({n_test}) returned X of shape {X.shape}, expected ({n_test}, d)"
        )
    if generator.task == "regression":
        if test.mean is None or np.shape(test.mean) != (n_test,):
            raise ValueError(
                f"generator.test_set({n_test}) must give mean of shape ({n_test},), "
                f"got {None if test.mean is None else np.shape(test.mean)}"
            )
        if test.noise_var is None or np.shape(test.noise_var) != (n_test,):
            raise ValueError(
                f"generator.test_set({n_test}) must give noise_var of shape ({n_test},), "
                f"got {None if test.noise_var is None else np.shape(test.noise_var)}"
            )
    else:
        K = generator.n_classes
        if test.proba is None or np.shape(test.proba) != (n_test, K):
            raise ValueError(
                f"generator.test_set({n_test}) must give proba of shape ({n_test}, {K}), "
                f"got {None if test.proba is None else np.shape(test.proba)}"
            )
        from reglab.diagnostics.calibration import check_probabilities

        check_probabilities(test.proba, name="generator.test_set(...).proba")
    return test


def _check_train(generator: Generator, n_train: int, X, y, n_features: int):
    X, y = np.asarray(X), np.asarray(y)
    if X.shape != (n_train, n_features) or y.shape != (n_train,):
        raise ValueError(
            f"generator.sample({n_train}) returned X {X.shape} and y {y.shape}, expected "
            f"({n_train}, {n_features}) and ({n_train},)"
        )
    return X, y


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def is_sklearn_estimator(est: object) -> bool:
    return hasattr(est, "fit") and hasattr(est, "get_params")


def fit_predict(make_estimator, X, y, X_test, loss: str, n_classes: int, seed: int, params):
    """Fit one model and return its test predictions in the loss's format.

    Returns shape (n_test,) for squared loss, integer labels (n_test,) for zero-one loss and
    probabilities (n_test, n_classes) for log loss.
    """
    if is_sklearn_estimator(make_estimator):
        from sklearn.base import clone

        est = clone(make_estimator)
        if params:
            est.set_params(**params)
        if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
            est.set_params(random_state=seed)
        est.fit(X, y)
        if loss == "log":
            out = np.zeros((X_test.shape[0], n_classes))
            out[:, np.asarray(est.classes_, dtype=int)] = est.predict_proba(X_test)
        else:
            out = est.predict(X_test)
    elif callable(make_estimator):
        kwargs = dict(params or {})
        if _accepts(make_estimator, "seed"):
            kwargs["seed"] = seed
        predict = make_estimator(X, y, **kwargs)
        if not callable(predict):
            raise TypeError(
                "make_estimator as a training function must return a predict callable, "
                f"got {type(predict).__name__}"
            )
        out = predict(X_test)
        out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    else:
        raise TypeError(
            "make_estimator must be a scikit-learn estimator or a training function "
            f"fit(X, y) -> predict, got {type(make_estimator).__name__}"
        )
    return _format_prediction(np.asarray(out), loss, X_test.shape[0], n_classes)


def _format_prediction(out: np.ndarray, loss: str, n_test: int, n_classes: int) -> np.ndarray:
    if loss == "squared":
        if out.shape not in ((n_test,), (n_test, 1)):
            raise ValueError(f"predictions must have shape ({n_test},), got {out.shape}")
        out = out.reshape(n_test).astype(float)
        if not np.all(np.isfinite(out)):
            raise ValueError("make_estimator predicted NaN or inf; predictions must be finite")
        return out
    if loss == "log":
        if out.shape != (n_test, n_classes):
            raise ValueError(
                f"loss='log' needs predicted probabilities of shape ({n_test}, {n_classes}), "
                f"got {out.shape}"
            )
        from reglab.diagnostics.calibration import check_probabilities

        return check_probabilities(out, name="predicted probabilities")
    if out.shape == (n_test, n_classes):
        out = out.argmax(axis=1)
    if out.shape != (n_test,):
        raise ValueError(f"zero-one predictions must have shape ({n_test},), got {out.shape}")
    labels = out.astype(int)
    if not np.array_equal(labels, out) or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"predicted labels must be integers in [0, {n_classes}), got {out[:5]}")
    return labels


def sample_test_labels(test: TestSet, task: str, rng: np.random.Generator) -> np.ndarray:
    """Fresh labels at the test points (or the fixed observed ones)."""
    if test.y is not None:
        return np.asarray(test.y)
    if task == "regression":
        return test.mean + np.sqrt(test.noise_var) * rng.standard_normal(len(test.mean))
    u = rng.random(test.proba.shape[0])[:, None]
    return np.minimum((np.cumsum(test.proba, axis=1) < u).sum(axis=1), test.proba.shape[1] - 1)


def one_round(make_estimator, generator, n_train, test, loss, seed_seq, param, values):
    """One training set; predictions for every value of the swept parameter (or just one)."""
    rng = np.random.default_rng(seed_seq)
    X, y = generator.sample(n_train, rng)
    X, y = _check_train(generator, n_train, X, y, test.X.shape[1])
    y_test = sample_test_labels(test, generator.task, rng)
    fit_seed = int(seed_seq.generate_state(1)[0])
    if param is None:
        return fit_predict(make_estimator, X, y, test.X, loss, generator.n_classes, fit_seed, None)[
            None
        ], y_test
    from reglab.diagnostics.sweep import fast_ridge_predictions

    fast = fast_ridge_predictions(make_estimator, param, values, X, y, test.X, loss)
    if fast is not None:
        return fast, y_test
    preds = []
    for i, v in enumerate(values):
        try:
            preds.append(
                fit_predict(
                    make_estimator, X, y, test.X, loss, generator.n_classes, fit_seed, {param: v}
                )
            )
        except (ValueError, TypeError) as exc:
            # the estimator's own check (scikit-learn's InvalidParameterError, ...) with the
            # swept value it refused named, instead of a bare library error
            raise ValueError(
                f"values[{i}]={v!r}: make_estimator with {param}={v!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return np.stack(preds), y_test


def run_rounds(fn: Callable, tasks: Sequence[tuple], n_jobs: int, scheduler: Any) -> list:
    """Run ``fn(*task)`` for every task, in order, through joblib or a Dask scheduler.

    ``scheduler`` is a Dask scheduler address (``"tcp://..."``) or a ``distributed.Client``;
    ``distributed`` is imported only then.
    """
    if scheduler is None:
        from joblib import Parallel, delayed

        if n_jobs == 1:
            return [fn(*t) for t in tasks]
        return Parallel(n_jobs=n_jobs)(delayed(fn)(*t) for t in tasks)
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("scheduler= needs dask.distributed: pip install 'reglab[dask]'") from exc
    if isinstance(scheduler, Client):
        return _dask_map(scheduler, fn, tasks)
    check_scheduler(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ValueError(
            f"scheduler={scheduler!r}: no Dask scheduler answered within {CONNECT_TIMEOUT} s "
            f"({type(exc).__name__}: {exc})"
        ) from None
    with client:
        return _dask_map(client, fn, tasks)


#: seconds to wait for a Dask scheduler before giving up with a one-line error
CONNECT_TIMEOUT = 10


def check_scheduler(scheduler: object) -> None:
    """None, a ``distributed.Client``, or an address ``protocol://host:port``."""
    if scheduler is None or type(scheduler).__name__ == "Client":
        return
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise TypeError(
            "scheduler must be a Dask scheduler address ('tcp://host:port') or a "
            f"distributed.Client, got {scheduler!r}"
        )


def _dask_map(client, fn: Callable, tasks: Sequence[tuple]) -> list:
    # the first five arguments (estimator, generator, sizes, test set, loss) are shared:
    # scatter them once instead of pickling them into every task
    shared = client.scatter(list(tasks[0][:5]), broadcast=True)
    futures = [client.submit(fn, *shared, *t[5:], pure=False) for t in tasks]
    return client.gather(futures)
