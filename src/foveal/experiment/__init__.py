"""foveal.experiment: a claim as a file — arms × seeds, scored on the same held-out problems.

    foveal experiment experiments/quickstart.yaml --out runs/exp-quickstart --workers 2

    from foveal.experiment import run_experiment
    results = run_experiment("experiments/smoke.yaml", "runs/smoke")
    results["rows"][1]["accuracy"]["overall"]["minus_reference"]   # {"delta", "ci95", ...}

Modules: `spec` (the YAML file as a pydantic model, checked whole before anything is written),
`runner` (cells = arm × seed: train, then evaluate each stage; resumable; `--workers` processes),
`results` (mean and spread over seeds, paired differences to the reference arm with a two-level
bootstrap interval; the table, results.json and report.html), `commands` (`foveal experiment`).
docs/experiments.md describes the file and the interval.
"""

from __future__ import annotations

import time
from pathlib import Path

from foveal.errors import FovealError


def check_out(out: Path) -> None:
    """FovealError unless `out` can hold this experiment: new, empty, or an experiment directory to resume."""
    from foveal.options import check_creatable

    if out.exists() and not out.is_dir():
        raise FovealError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "experiment.yaml").is_file():
        raise FovealError(f"--out {out}: not empty and not an experiment directory (no experiment.yaml)")
    check_creatable(out, "--out")


def run_experiment(path: str | Path, out: str | Path, workers: int = 1, progress: bool = True,
                   console=None) -> dict:
    """Run (or continue) the experiment in file `path` into `out`; returns results.json's content."""
    from rich.console import Console

    from foveal.experiment.results import print_results, summarize, write_report
    from foveal.experiment.runner import cells_of, check_cell, run_cells
    from foveal.experiment.spec import load_experiment
    from foveal.io import atomic_write_json, atomic_write_text

    out = Path(out)
    if not isinstance(workers, int) or workers < 1:
        raise FovealError(f"--workers must be a positive integer, got {workers!r}")
    check_out(out)
    exp = load_experiment(path)
    cells = cells_of(exp, out)
    for c in cells:
        check_cell(c)
    # everything is checked: only now write
    t0 = time.perf_counter()
    atomic_write_text(out / "experiment.yaml", exp.path.read_text(encoding="utf-8"))
    done = run_cells(cells, workers, progress)
    results = {**summarize(exp, out, done, time.perf_counter() - t0), "report": str(out / "report.html")}
    atomic_write_json(out / "results.json", results)
    write_report(results, out)
    print_results(results, console or Console())
    return results
