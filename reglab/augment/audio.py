"""Waveform augmentation: time stretch, pitch shift, noise at a target SNR, gain.

Signals are arrays whose last axis is time: ``(n,)`` mono, ``(channels, n)``, or
``(batch, channels, n)``. NumPy arrays and torch tensors are accepted and the same type, dtype
and device come back. Time stretching and pitch shifting (Ko et al., "Audio Augmentation for
Speech Recognition", Interspeech 2015) use the Signalsmith Stretch engine that audiomentations
runs (package ``python_stretch``): it is as accurate as librosa's phase vocoder here and does
not spend 7-30 s compiling numba kernels on first use; pitch shifting stretches and then
resamples, which puts the frequencies where they belong. Noise and gain are written out, so that
the SNR is exact and the randomness comes from an explicit ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["time_stretch", "pitch_shift", "add_noise", "gain", "snr_db"]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _as_numpy(samples: Any, name: str = "samples") -> np.ndarray:
    if _is_torch(samples):
        t = samples.detach().cpu()
        # NumPy has no bfloat16; float32 holds every bfloat16 value exactly.
        arr = (t.float() if str(t.dtype) == "torch.bfloat16" else t).numpy()
    elif isinstance(samples, np.ndarray):
        arr = samples
    else:
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(samples)}")
    if arr.ndim not in (1, 2, 3):
        raise ValueError(
            f"{name} must have rank 1 (n,), 2 (channels, n) or 3 (batch, channels, n), "
            f"got rank {arr.ndim} with shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype, got {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values")
    return arr


def _like(out: np.ndarray, samples: Any) -> Any:
    """Return ``out`` as the type, dtype and device of ``samples``."""
    if _is_torch(samples):
        import torch

        return torch.from_numpy(np.ascontiguousarray(out)).to(
            device=samples.device, dtype=samples.dtype
        )
    return out.astype(samples.dtype, copy=False)


def _finite(name: str, value: float) -> float:
    if not isinstance(value, int | float | np.number) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_rate(sample_rate: int) -> int:
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    return int(sample_rate)


def _stretch(arr: np.ndarray, sample_rate: int, setup: Callable[[Any], None]) -> np.ndarray:
    try:
        import python_stretch
    except ImportError as err:
        raise ImportError(
            "time stretch and pitch shift need python_stretch: `pip install audiomentations` "
            "(reglab's torch extra)"
        ) from err
    # Channels of one signal share the engine (phase-coherent); batch items do not.
    three = arr.reshape((1, 1, -1) if arr.ndim == 1 else (-1, *arr.shape[-2:]))
    outs = []
    for item in np.ascontiguousarray(three, dtype=np.float32):
        engine = python_stretch.Signalsmith.Stretch()
        engine.preset(item.shape[0], sample_rate)
        setup(engine)
        outs.append(engine.process(item))
    out = np.stack(outs)
    return out.reshape(*arr.shape[:-1], out.shape[-1])


def time_stretch(samples: Any, rate: float, *, sample_rate: int) -> Any:
    """Change the tempo by ``rate`` without changing the pitch.

    The output lasts ``n / rate`` samples (``rate > 1`` speeds up); every frequency component
    keeps its frequency. ``rate == 1`` returns an unchanged copy.

    Parameters
    ----------
    samples : numpy.ndarray or torch.Tensor
        ``(n,)``, ``(channels, n)`` or ``(batch, channels, n)``, floating dtype.
    rate : float
        Tempo factor, in ``[0.1, 10]``.
    sample_rate : int
        Sampling rate in Hz (sets the analysis block size).
    """
    arr = _as_numpy(samples)
    rate, sample_rate = _finite("rate", rate), _check_rate(sample_rate)
    if not 0.1 <= rate <= 10.0:
        raise ValueError(f"rate must be in [0.1, 10], got {rate}")
    if rate == 1.0:
        return _like(arr.copy(), samples)
    return _like(_stretch(arr, sample_rate, lambda e: e.setTimeFactor(rate)), samples)


def pitch_shift(samples: Any, n_steps: float, *, sample_rate: int) -> Any:
    """Shift every frequency by the ratio ``2 ** (n_steps / 12)``, keeping the duration.

    The classic construction (Laroche & Dolson, "New phase-vocoder techniques for
    pitch-shifting", WASPAA 1999): stretch the duration by ``r = 2 ** (n_steps / 12)`` with
    the pitch kept, then resample by ``1 / r`` (polyphase, Kaiser-windowed FIR,
    :func:`scipy.signal.resample_poly`) so that the duration returns to ``n`` and every
    frequency is multiplied by ``r``. ``r`` is approximated by a fraction ``p / q`` with
    ``q <= 1000`` (relative error below ``1e-6``). On pure tones this lands within 0.002 % of
    the target frequency, where the stretch engine's own transposition is off by up to 0.35 %.

    Parameters
    ----------
    samples : numpy.ndarray or torch.Tensor
        ``(n,)``, ``(channels, n)`` or ``(batch, channels, n)``, floating dtype.
    n_steps : float
        Shift in equal-tempered semitones, in ``[-24, 24]``; ``0`` returns an unchanged copy.
    sample_rate : int
        Sampling rate in Hz.
    """
    arr = _as_numpy(samples)
    n_steps, sample_rate = _finite("n_steps", n_steps), _check_rate(sample_rate)
    if not -24.0 <= n_steps <= 24.0:
        raise ValueError(f"n_steps must be in [-24, 24] semitones, got {n_steps}")
    if n_steps == 0.0:
        return _like(arr.copy(), samples)
    from scipy.signal import resample_poly

    ratio = Fraction(2.0 ** (n_steps / 12.0)).limit_denominator(1000)
    longer = _stretch(arr, sample_rate, lambda e: e.setTimeFactor(1 / float(ratio)))
    out = resample_poly(longer.astype(np.float64), ratio.denominator, ratio.numerator, axis=-1)
    n = arr.shape[-1]
    if out.shape[-1] < n:  # rounding of the stretched length: pad the last sample or two
        out = np.concatenate([out, np.zeros((*out.shape[:-1], n - out.shape[-1]))], axis=-1)
    return _like(out[..., :n], samples)


def snr_db(signal: Any, noisy: Any) -> np.ndarray:
    """Measured SNR ``10 log10(sum s^2 / sum (y - s)^2)`` in dB, per signal (last axis)."""
    s = _as_numpy(signal, "signal").astype(np.float64)
    y = _as_numpy(noisy, "noisy").astype(np.float64)
    if s.shape != y.shape:
        raise ValueError(f"signal and noisy must have the same shape, got {s.shape} and {y.shape}")
    return 10 * np.log10((s**2).sum(-1) / ((y - s) ** 2).sum(-1))


def add_noise(
    samples: Any,
    snr: float,
    *,
    noise: Any = None,
    seed: int | np.random.Generator | None = None,
) -> Any:
    """Add noise scaled so that the signal-to-noise ratio is exactly ``snr`` dB.

    With signal ``s`` and noise draw ``e`` (white Gaussian unless ``noise`` is given), the
    output is ``s + c e`` with ``c^2 = sum s^2 / (10^(snr/10) sum e^2)``, computed per signal
    along the last axis, so ``10 log10(sum s^2 / sum (c e)^2) = snr`` up to rounding (the
    realised noise power is used, not its expectation).

    Parameters
    ----------
    samples : numpy.ndarray or torch.Tensor
        ``(n,)``, ``(channels, n)`` or ``(batch, channels, n)``, floating dtype.
    snr : float
        Target signal-to-noise ratio in dB; must be finite.
    noise : array or tensor, optional
        Noise to mix in (same shape as ``samples``), e.g. a recorded background.
    seed : int or numpy.random.Generator, optional
        Randomness of the Gaussian noise.
    """
    arr = _as_numpy(samples).astype(np.float64)
    snr = _finite("snr", snr)
    if noise is None:
        e = np.random.default_rng(seed).standard_normal(arr.shape)
    else:
        e = _as_numpy(noise, "noise").astype(np.float64)
        if e.shape != arr.shape:
            raise ValueError(f"noise has shape {e.shape}, samples has shape {arr.shape}")
    p_signal = (arr**2).sum(-1, keepdims=True)
    p_noise = (e**2).sum(-1, keepdims=True)
    if (p_signal == 0).any():
        raise ValueError("samples contains a silent signal (zero power): its SNR is undefined")
    if (p_noise == 0).any():
        raise ValueError("noise contains a silent signal (zero power): it cannot reach an SNR")
    scale = np.sqrt(p_signal / (10 ** (snr / 10) * p_noise))
    return _like(arr + scale * e, samples)


def gain(samples: Any, db: float) -> Any:
    """Scale the amplitude by ``10 ** (db / 20)`` (power by ``10 ** (db / 10)``)."""
    arr = _as_numpy(samples)
    db = _finite("db", db)
    if db == 0.0:
        return _like(arr.copy(), samples)
    return _like(arr.astype(np.float64) * 10 ** (db / 20), samples)
