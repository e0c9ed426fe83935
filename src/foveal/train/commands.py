"""`foveal train`: run a recipe (SFT, RL and/or preference), or resume a run; `foveal algos`: what a recipe can name."""

from __future__ import annotations

from pathlib import Path

import typer


def train_cmd(
    config: Path = typer.Option(None, "--config", "-c", help="A YAML recipe (see recipes/)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a field: --set rl.steps=20 (repeatable)."),
    out: Path = typer.Option(None, "--out", help="Run directory to create (default runs/train-DATE-TIME)."),
    resume: Path = typer.Option(None, "--resume", help="Continue this run directory from its last checkpoint."),
) -> None:
    """Train a model: SFT cold start and/or GRPO-family RL, as the recipe says.

    Writes RUN/config.yaml, RUN/train.jsonl (one row per step), RUN/checkpoints/, and the model
    after each stage in RUN/sft and RUN/rl. Multi-GPU: `accelerate launch -m foveal.cli train ...`.
    """
    from rich.console import Console

    from foveal.config import load_config
    from foveal.errors import FovealError
    from foveal.options import about, check_in_file, check_out_dir, is_empty_dir
    from foveal.train.run import train

    if resume is not None:
        if config is not None or overrides or out is not None:
            raise FovealError("--resume RUN continues RUN with its own config.yaml: drop --config/--set/--out")
        cfg = None
    else:
        if config is None:
            raise FovealError("give --config RECIPE.yaml (or --resume RUN)")
        check_in_file(config, "--config")
        with about("--config"):
            cfg = load_config(config, overrides)
        if out is not None:
            check_out_dir(out, overwrite=is_empty_dir(out))
    run_dir = train(cfg, out=out, resume=resume)
    Console().print(f"[bold green]done[/] -> {run_dir} (log {run_dir / 'train.jsonl'})")


def registries() -> dict:
    """{section: Registry} of everything a recipe names by string, in the order `foveal algos` prints."""
    from foveal.rewards import REWARDS
    from foveal.rollout import BACKENDS
    from foveal.tasks import TASKS
    from foveal.train import algos
    from foveal.train.preference import PREFERENCE_LOSSES
    from foveal.train.reference import REF_UPDATES
    from foveal.train.samplers import SAMPLERS

    return {
        "advantages": algos.ADVANTAGES,
        "policy_losses": algos.POLICY_LOSSES,
        "aggregations": algos.AGGREGATIONS,
        "kl_estimators": algos.KL,
        "beta_schedules": algos.BETA_SCHEDULES,
        "ref_updates": REF_UPDATES,
        "preference_losses": PREFERENCE_LOSSES,
        "rewards": REWARDS,
        "samplers": SAMPLERS,
        "tasks": TASKS,
        "backends": BACKENDS,
    }


def algos_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {section: [{name, doc, options, flags}]}."),
) -> None:
    """List every registry a recipe draws from (advantages, policy losses, aggregations, KL estimators,
    beta schedules, reference updates, preference losses, rewards, samplers, tasks, rollout backends), each entry with its
    options (name=default) and one-line doc."""
    import json

    from rich.console import Console
    from rich.markup import escape

    listing = {section: reg.describe() for section, reg in registries().items()}
    if as_json:
        typer.echo(json.dumps(listing, indent=1))
        return
    con = Console(highlight=False)
    for section, entries in listing.items():
        con.print(f"[bold]{section}[/] ({len(entries)})")
        for e in entries:
            opts = ", ".join(f"{k}={v!r}" for k, v in e["options"].items())
            flags = " ".join(f"[{k}={v}]" for k, v in e["flags"].items() if v not in (None, False))
            con.print(escape(f"  {e['name']}({opts}) {flags}".rstrip()) + f"  [dim]{escape(e['doc'])}[/]", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
    app.command("algos")(algos_cmd)
