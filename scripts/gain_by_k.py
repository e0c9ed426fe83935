"""How one row's gain over another changes from pass@a to pass@b, with the experiment's interval.

    .venv/bin/python scripts/gain_by_k.py runs/exp-sft-length sft300/rl sft300/sft --ks 1,32

Reads a finished `foveal experiment` directory (results.json and the cells' samples.jsonl). For
each seed s and problem i (every row scored the same problems):

    c[s][i] = (v_row@a(s, i) − v_ref@a(s, i)) − (v_row@b(s, i) − v_ref@b(s, i))

with v@k the unbiased pass@k of the problem from its K completions. The estimate is the mean over
seeds of the mean over problems; the 95% interval is the experiment's two-level paired bootstrap
(`foveal.eval.metrics.seed_bootstrap`: seeds, then problems within seeds). Positive: the row's gain
over the reference is larger at pass@a than at pass@b (with a < b: it shrinks as k grows).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="a finished `foveal experiment` --out directory")
    ap.add_argument("row", help="the row's label, e.g. sft300/rl")
    ap.add_argument("ref", help="the reference row's label, e.g. sft300/sft")
    ap.add_argument("--ks", default="1,32", help="a,b: the two pass@k to contrast (default 1,32)")
    args = ap.parse_args()

    from foveal.eval.metrics import seed_bootstrap
    from foveal.experiment.results import flat, pass_at, problem_scores
    from foveal.experiment.runner import cell_dir

    path = args.out / "results.json"
    if not path.is_file():
        sys.exit(f"gain_by_k: {path}: no such file (run the experiment to the end first)")
    results = json.loads(path.read_text())
    rows = {r["label"]: r for r in results["rows"]}
    for label in (args.row, args.ref):
        if label not in rows:
            sys.exit(f"gain_by_k: row {label!r} is not in {path} (rows: {', '.join(rows)})")
    try:
        a, b = (int(x) for x in args.ks.split(","))
    except ValueError:
        sys.exit(f"gain_by_k: --ks {args.ks!r}: expected two whole numbers a,b")
    if not 1 <= a <= results["k"] or not 1 <= b <= results["k"]:
        sys.exit(f"gain_by_k: --ks {args.ks}: each must lie in 1..{results['k']} (the experiment's k)")

    def scores(label: str, seed: int, k: int) -> dict:
        r = rows[label]
        return flat(problem_scores(cell_dir(args.out, r["arm"], seed) / f"eval-{r['stage']}", pass_at(k)))

    diffs = []
    for s in results["seeds"]:
        ra, fa, rb, fb = (scores(lab, s, k) for lab, k in ((args.row, a), (args.ref, a), (args.row, b), (args.ref, b)))
        diffs.append([(ra[u] - fa[u]) - (rb[u] - fb[u]) for u in fa])
    d = seed_bootstrap(diffs)
    print(f"({args.row} − {args.ref} at pass@{a}) − ({args.row} − {args.ref} at pass@{b}) = "
          f"{d['delta'] * 100:+.1f} [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}] points "
          f"(95%, {d['n_seeds']} seeds × {d['n_problems']} problems); per seed "
          + ", ".join(f"{x * 100:+.1f}" for x in d["per_seed"]))


if __name__ == "__main__":
    main()
