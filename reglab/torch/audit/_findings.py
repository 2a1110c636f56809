"""Findings of the regularization audit: codes, severities, and how they are shown.

Each mistake the audit can find has a stable code (``RA1xx``: seen by the static check of a
set-up; ``RA2xx``: seen only while it trains), a default severity, the sentence saying why it
matters, the fix as code, and the lab claim that measures what the mistake costs. A
:class:`Finding` is one occurrence: the code, where (module path, parameter group), and what
was seen, in numbers. :class:`Findings` collects them and prints as a table, renders to HTML
(in the lab report's style) and JSON, and silences codes on request.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources

__all__ = ["CODES", "Code", "Finding", "Findings", "SEVERITIES"]

#: Severities from least to most serious.
SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Code:
    """A kind of mistake: what it is called, how serious, why, the fix, the lab claim."""

    code: str
    name: str
    severity: str
    why: str
    fix: str
    claim: str


def _codes(*codes: Code) -> dict[str, Code]:
    return {c.code: c for c in codes}


CODES: dict[str, Code] = _codes(
    Code(
        "RA101",
        "decay-on-bias-or-norm",
        "warning",
        "Weight decay on biases and normalisation weights pulls shifts and scales toward zero "
        "without reducing capacity; it only hurts (the DeiT/timm and BERT recipes exclude them).",
        "groups = reglab.torch.weight_decay_param_groups(model, weight_decay=WD)\n"
        "optimizer = torch.optim.AdamW(groups, lr=LR)",
        "weight-decay-vs-l2",
    ),
    Code(
        "RA102",
        "adam-coupled-l2",
        "warning",
        "Adam's weight_decay adds an L2 gradient that the adaptive preconditioner rescales, so "
        "weights with large gradients are barely decayed; AdamW decouples the decay "
        "(Loshchilov & Hutter, 2019).",
        "optimizer = torch.optim.AdamW(groups, lr=LR, weight_decay=WD)",
        "adamw-vs-adam-l2",
    ),
    Code(
        "RA103",
        "label-smoothing-on-mixed-targets",
        "warning",
        "MixUp/CutMix targets are already soft; smoothing them again in the loss pushes every "
        "prediction further toward uniform (under-confidence).",
        "criterion = torch.nn.CrossEntropyLoss()  # label_smoothing only in MixUpCutMix",
        "mixup-calibration",
    ),
    Code(
        "RA104",
        "flat-drop-path",
        "warning",
        "Stochastic depth drops early blocks as often as late ones at one flat rate; the depth "
        "ramp (0 at the first block, p at the last; Huang et al. 2016, DeiT) keeps the low-level "
        "features the rest of the network needs.",
        "rates = reglab.torch.drop_path_rates(depth, max_rate=P)\n"
        "blocks = [Block(..., drop_path=r) for r in rates]",
        "dropout-variants-in-use",
    ),
    Code(
        "RA105",
        "early-stopping-without-restore",
        "warning",
        "Early stopping that never restores the best weights keeps the last `patience` epochs "
        "of over-fitting: the model returned is not the one the validation metric chose.",
        "best = reglab.torch.BestWeights(model)\n"
        "stopper = reglab.EarlyStopping(patience=P, on_improvement=best.save)\n"
        "with best:  # restores the best weights on exit\n    ...",
        "early-stopping-restore-best",
    ),
    Code(
        "RA106",
        "sam-batchnorm-twice",
        "warning",
        "SAM's second forward pass updates the BatchNorm running statistics a second time, on "
        "perturbed weights, so the statistics used at evaluation drift from the real ones.",
        "optimizer = reglab.torch.SAM(model.parameters(), torch.optim.SGD, model=model, "
        "bn_mode='first', lr=LR)",
        "sam-flatter-minima",
    ),
    Code(
        "RA107",
        "dropout-before-batchnorm",
        "info",
        "Dropout right before BatchNorm shifts the variance BatchNorm sees between training and "
        "evaluation (Li et al., CVPR 2019, 'variance shift'); put dropout after the last "
        "BatchNorm.",
        "nn.Sequential(..., nn.BatchNorm1d(d), nn.ReLU(), nn.Dropout(p), nn.Linear(d, k))",
        "dropout-inference-scaling",
    ),
    Code(
        "RA108",
        "augmented-validation",
        "warning",
        "Random augmentation on the validation data makes the validation metric noisy and "
        "biased, and the epoch it selects arbitrary; validate on the un-augmented data.",
        "val_set = Dataset(..., transform=deterministic_preprocessing)",
        "augmentation-enforces-invariance",
    ),
    Code(
        "RA201",
        "train-mode-evaluation",
        "error",
        "Dropout or BatchNorm was in training mode during an evaluation forward (gradients off): "
        "predictions are random and BatchNorm uses batch statistics, and updates its running "
        "ones, on validation data. model.eval() was forgotten.",
        "model.eval()\nwith torch.no_grad():\n    ...  # evaluate\nmodel.train()",
        "dropout-forgot-eval",
    ),
    Code(
        "RA202",
        "batchnorm-updated-twice",
        "warning",
        "The same batch went through the model in training mode more than once per optimizer "
        "step (as SAM's two passes do), so the BatchNorm running statistics were updated twice.",
        "optimizer = reglab.torch.SAM(model.parameters(), torch.optim.SGD, model=model, "
        "bn_mode='first', lr=LR)",
        "sam-flatter-minima",
    ),
    Code(
        "RA204",
        "effective-lr-collapse",
        "warning",
        "Weights followed by BatchNorm are scale-invariant: their effective learning rate is "
        "lr / ||w||^2. Without weight decay their norm grows and the effective rate decays "
        "toward zero (van Laarhoven 2017; Zhang et al. ICLR 2019).",
        "groups = reglab.torch.weight_decay_param_groups(model, weight_decay=WD)",
        "weight-decay-vs-l2",
    ),
    Code(
        "RA205",
        "growing-generalisation-gap",
        "warning",
        "The validation loss rose while the training loss kept falling, over consecutive "
        "validations: the model is over-fitting; stop early or regularise more.",
        "stopper = reglab.EarlyStopping(patience=P, on_improvement=best.save)",
        "early-stopping-patience",
    ),
    Code(
        "RA206",
        "best-epoch-not-restored",
        "warning",
        "Training ended with weights worse on validation than an earlier epoch's, and that "
        "epoch's weights were not restored.",
        "with reglab.torch.BestWeights(model) as best:\n    ...  # best.save() on improvement",
        "early-stopping-restore-best",
    ),
    Code(
        "RA207",
        "overconfident-validation",
        "info",
        "The validation expected calibration error is high and the model over-confident "
        "(confidence above accuracy); label smoothing, MixUp or temperature scaling help.",
        "criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)",
        "label-smoothing-bounded-logits",
    ),
)


@dataclass(frozen=True)
class Finding:
    """One occurrence of a mistake."""

    code: str
    where: str
    seen: str
    numbers: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"code={self.code!r} is not a known finding code")

    @property
    def kind(self) -> Code:
        return CODES[self.code]

    @property
    def severity(self) -> str:
        return self.kind.severity

    def to_dict(self) -> dict:
        c = self.kind
        return {
            **asdict(self),
            "name": c.name,
            "severity": c.severity,
            "why": c.why,
            "fix": c.fix,
            "claim": c.claim,
        }


class Findings:
    """The findings of an audit or a watched run, in the order they were seen.

    Parameters
    ----------
    findings : iterable of Finding
    ignore : iterable of str
        Codes to silence (``"RA107"``); silenced findings are counted but not listed.
    """

    def __init__(self, findings: Iterable[Finding] = (), *, ignore: Iterable[str] = ()):
        if isinstance(ignore, str):
            ignore = [ignore]
        self.ignored = frozenset(ignore)
        unknown = sorted(self.ignored - set(CODES))
        if unknown:
            raise ValueError(f"ignore={unknown} names unknown codes; known: {', '.join(CODES)}")
        self._all: list[Finding] = []
        self._keys: set[tuple[str, str]] = set()
        #: per validation of a watched run: losses, ECE, gap (filled by the watcher)
        self.history: list[dict[str, float]] = []
        #: time.perf_counter() when each finding was recorded (time to first finding)
        self.seen_at: list[float] = []
        for f in findings:
            self.add(f)

    def add(self, finding: Finding) -> bool:
        """Record ``finding`` unless the same code was already found at the same place."""
        key = (finding.code, finding.where)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._all.append(finding)
        self.seen_at.append(time.perf_counter())
        return True

    def silence(self, *codes: str) -> Findings:
        """A copy with ``codes`` silenced as well."""
        return Findings(self._all, ignore=self.ignored | set(codes))

    @property
    def silenced(self) -> int:
        return sum(f.code in self.ignored for f in self._all)

    def __iter__(self) -> Iterator[Finding]:
        return (f for f in self._all if f.code not in self.ignored)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, i: int) -> Finding:
        return list(self)[i]

    @property
    def codes(self) -> list[str]:
        """The codes found, in order, each once."""
        return list(dict.fromkeys(f.code for f in self))

    def at_least(self, severity: str) -> list[Finding]:
        """The findings of ``severity`` or worse."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity={severity!r} must be one of {SEVERITIES}")
        rank = SEVERITIES.index(severity)
        return [f for f in self if SEVERITIES.index(f.severity) >= rank]

    # -- rendering ------------------------------------------------------------------------
    def __str__(self) -> str:
        rows = list(self)
        if not rows:
            tail = f" ({self.silenced} silenced)" if self.silenced else ""
            return f"reglab audit: no findings{tail}"
        head = ("code", "severity", "where", "seen")
        table = [head] + [(f.code, f.severity, f.where, f.seen) for f in rows]
        widths = [min(max(len(r[i]) for r in table), cap) for i, cap in enumerate((5, 8, 32, 70))]
        lines = []
        for r in table:
            cells = [_clip(r[i], widths[i]).ljust(widths[i]) for i in range(4)]
            lines.append("  ".join(cells).rstrip())
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append("")
        for code in self.codes:
            c = CODES[code]
            lines.append(f"{code} {c.name}: {c.why}")
            lines.append("    fix: " + c.fix.replace("\n", "\n         "))
            lines.append(f"    measured by the lab claim: reglab show {c.claim}")
        counts = {s: len([f for f in rows if f.severity == s]) for s in SEVERITIES}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        tail = f"; {self.silenced} silenced" if self.silenced else ""
        lines.append(f"reglab audit: {len(rows)} findings ({summary}{tail})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Findings {len(self)}: {', '.join(self.codes) or 'none'}>"

    def to_json(self, **kwargs) -> str:
        """The findings (silenced ones left out) as a JSON list of objects."""
        return json.dumps([f.to_dict() for f in self], **kwargs)

    def to_html(self, title: str = "reglab audit") -> str:
        """A standalone HTML page in the lab report's style."""
        css = (
            resources.files("reglab.lab.report")
            .joinpath("templates/report.css")
            .read_text(encoding="utf-8")
        )
        esc = html.escape
        cards = []
        for f in self:
            c = f.kind
            badge = {"error": "FAIL", "warning": "CONDITIONAL", "info": "INCONCLUSIVE"}[c.severity]
            cards.append(
                f'<article class="card" data-code="{esc(f.code)}"><h4><span class="cid">'
                f"{esc(f.code)}</span> {esc(c.name)}"
                f'<span class="badge badge-{badge}">{esc(c.severity)}</span></h4>'
                f"<p><b>where</b> <code>{esc(f.where)}</code></p>"
                f"<p><b>seen</b> {esc(f.seen)}</p><p>{esc(c.why)}</p>"
                f"<pre><code>{esc(c.fix)}</code></pre>"
                f"<p>Measured by the lab claim <code>{esc(c.claim)}</code>.</p></article>"
            )
        body = "".join(cards) or "<p>No findings.</p>"
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{css}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><p>{len(self)} findings</p></header>"
            f"<main>{body}</main></body></html>"
        )


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
