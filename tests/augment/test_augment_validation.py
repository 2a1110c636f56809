"""Issues 13 and 14 for reglab.augment: exact pitch ratio, determinism, bounds, checked input."""

import numpy as np
import pytest

from reglab.augment import audio

SR = 16000


def tone(freq=440.0, seconds=1.0, sr=SR):
    return np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)


def phase_frequency(y, sr=SR):
    """Frequency of a pure tone from the slope of its analytic signal's phase (middle half).

    Far more precise than a spectral peak: a 1 s tone gives ~1e-7 relative accuracy.
    """
    from scipy.signal import hilbert

    y = np.asarray(y, dtype=np.float64)
    y = y[len(y) // 4 : -len(y) // 4]
    phase = np.unwrap(np.angle(hilbert(y)))
    return np.polyfit(np.arange(len(y)), phase, 1)[0] * sr / (2 * np.pi)


def test_pitch_ratio_exact_over_a_0_01_semitone_grid():
    grid = np.arange(-2400, 2401) / 100
    ratios = np.array([audio.pitch_ratio(s) for s in grid])
    rel = np.abs(ratios / 2.0 ** (grid / 12) - 1)
    assert rel.max() < 1e-6
    assert audio.pitch_ratio(0.01) != 1001 / 1000  # the old rational approximation


@pytest.mark.parametrize("ratio", [2 ** (0.01 / 12), 2 ** (-0.01 / 12), 0.25, 1.7, 4.0])
def test_resampler_reads_the_signal_at_exact_positions(ratio):
    # a band-limited tone resampled by r becomes the tone at frequency f * r (the old
    # rational ratio was off by 4e-4 at 0.01 semitones; the phase fit resolves ~1e-6)
    f = 300.0 if ratio > 1 else 1000.0
    y = audio._resample(tone(f, seconds=2.0), ratio, int(2 * SR / max(ratio, 1)) - 64)
    assert phase_frequency(y) == pytest.approx(f * ratio, rel=1e-5)


@pytest.mark.parametrize("n_steps", [0.01, -0.01, 7.77, -13.37, 19.0, 24.0, -24.0])
def test_pitch_shift_frequency_within_0_002_percent(n_steps):
    y = audio.pitch_shift(tone(), n_steps, sample_rate=SR)
    assert len(y) == SR
    assert phase_frequency(y) == pytest.approx(440.0 * 2 ** (n_steps / 12), rel=2e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda x, seed: audio.time_stretch(x, 0.25, sample_rate=SR, seed=seed),
        lambda x, seed: audio.pitch_shift(x, 19.0, sample_rate=SR, seed=seed),
    ],
)
def test_same_input_and_seed_same_output(call):
    x = tone(seconds=0.5) + 0.1 * np.random.default_rng(0).standard_normal(SR // 2)
    a, b = call(x, 3), call(x, 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(call(x, 0), call(x, 0))


@pytest.mark.parametrize("freq", [100.0, 440.0, 1000.0])
def test_slow_stretch_keeps_a_coherent_tone(freq):
    y = audio.time_stretch(tone(freq), 0.25, sample_rate=SR)
    assert len(y) == 4 * SR
    power = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    near = (f > 0.99 * freq) & (f < 1.01 * freq)
    assert power[near].sum() / power.sum() > 0.95


def test_gain_and_snr_bounded_and_finite():
    x = tone(seconds=0.1).astype(np.float32)
    with pytest.raises(
        ValueError, match=r"db must be finite and in \[-120.0, 120.0\], got db=1000"
    ):
        audio.gain(x, 1000)
    with pytest.raises(ValueError, match="snr must be finite and in"):
        audio.add_noise(x, -4000, seed=0)
    for db in (-120, 120):
        assert np.isfinite(audio.gain(x, db)).all()
    for snr in (-120, 120):
        y = audio.add_noise(x, snr, seed=0)
        assert np.isfinite(y).all()
        assert audio.snr_db(x.astype(np.float64), y.astype(np.float64)) == pytest.approx(
            snr, abs=0.01
        )
    # a signal already near the float32 limit: an error naming db, never inf
    with pytest.raises(ValueError, match="db=60.0 makes the output overflow"):
        audio.gain(np.full(8, 1e36, dtype=np.float32), 60)


def test_audio_scalars_refuse_bools_and_strings():
    x = tone(seconds=0.1)
    with pytest.raises(TypeError, match="db must be a real number"):
        audio.gain(x, "6")
    with pytest.raises(TypeError, match="sample_rate must be an integer"):
        audio.time_stretch(x, 1.5, sample_rate=True)
    with pytest.raises(TypeError, match="seed must be"):
        audio.add_noise(x, 10.0, seed="0")


torch = pytest.importorskip("torch")
pytest.importorskip("kornia")
from reglab.augment import image as im  # noqa: E402


def test_rotation_string_refused():
    with pytest.raises(TypeError, match="degrees must be a number or a .* got the string '15'"):
        im.Rotation(degrees="15")
    with pytest.raises(TypeError, match="degrees must be a real number"):
        im.Rotation(degrees=True)
    with pytest.raises(ValueError, match="degrees must be finite"):
        im.Rotation(degrees=float("nan"))
    assert im.Rotation(degrees=15).degrees == (-15.0, 15.0)
    with pytest.raises(TypeError, match="p must be a real number"):
        im.HorizontalFlip(p="0.5")
    with pytest.raises(ValueError, match="brightness must be finite"):
        im.ColorJitter(brightness=float("nan"))


TRANSFORMS = [
    im.HorizontalFlip(),
    im.VerticalFlip(),
    im.Rotation(),
    im.Translation(),
    im.RandomResizedCrop(),
    im.ColorJitter(),
]


@pytest.mark.parametrize("t", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_parameter_names_documented_and_sampled(t):
    params = t.sample(3, 8, 8, torch.Generator().manual_seed(0))
    assert tuple(params) == t.param_names
    doc = type(t).__doc__
    marker = "The parameters sampled per image"  # the docstring's Notes section lists them
    assert marker in doc
    for name in t.param_names:
        assert name in doc.split(marker)[1]


def test_pipeline_apply_refuses_unknown_and_missing_keys():
    pipe = im.Pipeline([im.Rotation(10)])
    x = torch.rand(2, 3, 8, 8)
    params = pipe.sample(2, 8, 8, seed=0)
    with pytest.raises(ValueError, match=r"params\[0\] has unknown keys \['angel'\]"):
        pipe.apply(x, [{"angel": params[0]["angle"]}])
    with pytest.raises(ValueError, match=r"params\[0\] lacks keys \['angle'\]"):
        pipe.apply(x, [{}])
    with pytest.raises(ValueError, match=r"params\[0\]\['angle'\] contains NaN"):
        pipe.apply(x, [{"angle": torch.full((2,), float("nan"), dtype=torch.float64)}])
    torch.testing.assert_close(pipe.apply(x, params), pipe(x, seed=0).images)


def test_string_for_bool_refused():
    from reglab.augment import invariance_gap, text

    with pytest.raises(TypeError, match="eval_mode must be True or False"):
        invariance_gap(torch.nn.Linear(3, 2), lambda x: x, torch.rand(4, 3), eval_mode="no")
    with pytest.raises(TypeError, match="mask_token must be a str"):
        text.word_dropout("a b c", 0.5, mask_token=0, seed=0)
    with pytest.raises(TypeError, match="p must be a real number"):
        text.word_dropout("a b c", "0.5", seed=0)


def test_invariance_gap_names_bad_data():
    from reglab.augment import invariance_gap

    model = torch.nn.Linear(3, 2)
    x = torch.rand(4, 3)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match="data contains NaN or inf"):
        invariance_gap(model, lambda v: v, x)
    with pytest.raises(ValueError, match=r"model failed on a batch of data of shape \(4, 5\)"):
        invariance_gap(model, lambda v: v, torch.rand(4, 5))


def test_text_counts_and_stopwords_checked():
    from reglab.augment import text

    with pytest.raises(ValueError, match=r"n_swaps must be an integer in \[0, 1000000\]"):
        text.random_swap("a b c", 10**12, seed=0)
    with pytest.raises(TypeError, match="stopwords must be a set of str"):
        text.synonym_replacement("a b", 1, seed=0, wordnet=object(), stopwords=None)


def test_load_wordnet_path_type_checked():
    from reglab.augment.text import load_wordnet

    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got nan"):
        load_wordnet(float("nan"))
