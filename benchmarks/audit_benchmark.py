"""Evaluate reglab.torch.audit on the seeded-fault corpus (``benchmarks/audit_corpus``).

For every set-up: was its seeded fault found with the right code (the fix comes with the
code), which other findings of severity warning or above came with it, and how long from the
start of the set-up to the first finding. Clean set-ups count false positives (any finding of
severity warning or above). Then the watcher's overhead on a small CPU training step, and the
static audit's time on a 100-layer model.

    python benchmarks/audit_benchmark.py [--markdown] [--only NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402
from reglab.torch.audit import audit, watch  # noqa: E402


def evaluate(only: str | None = None):
    from audit_corpus import SETUPS

    rows = []
    for s in SETUPS:
        if only and only not in s.name:
            continue
        torch.manual_seed(0)
        start = time.perf_counter()
        found = s.build()
        elapsed = time.perf_counter() - start
        codes = found.codes
        serious = [f.code for f in found.at_least("warning")]
        first = (found.seen_at[0] - start) if found.seen_at else None
        rows.append(
            {
                "name": s.name,
                "style": s.style,
                "fault": s.fault,
                "found": s.fault in codes if s.fault else None,
                "extra": sorted(set(serious) - {s.fault}),
                "codes": codes,
                "first_s": first,
                "run_s": elapsed,
            }
        )
        print(f"{s.name:60s} fault={s.fault or '-':6s} codes={','.join(codes) or '-'}", flush=True)
    return rows


def overhead(steps: int = 200, rounds: int = 7):
    """Median time of a small CPU training step with and without the watcher."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = nn.Sequential(
        nn.Linear(64, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 10),
    )  # fmt: skip
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    x, y = torch.randn(128, 64), torch.randint(0, 10, (128,))

    def loop():
        t = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()
        return (time.perf_counter() - t) / steps

    loop()
    plain, watched = [], []
    for _ in range(rounds):  # interleaved, so drift of the machine hits both arms alike
        plain.append(loop())
        with watch(model, opt, loss=crit):
            watched.append(loop())
    return statistics.median(plain), statistics.median(watched)


def static_time(layers: int = 100, repeat: int = 20):
    model = nn.Sequential(
        *[
            nn.Sequential(nn.Linear(64, 64), nn.LayerNorm(64), nn.GELU(), rt.DropPath(0.1))
            for _ in range(layers)
        ]
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    audit(model, opt)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        audit(model, opt)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def report(rows, plain, watched, static_s, markdown: bool) -> str:
    faulty = [r for r in rows if r["fault"]]
    clean = [r for r in rows if not r["fault"]]
    detected = sum(r["found"] for r in faulty)
    fp = [r for r in clean if r["extra"]]
    firsts = [r["first_s"] for r in faulty if r["found"] and r["first_s"] is not None]
    lines = []
    if markdown:
        lines += ["| set-up | style | seeded fault | found | other findings >= warning | first finding (s) |",
                  "| --- | --- | --- | --- | --- | ---: |"]  # fmt: skip
        for r in rows:
            found = "clean" if r["fault"] is None else ("yes" if r["found"] else "**no**")
            first = "" if r["first_s"] is None else f"{r['first_s']:.3f}"
            lines.append(f"| `{r['name']}` | {r['style']} | {r['fault'] or '-'} | {found} | "
                         f"{', '.join(r['extra']) or '-'} | {first} |")  # fmt: skip
        lines.append("")
    codes = sorted({r["fault"] for r in faulty})
    lines.append(
        f"seeded faults: {len(faulty)} set-ups covering {len(codes)} codes ({', '.join(codes)})"
    )
    lines.append(f"detected with the right code: {detected}/{len(faulty)}")
    lines.append(f"clean set-ups: {len(clean)}; with a finding of severity warning or above: {len(fp)}"
                 + (f" ({', '.join(r['name'] + ':' + ','.join(r['extra']) for r in fp)})" if fp else ""))  # fmt: skip
    if firsts:
        lines.append(f"mean time to the first finding: {statistics.mean(firsts):.3f} s "
                     f"(median {statistics.median(firsts):.3f} s)")  # fmt: skip
    lines.append(f"watcher overhead, small CPU step (MLP 64-256-256-10, BatchNorm, dropout, batch 128): "
                 f"{plain * 1e3:.3f} ms plain, {watched * 1e3:.3f} ms watched, ratio {watched / plain:.3f}")  # fmt: skip
    lines.append(f"static audit of a 100-layer model: {static_s * 1e3:.1f} ms")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the per-set-up table")
    parser.add_argument("--only", help="run the set-ups whose name contains this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = evaluate(args.only)
    plain, watched = overhead()
    print()
    print(report(rows, plain, watched, static_time(), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
