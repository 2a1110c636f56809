"""The ``reglab`` command: thin handlers over :mod:`reglab.lab`'s library functions."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reglab.lab.claim import UnknownClaimError, get_claim, registry
from reglab.lab.results import DEFAULT_STORE, ResultStore, StoreError
from reglab.taxonomy import Kind

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="reglab: every claim of the regularization deep dive as an experiment with a verdict.",
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

STORE_OPT = typer.Option(DEFAULT_STORE, "--store", help="SQLite results file.")


def _open_store(path: Path, *, create: bool = True) -> ResultStore:
    try:
        return ResultStore(path, create=create)
    except StoreError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command("list")
def list_claims(store: Path = STORE_OPT) -> None:
    """List the claims grouped by kind, with their last verdict."""
    verdicts = _open_store(store).verdicts() if store.exists() else {}
    claims = registry()
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
            badge = (
                "[dim]NOT RUN[/dim]"
                if v is None
                else ("[green]PASS[/green]" if v["passed"] else "[red]FAIL[/red]")
            )
            if v is not None:
                badge += f" [dim]({v['grid']})[/dim]"
            table.add_row(c.id, badge, c.statement)
        console.print(table)


@app.command()
def run(
    claims: list[str] = typer.Argument(None, help="Claim ids (see `reglab list`)."),
    all_: bool = typer.Option(False, "--all", help="Run every claim."),
    smoke: bool = typer.Option(False, "--smoke", help="Smoke grids (seconds per claim)."),
    seeds: int = typer.Option(None, "--seeds", min=1, help="Repetitions per grid point."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Local worker processes."),
    scheduler: str = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    store: Path = STORE_OPT,
    force: bool = typer.Option(False, "--force", help="Re-run runs already stored."),
) -> None:
    """Run claims (grid x seeds) and store every finished run; re-running resumes."""
    from reglab.lab.runner import run_claims

    if not claims and not all_:
        raise _fail("name claim ids or pass --all (see `reglab list`)")
    if claims and all_:
        raise _fail("pass either claim ids or --all, not both")
    try:
        for cid in claims or []:
            get_claim(cid)
    except UnknownClaimError as exc:
        raise _fail(str(exc)) from exc
    result_store = _open_store(store)
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
        progress.update(bar["id"], advance=1, last=f"{rec.claim_id} {mark}")

    with progress:
        report = run_claims(
            None if all_ else claims,
            store=result_store,
            smoke=smoke,
            seeds=seeds,
            jobs=jobs,
            scheduler=scheduler,
            force=force,
            on_start=on_start,
            on_result=on_result,
            command="reglab " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        )
    console.print(
        f"{report.done} run(s) done, {report.skipped} already stored (skipped), "
        f"{len(report.failed)} failed; store: {result_store.path}"
    )
    for cid, passed in report.verdicts.items():
        console.print(f"  {cid}: " + ("[green]PASS[/green]" if passed else "[red]FAIL[/red]"))
    if report.failed:
        err.print(f"[red]{len(report.failed)} run(s) raised:[/red]")
        for rec in report.failed:
            last = rec.error.strip().splitlines()[-1] if rec.error else ""
            err.print(f"  {rec.claim_id} params={rec.params} seed={rec.seed}: {last}")
        raise typer.Exit(1)


@app.command()
def show(claim: str, store: Path = STORE_OPT) -> None:
    """Show a claim's statement, verdict sentence, effects with CIs, protocol and evidence."""
    from rich.markup import escape

    from reglab.lab.report.science import COLOURS, protocol_rows, verdict_lines
    from reglab.lab.runner import compute_verdict

    try:
        c = get_claim(claim)
    except UnknownClaimError as exc:
        raise _fail(str(exc)) from exc
    # store and claim text is data, never Rich markup: "[0.1, 0.3]" must print as it is
    console.print(f"[bold]{escape(c.id)}[/bold]  ({escape(c.kind.heading)}, {c.result_kind})")
    console.print(f"[italic]{escape(c.statement)}[/italic]")
    verdict = compute_verdict(c, _open_store(store)) if store.exists() else None
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

    path = render_report(_open_store(store), out)
    console.print(f"report written: {path}")


@app.command()
def drill(
    questions: int = typer.Option(None, "--questions", "-n", help="How many questions."),
    seed: int = typer.Option(None, "--seed", help="Fix the order of the questions."),
    store: Path = STORE_OPT,
    evidence: bool = typer.Option(True, "--evidence/--no-evidence", help="Show live evidence."),
) -> None:
    """Interview drill: answer, see the strong answer with the lab's live verdicts, grade
    yourself; questions come back by Leitner box (a .drill.json file next to the store)."""
    from reglab.lab.drill import Deck, pick_questions, run_drill, summary

    try:
        deck = Deck.for_store(store)
        chosen = pick_questions(questions, seed, deck)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    screen = Console()  # wraps long answers inside their panels
    results = run_drill(
        chosen, _open_store(store), console=screen, ask=screen.input, evidence=evidence, deck=deck
    )
    screen.print(f"[bold]{summary(results)}[/bold]", highlight=False)
    screen.print(f"Leitner boxes: {deck.path}", markup=False, highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
