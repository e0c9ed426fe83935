"""`foveal quickstart`: the whole idea on one laptop — gym → SFT → GRPO → eval → report.

    foveal quickstart --out runs/quickstart          # what `make demo` runs
    foveal quickstart --seeds 3 --split val          # tuning: three full seeds, scored on val

1. builds the embedded tiny VLM (random init from the run seed, no download) and evaluates it (*base*);
2. trains it with the recipe `recipes/quickstart.yaml`: a short SFT cold start on gym samples'
   R1 traces, then GRPO with live gym prompts — train-split problems only (`foveal.split`);
3. evaluates the SFT and the GRPO checkpoints on the same `n_eval` distinct problems per task of
   the `test` split (never trained on, picture or twin), in image form and as the text twin
   (greedy decoding, one completion each);
4. writes `report.html` comparing base, SFT and GRPO, with the training curves, and prints a
   table of accuracy per stage × task × form.

With `--seeds N` it runs N full seeds (seed s sets the model init, the training problem stream and
sampling), each in `seed-s/`, and reports per stage the mean and range over seeds, and GRPO − SFT
as a paired difference over seeds and problems with a two-level bootstrap interval
(`foveal.eval.metrics.seed_bootstrap`). Tune with `--split val`; report `test`.

`--minutes M` scales the recipe's SFT and RL step counts by M / 10 (the recipe as written is the
10-minute setting); evaluation size does not change.
"""

from __future__ import annotations

import math
import os
import sys
import time
from importlib import resources
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from foveal.errors import FovealError
from foveal.io import atomic_write_json

DEFAULT_MINUTES = 10.0
STAGES = ("base", "sft", "grpo")
FORMS = ("image", "text")
EVAL_PER_TASK = 200
EVAL_BATCH = 64


def recipe_path() -> Path:
    """The packaged quickstart recipe (the repository's `recipes/quickstart.yaml` links to it)."""
    return Path(str(resources.files("foveal") / "recipes" / "quickstart.yaml"))


def chance(samples: list) -> float:
    """The accuracy of always giving the most common gold answer (the best constant guess)."""
    from collections import Counter

    return Counter(s.answer for s in samples).most_common(1)[0][1] / len(samples)


def run_quickstart(out: str | Path = "runs/quickstart", minutes: float = DEFAULT_MINUTES,
                   tasks: list[str] | None = None, n_eval: int | None = None, overwrite: bool = False,
                   console: Console | None = None, seeds: int = 1, split: str = "test",
                   overrides: list[str] | None = None, first_seed: int = 0) -> dict:
    """Run the quickstart into `out` for seeds first_seed .. first_seed + seeds - 1; returns the summary
    (also `out/summary.json`). Seed ranges run apart combine with `scripts/merge_quickstart.py`."""
    from foveal.config import load_config
    from foveal.split import check_split
    from foveal.tasks.generate import distinct_samples

    console = console or Console(width=None if sys.stdout.isatty() else 120)  # logs keep every column
    out = Path(out)
    if not (math.isfinite(minutes) and minutes > 0):
        raise FovealError(f"--minutes must be a number > 0, got {minutes}")
    if not isinstance(seeds, int) or seeds < 1:
        raise FovealError(f"--seeds must be a positive integer, got {seeds}")
    if not isinstance(first_seed, int) or first_seed < 0:
        raise FovealError(f"--first-seed must be a non-negative integer, got {first_seed}")
    check_split(split)
    if split == "train":
        raise FovealError("--split train: the quickstart scores problems it did not train on (val or test)")
    n_eval = EVAL_PER_TASK if n_eval is None else n_eval
    if n_eval < 1:
        raise FovealError(f"--n-eval must be at least 1, got {n_eval}")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FovealError(f"output directory {out} already exists and is not empty (pass --overwrite)")
    # other tasks ask their own queries: the recipe's pinned block_count query goes with its task
    over = ([f"data.gym.tasks=[{','.join(tasks)}]", "data.gym.query=null"] if tasks else []) + list(overrides or [])
    cfg = load_config(recipe_path(), overrides=over)
    scale = minutes / DEFAULT_MINUTES
    cfg.sft.steps = max(1, round(cfg.sft.steps * scale)) if cfg.sft.steps else 0
    cfg.rl.steps = max(1, round(cfg.rl.steps * scale)) if cfg.rl.steps else 0
    task_names = list(cfg.data.gym.tasks)
    samples = distinct_samples(task_names, cfg.data.gym.levels, n_eval, split, variant=cfg.data.gym.variant())
    if "OMP_NUM_THREADS" not in os.environ:
        import torch

        # The tiny model's matrices are too small to gain from threads, and on a busy 2-core machine
        # oversubscribed threads made evaluation ~25x slower (4.7 vs 115 samples/s, measured).
        torch.set_num_threads(1)
    if out.exists():  # everything is validated: only now replace an earlier run (--overwrite)
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs = []
    for seed in range(first_seed, first_seed + seeds):
        run_dir = out if seeds == 1 else out / f"seed-{seed}"
        cfg_s = cfg.model_copy(deep=True)
        cfg_s.seed = seed
        if seeds > 1:
            console.rule(f"[bold]seed {seed} ({seed - first_seed + 1} of {seeds})[/]")
        runs.append(run_one_seed(cfg_s, run_dir, samples, split, minutes, console, t0))
    summary = summarize(runs, task_names, samples, split, time.perf_counter() - t0)
    atomic_write_json(out / "summary.json", summary)
    print_summary(summary, console)
    return summary


def run_one_seed(cfg, out: Path, samples: list, split: str, minutes: float, console: Console, t0: float) -> dict:
    """Base eval, training, SFT and GRPO evals and the report of one seed, into `out`."""
    from foveal.eval import build_report, evaluate
    from foveal.models import load_policy
    from foveal.rollout import get_backend
    from foveal.rollout.base import Sampling
    from foveal.train.run import train

    sampling = Sampling(temperature=0.0, max_new_tokens=cfg.sampling.max_new_tokens, seed=cfg.seed)
    timings: dict[str, float] = {}
    n_tasks = len({s.task for s in samples})

    def stage(i: int, title: str) -> None:
        elapsed = time.perf_counter() - t0
        console.rule(f"[bold]{i}/5 {title}[/]  [dim]elapsed {elapsed / 60:.1f} min[/]")

    def eval_stage(name: str, model_path: str) -> None:
        t = time.perf_counter()
        policy = load_policy(model_path, system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
        evaluate(get_backend("hf", policy=policy), samples, k=1, sampling=sampling, twin="both",
                 out=out / f"eval-{name}", batch_size=EVAL_BATCH, answer_format=cfg.answer_format,
                 meta={"model": model_path, "data": f"gym {split} split: {len(samples) // n_tasks} distinct "
                                                    f"problems per task", "backend": "hf"})
        timings[f"eval_{name}"] = time.perf_counter() - t

    out.mkdir(parents=True, exist_ok=True)
    stage(1, f"evaluate the untrained tiny VLM (seed {cfg.seed}) on {len(samples)} {split} problems × 2 forms")
    eval_stage("base", "tiny")
    stage(2, f"train: SFT {cfg.sft.steps} steps, then GRPO {cfg.rl.steps} steps "
             f"({', '.join(cfg.data.gym.tasks)}; train-split problems only)")
    t = time.perf_counter()
    run_dir = train(cfg, out=out / "train")
    timings["train"] = time.perf_counter() - t
    stage(3, "evaluate the SFT checkpoint")
    eval_stage("sft", str(run_dir / "sft"))
    stage(4, "evaluate the GRPO checkpoint")
    eval_stage("grpo", str(run_dir / "rl"))
    stage(5, "report")
    report = build_report([out / f"eval-{s}" for s in STAGES], out / "report.html", names=list(STAGES),
                          train=[run_dir])
    return {"seed": cfg.seed, "dir": str(out), "report": str(report), "seconds": timings}


def per_problem(run_dir: str, stage: str) -> dict[tuple[str, str], dict[str, float]]:
    """{(task, form): {problem_key: greedy score}} of one stage's eval (levels together)."""
    from foveal.experiment.results import problem_scores

    out: dict[tuple[str, str], dict[str, float]] = {}
    for (task, form, _level), group in problem_scores(Path(run_dir) / f"eval-{stage}").items():
        out.setdefault((task, form), {}).update(group)
    return out


def summarize(runs: list[dict], tasks: list[str], samples: list, split: str, seconds: float) -> dict:
    """Accuracy per stage × task × form for each seed; over seeds, the mean and range, and
    GRPO − SFT paired over seeds and problems (two-level bootstrap, 95%)."""
    from foveal.eval.metrics import seed_bootstrap, wilson_interval

    scores = {s: [per_problem(r["dir"], s) for r in runs] for s in STAGES}
    acc: dict = {s: {t: {} for t in tasks} for s in STAGES}
    for s in STAGES:
        for t in tasks:
            for f in FORMS:
                per_seed = [sum(x[(t, f)].values()) / len(x[(t, f)]) for x in scores[s]]
                n = len(scores[s][0][(t, f)])
                acc[s][t][f] = {"per_seed": per_seed, "mean": sum(per_seed) / len(per_seed),
                                "min": min(per_seed), "max": max(per_seed), "n_distinct": n,
                                "ci95_seed0": list(wilson_interval(per_seed[0] * n, n))}
    chance_by_task = {t: chance([x for x in samples if x.task == t]) for t in tasks}
    delta: dict = {t: {} for t in tasks}
    for t in tasks:
        for f in FORMS:
            diffs = [[g[(t, f)][k] - q[(t, f)][k] for k in q[(t, f)]] for q, g in zip(scores["sft"], scores["grpo"],
                                                                                      strict=True)]
            delta[t][f] = seed_bootstrap(diffs)
    # GRPO beats SFT where the paired interval lies above 0 and GRPO is above chance
    # (0% -> 4% on a four-way choice is outside an interval but is not learning).
    wins = {t: {f: bool(delta[t][f]["ci95"][0] > 0 and acc["grpo"][t][f]["mean"] > chance_by_task[t])
                for f in FORMS} for t in tasks}
    return {"split": split, "seeds": [r["seed"] for r in runs], "accuracy": acc, "chance": chance_by_task,
            "grpo_minus_sft": delta, "grpo_beats_sft": wins, "runs": runs, "seconds": {"total": seconds},
            "report": runs[0]["report"]}


def print_summary(summary: dict, console: Console) -> None:
    """One table: accuracy per task × form × stage, and GRPO − SFT with its paired interval."""
    n_seeds = len(summary["seeds"])
    first = summary["accuracy"]["base"]
    n = next(iter(next(iter(first.values())).values()))["n_distinct"]
    how = "[95% Wilson interval]" if n_seeds == 1 else f"mean over {n_seeds} seeds [min–max]"
    table = Table(title=f"accuracy on {n} distinct {summary['split']} problems per task, never trained on "
                        f"(greedy, {how})")
    for col in ("task", "form", *STAGES, "GRPO − SFT [95% paired]", "chance*"):
        table.add_column(col, justify="left" if col in ("task", "form") else "right", no_wrap=True)
    for t, chance_t in summary["chance"].items():
        for f in FORMS:
            cells = []
            for s in STAGES:
                a = summary["accuracy"][s][t][f]
                lo, hi = a["ci95_seed0"] if n_seeds == 1 else (a["min"], a["max"])
                cells.append(f"{a['mean']:.0%} [{lo * 100:.0f}–{hi * 100:.0f}]")
            d = summary["grpo_minus_sft"][t][f]
            cells.append(f"{d['delta'] * 100:+.1f} [{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]")
            table.add_row(t, f, *cells, f"{chance_t:.0%}")
    console.print(table)
    console.print("[dim]* chance = always answering the most common gold answer. The paired interval "
                  "resamples seeds, then problems within seeds.[/]")
    wins = [f"{t} ({f})" for t, d in summary["grpo_beats_sft"].items() for f, w in d.items() if w]
    console.print("GRPO beats SFT (paired interval above 0, above chance) on: " + (", ".join(wins) if wins else "none"))
    console.print(f"total {summary['seconds']['total'] / 60:.1f} min; report: [bold]{summary['report']}[/]")


def register(app: typer.Typer) -> None:
    @app.command()
    def quickstart(
        out: Path = typer.Option(Path("runs/quickstart"), "--out", help="output directory"),
        minutes: float = typer.Option(DEFAULT_MINUTES, "--minutes", help="budget (> 0); scales the training steps by M/10"),
        tasks: str = typer.Option("", "--tasks", help="comma-separated gym tasks (default: the recipe's)"),
        n_eval: int = typer.Option(EVAL_PER_TASK, "--n-eval", min=1, help="distinct evaluation problems per task"),
        seeds: int = typer.Option(1, "--seeds", min=1, help="full seeds to run (each varies init, data stream, sampling)"),
        first_seed: int = typer.Option(0, "--first-seed", min=0, help="the first seed (seed ranges can run on several machines)"),
        split: str = typer.Option("test", "--split", help="evaluation split: test (report) or val (tuning)"),
        overrides: list[str] = typer.Option([], "--set", help="recipe override key=value (repeatable), for tuning"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing output directory"),
    ) -> None:
        """Gym → SFT → GRPO → eval → report on the embedded tiny VLM (about 5 minutes a seed on 2 CPU cores)."""
        import foveal.tasks as gym
        from foveal.options import about, check_out_dir, is_empty_dir

        names = [t.strip() for t in tasks.split(",") if t.strip()]
        with about("--tasks"):
            for t in names:
                gym.get(t)
        check_out_dir(out, overwrite or is_empty_dir(out))
        run_quickstart(out, minutes, names or None, n_eval, overwrite, seeds=seeds, split=split, overrides=overrides,
                       first_seed=first_seed)
