"""`foveal train`: run a recipe (SFT and/or RL), or resume a run."""

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


def register(app: typer.Typer) -> None:
    app.command("train")(train_cmd)
