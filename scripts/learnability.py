"""Can the tiny VLM learn a gym family? SFT it on that family alone, then score held-out problems.

    .venv/bin/python scripts/learnability.py fraction_shaded --level 1 --steps 300
    .venv/bin/python scripts/learnability.py count,chart --steps 200 --out runs/learn

Trains the embedded tiny VLM with SFT on the families' R1 traces (train-split problems), with the
model and SFT settings of `recipes/quickstart.yaml` (no system prompt, batch 32, AdamW lr 1e-3
constant after 50 warm-up steps) and one torch thread, then for each family prints greedy accuracy
on n distinct problems of the `val` split (a screen is tuning: `--split test` only once, at the end),
the chance rate (always giving the most common gold answer) and pass@k at temperature 1 on the
first half of them. This is how the quickstart's tasks are chosen (docs/models.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", help="comma-separated gym families, trained together")
    ap.add_argument("--level", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="SFT steps (batch 32)")
    ap.add_argument("--n", type=int, default=200, help="distinct held-out problems per family for greedy accuracy")
    ap.add_argument("--split", default="val", choices=("val", "test"), help="where the held-out problems come from")
    ap.add_argument("--seed", type=int, default=0, help="run seed: model init, training stream and sampling")
    ap.add_argument("--k", type=int, default=8, help="samples per problem for pass@k (on n/2 problems)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--out", type=Path, default=None, help="keep the run here (default: a temporary directory)")
    args = ap.parse_args()

    import torch

    from foveal.config import load_config
    from foveal.errors import FovealError
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.quickstart import chance, recipe_path
    from foveal.rollout import Sampling, get_backend
    from foveal.tasks.generate import distinct_samples
    from foveal.train import train

    torch.set_num_threads(1)
    names = [t for t in args.tasks.split(",") if t]
    try:  # the quickstart recipe's model and SFT settings, on these families, SFT only
        cfg = load_config(recipe_path(), overrides=[f"data.gym.tasks=[{','.join(names)}]",
                                                    f"data.gym.levels=[{args.level}]",
                                                    f"sft.steps={args.steps}", "rl.steps=0",
                                                    f"seed={args.seed}"])
        samples_by = {n: distinct_samples([n], [args.level], args.n, args.split) for n in names}
    except FovealError as e:  # an unknown family, a level or step count out of range
        sys.exit(f"learnability: {e}")
    with tempfile.TemporaryDirectory() as tmp:
        run = train(cfg, out=args.out or Path(tmp) / "run")
        backend = get_backend("hf", policy=load_policy(run / "sft", system_prompt=cfg.model.system_prompt),
                              batch_size=64)
        print(f"{args.split} split, {args.n} distinct problems per family, level {args.level}, seed {args.seed}")
        print(f"{'family':<20}{'greedy':>8}{'chance':>8}{f'pass@{args.k}':>8}")
        for name in names:
            samples = samples_by[name]
            greedy = evaluate(backend, samples, k=1, progress=False,
                              sampling=Sampling(temperature=0.0, max_new_tokens=args.max_new_tokens))
            sampled = evaluate(backend, samples[: args.n // 2], k=args.k, progress=False,
                               sampling=Sampling(temperature=1.0, max_new_tokens=args.max_new_tokens, seed=1))
            pass_k = sampled.metrics["overall"]["pass@k"][str(args.k)]
            print(f"{name:<20}{greedy.metrics['overall']['accuracy']:>8.1%}{chance(samples):>8.1%}{pass_k:>8.1%}")


if __name__ == "__main__":
    main()
