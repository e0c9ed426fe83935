"""Combine quickstart runs of disjoint seed ranges (e.g. run on two machines) into one summary.

    .venv/bin/python scripts/merge_quickstart.py runs/qs-a runs/qs-b --out runs/qs-merged

Each argument is a `foveal quickstart --seeds N [--first-seed S]` output directory; the runs must
have scored the same problems (same recipe, split and n_eval). Writes OUT/summary.json and prints
the table, exactly as one `--seeds` run over all the seeds would.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    from rich.console import Console

    from foveal.config import load_config
    from foveal.io import atomic_write_json
    from foveal.quickstart import print_summary, summarize
    from foveal.tasks.generate import distinct_samples

    parts = [json.loads((r / "summary.json").read_text()) for r in args.runs]
    if len({p["split"] for p in parts}) != 1:
        sys.exit("merge_quickstart: the runs scored different splits")
    runs = sorted((run for p in parts for run in p["runs"]), key=lambda r: r["seed"])
    seeds = [r["seed"] for r in runs]
    if len(set(seeds)) != len(seeds):
        sys.exit(f"merge_quickstart: a seed occurs twice in {seeds}")
    tasks = list(parts[0]["chance"])
    n = parts[0]["accuracy"]["base"][tasks[0]]["image"]["n_distinct"]
    cfg = load_config(Path(runs[0]["dir"]) / "train" / "config.yaml")
    samples = distinct_samples(tasks, cfg.data.gym.levels, n, parts[0]["split"], variant=cfg.data.gym.variant())
    seconds = sum(p["seconds"]["total"] for p in parts)
    summary = summarize(runs, tasks, samples, parts[0]["split"], seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "summary.json", summary)
    print_summary(summary, Console(width=None if sys.stdout.isatty() else 120))


if __name__ == "__main__":
    main()
