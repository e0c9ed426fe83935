"""Can an embedded VLM learn a gym family? SFT it on the families, then score held-out problems.

    .venv/bin/python scripts/learnability.py fraction_shaded --level 1 --steps 300
    .venv/bin/python scripts/learnability.py spatial,chart --steps 300 --model tiny-llava
    .venv/bin/python scripts/learnability.py spatial,chart,count --each --k 0 --model tiny --json runs/learn/tiny.json

Trains an embedded VLM (`--model`: tiny, tiny-deep, tiny-llava, tiny-idefics3; docs/models.md) with SFT
on the families' R1 traces (train-split problems, every query, phrasing and style of the level), with
the model and SFT settings of `recipes/quickstart.yaml` (no system prompt, batch 32, AdamW lr 1e-3
constant after 50 warm-up steps) and one torch thread, then for each family prints greedy accuracy on
n distinct problems of the `val` split (a screen is tuning: `--split test` only once, at the end), the
chance rate (always giving the most common gold answer), pass@k at temperature 1 on the first half of
them (`--k 0`: skip), the SFT steps and the mean seconds per step (train.jsonl's `step_time_s`; `train_s`
in the JSON adds building, data and saving). The families are trained together, or
with `--each` one run per family (the learnability matrix of docs/models.md). `--json FILE` keeps one
record per run and family; families already in FILE for this model and settings are skipped, so a
cut matrix resumes.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", help="comma-separated gym families, trained together (or one by one: --each)")
    ap.add_argument("--model", default="tiny", help="embedded model name (tiny, tiny-deep, tiny-llava, tiny-idefics3)")
    ap.add_argument("--each", action="store_true", help="train one run per family instead of one run on all")
    ap.add_argument("--level", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="SFT steps (batch 32)")
    ap.add_argument("--n", type=int, default=200, help="distinct held-out problems per family for greedy accuracy")
    ap.add_argument("--split", default="val", choices=("val", "test"), help="where the held-out problems come from")
    ap.add_argument("--seed", type=int, default=0, help="run seed: model init, training stream and sampling")
    ap.add_argument("--k", type=int, default=8, help="samples per problem for pass@k (on n/2 problems); 0: skip")
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="generation budget (default: the longest R1 target of the held-out problems + 8)")
    ap.add_argument("--out", type=Path, default=None, help="keep the runs here, one folder per run (default: temporary)")
    ap.add_argument("--json", type=Path, default=None, help="append results to this JSON file (and skip done ones)")
    args = ap.parse_args()

    import torch

    from foveal.errors import FovealError
    from foveal.models.load import MODELS
    from foveal.models.tiny import ARCHS
    from foveal.tasks.generate import distinct_samples

    torch.set_num_threads(1)
    names = [t for t in args.tasks.split(",") if t]
    if args.model not in ARCHS:
        sys.exit(f"learnability: --model: {MODELS.unknown(args.model)} (an embedded VLM is needed)")
    try:
        samples_by = {n: distinct_samples([n], [args.level], args.n, args.split) for n in names}
    except FovealError as e:  # an unknown family, a level out of range, too few problems
        sys.exit(f"learnability: {e}")
    records = json.loads(args.json.read_text()) if args.json and args.json.exists() else []
    runs = [[n] for n in names] if args.each else [names]
    print(f"model {args.model}, {args.split} split, {args.n} distinct problems per family, level {args.level}, "
          f"seed {args.seed}, {args.steps} SFT steps")
    print(f"{'family':<20}{'greedy':>8}{'chance':>8}{f'pass@{args.k}' if args.k else '':>8}{'steps':>7}{'s/step':>8}")
    for run_names in runs:
        done = {r["family"]: r for r in records if _same_run(r, args, run_names)}
        if all(n in done for n in run_names):
            for n in run_names:
                _print_row(done[n], args.k)
            continue
        for rec in learn(run_names, samples_by, args):
            _print_row(rec, args.k)
            records.append(rec)
        if args.json:
            from foveal.io import atomic_write_text

            args.json.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(args.json, json.dumps(records, indent=1) + "\n")


def learn(names: list[str], samples_by: dict, args) -> list[dict]:
    """Train one SFT run on `names` together, then score each family: one record per family."""
    from foveal.config import load_config
    from foveal.eval import evaluate
    from foveal.io import read_jsonl
    from foveal.models import load_policy
    from foveal.prompts import r1_target
    from foveal.quickstart import chance, recipe_path
    from foveal.rollout import Sampling, get_backend
    from foveal.train import train

    # the quickstart recipe's SFT settings, on these families at every query, phrasing and style, SFT only
    cfg = load_config(recipe_path(), overrides=[f"model.path={args.model}", f"data.gym.tasks=[{','.join(names)}]",
                                                f"data.gym.levels=[{args.level}]", "data.gym.query=null",
                                                "data.gym.phrasing=null", "data.gym.style=null",
                                                f"sft.steps={args.steps}", "rl.steps=0", "log.progress=false", f"seed={args.seed}"])
    with tempfile.TemporaryDirectory() as tmp:
        out = (args.out / f"{args.model}-{'+'.join(names)}") if args.out else Path(tmp) / "run"
        start = time.perf_counter()
        if out.exists():  # a run of these settings cut before it was scored: start it again
            shutil.rmtree(out)
        run = train(cfg, out=out)
        train_s = time.perf_counter() - start
        step_s = [r["step_time_s"] for r in read_jsonl(run / "train.jsonl") if r.get("stage") == "sft"]
        policy = load_policy(run / "sft", system_prompt=cfg.model.system_prompt)
        backend = get_backend("hf", policy=policy, batch_size=64)
        recs = []
        for name in names:
            samples = samples_by[name]
            budget = args.max_new_tokens or 8 + max(len(policy.tokenize_target(r1_target(s))) for s in samples)
            start = time.perf_counter()
            greedy = evaluate(backend, samples, k=1, progress=False,
                              sampling=Sampling(temperature=0.0, max_new_tokens=budget))
            pass_k = None
            if args.k:
                sampled = evaluate(backend, samples[: args.n // 2], k=args.k, progress=False,
                                   sampling=Sampling(temperature=1.0, max_new_tokens=budget, seed=1))
                pass_k = sampled.metrics["overall"]["pass@k"][str(args.k)]
            recs.append({
                "model": args.model, "family": name, "trained_with": names, "level": args.level,
                "split": args.split, "n": args.n, "seed": args.seed, "steps": args.steps, "batch_size": 32,
                "greedy": greedy.metrics["overall"]["accuracy"], "chance": chance(samples), "k": args.k,
                "pass_k": pass_k, "max_new_tokens": budget, "train_s": round(train_s, 1),
                "s_per_step": round(sum(step_s) / len(step_s), 3), "eval_s": round(time.perf_counter() - start, 1),
                "parameters": policy.num_parameters(), "command": shlex.join(["scripts/learnability.py", *sys.argv[1:]]),
            })
        return recs


def _same_run(rec: dict, args, names: list[str]) -> bool:
    keys = ("model", "level", "split", "n", "seed", "steps", "k")
    return rec.get("trained_with") == names and all(rec.get(k) == getattr(args, k) for k in keys)


def _print_row(rec: dict, k: int) -> None:
    pk = "" if rec["pass_k"] is None else f"{rec['pass_k']:.1%}"
    print(f"{rec['family']:<20}{rec['greedy']:>8.1%}{rec['chance']:>8.1%}{pk:>8}{rec['steps']:>7}{rec['s_per_step']:>8.2f}",
          flush=True)


if __name__ == "__main__":
    main()
