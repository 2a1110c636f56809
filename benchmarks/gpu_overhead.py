"""Training-step overhead of reglab.torch's regularizers on a ViT, beside timm's and torch's.

Each row times a full training step (mixing, forward, loss, backward, optimizer step) with
one regularizer on and divides it by the plain step of the same model on the same device.
Variants are interleaved over ``--rounds`` rounds and each ratio is the median over rounds,
which keeps slow drifts of a shared machine out of the ratios.

Defaults: a ViT-S/16-sized model (dim 384, depth 12, 6 heads, 224x224 images, batch 256)
under bf16 autocast on CUDA. ``--quick`` shrinks everything so the script can be checked on
a CPU in seconds. timm rows are skipped when timm is not importable.

    python benchmarks/gpu_overhead.py                  # on the GPU machine (< 4 min on an H200)
    python benchmarks/gpu_overhead.py --device cpu --quick
    python benchmarks/gpu_overhead.py --compile --sync-check          # compiled, no host sync
    python benchmarks/gpu_overhead.py --compile reduce-overhead       # CUDA graphs
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import reglab.torch as rt  # noqa: E402

# --------------------------------------------------------------------------- peers (optional)


def _load_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_timm():
    """timm's DropPath and Mixup, or None. ``import timm`` needs torchvision (which will not
    import beside every torch build), so the two modules are loaded from their files: they
    need only torch and numpy."""
    spec = importlib.util.find_spec("timm")
    if spec is None:
        print("# timm not installed: skipping the timm rows")
        return None, None
    root = Path(spec.origin).parent
    found = []
    for rel, attr in (("layers/drop.py", "DropPath"), ("data/mixup.py", "Mixup")):
        try:
            found.append(getattr(_load_file(f"_timm_{attr.lower()}", root / rel), attr))
        except Exception as exc:  # noqa: BLE001 - any failure means "skip this timm row"
            print(f"# timm {attr} not loadable ({type(exc).__name__}: {exc}): skipping it")
            found.append(None)
    return tuple(found)


# --------------------------------------------------------------------------- model


class Block(nn.Module):
    def __init__(self, dim, heads, drop_path, dropout, path_cls, dropout_cls, fused):
        super().__init__()
        self.heads = heads
        # reglab's DropPath can take the residual stream and fuse the addition
        self.fused = fused and drop_path > 0
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.drop = dropout_cls(dropout) if dropout > 0 else nn.Identity()
        self.path1 = path_cls(drop_path) if drop_path > 0 else nn.Identity()
        self.path2 = path_cls(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
        a = self.proj(a)
        x = self.path1(a, x) if self.fused else x + self.path1(a)
        h = self.fc2(self.drop(F.gelu(self.fc1(self.norm2(x)))))
        return self.path2(h, x) if self.fused else x + self.path2(h)


class ViT(nn.Module):
    def __init__(self, image, patch, dim, depth, heads, classes, drop_path=0.0, dropout=0.0,
                 path_cls=rt.DropPath, dropout_cls=rt.Dropout, fused=True):  # fmt: skip
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, stride=patch)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        rates = rt.drop_path_rates(depth, drop_path)
        self.blocks = nn.ModuleList(
            Block(dim, heads, r, dropout, path_cls, dropout_cls, fused) for r in rates
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x[:, 0]))


# --------------------------------------------------------------------------- variants


def make_variants(args, device, timm_droppath, timm_mixup):
    """name -> (peer, build) where build() returns a step function."""
    cfg = dict(image=args.image, patch=args.patch, dim=args.dim, depth=args.depth,
               heads=args.heads, classes=args.classes)  # fmt: skip
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(args.batch, 3, args.image, args.image, device=device, generator=gen)
    y = torch.randint(0, args.classes, (args.batch,), device=device, generator=gen)
    amp = dict(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp)

    def model_of(**kw):
        torch.manual_seed(0)
        model = ViT(**cfg, **kw).to(device)
        if args.compile:
            # the compiled model, for every row alike (the plain row included): the ratios
            # are compiled overheads over the compiled plain step
            mode = None if args.compile == "default" else args.compile
            model = torch.compile(model, mode=mode)
        return model

    def plain_step(model, opt, mix=None, loss_fn=F.cross_entropy):
        def step():
            xb, tb = mix(x, y) if mix is not None else (x, y)
            with torch.autocast(**amp):
                loss = loss_fn(model(xb), tb)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return step

    def adamw(model):
        return torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    def simple(**model_kw):
        def build():
            m = model_of(**model_kw)
            return plain_step(m, adamw(m))

        return build

    def with_loss(loss_fn):
        def build():
            m = model_of()
            return plain_step(m, adamw(m), loss_fn=loss_fn)

        return build

    def reglab_mix(mode):
        mixer = rt.MixUpCutMix(0.8, 1.0, mode=mode, label_smoothing=0.1,
                               num_classes=args.classes)  # fmt: skip
        mgen = torch.Generator().manual_seed(1)  # per-sample draws are made on the CPU

        def build():
            m = model_of()
            return plain_step(m, adamw(m), mix=lambda a, b: mixer(a, b, generator=mgen),
                              loss_fn=rt.soft_target_cross_entropy)  # fmt: skip

        return build

    def timm_mix(mode):
        mixer = timm_mixup(mixup_alpha=0.8, cutmix_alpha=1.0, mode=mode, label_smoothing=0.1,
                           num_classes=args.classes)  # fmt: skip

        def build():
            m = model_of()
            # timm's Mixup mutates its input in place: give it a fresh copy, as a loader would
            return plain_step(m, adamw(m), mix=lambda a, b: mixer(a.clone(), b),
                              loss_fn=rt.soft_target_cross_entropy)  # fmt: skip

        return build

    def copy_only():
        def build():
            m = model_of()
            return plain_step(m, adamw(m), mix=lambda a, b: (a.clone(), b))

        return build

    def sam(cls, **kw):
        def build():
            m = model_of()
            opt = cls(m.parameters(), torch.optim.AdamW, rho=0.05, lr=1e-4, weight_decay=0.05,
                      **kw)  # fmt: skip

            def closure():
                with torch.autocast(**amp):
                    loss = F.cross_entropy(m(x), y)
                loss.backward()
                return loss

            def step():
                with torch.autocast(**amp):
                    loss = F.cross_entropy(m(x), y)
                loss.backward()
                opt.step(closure)
                opt.zero_grad(set_to_none=True)

            return step

        return build

    dp = args.drop_path
    device_gen = torch.Generator(device=device).manual_seed(2)
    v = {
        "plain": ("-", simple()),
        f"DropPath {dp} (ramp)": ("reglab", simple(drop_path=dp)),
        f"DropPath {dp} unfused": ("reglab", simple(drop_path=dp, fused=False)),
        "Dropout 0.1 (MLP)": ("reglab", simple(dropout=0.1)),
        "Dropout 0.1 (MLP) device gen": ("reglab", simple(
            dropout=0.1, dropout_cls=lambda r: rt.Dropout(r, generator=device_gen))),
        "Dropout 0.1 (MLP) ": ("torch", simple(dropout=0.1, dropout_cls=nn.Dropout)),
        "label smoothing 0.1": ("reglab", with_loss(
            lambda z, t: rt.label_smoothing_cross_entropy(z, t, 0.1))),
        "label smoothing 0.1 ": ("torch", with_loss(
            lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1))),
    }  # fmt: skip
    v[f"DropPath {dp} device draws"] = (
        "reglab",  # the generator on the GPU: broadcast per-sample factor in one addcmul
        simple(drop_path=dp, path_cls=lambda r: rt.DropPath(r, generator=device_gen)),
    )
    if timm_droppath is not None:
        v[f"DropPath {dp} (ramp) "] = (
            "timm",
            simple(drop_path=dp, path_cls=timm_droppath, fused=False),
        )
    for mode in ("batch", "pair", "elem"):
        v[f"MixUp/CutMix {mode}"] = ("reglab", reglab_mix(mode))
        if timm_mixup is not None:
            v[f"MixUp/CutMix {mode} "] = ("timm", timm_mix(mode))
    if timm_mixup is not None:
        v["(input copy, for timm)"] = ("-", copy_only())
    v["SAM rho=0.05"] = ("reglab", sam(rt.SAM))
    v["LookSAM k=5 (efficient)"] = ("reglab", sam(rt.LookSAM))
    v["SAM every 5 steps"] = ("reglab", sam(rt.SAM, interval=5))

    def regularized(watched):
        # the DeiT-style set-up with and without reglab.torch.audit's watcher (its hooks on
        # the dropout modules, the loss module and the optimizer step); target <= 1.02x
        def build():
            m = model_of(drop_path=dp, dropout=0.1)
            opt = torch.optim.AdamW(rt.weight_decay_param_groups(m, 0.05), lr=1e-4)
            crit = nn.CrossEntropyLoss()
            if watched:
                from reglab.torch.audit import watch

                watch(m, opt, loss=crit).attach()
            return plain_step(m, opt, loss_fn=crit)

        return build

    v["DropPath + Dropout, not watched"] = ("-", regularized(False))
    v["DropPath + Dropout, audit watcher"] = ("reglab", regularized(True))
    return v


def check(device):
    """Correctness on the benchmark's device (CUDA generators, exactness) before timing."""
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(64, 3, 32, 32, device=device, generator=g) + 1
    y = torch.randint(0, 10, (64,), device=device, generator=g)
    # dropout: torch's own x / 0.7 (on CUDA a multiplication by the float32 reciprocal);
    # drop_path divides by a tensor: the true quotient x / fl32(keep)
    keep = torch.tensor(0.7, device=device)
    for dtype in (torch.float32, torch.bfloat16):
        xd = x.to(dtype, copy=True).requires_grad_(True)
        for gd in (g, None):  # None on CUDA: torch's fused kernel
            out = rt.dropout(xd, 0.3, generator=gd)
            kept = out != 0
            assert torch.equal(out[kept], xd.div(0.7)[kept]), f"dropout kept values ({gd})"
            assert 0.6 < kept.float().mean().item() < 0.8, "dropout keep rate"
            (gx,) = torch.autograd.grad(out.float().sum(), xd)
            assert torch.equal(gx != 0, kept), "dropout gradient mask"
        xd = xd.detach()
    # a generator on the device: its own stream, reproducible, the default one untouched
    default_state = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    first = rt.dropout(x, 0.3, generator=torch.Generator(device=device).manual_seed(5))
    gd = torch.Generator(device=device).manual_seed(5)
    assert torch.equal(first, rt.dropout(x, 0.3, generator=gd)), "dropout reproducible"
    assert not torch.equal(first, rt.dropout(x, 0.3, generator=gd)), "dropout generator advanced"
    if default_state is not None:
        assert torch.equal(default_state, torch.cuda.get_rng_state(device)), "default RNG used"
        out = rt.drop_path(xd, 0.3, generator=g)  # device draws: a float32 divisor
        kept = out != 0
        assert torch.equal(out[kept], (xd.float() / keep).to(dtype)[kept]), "drop_path kept values"
        out = rt.drop_path(xd, 0.3)  # host draws: torch's x / keep and a fill of the dropped rows
        kept = out != 0
        assert torch.equal(out[kept], xd.div(0.7)[kept]), "drop_path kept values (host draws)"
    # fused DropPath: host draws (default) and device draws compute the unfused sum
    res = torch.rand(64, 50, 16, device=device, generator=g)
    for dtype in (torch.float32, torch.bfloat16):
        br = torch.rand(64, 50, 16, device=device, generator=g).to(dtype).requires_grad_(True)
        for gen_fused, gen_ref in (
            (torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)),
            (torch.Generator(device=device).manual_seed(3),
             torch.Generator(device=device).manual_seed(3)),
        ):  # fmt: skip
            out = rt.drop_path(br, 0.3, residual=res, generator=gen_fused)
            ref = res + rt.drop_path(br.float(), 0.3, generator=gen_ref)
            assert torch.allclose(out, ref, rtol=1e-6, atol=0), "fused drop_path value"
            (gb,) = torch.autograd.grad(out.sum(), br)
            dropped = (out == res).all(2).all(1)
            assert bool(dropped.any()) and bool((~dropped).any()), "fused drop_path mask"
            assert bool((gb[dropped] == 0).all()), "fused drop_path: dropped rows' gradient"
            want = torch.tensor(1 / 0.7, device=device).to(dtype)
            assert bool((gb[~dropped] == want).all()), "fused drop_path: kept rows' gradient"
    out = rt.drop_path(br, 1.0, residual=res)
    assert torch.equal(out, res), "fused drop_path p=1"
    cpu_gen = torch.Generator().manual_seed(0)
    for mode in ("batch", "pair", "elem"):
        xm, soft, lam = rt.cutmix(
            x, y, num_classes=10, mode=mode, generator=cpu_gen, return_lam=True
        )
        partner = x.flip(0) if mode == "pair" else x.roll(1, 0)
        pasted = ((xm == partner) & (xm != x))[:, 0].double().mean((1, 2))
        ok = (pasted - (1 - lam)).abs() < 1e-12
        if mode == "pair" and x.shape[0] % 2:
            ok[x.shape[0] // 2] = True
        assert bool(ok.all()), f"cutmix {mode}: pasted fraction"
        assert torch.allclose(soft.sum(1), torch.ones_like(soft[:, 0])), "rows sum to 1"
        mixer = rt.MixUpCutMix(0.8, 1.0, mode=mode, num_classes=10)
        xm, soft = mixer(x.to(memory_format=torch.channels_last), y, generator=cpu_gen)
        assert xm.is_contiguous(memory_format=torch.channels_last), "channels_last"
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    model = model.to(device)
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, model=model)
    xs = torch.randn(32, 8, device=device)
    ys = torch.randint(0, 2, (32,), device=device)
    with torch.autocast(device.type, dtype=torch.bfloat16):
        F.cross_entropy(model(xs), ys).backward()

    def closure():
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = F.cross_entropy(model(xs), ys)
        loss.backward()
        return loss

    opt.step(closure)
    assert model[1].num_batches_tracked.item() == 1, "SAM bn_mode='first'"
    print(f"# checks passed on {device}")


def kernels(args, device):
    """The residual sum of one ViT block alone, forward and backward-like kernels, in
    microseconds (CUDA events, median of 50): where DropPath's overhead comes from."""
    shape = (args.batch, (args.image // args.patch) ** 2 + 1, args.dim)
    r = torch.randn(shape, device=device)
    x = torch.randn(shape, device=device, dtype=torch.bfloat16)
    m = torch.rand(shape[0], 1, 1, device=device).add_(0.5)
    rows = torch.randperm(shape[0], device=device)[: shape[0] // 20]
    out_bf16 = torch.empty_like(x)
    cases = {
        "plain r + x": lambda: r + x,
        "addcmul(r, x, m[B,1,1])": lambda: torch.addcmul(r, x, m),
        "add(r, x, alpha) + copy 5% rows": lambda: torch.add(r, x, alpha=1.1).index_copy_(
            0, rows, r.index_select(0, rows)),
        "bwd plain: g.to(bf16)": lambda: r.to(torch.bfloat16),
        "bwd mul(g, m[B,1,1]) -> bf16": lambda: torch.mul(r, m, out=out_bf16),
        "bwd mul(g, s) -> bf16 + fill rows": lambda: torch.mul(r, 1.1, out=out_bf16).index_fill_(
            0, rows, 0),
    }  # fmt: skip
    print(f"# residual-sum kernels on {tuple(shape)} (float32 stream, bfloat16 branch)")
    for name, fn in cases.items():
        for _ in range(5):
            fn()
        ts = []
        for _ in range(50):
            if device.type != "cuda":  # a dry run of the script on the CPU
                t0 = time.perf_counter()
                fn()
                ts.append((time.perf_counter() - t0) * 1e6)
                continue
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ts.append(a.elapsed_time(b) * 1e3)
        print(f"{name:<36} {statistics.median(ts):8.1f} us")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step, n, device):
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync(device)
    return (time.perf_counter() - t0) / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--image", type=int, default=224)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--heads", type=int, default=6)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--drop-path", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=10, help="timed steps per variant and round")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-amp", dest="amp", action="store_false", help="disable bf16 autocast")
    p.add_argument("--only", default="", help="comma-separated substrings of rows to run")
    p.add_argument("--check", action="store_true", help="run correctness checks first")
    p.add_argument("--kernels", action="store_true", help="time the residual-sum kernels alone")
    p.add_argument(
        "--compile",
        nargs="?",
        const="default",
        default=None,
        choices=["default", "reduce-overhead", "max-autotune"],
        help="torch.compile every model (mode 'reduce-overhead' uses CUDA graphs)",
    )
    p.add_argument(
        "--sync-check",
        action="store_true",
        help="after warm-up, run one step of every row under "
        "torch.cuda.set_sync_debug_mode('error'): a host-device sync inside a step fails",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.image, args.patch, args.dim = 8, 32, 8, 64
        args.depth, args.heads, args.classes, args.steps, args.rounds = 2, 2, 10, 2, 1
        args.warmup = 1
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if args.check:
        check(device)
    if args.kernels:
        kernels(args, device)
    timm_droppath, timm_mixup = load_timm()
    variants = make_variants(args, device, timm_droppath, timm_mixup)
    if args.only:
        keys = [k.strip() for k in args.only.split(",")]
        variants = {n: v for n, v in variants.items() if n == "plain" or any(k in n for k in keys)}
    steps = {}
    for name, (_, build) in variants.items():
        steps[name] = build()
        for _ in range(args.warmup):
            steps[name]()
    if args.sync_check and device.type == "cuda":
        synced = []
        for name, step in steps.items():
            torch.cuda.set_sync_debug_mode("error")
            try:
                step()
            except RuntimeError as exc:
                synced.append(f"{name.strip()}: {str(exc).splitlines()[0]}")
            finally:
                torch.cuda.set_sync_debug_mode("default")
        print(
            "# sync check: "
            + ("no host-device sync in any step" if not synced else "; ".join(synced))
        )
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, step in steps.items():
            times[name].append(time_steps(step, args.steps, device))
    base = times["plain"]
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"# device: {dev}; torch {torch.__version__}; batch {args.batch}, image {args.image}, "
          f"patch {args.patch}, dim {args.dim}, depth {args.depth}, heads {args.heads}, "
          f"autocast bf16: {args.amp}; compile: {args.compile or 'no'}; "
          f"median of {args.rounds} rounds x {args.steps} steps")  # fmt: skip
    print(f"# plain step: {statistics.median(base) * 1e3:.1f} ms")
    print(f"{'regularizer':<28} {'impl':<7} {'step ms':>9} {'ratio':>7}")
    for name, (peer, _) in variants.items():
        ratio = statistics.median(t / b for t, b in zip(times[name], base))
        ms = statistics.median(times[name]) * 1e3
        print(f"{name.strip():<28} {peer:<7} {ms:>9.1f} {ratio:>6.3f}x")


if __name__ == "__main__":
    main()
