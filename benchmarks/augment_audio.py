"""reglab.augment.audio vs audiomentations on a 10 s, 16 kHz tone (one CPU thread)."""

import time

import audiomentations as A
import numpy as np

from reglab.augment import audio

sr = 16000
t = np.arange(10 * sr) / sr
x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def best(f, reps=5):
    f()
    out = []
    for _ in range(reps):
        s = time.perf_counter()
        f()
        out.append(time.perf_counter() - s)
    return min(out) * 1e3


def peak(y):
    w = np.hanning(len(y))
    Y = np.abs(np.fft.rfft(y * w))
    k = int(np.argmax(Y))
    a, b, c = np.log(Y[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / len(y)


rows = []
ts_l = A.TimeStretch(
    min_rate=1.25,
    max_rate=1.25,
    p=1.0,
    leave_length_unchanged=False,
    method="librosa_phase_vocoder",
)
ts_s = A.TimeStretch(
    min_rate=1.25, max_rate=1.25, p=1.0, leave_length_unchanged=False, method="signalsmith_stretch"
)
ps_l = A.PitchShift(min_semitones=3, max_semitones=3, p=1.0, method="librosa_phase_vocoder")
ps_s = A.PitchShift(min_semitones=3, max_semitones=3, p=1.0, method="signalsmith_stretch")
snr = A.AddGaussianSNR(min_snr_db=10.0, max_snr_db=10.0, p=1.0)
t0 = time.perf_counter()
ts_l(x, sample_rate=sr)
first = time.perf_counter() - t0
rows.append(
    (
        "time_stretch 1.25",
        best(lambda: audio.time_stretch(x, 1.25, sample_rate=sr)),
        best(lambda: ts_s(x, sample_rate=sr)),
        best(lambda: ts_l(x, sample_rate=sr)),
    )
)
rows.append(
    (
        "pitch_shift +3",
        best(lambda: audio.pitch_shift(x, 3.0, sample_rate=sr)),
        best(lambda: ps_s(x, sample_rate=sr)),
        best(lambda: ps_l(x, sample_rate=sr)),
    )
)
rows.append(
    (
        "add_noise 10 dB",
        best(lambda: audio.add_noise(x, 10.0, seed=0)),
        best(lambda: snr(x, sample_rate=sr)),
        float("nan"),
    )
)
print(
    "| op (10 s mono, 16 kHz) | reglab ms | audiomentations signalsmith ms | audiomentations librosa ms |"
)
print("|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} |")
print(f"first librosa phase-vocoder call in this process (numba compile): {first:.1f} s")
y = audio.pitch_shift(x, 3.0, sample_rate=sr)
yl = ps_l(x, sample_rate=sr)
want = 440 * 2**0.25
print(
    f"pitch +3 dominant frequency error: reglab {abs(peak(y) / want - 1) * 100:.3f}%  audiomentations-librosa {abs(peak(yl) / want - 1) * 100:.3f}%"
)
errs_ours = [abs(audio.snr_db(x, audio.add_noise(x, 10.0, seed=s)) - 10) for s in range(20)]
np.random.seed(0)  # noqa: NPY002 - audiomentations draws from the global generator
errs_am = [abs(audio.snr_db(x, snr(x, sample_rate=sr)) - 10) for s in range(20)]
print(
    f"|SNR error| max over 20 draws, 10 s: reglab {max(errs_ours):.2e} dB, audiomentations AddGaussianSNR {max(errs_am):.2e} dB"
)
