"""Issue 20, 6(c): three `foveal improve` rounds vs one round at the same sample budget.

`foveal experiment` trains each arm with `foveal train` (one recipe, one run), so it cannot express
rounds that feed one model's samples into the next model's training; this script runs the two arms
with `foveal.improve.improve` instead and scores them like an experiment: both arms start from the
same model, sample the same total number of completions for training (BUDGET = rounds × K × n per
task; the one-round arm answers once the same 3n problems the three-round arm answers n at a time,
gym seeds SEED·10⁶ + 0 .. 3n − 1), and their final models are
scored greedily on the same distinct `test` problems (never trained on); the difference is paired
over seeds and problems (`foveal.eval.metrics.seed_bootstrap`).

    python experiments/improve_rounds.py --model runs/qs-sft/sft --config recipes/improve.yaml \
        --sft-epochs 2 --budget 1536 --k 8 --seeds 3 --n-test 200 --out runs/improve-rounds

Writes OUT/{rounds-3,rounds-1}/seed-S/ (each a `foveal improve` run, resumable), OUT/test-*/ (the
test evals) and OUT/summary.json, and prints the accuracy of each arm and the paired difference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ARMS = {"rounds-3": 3, "rounds-1": 1}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the starting model of both arms")
    ap.add_argument("--config", required=True, help="the recipe each round trains with")
    ap.add_argument("--set", action="append", default=[], dest="overrides", help="recipe override (repeatable)")
    ap.add_argument("--budget", type=int, required=True, help="completions sampled for training per arm and task")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sft-epochs", type=float, default=None, help="as `foveal improve --sft-epochs`")
    ap.add_argument("--n-val", type=int, default=100, help="val problems per task each round is scored on")
    ap.add_argument("--n-test", type=int, default=200, help="distinct test problems per task the arms are scored on")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    from foveal.config import load_config
    from foveal.errors import FovealError
    from foveal.eval.metrics import seed_bootstrap
    from foveal.improve import Problems, improve
    from foveal.io import atomic_write_json
    from foveal.tasks.generate import distinct_samples

    cfg = load_config(a.config, a.overrides)
    gym = cfg.data.gym
    if gym is None:
        raise FovealError(f"--config {a.config}: the recipe draws no gym tasks (data.gym)")
    tasks, levels = list(gym.tasks), list(gym.levels)
    for arm, rounds in ARMS.items():
        if a.budget // (rounds * a.k * len(tasks)) < 1:
            raise FovealError(f"--budget {a.budget}: under one problem per round for {arm} (K={a.k})")
    test = distinct_samples(tasks, levels, a.n_test, "test", variant=gym.variant())
    out = Path(a.out)
    t0 = time.perf_counter()
    scores: dict[str, list[dict[str, float]]] = {arm: [] for arm in ARMS}
    timing: dict[str, float] = {}
    for seed in range(a.seeds):
        cfg_s = cfg.model_copy(deep=True)
        cfg_s.seed = seed
        for arm, rounds in ARMS.items():
            t = time.perf_counter()
            n = a.budget // (rounds * a.k * len(tasks))
            problems = Problems(tasks=tuple(tasks), levels=tuple(levels), n=n, gym_seed=seed * 10**6, form=gym.form,
                                variant=gym.variant(), n_val=a.n_val)
            summary = improve(cfg_s, a.model, problems, out / arm / f"seed-{seed}", rounds=rounds, k=a.k, sft_epochs=a.sft_epochs)
            final = summary["rounds"][-1]["model"]
            scores[arm].append(score(cfg_s, final, test, out / f"test-{arm}-seed-{seed}"))
            timing[f"{arm}/seed-{seed}"] = time.perf_counter() - t
    diffs = [[s3[i] - s1[i] for i in s1] for s1, s3 in zip(scores["rounds-1"], scores["rounds-3"], strict=True)]
    result = {"budget": a.budget, "k": a.k, "seeds": a.seeds, "tasks": tasks, "levels": levels,
              "n_test": len(test), "accuracy": {arm: [sum(s.values()) / len(s) for s in per] for arm, per in scores.items()},
              "rounds3_minus_rounds1": seed_bootstrap(diffs), "seconds": {**timing, "total": time.perf_counter() - t0}}
    atomic_write_json(out / "summary.json", result)
    d = result["rounds3_minus_rounds1"]
    for arm, accs in result["accuracy"].items():
        print(f"{arm}: test accuracy per seed {', '.join(f'{x:.1%}' for x in accs)}")
    print(f"3 rounds - 1 round: {d['delta'] * 100:+.1f} pt [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}] "
          f"({d['n_seeds']} seeds x {d['n_problems']} problems); {result['seconds']['total'] / 60:.1f} min -> {out}")
    return result


def score(cfg, model: str, test: list, out: Path) -> dict[str, float]:
    """{problem id: greedy score} of `model` on the test problems (a resumable eval run in `out`)."""
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.rollout import Sampling, get_backend

    policy = load_policy(model, system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
    res = evaluate(get_backend("hf", policy=policy), test, k=1, batch_size=64, out=out,
                   sampling=Sampling(temperature=0.0, max_new_tokens=cfg.sampling.max_new_tokens, stop=("</answer>",)),
                   twin="text" if cfg.data.gym.form == "text" else "image", answer_format=cfg.answer_format,
                   meta={"model": model, "data": "test split", "backend": "hf"})
    return {r["id"]: float(r["scores"][0]) for r in res.rows}


if __name__ == "__main__":
    from foveal.errors import FovealError

    try:
        main()
    except FovealError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
