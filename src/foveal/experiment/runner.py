"""Run an experiment's cells (arm × seed), resumably, in one or several processes.

    DIR/experiment.yaml           the experiment file as run (with experiment.json: the resolved plan)
    DIR/cells/ARM/seed-S/
        plan.json                 the cell's full config and evaluation settings; a rerun must match it
        train/                    the run directory of `foveal.train.run.train` (config.yaml, checkpoints/, sft/, rl/)
        eval-STAGE/               a `foveal.eval.evaluate` run per evaluated stage (samples.jsonl, metrics.json)
        done.json                 written last: the cell is finished and is skipped from now on

A cell trains the arm's recipe with `seed` = S (model init, training problem stream and sampling),
then evaluates each stage asked for on the experiment's problems (sampling seed S; answers read in the
config's `answer_format`). Resuming: a finished cell is skipped; a half-trained one continues from its
last checkpoint (`train --resume`: at the end of each stage, or every `checkpoint.every` steps); a
half-done evaluation continues where it stopped (the harness skips rows already written).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from foveal.config import RunConfig, dump_config
from foveal.errors import FovealError
from foveal.experiment.spec import Experiment
from foveal.io import atomic_write_json


@dataclass(frozen=True)
class Cell:
    """One arm × seed: everything a worker process needs to run it (picklable)."""

    arm: str
    seed: int
    config: str  # the RunConfig as YAML (seed set)
    stages: tuple[str, ...]
    eval: dict  # EvalSpec fields plus max_new_tokens resolved
    dir: str
    after: str | None = None  # the directory of the cell whose model this one starts from (`Arm.start`)

    @property
    def name(self) -> str:
        return f"{self.arm} seed {self.seed}"


def cell_dir(out: Path, arm: str, seed: int) -> Path:
    return out / "cells" / arm / f"seed-{seed}"


def cells_of(exp: Experiment, out: Path) -> list[Cell]:
    """The cells, seed-major (every arm of seed 0 first), so early results already pair up; within a
    seed the arms others start from come first. An arm with `start` trains from the start arm's model
    of its seed (model.path = that cell's train/STAGE, an absolute path)."""
    ev = {**exp.spec.eval.model_dump(), "max_new_tokens": exp.max_new_tokens}
    arms = sorted(exp.configs, key=lambda a: a in exp.starts)  # stable: the file's order otherwise
    cells = []
    for seed in exp.seeds:
        for arm in arms:
            c = exp.configs[arm].model_copy(deep=True)
            c.seed = seed
            c.log.progress = False  # the experiment shows one bar over cells
            after = None
            if arm in exp.starts:
                src, stage = exp.starts[arm]
                after = str(cell_dir(out, src, seed))
                c.model.path = str((cell_dir(out, src, seed) / "train" / stage).resolve())
            cells.append(Cell(arm, seed, dump_config(c), tuple(exp.stages[arm]), ev, str(cell_dir(out, arm, seed)),
                              after))
    return cells


OMITTED = {"blind": False}  # eval keys added later, left out of plan.json at their default: older cells still match


def plan_of(cell: Cell) -> dict:
    ev = {k: v for k, v in cell.eval.items() if not (k in OMITTED and v == OMITTED[k])}
    return {"arm": cell.arm, "seed": cell.seed, "stages": list(cell.stages), "eval": ev, "config": cell.config}


def check_cell(cell: Cell) -> None:
    """FovealError when the cell's directory was started with another config or evaluation."""
    path = Path(cell.dir) / "plan.json"
    if path.is_file() and json.loads(path.read_text()) != json.loads(json.dumps(plan_of(cell))):
        raise FovealError(f"{cell.dir} was started with another config or eval for arm {cell.arm!r} "
                          f"seed {cell.seed}; rerun the file it was made with, or use another --out")


def is_done(cell: Cell) -> bool:
    return is_done_dir(cell.dir)


def is_done_dir(path: str) -> bool:
    return (Path(path) / "done.json").is_file()


_SAMPLES: dict[str, list] = {}


def problems(ev: dict) -> list:
    """The experiment's problems (drawn once per process; the same in every process)."""
    from foveal.tasks.generate import distinct_samples

    key = json.dumps(ev, sort_keys=True)
    if key not in _SAMPLES:
        from foveal.experiment.spec import EvalSpec

        _SAMPLES[key] = distinct_samples(ev["tasks"], ev["levels"], ev["n"], ev["split"],
                                         variant=EvalSpec(**ev).variant())
    return _SAMPLES[key]


def train_cell(cfg: RunConfig, run_dir: Path) -> None:
    """Train, or continue training, the cell's run in `run_dir`."""
    from foveal.train.run import train

    if (run_dir / "meta.json").is_file():  # written last by train: finished
        return
    if (run_dir / "config.yaml").is_file():
        train(None, resume=run_dir)
        return
    shutil.rmtree(run_dir, ignore_errors=True)  # killed before the run wrote its config: start over
    train(cfg, out=run_dir)


def model_of(cfg: RunConfig, stage: str, run_dir: Path) -> str:
    return cfg.model.path if stage == "base" else str(run_dir / stage)


def run_cell(cell: Cell) -> dict:
    """Train and evaluate one cell (skipped when done); returns its done.json."""
    import yaml

    from foveal.config import RunConfig
    from foveal.eval import evaluate
    from foveal.models import load_policy
    from foveal.rollout import get_backend
    from foveal.rollout.base import Sampling

    out = Path(cell.dir)
    if is_done(cell):
        return json.loads((out / "done.json").read_text())
    check_cell(cell)
    if cell.after is not None and not is_done_dir(cell.after):
        raise FovealError(f"{cell.name}: starts from the model of {cell.after}, which is not finished")
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "plan.json", plan_of(cell))
    cfg = RunConfig.model_validate(yaml.safe_load(cell.config))
    run_dir = out / "train"
    if any(s != "base" for s in cell.stages):
        train_cell(cfg, run_dir)
    ev = cell.eval
    sampling = Sampling(temperature=ev["temperature"], max_new_tokens=ev["max_new_tokens"], seed=cell.seed)
    samples = problems(ev)
    metrics = {}
    for stage in cell.stages:
        path = model_of(cfg, stage, run_dir)
        policy = load_policy(path, dtype=cfg.model.dtype, system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
        result = evaluate(get_backend("hf", policy=policy), samples, k=ev["k"], sampling=sampling,
                          twin="both" if len(ev["forms"]) > 1 else ev["forms"][0], out=out / f"eval-{stage}",
                          batch_size=ev["batch_size"], progress=False, answer_format=cfg.answer_format,
                          blind=ev.get("blind", False),
                          meta={"model": path, "backend": "hf",
                                "data": f"gym {ev['split']} split: {ev['n']} distinct problems per task of "
                                        f"{', '.join(ev['tasks'])} at level(s) {ev['levels']}"})
        metrics[stage] = result.metrics["overall"]
    done = {"arm": cell.arm, "seed": cell.seed, "stages": list(cell.stages), "seconds": time.perf_counter() - t0,
            "accuracy": {s: m.get("accuracy") for s, m in metrics.items()}}
    atomic_write_json(out / "done.json", done)
    return done


def init_worker() -> None:
    """A worker process: one torch thread, and it dies with its parent (no orphan writing into DIR)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    import sys

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    import torch

    torch.set_num_threads(1)


def run_cells(cells: list[Cell], workers: int = 1, progress: bool = True) -> list[dict]:
    """Run every cell (finished ones are skipped), `workers` at a time, with a progress bar over cells.
    Returns the cells' done.json in the order of `cells`."""
    from foveal.progress import progress_bar

    todo = [c for c in cells if not is_done(c)]
    for c in todo:
        check_cell(c)
    results: dict[int, dict] = {}
    with progress_bar("{task.fields[info]}", enabled=progress) as bar:
        task = bar.add_task("cells", total=len(cells), completed=len(cells) - len(todo),
                            info=f"{len(cells) - len(todo)} finished before" if len(todo) < len(cells) else "")

        def finished(c: Cell, done: dict) -> None:
            results[cells.index(c)] = done
            acc = "  ".join(f"{s} {a:.0%}" for s, a in done["accuracy"].items() if a is not None)
            bar.update(task, advance=1, info=f"{c.name} done: accuracy {acc} ({done['seconds']:.0f}s)")

        if workers == 1 or len(todo) <= 1:
            if "OMP_NUM_THREADS" not in os.environ:
                import torch

                torch.set_num_threads(1)  # the tiny model gains nothing from threads on a busy machine
            for c in todo:
                bar.update(task, info=f"running {c.name}")
                finished(c, run_cell(c))
        else:
            import multiprocessing as mp
            from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

            bar.update(task, info=f"running {min(workers, len(todo))} cells at a time")
            waiting = list(todo)  # a cell starts once the cell it starts from (`after`) is done
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_worker) as pool:
                running: dict = {}
                try:
                    while waiting or running:
                        for c in [c for c in waiting if c.after is None or is_done_dir(c.after)]:
                            waiting.remove(c)
                            running[pool.submit(run_cell, c)] = c
                        if not running:  # what is left waits for cells that are neither done nor to be run
                            raise FovealError(f"{', '.join(c.name for c in waiting)}: the cells they start from "
                                              f"are not finished and not among the cells to run")
                        finished_now, _ = wait(running, return_when=FIRST_COMPLETED)
                        for f in finished_now:
                            finished(running.pop(f), f.result())
                except BaseException:  # a cell failed (or Ctrl-C): start no further cells
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return [results.get(i) or json.loads((Path(c.dir) / "done.json").read_text()) for i, c in enumerate(cells)]
