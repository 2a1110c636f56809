"""Image pipeline: shapes, exact invariants on constructed images, replayable randomness."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("kornia")

from reglab.augment import image as im  # noqa: E402

pytestmark = pytest.mark.torch

# Every transform at its default (random) setting and at its identity setting.
RANDOM = {
    "hflip": lambda: im.HorizontalFlip(p=0.5),
    "vflip": lambda: im.VerticalFlip(p=0.5),
    "rotation": lambda: im.Rotation(30),
    "translation": lambda: im.Translation(0.2),
    "crop": lambda: im.RandomResizedCrop(scale=(0.3, 1.0)),
    "jitter": lambda: im.ColorJitter(0.3, 0.3, 0.3, 0.1),
}
IDENTITY = {
    "hflip": lambda: im.HorizontalFlip(p=0.0),
    "vflip": lambda: im.VerticalFlip(p=0.0),
    "rotation": lambda: im.Rotation((0.0, 0.0)),
    "translation": lambda: im.Translation(0.0),
    "crop": lambda: im.RandomResizedCrop(p=0.0),
    "jitter": lambda: im.ColorJitter(0.0, 0.0, 0.0, 0.0),
}
DTYPES = [torch.float32, torch.float64, torch.float16]
# The exact invariants are checked on every device present (CUDA where a GPU is).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def batch(b=5, c=3, h=12, w=12, dtype=torch.float32, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, c, h, w, generator=g, dtype=torch.float64).to(device, dtype)


def gradient(h=6, w=9):
    # Distinct values everywhere, so any misplaced pixel is caught.
    return torch.arange(h * w, dtype=torch.float64).reshape(1, 1, h, w) / (h * w)


@pytest.mark.parametrize("name", sorted(RANDOM))
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("policy", ["per_sample", "per_batch"])
@pytest.mark.parametrize("device", DEVICES)
def test_shape_dtype_label_preserved(name, dtype, policy, device):
    x, y = batch(dtype=dtype, device=device), torch.arange(5)
    out = im.Pipeline([RANDOM[name]()], policy=policy)(x, y, seed=1)
    assert out.images.shape == x.shape and out.images.dtype == dtype
    assert out.images.device == x.device
    assert out.labels is y
    assert torch.isfinite(out.images).all()


@pytest.mark.parametrize("name", sorted(IDENTITY))
@pytest.mark.parametrize("device", DEVICES)
def test_identity_parameters_give_input_back(name, device):
    x = batch(device=device)
    out = im.Pipeline([IDENTITY[name]()])(x, seed=3)
    assert torch.equal(out.images, x)


def test_full_area_unit_ratio_crop_of_square_image_is_identity():
    x = batch(h=10, w=10)
    out = im.Pipeline([im.RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))])(x, seed=0)
    assert torch.equal(out.params[0]["box"], torch.tensor([[0.0, 0.0, 9.0, 9.0]] * 5).double())
    assert torch.equal(out.images, x)


def test_full_identity_pipeline_rectangular():
    x = batch(h=7, w=11)
    out = im.Pipeline([f() for f in IDENTITY.values()])(x, seed=0)
    assert torch.equal(out.images, x)


@pytest.mark.parametrize("policy", ["per_sample", "per_batch"])
@pytest.mark.parametrize("device", DEVICES)
def test_seed_and_generator_reproduce_exactly(policy, device):
    pipe = im.Pipeline([f() for f in RANDOM.values()], policy=policy)
    x = batch(b=8, device=device)
    a = pipe(x, seed=42)
    b = pipe(x, generator=torch.Generator().manual_seed(42))
    assert torch.equal(a.images, b.images)
    for pa, pb in zip(a.params, b.params):
        assert pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)
    c = pipe(x, seed=43)
    assert not torch.equal(a.images, c.images)
    # Replaying the returned parameters reproduces the output bit for bit.
    assert torch.equal(pipe.apply(x, a.params), a.images)


def test_per_batch_shares_parameters_and_per_sample_does_not():
    pipe = im.Pipeline([im.Rotation(45), im.ColorJitter(0.4, 0.4, 0.4, 0.1)], policy="per_batch")
    x = batch(b=6)
    out = pipe(x[:1].repeat(6, 1, 1, 1), seed=0)
    assert all(torch.equal(out.images[0], out.images[i]) for i in range(6))
    per = im.Pipeline(pipe.transforms, policy="per_sample")(x[:1].repeat(6, 1, 1, 1), seed=0)
    assert len({float(a) for a in per.params[0]["angle"]}) == 6


@pytest.mark.parametrize("device", DEVICES)
def test_horizontal_flip_of_gradient_is_its_mirror(device):
    x = gradient().to(device)
    out = im.Pipeline([im.HorizontalFlip(p=1.0)])(x, seed=0)
    mirror = x[..., torch.arange(x.shape[-1] - 1, -1, -1, device=device)]
    assert torch.equal(out.images, mirror)
    # Constructed pixel by pixel: out[i, j] = x[i, W - 1 - j].
    w = x.shape[-1]
    assert all(out.images[0, 0, i, j] == x[0, 0, i, w - 1 - j] for i in range(6) for j in range(w))
    vout = im.Pipeline([im.VerticalFlip(p=1.0)])(x, seed=0)
    assert torch.equal(vout.images, x.flip(-2))


@pytest.mark.parametrize("k", [1, 2, 3, -1])
@pytest.mark.parametrize("device", DEVICES)
def test_quarter_rotation_of_square_image_is_exact(k, device):
    x = batch(b=3, h=9, w=9, dtype=torch.float64, device=device)
    out = im.Pipeline([im.Rotation((90.0 * k, 90.0 * k))])(x, seed=0)
    assert torch.equal(out.images, torch.rot90(x, k, dims=(-2, -1)))


def test_quarter_rotation_agrees_with_bilinear_warp():
    # The exact path and kornia's warp implement the same (counter-clockwise) convention.
    x = batch(b=2, h=9, w=9, dtype=torch.float64)
    warped = im.Rotation().apply(x, {"angle": torch.full((2,), 90.0 + 1e-9)})
    assert torch.allclose(warped, torch.rot90(x, 1, dims=(-2, -1)), atol=1e-6)


def test_integer_translation_shifts_pixels():
    x = gradient(8, 8)
    params = [{"shift": torch.tensor([[2.0, 1.0]], dtype=torch.float64)}]
    out = im.Pipeline([im.Translation(0.5)]).apply(x, params)
    assert torch.allclose(out[..., 1:, 2:], x[..., :-1, :-2], atol=1e-6)
    # Zero fill where nothing was shifted in (bilinear weights leave ~1e-17 residue).
    assert out[..., :1, :].abs().max() < 1e-12 and out[..., :, :2].abs().max() < 1e-12


def test_crop_box_of_integer_half_upsamples_that_region():
    x = gradient(8, 8)
    # Box of the left half (x in [0, 3], all rows), resized to 8x8: column 0 and 7 are
    # the box's first and last columns (kornia's align_corners=True corner convention).
    params = [{"box": torch.tensor([[0.0, 0.0, 3.0, 7.0]], dtype=torch.float64)}]
    out = im.Pipeline([im.RandomResizedCrop()]).apply(x, params)
    assert torch.allclose(out[..., 0], x[..., 0], atol=1e-6)
    assert torch.allclose(out[..., -1], x[..., 3], atol=1e-6)


def test_crop_boxes_respect_scale_and_ratio():
    t = im.RandomResizedCrop(scale=(0.25, 0.5), ratio=(0.5, 2.0))
    box = t.sample(200, 32, 32, torch.Generator().manual_seed(0))["box"]
    w, h = box[:, 2] - box[:, 0] + 1, box[:, 3] - box[:, 1] + 1
    assert (box[:, 0] >= 0).all() and (box[:, 2] <= 31).all() and (box[:, 3] <= 31).all()
    area = w * h / 32**2
    # Rounding the side lengths moves the area by at most about one row and one column.
    assert (area >= 0.25 - 2 / 32).all() and (area <= 0.5 + 2 / 32).all()


def test_brightness_and_saturation_definitions():
    x = batch(b=2) * 0.5
    params = [
        {
            "brightness": torch.tensor([1.5, 1.0], dtype=torch.float64),
            "contrast": torch.ones(2, dtype=torch.float64),
            "saturation": torch.tensor([1.0, 0.0], dtype=torch.float64),
            "hue": torch.zeros(2, dtype=torch.float64),
        }
    ]
    out = im.Pipeline([im.ColorJitter()]).apply(x, params)
    assert torch.allclose(out[0], x[0] * 1.5)
    grey = (x[1] * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0)
    assert torch.allclose(out[1], grey.expand(3, -1, -1), atol=1e-6)


def test_works_on_the_batch_device_and_keeps_input_untouched():
    x = batch()
    before = x.clone()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    pipe = im.Pipeline([f() for f in RANDOM.values()])
    out = pipe(x.to(dev), seed=5)
    assert out.images.device.type == dev
    assert torch.equal(x, before)
    assert torch.allclose(out.images.cpu(), pipe(x, seed=5).images, atol=1e-5)


@pytest.mark.parametrize(
    ("images", "exc", "match"),
    [
        (torch.rand(3, 8, 8), ValueError, "rank 4"),
        (torch.rand(0, 3, 8, 8), ValueError, "empty batch"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), TypeError, "floating dtype"),
        ([[1.0]], TypeError, "torch.Tensor"),
    ],
)
def test_bad_images(images, exc, match):
    with pytest.raises(exc, match=match):
        im.Pipeline([im.HorizontalFlip()])(images, seed=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="policy"):
        im.Pipeline([], policy="sometimes")
    with pytest.raises(TypeError, match="Transform"):
        im.Pipeline([lambda x: x])
    with pytest.raises(ValueError, match="p must be"):
        im.HorizontalFlip(p=1.5)
    with pytest.raises(ValueError, match="scale"):
        im.RandomResizedCrop(scale=(0.9, 0.1))
    with pytest.raises(ValueError, match="labels has length 3"):
        im.Pipeline([im.HorizontalFlip()])(batch(), [0, 1, 2], seed=0)
    with pytest.raises(ValueError, match="C=3"):
        im.Pipeline([im.ColorJitter(saturation=0.5)])(batch(c=1), seed=0)
    with pytest.raises(ValueError, match="either generator or seed"):
        im.Pipeline([])(batch(), seed=0, generator=torch.Generator())
    pipe = im.Pipeline([im.HorizontalFlip()])
    with pytest.raises(ValueError, match="batch of 5, images has 2"):
        pipe.apply(batch(b=2), pipe(batch(), seed=0).params)
