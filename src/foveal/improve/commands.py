"""`foveal improve`: rounds of generate → verify → keep → SFT → (GRPO) from a model, each evaluated on val."""

from __future__ import annotations

from pathlib import Path

import typer

DEFAULT_N = 64  # gym problems per task per round when neither --n nor --sample-budget is given


def improve_command(
    model: str = typer.Option(..., "--model", help="The starting model: a model directory, 'tiny' or 'smollm2-135m'."),
    config: Path = typer.Option(..., "--config", "-c", help="The recipe each round trains with: its sft section (and rl, when rl.steps > 0), sampling, answer_format, model options."),
    out: Path = typer.Option(..., "--out", help="Run directory (round-N/{gen.jsonl, data, model, eval}, report.html); rerunning resumes."),
    rounds: int = typer.Option(..., "--rounds", min=1, help="Rounds of generate → verify → keep → train."),
    k: int = typer.Option(8, "--k", min=1, help="Completions sampled per problem each round."),
    overrides: list[str] = typer.Option([], "--set", help="Override a recipe field: --set sft.steps=50 (repeatable)."),
    tasks_: str = typer.Option(None, "--tasks", help="Training problems from the gym: comma-separated task names (default: the recipe's data.gym tasks)."),
    levels: str = typer.Option(None, "--levels", help="With the gym: levels, '1-5' or '1,3' (default: the recipe's, else 1)."),
    n: int = typer.Option(None, "--n", min=1, help="Problems per task per round (gym; default 64), or rows per round (--data; default all)."),
    sample_budget: int = typer.Option(None, "--sample-budget", min=1, help="Or fix the completions sampled for training over all rounds: --n = BUDGET // (rounds × K × tasks)."),
    gym_seed: int = typer.Option(None, "--gym-seed", min=0, help="Round r draws gym seeds GYM_SEED + (r-1)·n + i (train split); default 0."),
    n_val: int = typer.Option(None, "--n-val", min=1, help="With the gym: distinct val problems per task every round is scored on; default 50."),
    data: Path = typer.Option(None, "--data", help="Or a dataset (`foveal gen` directory, or JSONL/parquet records; answers optional with --pseudo-label majority)."),
    val_data: Path = typer.Option(None, "--val-data", help="With --data: the problems every round is scored on (with answers)."),
    pseudo_label: str = typer.Option(None, "--pseudo-label", help="majority: a problem without a gold answer is labelled by the majority of its K answers."),
    min_agreement: float = typer.Option(0.5, "--min-agreement", help="With --pseudo-label majority: the share of the K answers the majority needs, in [0, 1]."),
    backend: str = typer.Option("hf", "--backend", help="Rollout backend: hf, vllm, or openai (each round's model served on localhost)."),
    sft_epochs: float = typer.Option(None, "--sft-epochs", help="Each round's SFT steps = EPOCHS × kept traces / sft.batch_size (default: the recipe's sft.steps every round)."),
    preference: str = typer.Option(None, "--preference", help="dpo or redi: each round also trains on (right, wrong) pairs of its verified samples (after SFT and RL)."),
    pref_steps: int = typer.Option(None, "--pref-steps", min=1, help="With --preference: steps of the preference stage each round (default: the recipe's pref.steps)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Problems per generation batch (and per append to gen.jsonl)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes drawing the gym problems."),
) -> None:
    """Improve a model by itself: each round samples K completions per problem, keeps the distinct ones
    that verify (the gold answer, or the majority vote with --pseudo-label majority), fine-tunes on them
    with the recipe's sft section, then runs its rl section when rl.steps > 0 (and with --preference, DPO or
    REDI on right/wrong pairs of the same samples), and scores the new model on val problems. Writes RUN/round-N/... and a report across rounds (summary.json, rounds.png, report.html)."""
    from foveal.config import load_config
    from foveal.errors import FovealError
    from foveal.improve.problems import Problems
    from foveal.improve.run import improve
    from foveal.options import about, check_in_file, check_out_dir
    from foveal.tasks.generate import parse_levels, parse_names

    # Everything is checked before OUT is created (or the slow model load starts).
    check_in_file(config, "--config")
    with about("--config"):
        cfg = load_config(config, overrides)
    if n is not None and sample_budget is not None:
        raise FovealError("give --n (problems per round) or --sample-budget (completions over all rounds), not both")
    if k > 1 and cfg.sampling.temperature == 0:
        raise FovealError(f"--k {k}: the recipe samples greedily (sampling.temperature 0); K > 1 needs temperature > 0")
    check_out_dir(out, overwrite=True)  # an existing run directory is resumed
    if data is not None:
        given = [opt for opt, v in (("--tasks", tasks_), ("--levels", levels), ("--gym-seed", gym_seed),
                                    ("--n-val", n_val)) if v is not None]
        if given:
            raise FovealError(f"{', '.join(given)} draw(s) problems from the gym: not with --data")
        if val_data is None:
            raise FovealError("--data needs --val-data: the problems (with answers) every round is scored on")
        per_round = None if sample_budget is None else sample_budget // (rounds * k)
        problems = Problems(data=data, val_data=val_data, n=n if n is not None else per_round,
                            pseudo_label=pseudo_label is not None)
    else:
        if val_data is not None:
            raise FovealError("--val-data goes with --data; with the gym, every round is scored on --n-val val problems")
        gym = cfg.data.gym
        if tasks_ is None and gym is None:
            raise FovealError(f"--config {config}: the recipe draws no gym tasks; give --tasks or --data")
        with about("--tasks"):
            names = parse_names(tasks_) if tasks_ is not None else list(gym.tasks)
        with about("--levels"):
            lv = parse_levels(levels) if levels is not None else list(gym.levels) if gym is not None else [1]
        per_round = None if sample_budget is None else sample_budget // (rounds * k * len(names))
        problems = Problems(tasks=tuple(names), levels=tuple(lv), n=n if n is not None else per_round if
                            per_round is not None else DEFAULT_N, gym_seed=gym_seed or 0,
                            form=gym.form if gym is not None else "image", n_val=n_val or 50, workers=workers,
                            variant=gym.variant() if gym is not None and tasks_ is None else None)
    if sample_budget is not None and not problems.n:
        raise FovealError(f"--sample-budget {sample_budget}: less than one problem per round "
                          f"({rounds} rounds × K={k}{' × ' + str(len(problems.tasks)) + ' tasks' if problems.tasks else ''})")
    improve(cfg, model, problems, out, rounds=rounds, k=k, backend=backend, pseudo_label=pseudo_label,
            min_agreement=min_agreement, batch_size=batch_size, sft_epochs=sft_epochs, preference=preference,
            pref_steps=pref_steps)


def register(app: typer.Typer) -> None:
    app.command("improve")(improve_command)
