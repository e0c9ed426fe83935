"""`foveal experiment FILE --out DIR`: run an experiment file's arms × seeds and report paired differences."""

from __future__ import annotations

from pathlib import Path

import typer


def experiment_cmd(
    file: Path = typer.Argument(..., help="An experiment YAML (see experiments/ and docs/experiments.md)."),
    out: Path = typer.Option(..., "--out", help="Directory for the cells, results.json and report.html; rerun to resume."),
    workers: int = typer.Option(1, "--workers", min=1, help="Cells run at once, each in its own process (one torch thread)."),
) -> None:
    """Run arms × seeds (train, then evaluate on the same held-out problems), resumably; print each arm's
    mean and spread over seeds and its paired difference to the reference arm with a 95% interval."""
    from rich.console import Console

    from foveal.experiment import run_experiment

    console = Console()
    results = run_experiment(file, out, workers, console=console)
    console.print(f"[bold green]done[/] -> {out / 'results.json'}, report {results['report']}")


def register(app: typer.Typer) -> None:
    app.command("experiment")(experiment_cmd)
