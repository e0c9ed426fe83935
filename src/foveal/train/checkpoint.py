"""Resumable checkpoints, written atomically: a crash leaves the previous checkpoint intact.

    RUN/checkpoints/rl-000020/
        model.pt        the trainable model's state_dict (all weights; LoRA: the peft model's)
        optimizer.pt    optimizer state
        scheduler.pt    learning-rate scheduler state
        rng.pt          python `random`, numpy and torch (CPU and CUDA) generator states
        stage.pt        the stage's own state, when it has any (stateful algorithm entries, a
                        moving reference model)
        state.json      {"stage": "rl", "step": 20, "data": {"cursor": 160}, ...}

A checkpoint is built in a temporary directory and renamed into place (`foveal.io.atomic_dir`);
only the newest `keep` are kept. Restoring model, optimizer, scheduler, RNG and data cursor makes
the rest of a run identical, bit for bit on CPU, to a run that was never interrupted.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foveal.errors import FovealError
from foveal.io import atomic_dir

STAGES = ("sft", "rl", "pref")


def checkpoint_name(stage: str, step: int) -> str:
    return f"{stage}-{step:06d}"


def _order(path: Path) -> tuple[int, int]:
    stage, _, step = path.name.rpartition("-")
    return (STAGES.index(stage), int(step))


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (temporary, half-written directories are ignored)."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        stage, _, step = p.name.rpartition("-")
        if p.is_dir() and stage in STAGES and step.isdigit() and (p / "state.json").exists():
            found.append(p)
    return sorted(found, key=_order)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    run_dir: str | Path, stage: str, step: int, model, optimizer, scheduler, state: dict, keep: int = 2,
    stage_state: dict | None = None,
) -> Path:
    """Write checkpoint `stage-step` atomically, then delete all but the newest `keep`."""
    path = Path(run_dir) / "checkpoints" / checkpoint_name(stage, step)
    with atomic_dir(path, overwrite=True) as tmp:
        torch.save(model.state_dict(), tmp / "model.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        torch.save(rng_state(), tmp / "rng.pt")
        if stage_state:
            torch.save(stage_state, tmp / "stage.pt")
        (tmp / "state.json").write_text(json.dumps({"stage": stage, "step": step, **state}, indent=2))
    for old in list_checkpoints(run_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def read_state(path: str | Path) -> dict:
    """state.json of a checkpoint (stage, step, data cursor, ...)."""
    p = Path(path) / "state.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FovealError(f"checkpoint {path} is unreadable: {e}") from None


def load_checkpoint(path: str | Path, model, optimizer=None, scheduler=None, restore_rng: bool = True) -> dict:
    """Restore a checkpoint into `model` (and optimizer, scheduler, RNG); returns its state.json."""
    path = Path(path)
    state = read_state(path)
    try:
        model.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
        if optimizer is not None:
            optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True))
        if scheduler is not None:
            scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
        if restore_rng:
            set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    except (OSError, RuntimeError, KeyError) as e:
        raise FovealError(f"checkpoint {path} is corrupt or does not match the model: {e}") from None
    return state


def load_stage_state(path: str | Path) -> dict:
    """The stage's own state saved beside a checkpoint ({} when it saved none)."""
    p = Path(path) / "stage.pt"
    if not p.exists():
        return {}
    try:
        return torch.load(p, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError) as e:
        raise FovealError(f"checkpoint {path}: stage.pt is corrupt: {e}") from None
