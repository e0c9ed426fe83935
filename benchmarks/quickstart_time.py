"""Stage-by-stage wall time and peak memory of `foveal quickstart`, against its 10-minute budget.

    .venv/bin/python benchmarks/quickstart_time.py                 # the full quickstart (~3 min)
    .venv/bin/python benchmarks/quickstart_time.py --minutes 4 --n-eval 60

Runs the real command in a child process (`python -m foveal.cli quickstart ...` into a temporary
directory), then prints each stage's seconds from the run's `summary.json`, the child's peak
resident memory (`getrusage(RUSAGE_CHILDREN).ru_maxrss`) and the ratio of the total wall time to
the budget (the issue's target: ratio <= 1.0 on 2 CPU cores). `--json PATH` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 600.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="quickstart --minutes (scales training steps)")
    ap.add_argument("--n-eval", type=int, default=200, help="quickstart --n-eval (held-out problems per task)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "qs"
        cmd = [sys.executable, "-m", "foveal.cli", "quickstart", "--out", str(out),
               "--minutes", str(args.minutes), "--n-eval", str(args.n_eval)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            sys.exit(f"quickstart failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        summary = json.loads((out / "summary.json").read_text())
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    seconds = summary["seconds"]
    print(f"{'stage':<12}{'seconds':>9}")
    for name in ("eval_base", "train", "eval_sft", "eval_grpo"):
        print(f"{name:<12}{seconds[name]:>9.1f}")
    other = seconds["total"] - sum(seconds[n] for n in ("eval_base", "train", "eval_sft", "eval_grpo"))
    print(f"{'report etc.':<12}{other:>9.1f}")
    print(f"{'in-process':<12}{seconds['total']:>9.1f}")
    print(f"{'command':<12}{wall:>9.1f}   (with interpreter start and imports)")
    print(f"peak RSS {peak_mib:.0f} MiB")
    print(f"wall / {BUDGET_S / 60:.0f}-minute budget = {wall / BUDGET_S:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"seconds": seconds, "command_s": wall, "peak_rss_mib": peak_mib,
                                         "budget_ratio": wall / BUDGET_S}, indent=2))


if __name__ == "__main__":
    main()
