"""The ``reglab`` command: thin handlers over :mod:`reglab.lab`'s library functions."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from reglab.lab.claim import UnknownClaimError, get_claim, registry
from reglab.lab.results import DEFAULT_STORE, ResultStore, StoreError
from reglab.taxonomy import Kind


def _flag_type_hidden(display_type_rich):
    """typer's rich help prints its own ``--help`` as ``--help <bool>``: an on/off flag takes
    no value, so its help row names no type (the flags reglab declares already print none)."""

    def display(self, ctx):
        return None if getattr(self, "is_flag", False) else display_type_rich(self, ctx)

    return display


typer.core.TyperOption.display_type_rich = _flag_type_hidden(  # type: ignore[method-assign]
    typer.core.TyperOption.display_type_rich
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="reglab: every claim of the regularization deep dive as an experiment with a verdict.",
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

STORE_OPT = typer.Option(DEFAULT_STORE, "--store", help="SQLite results file.")


def _open_store(path: Path, *, create: bool = False, readonly: bool = True) -> ResultStore:
    """The store at ``path``. Only ``run`` creates one; reading commands open it read-only
    (``mode=ro``: they never write, so a read-only file can be listed, shown, reported)."""
    try:
        return ResultStore(path, create=create, readonly=readonly)
    except StoreError as exc:
        raise _fail(str(exc)) from exc


def _fail(message: str, code: int = 2) -> typer.Exit:
    # the message carries claim ids, paths and store text: printed literally, never markup
    err.print(Text("error: ", style="red") + Text(message), highlight=False)
    return typer.Exit(code)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A store, scheduler or worker problem met mid-command as one line, no traceback."""
    from reglab.lab.runner import WorkerDied

    try:
        yield
    except (StoreError, ConnectionError, WorkerDied) as exc:
        raise _fail(str(exc)) from exc


def _store_line(store: ResultStore) -> Text:
    """``store: /abs/path (N runs)``: which store a command read."""
    n = store.count_runs()
    return Text(f"store: {store.path.absolute()} ({n} run{'' if n == 1 else 's'})")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"reglab {_reglab_version()}", highlight=False)
        raise typer.Exit()


def _reglab_version() -> str:
    import reglab

    version = getattr(reglab, "__version__", None)
    if not version:
        from importlib import metadata

        version = metadata.version("reglab")
    return str(version)


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        metavar="",
        help="Print reglab's version and exit.",
    ),
) -> None:
    pass


_OUTCOME_STYLE = {
    "PASS": "green",
    "SUPPORTED": "green",
    "CONDITIONAL": "yellow",
    "INCONCLUSIVE": "magenta",
    "NOT SUPPORTED": "red",
    "FAIL": "red",
}


def _badge(outcome: str) -> Text:
    return Text(outcome, style=_OUTCOME_STYLE.get(outcome, "bold"))


def _count_arg(name: str, text: str | None, top: int) -> int | None:
    """``--seeds`` / ``--jobs`` as an integer in [1, top]; anything else in one line.

    Read as text so that ``1e20`` or ``abc`` get the same one-line refusal as ``0``."""
    if text is None:
        return None
    try:
        value = float(text.strip()) if text.strip() else float("nan")
    except ValueError:
        value = float("nan")
    if not (value == value and value == int(value) and 1 <= value <= top):  # noqa: PLR0124
        raise _fail(f"{name} {text!r}: must be an integer between 1 and {top}")
    return int(value)


@app.command("list")
def list_claims(store: Path = STORE_OPT) -> None:
    """List the claims grouped by kind, with their verdict on the stored runs."""
    from reglab.lab.runner import current_verdicts, outcome_counts

    result_store = _open_store(store)
    claims = registry()
    with _one_line_errors():
        console.print(_store_line(result_store), highlight=False)
        # from the cache when the stored rows are unchanged, recomputed (not saved) otherwise
        verdicts = current_verdicts(claims.values(), result_store)
    for kind in Kind:
        members = [c for c in claims.values() if c.kind is kind]
        if not members:
            continue
        table = Table(title=kind.heading, title_justify="left", show_header=True, expand=False)
        table.add_column("claim", style="bold")
        table.add_column("verdict")
        table.add_column("statement", overflow="fold")
        for c in members:
            v = verdicts.get(c.id)
            # store and claim text is data: Text cells are never parsed as markup
            badge = Text("NOT RUN", style="dim") if v is None else _badge(v["outcome"])
            if v is not None:
                badge += Text(f" ({v['grid']})", style="dim")
            table.add_row(Text(c.id), badge, Text(c.statement))
        console.print(table)
    outcomes = [verdicts[c]["outcome"] if c in verdicts else "NOT RUN" for c in claims]
    console.print(outcome_counts(outcomes), highlight=False)


@app.command()
def run(
    claims: list[str] = typer.Argument(None, help="Claim ids (see `reglab list`)."),
    all_: bool = typer.Option(False, "--all", metavar="", help="Run every claim."),
    smoke: bool = typer.Option(
        False, "--smoke", metavar="", help="Smoke grids (seconds per claim)."
    ),
    scale: bool = typer.Option(
        False,
        "--scale",
        metavar="",
        help="Each claim's larger scale grid with its protocol's seeds (for --scheduler or a GPU).",
    ),
    seeds: str = typer.Option(
        None, "--seeds", metavar="N", help="Repetitions per grid point (1 to 1000)."
    ),
    jobs: str = typer.Option("1", "--jobs", "-j", metavar="N", help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    store: Path = STORE_OPT,
    force: bool = typer.Option(
        False,
        "--force",
        metavar="",
        help="Re-run runs already stored (each old run is replaced when its new one is stored).",
    ),
) -> None:
    """Run claims (grid x seeds) and store every finished run; re-running resumes."""
    from reglab.lab.runner import MAX_JOBS, MAX_SEEDS, outcome_counts, run_claims

    if not claims and not all_:
        raise _fail("name claim ids or pass --all (see `reglab list`)")
    if claims and all_:
        raise _fail("pass either claim ids or --all, not both")
    if smoke and scale:
        raise _fail("pass either --smoke or --scale, not both")
    n_seeds = _count_arg("--seeds", seeds, MAX_SEEDS)
    n_jobs = _count_arg("--jobs", jobs, MAX_JOBS) or 1
    try:
        for cid in claims or []:
            get_claim(cid)
    except UnknownClaimError as exc:
        raise _fail(str(exc)) from exc
    result_store = _open_store(store, create=True, readonly=False)
    progress = Progress(
        TextColumn("[bold]reglab run"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        console=err,
        transient=False,
    )
    bar: dict[str, Any] = {"id": None}

    def on_start(n: int) -> None:
        bar["id"] = progress.add_task("runs", total=n, last="")

    def on_result(rec) -> None:
        mark = "[red]error[/red]" if rec.error else "ok"
        progress.update(bar["id"], advance=1, last=f"{escape(rec.claim_id)} {mark}")

    with _one_line_errors(), progress:
        try:
            report = run_claims(
                None if all_ else claims,
                store=result_store,
                smoke=smoke,
                scale=scale,
                seeds=n_seeds,
                jobs=n_jobs,
                scheduler=scheduler,
                force=force,
                on_start=on_start,
                on_result=on_result,
                command="reglab " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            )
        except (ValueError, TypeError) as exc:  # a bad --scheduler address, say
            raise _fail(str(exc)) from exc
    console.print(
        f"{report.done} run(s) done, {report.skipped} already stored (skipped), "
        f"{len(report.failed)} failed; store: {result_store.path.absolute()}",
        markup=False,
        highlight=False,
    )
    for cid, outcome in report.outcomes.items():
        console.print(Text(f"  {cid}: ") + _badge(outcome))
    ran = list(registry()) if all_ else list(dict.fromkeys(claims))
    console.print(outcome_counts(report.outcomes.get(c, "NOT RUN") for c in ran), highlight=False)
    if report.failed:
        err.print(f"[red]{len(report.failed)} run(s) raised:[/red]")
        for rec in report.failed:
            last = rec.error.strip().splitlines()[-1] if rec.error else ""
            err.print(
                f"  {rec.claim_id} params={rec.params} seed={rec.seed}: {last}",
                markup=False,
                highlight=False,
            )
        raise typer.Exit(1)


@app.command()
def show(claim: str, store: Path = STORE_OPT) -> None:
    """Show a claim's statement, verdict sentence, effects with CIs, protocol and evidence."""
    from reglab.lab.report.science import COLOURS, protocol_rows, verdict_lines
    from reglab.lab.runner import compute_verdict

    try:
        c = get_claim(claim)
    except UnknownClaimError as exc:
        raise _fail(str(exc)) from exc
    result_store = _open_store(store)  # a missing store: its one line before anything else
    # store and claim text is data, never Rich markup: "[0.1, 0.3]" must print as it is
    console.print(f"[bold]{escape(c.id)}[/bold]  ({escape(c.kind.heading)}, {c.result_kind})")
    console.print(f"[italic]{escape(c.statement)}[/italic]")
    console.print(_store_line(result_store), highlight=False)
    with _one_line_errors():
        verdict = compute_verdict(c, result_store)
    if verdict is None:
        console.print(f"verdict: [dim]NOT RUN[/dim] — try `reglab run {escape(c.id)} --smoke`")
    else:
        first, *numbers = verdict_lines(c, verdict)
        colour = COLOURS.get(verdict.outcome, "grey50")
        console.print(f"verdict: [bold {colour}]{escape(first)}[/bold {colour}]")
        for line in numbers:
            console.print("  " + line, markup=False, highlight=False)
    protocol = (verdict.protocol if verdict is not None else None) or c.protocol
    if protocol is not None:
        console.print("[bold]Protocol[/bold]")
        for k, v in protocol_rows(protocol):
            console.print(f"  {k}: {v}", markup=False, highlight=False)
    history = result_store.protocol_history(c.id)
    if history:
        # runs of other protocol versions stay in the store, never pooled with these
        current = c.protocol_id()
        console.print("[bold]Protocol versions stored[/bold]")
        for h in history:
            mark = "current" if h["protocol"] == current else "not pooled"
            console.print(
                f"  {h['protocol'] or '(before protocols)'} · {h['grid']} grid · "
                f"{h['ok']} runs ok · {mark}",
                markup=False,
                highlight=False,
            )
    if verdict is not None:
        console.print("[bold]Evidence[/bold]")
        console.print(verdict.evidence, markup=False, highlight=False)
    if c.interview:
        console.print(f"\n[bold]Interview answer.[/bold] {escape(c.interview)}")


@app.command()
def report(
    out: Path = typer.Option(Path("report"), "--out", help="Directory for index.html."),
    store: Path = STORE_OPT,
) -> None:
    """Render the HTML report from the store alone (nothing is re-run)."""
    from reglab.lab.report import render_report

    result_store = _open_store(store)
    console.print(_store_line(result_store), highlight=False)
    with _one_line_errors():
        path = render_report(result_store, out)
    console.print(f"report written: {path}", markup=False, highlight=False)


@app.command()
def drill(
    questions: int = typer.Option(None, "--questions", "-n", help="How many questions."),
    seed: int = typer.Option(None, "--seed", help="Fix the order of the questions."),
    store: Path = STORE_OPT,
    evidence: bool = typer.Option(True, "--evidence/--no-evidence", help="Show live evidence."),
) -> None:
    """Interview drill: answer, see the strong answer with the lab's live verdicts, grade
    yourself; questions come back by Leitner box (a .drill.json file next to the store)."""
    # like every reading command it never creates a store; on a store it may write, it runs
    # the smoke grid of a linked claim that has no runs yet, on a read-only one it only quotes
    import os

    from reglab.lab.drill import Deck, pick_questions, run_drill, summary

    writable = store.exists() and os.access(store, os.W_OK)
    result_store = _open_store(store, create=False, readonly=not writable)
    try:
        deck = Deck.for_store(store)
        chosen = pick_questions(questions, seed, deck)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    screen = Console()  # wraps long answers inside their panels
    screen.print(_store_line(result_store), highlight=False)
    with _one_line_errors():
        results = run_drill(
            chosen,
            result_store,
            console=screen,
            ask=screen.input,
            evidence=evidence,
            deck=deck,
            run_missing=writable,
        )
    screen.print(f"[bold]{summary(results)}[/bold]", highlight=False)
    screen.print(f"Leitner boxes: {deck.path}", markup=False, highlight=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def audit(
    ctx: typer.Context,
    script: Path = typer.Argument(..., help="The training script to run under the watcher."),
    ignore: list[str] = typer.Option([], "--ignore", help="A finding code to silence (repeat)."),
    json_out: Path = typer.Option(None, "--json", help="Also write the findings as JSON."),
    html_out: Path = typer.Option(None, "--html", help="Also write the findings as HTML."),
) -> None:
    """Run a training script under reglab.torch.audit's watcher and print its findings:
    ``reglab audit train.py -- --epochs 1``. Exit status 1 when a finding is a warning or
    an error (as a linter's)."""
    try:
        from reglab.torch.audit._script import run_script
    except ImportError as exc:
        raise _fail(f"reglab audit needs the torch extra: {exc}") from exc
    try:
        findings = run_script(script, list(ctx.args), ignore=ignore)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        raise _fail(str(exc)) from exc
    console.print(str(findings), markup=False, highlight=False)
    if json_out is not None:
        json_out.write_text(findings.to_json(indent=2), encoding="utf-8")
    if html_out is not None:
        html_out.write_text(findings.to_html(f"reglab audit {script.name}"), encoding="utf-8")
    if findings.at_least("warning"):
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
