"""The README's quickstart claims, derived from many seeds and checked against one run (`make claims`).

    python scripts/claims.py derive runs/qs5/summary.json          # after `foveal quickstart --seeds 5`
    python scripts/claims.py check runs/claims/summary.json        # after one `foveal quickstart`

`derive` turns an N-seed quickstart summary (N >= 5) into `claims/quickstart.json`: for every
stage × task × form, the range [min − m, max + m] of the seeds' accuracies, where m is the larger
of the 95% Wilson half-width for that many distinct test problems at the seeds' mean accuracy and
the seeds' standard deviation (at least 2 points) — a correct build on any machine lands inside
unless it is further from every seed than test-set sampling noise or one seed-to-seed spread
explains (a CPU run is bit-identical on one machine, not across machines, so another machine's
seed 0 is in effect another seed); and a direction "GRPO ≥ SFT" only where the paired lower
bound over seeds exceeds m. `check` asserts a single run's summary against that file and exits 1
on any miss, printing every claim with its value. Re-derive whenever the quickstart changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CLAIMS = Path(__file__).resolve().parents[1] / "claims" / "quickstart.json"
MIN_MARGIN = 0.02


def half_width(p: float, n: int) -> float:
    """Half-width of the 95% Wilson interval at proportion p over n problems."""
    from foveal.eval.metrics import wilson_interval

    lo, hi = wilson_interval(p * n, n)
    return (hi - lo) / 2


def spread(values: list[float]) -> float:
    """Sample standard deviation of the seeds' accuracies (0 for one seed)."""
    n = len(values)
    mean = sum(values) / n
    return (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0


def derive(summary: dict, min_seeds: int = 5) -> dict:
    seeds = summary["seeds"]
    if len(seeds) < min_seeds:
        sys.exit(f"claims: {len(seeds)} seeds in the summary; derive needs at least {min_seeds}")
    ranges, directions = [], []
    for stage, tasks in summary["accuracy"].items():
        for task, forms in tasks.items():
            for form, a in forms.items():
                m = max(MIN_MARGIN, half_width(a["mean"], a["n_distinct"]), spread(a["per_seed"]))
                ranges.append({"stage": stage, "task": task, "form": form, "lo": max(0.0, a["min"] - m),
                               "hi": min(1.0, a["max"] + m), "seeds": a["per_seed"], "margin": m})
    for task, forms in summary["grpo_minus_sft"].items():
        for form, d in forms.items():
            n = summary["accuracy"]["sft"][task][form]["n_distinct"]
            m = max(MIN_MARGIN, half_width(summary["accuracy"]["sft"][task][form]["mean"], n))
            if d["ci95"][0] > m:
                directions.append({"task": task, "form": form, "claim": "grpo >= sft",
                                   "paired_delta": d["delta"], "paired_ci95": d["ci95"]})
    return {"derived_from": {"seeds": seeds, "split": summary["split"]}, "ranges": ranges,
            "directions": directions}


def check(summary: dict, claims: dict) -> list[str]:
    """Every claim that the run's summary misses (empty when all hold)."""
    misses = []
    acc = summary["accuracy"]
    for r in claims["ranges"]:
        v = acc[r["stage"]][r["task"]][r["form"]]["mean"]
        ok = r["lo"] <= v <= r["hi"]
        print(f"{'ok  ' if ok else 'MISS'} {r['stage']:>4} {r['task']:<16} {r['form']:<5} {v:6.1%} in "
              f"[{r['lo']:.1%}, {r['hi']:.1%}]")
        if not ok:
            misses.append(f"{r['stage']} {r['task']} {r['form']}: {v:.1%} outside [{r['lo']:.1%}, {r['hi']:.1%}]")
    for d in claims["directions"]:
        g, s = acc["grpo"][d["task"]][d["form"]]["mean"], acc["sft"][d["task"]][d["form"]]["mean"]
        ok = g >= s
        print(f"{'ok  ' if ok else 'MISS'} grpo >= sft {d['task']:<16} {d['form']:<5} {g:6.1%} vs {s:6.1%}")
        if not ok:
            misses.append(f"{d['task']} {d['form']}: GRPO {g:.1%} < SFT {s:.1%}")
    return misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=("derive", "check"))
    ap.add_argument("summary", type=Path, help="a quickstart summary.json")
    ap.add_argument("--claims", type=Path, default=CLAIMS)
    args = ap.parse_args()
    try:
        summary = json.loads(args.summary.read_text())
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"claims: cannot read {args.summary}: {e}")
    if args.action == "derive":
        out = derive(summary)
        tmp = args.claims.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1) + "\n")
        tmp.replace(args.claims)
        print(f"wrote {len(out['ranges'])} ranges and {len(out['directions'])} directions to {args.claims}")
        return
    claims = json.loads(args.claims.read_text())
    misses = check(summary, claims)
    if misses:
        sys.exit("claims: " + "; ".join(misses))
    print(f"all {len(claims['ranges']) + len(claims['directions'])} quickstart claims hold")


if __name__ == "__main__":
    main()
