"""Waveform augmentation: time stretch, pitch shift, noise at a target SNR, gain.

Signals are arrays whose last axis is time: ``(n,)`` mono, ``(channels, n)``, or
``(batch, channels, n)``. NumPy arrays and torch tensors are accepted and the same type, dtype
and device come back. Time stretching and pitch shifting (Ko et al., "Audio Augmentation for
Speech Recognition", Interspeech 2015) use the Signalsmith Stretch engine that audiomentations
runs (package ``python_stretch``): it is as accurate as librosa's phase vocoder here and does
not spend 7-30 s compiling numba kernels on first use; pitch shifting stretches and then
resamples, which puts the frequencies where they belong. Noise and gain are written out, so that
the SNR is exact and the randomness comes from an explicit ``seed``.

Determinism: the stretch engine randomises its phase initialisation; it is built with the
call's ``seed`` (default 0), so the same input and seed give the same output bit for bit.

Bounds: gains and SNRs are limited to +-120 dB. Beyond that one of the two quantities being
mixed or scaled lies below the resolution of the other (float32 resolves about 144 dB, 2^-24
in amplitude), so the result is no longer a meaningful augmentation, and at a few hundred dB
(float64: about 3000 dB) it is no longer finite: ``gain(x, 1000)`` used to return inf.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reglab.augment._validation import check_int, check_real, check_seed

__all__ = ["time_stretch", "pitch_shift", "pitch_ratio", "add_noise", "gain", "snr_db"]


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


#: largest |gain| and |SNR| in dB (see the module docstring)
MAX_DB = 120.0
#: sampling rates accepted, in Hz: 768 kHz is the highest rate audio interfaces offer; below
#: 1 kHz the engine's analysis block would hold only a few samples
SAMPLE_RATES = (1000, 768_000)


def _check_rate(sample_rate: int) -> int:
    return check_int(sample_rate, "sample_rate", low=SAMPLE_RATES[0], high=SAMPLE_RATES[1])


def _check_out(out: np.ndarray, name: str, value: float) -> np.ndarray:
    # the argument bounds keep ordinary audio finite; a signal already near the float limit
    # could still overflow, and that must be an error, never inf in the output
    if not np.isfinite(out).all():
        raise ValueError(
            f"{name}={value!r} makes the output overflow (non-finite samples); lower |{name}|"
        )
    return out


def _stretch(arr: np.ndarray, sample_rate: int, time_factor: float, seed: int) -> np.ndarray:
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
        # the engine draws random initial phases: seeded, a call is reproducible
        engine = python_stretch.Signalsmith.Stretch(seed)
        engine.preset(item.shape[0], sample_rate)
        if time_factor < 1.0:
            # Slowing down repeats every analysed frame 1/rate times. The preset's block
            # (~0.12 s) and 4x overlap then smear a low tone into noise (at rate 0.25 a
            # 100 Hz sine kept ~1 % of its energy at 100 Hz); a ~0.25 s block (frequency
            # resolution ~4 Hz) with 16x overlap keeps it a coherent tone (> 99 %).
            block = 2 ** round(math.log2(0.25 * sample_rate))
            engine.configure(item.shape[0], block, block // 16)
        engine.setTimeFactor(time_factor)
        outs.append(engine.process(item))
    out = np.stack(outs)
    return out.reshape(*arr.shape[:-1], out.shape[-1])


def _resample(x: np.ndarray, ratio: float, n_out: int) -> np.ndarray:
    """Band-limited values of ``x`` at the exact positions ``k * ratio``, k = 0..n_out-1.

    Kaiser-windowed sinc interpolation (beta = 8.6, about 90 dB stop band; 16 zero crossings
    each side); when ``ratio > 1`` (decimation) the sinc's cut-off is lowered to
    ``0.97 / ratio`` of Nyquist so that nothing aliases. Unlike a polyphase resampler, which
    needs the ratio as a fraction p / q and a filter of ~20 max(p, q) taps, this takes the
    ratio as a float: the positions are exact to float64 rounding.
    """
    half, beta = 16, 8.6
    fc = 1.0 if ratio <= 1.0 else 0.97 / ratio
    width = int(math.ceil(half / fc))
    taps = np.arange(-width + 1, width + 1)
    m = x.shape[-1]
    pad = [(0, 0)] * (x.ndim - 1) + [(width, width + 1)]
    xp = np.pad(x, pad)
    out = np.empty((*x.shape[:-1], n_out))
    chunk = max(1, 2**18 // taps.size)
    for start in range(0, n_out, chunk):
        stop = min(start + chunk, n_out)
        t = np.arange(start, stop) * ratio
        idx = np.floor(t).astype(np.int64)[:, None] + taps[None, :]
        d = t[:, None] - idx
        w = fc * np.sinc(fc * d) * np.i0(beta * np.sqrt(np.clip(1 - (d / width) ** 2, 0, None)))
        w /= np.i0(beta)
        gathered = xp[..., np.clip(idx + width, 0, m + 2 * width)]
        out[..., start:stop] = np.einsum("...ct,ct->...c", gathered, w)
    return out


def pitch_ratio(n_steps: float) -> float:
    """The frequency ratio ``2 ** (n_steps / 12)`` that :func:`pitch_shift` applies."""
    n_steps = check_real(n_steps, "n_steps", low=-24.0, high=24.0)
    return 2.0 ** (n_steps / 12.0)


def time_stretch(samples: Any, rate: float, *, sample_rate: int, seed: int = 0) -> Any:
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
        Sampling rate in Hz (sets the analysis block size), in [1000, 768000].
    seed : int, default=0
        Seed of the stretch engine's random phase initialisation: the same input and seed
        give the same output.
    """
    arr = _as_numpy(samples)
    rate = check_real(rate, "rate", low=0.1, high=10.0)
    sample_rate, seed = _check_rate(sample_rate), _check_engine_seed(seed)
    if rate == 1.0:
        return _like(arr.copy(), samples)
    return _like(_stretch(arr, sample_rate, rate, seed), samples)


def _check_engine_seed(seed: Any) -> int:
    seed = check_seed(seed, allow_generator=False)
    if seed is None:
        raise TypeError("seed must be a non-negative int (the stretch engine is always seeded)")
    if seed >= 2**32:
        raise ValueError(f"seed must be < 2**32 (the engine's seed is 32-bit), got seed={seed}")
    return seed


def pitch_shift(samples: Any, n_steps: float, *, sample_rate: int, seed: int = 0) -> Any:
    """Shift every frequency by the ratio ``2 ** (n_steps / 12)``, keeping the duration.

    The classic construction (Laroche & Dolson, "New phase-vocoder techniques for
    pitch-shifting", WASPAA 1999): stretch the duration by ``r = 2 ** (n_steps / 12)`` with
    the pitch kept, then resample by ``1 / r`` (polyphase, Kaiser-windowed FIR,
    Kaiser-windowed sinc interpolation at the exact positions ``k r``) so that the duration
    returns to ``n`` and every frequency is multiplied by ``r``. The ratio is used as the float
    :func:`pitch_ratio` returns, not a rational approximation, so its relative error is float64
    rounding (below ``1e-15``; the former ``p / q`` with ``q <= 1000`` missed ``1e-6`` on 46 % of
    a 0.01-semitone grid: 0.01 semitones became 1001/1000, 1.73 cents). On pure tones the
    output lands within 0.002 % of the target frequency, where the stretch engine's own
    transposition is off by up to 0.35 %.

    Parameters
    ----------
    samples : numpy.ndarray or torch.Tensor
        ``(n,)``, ``(channels, n)`` or ``(batch, channels, n)``, floating dtype.
    n_steps : float
        Shift in equal-tempered semitones, in ``[-24, 24]``; ``0`` returns an unchanged copy.
    sample_rate : int
        Sampling rate in Hz, in [1000, 768000].
    seed : int, default=0
        Seed of the stretch engine (same input and seed, same output).
    """
    arr = _as_numpy(samples)
    ratio = pitch_ratio(n_steps)
    sample_rate, seed = _check_rate(sample_rate), _check_engine_seed(seed)
    if ratio == 1.0:
        return _like(arr.copy(), samples)
    longer = _stretch(arr, sample_rate, 1.0 / ratio, seed)
    out = _resample(longer.astype(np.float64), ratio, arr.shape[-1])
    return _like(out, samples)


def snr_db(signal: Any, noisy: Any) -> np.ndarray:
    """Measured SNR ``10 log10(sum s^2 / sum (y - s)^2)`` in dB, per signal (last axis).

    ``inf`` where ``noisy`` equals ``signal`` (no noise at all); a silent ``signal`` is
    refused, its SNR being -inf or undefined.
    """
    s = _as_numpy(signal, "signal").astype(np.float64)
    y = _as_numpy(noisy, "noisy").astype(np.float64)
    if s.shape != y.shape:
        raise ValueError(f"signal and noisy must have the same shape, got {s.shape} and {y.shape}")
    p_signal, p_noise = (s**2).sum(-1), ((y - s) ** 2).sum(-1)
    if (p_signal == 0).any():
        raise ValueError("signal contains a silent signal (zero power): its SNR is undefined")
    with np.errstate(divide="ignore"):
        return 10 * np.log10(p_signal / p_noise)


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
        Target signal-to-noise ratio in dB, in [-120, 120] (see the module docstring).
    noise : array or tensor, optional
        Noise to mix in (same shape as ``samples``), e.g. a recorded background.
    seed : int or numpy.random.Generator, optional
        Randomness of the Gaussian noise.
    """
    arr = _as_numpy(samples).astype(np.float64)
    snr = check_real(snr, "snr", low=-MAX_DB, high=MAX_DB)
    seed = check_seed(seed)
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
    with np.errstate(over="ignore", invalid="ignore"):
        out = _check_out(arr + scale * e, "snr", snr)
        return _like(_check_out(out.astype(_dtype(samples)), "snr", snr), samples)


def _dtype(samples: Any) -> Any:
    # NumPy dtype with the output's range (bfloat16 has float32's exponent range)
    if isinstance(samples, np.ndarray):
        return samples.dtype
    name = str(samples.dtype).rsplit(".", 1)[-1]
    return {"float16": np.float16, "float64": np.float64}.get(name, np.float32)


def gain(samples: Any, db: float) -> Any:
    """Scale the amplitude by ``10 ** (db / 20)`` (power by ``10 ** (db / 10)``).

    Parameters
    ----------
    samples : numpy.ndarray or torch.Tensor
    db : float
        Gain in dB, in [-120, 120] (see the module docstring for the bound).
    """
    arr = _as_numpy(samples)
    db = check_real(db, "db", low=-MAX_DB, high=MAX_DB)
    if db == 0.0:
        return _like(arr.copy(), samples)
    with np.errstate(over="ignore"):
        out = (arr.astype(np.float64) * 10 ** (db / 20)).astype(_dtype(samples))
    return _like(_check_out(out, "db", db), samples)
