"""reglab.torch.audit: each finding code fires on its mistake and stays silent on the fix;
findings render as a table, HTML and JSON and can be silenced; the CLI runs a script under
the watcher; the Lightning callback (when lightning installs) watches a fit."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab  # noqa: E402
import reglab.torch as rt  # noqa: E402
from reglab.torch.audit import CODES, Finding, Findings, audit, watch  # noqa: E402

X = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
Y = torch.randint(0, 3, (64,), generator=torch.Generator().manual_seed(1))


def mlp(bn: bool = False, p: float = 0.3) -> nn.Module:
    torch.manual_seed(0)
    layers = [nn.Linear(8, 32)] + ([nn.BatchNorm1d(32)] if bn else [])
    return nn.Sequential(*layers, nn.ReLU(), nn.Dropout(p), nn.Linear(32, 3))


def adamw(model, wd=0.05):
    return torch.optim.AdamW(rt.weight_decay_param_groups(model, wd), lr=1e-2)


def train(model, opt, crit, epochs=1, steps=3, validate=True, eval_mode=True):
    for _ in range(epochs):
        model.train()
        for _ in range(steps):
            opt.zero_grad()
            crit(model(X), Y).backward()
            opt.step()
        if validate:
            if eval_mode:
                model.eval()
            with torch.no_grad():
                crit(model(X), Y)


# -- static codes -----------------------------------------------------------------------------
def _static_cases():
    m = mlp()
    yield (
        "RA101",
        lambda: audit(m, torch.optim.SGD(m.parameters(), lr=0.1, weight_decay=1e-4)),
        (lambda: audit(m, torch.optim.SGD(rt.weight_decay_param_groups(m, 1e-4), lr=0.1))),
    )
    yield (
        "RA102",
        lambda: audit(m, torch.optim.Adam(rt.weight_decay_param_groups(m, 1e-2))),
        (lambda: audit(m, adamw(m))),
    )
    mix = rt.MixUpCutMix(num_classes=3, mixup_alpha=0.8)
    yield (
        "RA103",
        lambda: audit(m, adamw(m), loss=nn.CrossEntropyLoss(label_smoothing=0.1), mixing=mix),
        (lambda: audit(m, adamw(m), loss=nn.CrossEntropyLoss(), mixing=mix)),
    )

    def blocks(rates):
        return nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), rt.DropPath(r)) for r in rates])

    flat, ramp = blocks([0.1] * 6), blocks(rt.drop_path_rates(6, 0.1))
    yield "RA104", lambda: audit(flat, adamw(flat)), lambda: audit(ramp, adamw(ramp))
    yield (
        "RA105",
        lambda: audit(m, adamw(m), early_stopping=reglab.EarlyStopping(patience=3)),
        (
            lambda: audit(
                m,
                adamw(m),
                early_stopping=reglab.EarlyStopping(patience=3, on_improvement=lambda: None),
            )
        ),
    )
    b = mlp(bn=True)

    def sam(mode):
        return rt.SAM(b.parameters(), torch.optim.SGD, model=b, bn_mode=mode, lr=0.1)

    yield "RA106", lambda: audit(b, sam("both")), lambda: audit(b, sam("first"))
    before = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
    after = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.5))
    yield "RA107", lambda: audit(before), lambda: audit(after)

    class RandomCrop:
        def __call__(self, x):
            return x

    class Compose:
        def __init__(self, transforms):
            self.transforms = transforms

    class Data:
        def __init__(self, transform):
            self.transform = transform

    yield (
        "RA108",
        lambda: audit(m, val_data=Data(Compose([RandomCrop()]))),
        (lambda: audit(m, val_data=Data(Compose([])))),
    )


STATIC = list(_static_cases())


@pytest.mark.parametrize("code, faulty, fixed", STATIC, ids=[c[0] for c in STATIC])
def test_static_code_fires_on_the_mistake_only(code, faulty, fixed):
    assert code in faulty().codes
    assert code not in fixed().codes


# -- dynamic codes ----------------------------------------------------------------------------
def test_ra201_train_mode_evaluation():
    m = mlp()
    opt = adamw(m)
    crit = nn.CrossEntropyLoss()
    with watch(m, opt, loss=crit) as found:
        train(m, opt, crit, eval_mode=False)
    assert "RA201" in found.codes
    m = mlp()
    opt = adamw(m)
    with watch(m, opt, loss=crit) as found:
        train(m, opt, crit, eval_mode=True)
    assert "RA201" not in found.codes


def test_ra202_same_batch_twice_per_step_with_batchnorm():
    m = mlp(bn=True)
    opt = adamw(m)
    crit = nn.CrossEntropyLoss()
    with watch(m, opt, loss=crit) as found:
        for _ in range(2):  # two passes on one batch, one step: what two-pass SAM does
            opt.zero_grad()
            crit(m(X), Y).backward()
            crit(m(X), Y).backward()
            opt.step()
    assert "RA202" in found.codes
    assert found[found.codes.index("RA202")].numbers["passes"] == 2
    with watch(m, opt, loss=crit) as found:
        train(m, opt, crit)
    assert "RA202" not in found.codes


def test_ra204_effective_learning_rate_collapse_without_decay():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 3))
    opt = torch.optim.SGD(m.parameters(), lr=5.0)  # no decay on a scale-invariant weight
    crit = nn.CrossEntropyLoss()
    with watch(m, opt, loss=crit, norm_every=5, lr_collapse=3.0) as found:
        train(m, opt, crit, epochs=1, steps=40, validate=False)
    assert "RA204" in found.codes
    assert found[found.codes.index("RA204")].numbers["growth"] >= 3.0


def test_ra205_ra206_ra207_overfitting_run_and_restored_run():
    torch.manual_seed(0)
    x_val = torch.randn(256, 8)
    y_val = torch.randint(0, 3, (256,))
    m = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 3))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    crit = nn.CrossEntropyLoss()
    with watch(m, opt, loss=crit) as found:
        for _ in range(25):
            m.train()
            for _ in range(10):
                opt.zero_grad()
                crit(m(X), Y).backward()
                opt.step()
            m.eval()
            with torch.no_grad():
                crit(m(x_val), y_val)
    assert {"RA205", "RA206", "RA207"} <= set(found.codes)
    h = found.history
    assert len(h) == 25 and h[-1]["gap"] > h[0]["gap"]
    # the same run restoring its best weights has no RA206
    torch.manual_seed(0)
    m2 = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 3))
    opt2 = torch.optim.Adam(m2.parameters(), lr=1e-2)
    best = rt.BestWeights(m2)
    stopper = reglab.EarlyStopping(patience=3, on_improvement=best.save)
    with watch(m2, opt2, loss=crit, early_stopping=stopper) as found2, best:
        for _ in range(25):
            m2.train()
            for _ in range(10):
                opt2.zero_grad()
                crit(m2(X), Y).backward()
                opt2.step()
            m2.eval()
            with torch.no_grad():
                val = float(crit(m2(x_val), y_val))
            if stopper.step(val):
                break
    assert "RA206" not in found2.codes
    assert "RA105" not in found2.codes


# -- Findings --------------------------------------------------------------------------------
def test_findings_render_and_silence():
    f = Findings([Finding("RA101", "param_groups[0]", "wd on 2 biases", {"weight_decay": 0.1})])
    f.add(Finding("RA107", "0.1", "Dropout feeds BatchNorm"))
    assert not f.add(Finding("RA101", "param_groups[0]", "again"))  # deduplicated
    text = str(f)
    assert "RA101" in text and "weight_decay_param_groups" in text and "2 findings" in text
    rows = json.loads(f.to_json())
    assert [r["code"] for r in rows] == ["RA101", "RA107"]
    assert rows[0]["claim"] == CODES["RA101"].claim and rows[0]["numbers"]["weight_decay"] == 0.1
    page = f.to_html()
    assert page.count('class="card"') == 2 and "<style>" in page
    quiet = f.silence("RA107")
    assert quiet.codes == ["RA101"] and quiet.silenced == 1 and "1 silenced" in str(quiet)
    assert [x.code for x in f.at_least("warning")] == ["RA101"]
    with pytest.raises(ValueError, match="RA999"):
        Findings(ignore=["RA999"])
    with pytest.raises(ValueError, match="code='RA999'"):
        Finding("RA999", "x", "y")


def test_every_code_is_documented_and_links_a_registered_claim():
    from reglab.lab import registry

    claims = registry()
    for code in CODES.values():
        assert code.severity in ("info", "warning", "error")
        assert code.why.endswith(".") and code.fix.strip()
        assert code.claim in claims, f"{code.code} links unknown claim {code.claim!r}"


def test_bad_arguments_are_refused():
    m = mlp()
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        audit("model")
    with pytest.raises(TypeError, match="optimizer must be"):
        audit(m, "sgd")
    with pytest.raises(ValueError, match="norm_every"):
        watch(m, adamw(m), norm_every=0)
    with pytest.raises(ValueError, match="ece_threshold"):
        watch(m, adamw(m), ece_threshold=float("nan"))


def test_static_audit_of_a_100_layer_model_is_fast():
    model = nn.Sequential(*[nn.Sequential(nn.Linear(16, 16), nn.LayerNorm(16)) for _ in range(100)])
    opt = adamw(model)
    audit(model, opt)  # warm-up (imports)
    start = time.perf_counter()
    audit(model, opt)
    # not a benchmark: a loose bound that only a quadratic scan would break
    assert time.perf_counter() - start < 2.0


def test_cli_runs_a_script_under_the_watcher(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import torch
            from torch import nn
            epochs = int(sys.argv[sys.argv.index("--epochs") + 1])
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
            opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
            crit = nn.CrossEntropyLoss()
            x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
            for _ in range(epochs):
                opt.zero_grad(); crit(model(x), y).backward(); opt.step()
                with torch.no_grad():
                    crit(model(x), y)
            print("epochs", epochs)
            """
        )
    )
    out = tmp_path / "findings.json"
    proc = subprocess.run(
        [sys.executable, "-m", "reglab.lab.cli", "audit", str(script), "--json", str(out), "--",
         "--epochs", "2"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "epochs 2" in proc.stdout and "RA201" in proc.stdout
    assert {r["code"] for r in json.loads(out.read_text())} >= {"RA101", "RA102", "RA201"}
    quiet = subprocess.run(
        [sys.executable, "-m", "reglab.lab.cli", "audit", str(script), "--ignore", "RA101",
         "--ignore", "RA102", "--ignore", "RA201", "--", "--epochs", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "reglab.lab.cli", "audit", str(tmp_path / "nope.py")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert missing.returncode == 2 and "nope.py" in missing.stderr


# Lightning's own warnings (its pytree use under this torch, the data-loader worker hint)
@pytest.mark.filterwarnings("ignore:.*treespec.*:FutureWarning")
@pytest.mark.filterwarnings("ignore:.*does not have many workers.*")
@pytest.mark.filterwarnings("ignore:.*smaller than the logging interval.*")
def test_lightning_callback_watches_a_fit(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    from reglab.torch.audit import lightning_callback

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = mlp()
            self.criterion = nn.CrossEntropyLoss()

        def training_step(self, batch, _):
            x, y = batch
            return self.criterion(self.net(x), y)

        def validation_step(self, batch, _):
            self.train()  # the mistake: training mode inside validation
            x, y = batch
            self.criterion(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-2, weight_decay=1e-3)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=16)
    callback = lightning_callback()
    trainer = pl.Trainer(
        max_epochs=1, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(Module(), data, data)
    assert {"RA101", "RA102", "RA201"} <= set(callback.findings.codes)
