"""`train(config) -> run_dir`: a whole run, SFT then RL then preference, logged, checkpointed and resumable.

    from foveal.config import load_config
    from foveal.train import train
    run = train(load_config("recipes/grpo.yaml"), out="runs/grpo")
    train(None, resume="runs/grpo")                   # continue after a crash, from the last checkpoint

A run directory holds

    config.yaml      the full validated config (every default written out)
    meta.json        seed, data source and the gym seed range used, versions, git revision, models
    train.jsonl      one row per optimizer step of each stage: {"stage", "step", metrics...}
    tb/              TensorBoard events (log.tensorboard: true)
    checkpoints/     resumable state every `checkpoint.every` steps and at the end of each stage
    sft/, rl/, pref/ the model after each stage (a transformers directory; `load_policy("RUN/rl")`)

Everything that can fail on bad input (the config, the algorithms and their options, the model path,
the dataset, reward names) is checked before the run directory is created, so a bad command leaves
nothing behind.

`train` is a short driver over stages (`stage_classes()`: SFT, RL, then preference (DPO / REDI) on
verified pairs, last because its pairs come from the policy the earlier stages made). A stage is a
class with a `name` (its config section and checkpoint prefix), `__init__(session, source)` that
builds its own state (optimizer, schedule, and for RL the rollout backend, the registered functions and the
reference model), `step(i) -> log row`, and optionally `state_dict()`/`load_state_dict()` for state
beyond weights, optimizer, schedule, RNG and data cursor (saved as the checkpoint's stage.pt).

Multi-GPU: `accelerate launch -m foveal.cli train --config ...` runs one process per GPU under
DDP (each process takes its share of the prompts; gradients are averaged by DDP). For FSDP, pass an
accelerate config with `distributed_type: FSDP` (see docs/train.md). On CPU the model trains
in float32, on GPU in bfloat16 (`model.dtype` overrides).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import NamedTuple

import torch

from foveal.config import RunConfig, dump_config, load_config
from foveal.errors import FovealError
from foveal.io import atomic_write_json, atomic_write_text, read_jsonl
from foveal.progress import progress_bar
from foveal.provenance import provenance
from foveal.train import algos
from foveal.train import checkpoint as ckpt
from foveal.train.data import PromptSource, check_sampler
from foveal.train.sft import check_align


class Session:
    """What both stages share: the config, the run directory, the policy, accelerate, the log."""

    def __init__(self, cfg: RunConfig, run_dir: Path, policy, accelerator) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.policy = policy
        self.accelerator = accelerator
        self.world = accelerator.num_processes
        self.rank = accelerator.process_index
        self.model = accelerator.prepare(policy.model)  # DDP-wrapped under `accelerate launch`
        self.writer = None
        self.resuming_stage: str | None = None  # the stage being continued from a mid-stage checkpoint

    # -- distributed helpers (no-ops on one process) -------------------------------------------
    def shard(self, items: list) -> list:
        """This process's share of a list drawn identically by every process."""
        return items[self.rank :: self.world]

    def global_sum(self, x: float) -> float:
        if self.world == 1:
            return float(x)
        t = torch.tensor(float(x), device=self.accelerator.device)
        return float(self.accelerator.reduce(t, reduction="sum"))

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """`t` from every process, concatenated in rank order (float, on CPU)."""
        t = t.detach().float()
        return t if self.world == 1 else self.accelerator.gather(t.to(self.accelerator.device)).cpu()

    def gather_list(self, xs: list) -> list:
        """A list of Python objects from every process, concatenated in the same rank order as `gather`."""
        if self.world == 1:
            return list(xs)
        from accelerate.utils import gather_object

        return gather_object(list(xs))

    def global_max(self, x: int) -> int:
        """The largest `x` over all processes (every process must call it: it is a collective)."""
        return int(x) if self.world == 1 else int(self.gather(torch.tensor([float(x)])).max())

    def global_mean(self, t: torch.Tensor) -> float:
        return float(self.gather(t).mean())

    def global_std(self, t: torch.Tensor) -> float:
        g = self.gather(t)
        return float(g.std()) if g.numel() > 1 else 0.0

    def sync(self, last: bool):
        """Gradient accumulation: skip DDP's all-reduce on all but the last micro-batch."""
        return contextlib.nullcontext() if last else self.accelerator.no_sync(self.model)

    # -- model helpers ----------------------------------------------------------------------------
    def logprobs(self, batch: dict, temperature: float = 1.0, model=None):
        """`Policy.token_logprobs` through `model` (default: the training model, DDP-wrapped if any);
        another model (the reference, a frozen copy without accelerate's wrappers) runs under the
        accelerator's autocast, as the prepared training model does."""
        policy = self.policy
        saved = policy.model
        policy.model = self.model if model is None else model
        try:
            with self.accelerator.autocast() if model is not None else contextlib.nullcontext():
                return policy.token_logprobs(batch, temperature)
        finally:
            policy.model = saved

    def make_optimizer(self, ocfg, total_updates: int):
        """AdamW over the trainable parameters and its warm-up + cosine/linear/constant schedule.

            lr(u) = lr * u / warmup                                        for u < warmup
            lr(u) = lr * f((u - warmup) / (total - warmup)),  f = (1 + cos(pi x)) / 2 | 1 - x | 1
        """
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=ocfg.lr, betas=tuple(ocfg.betas), weight_decay=ocfg.weight_decay)
        warm, total = ocfg.warmup_steps, max(total_updates, 1)

        def factor(u: int) -> float:
            if u < warm:
                return (u + 1) / warm
            x = min((u - warm) / max(total - warm, 1), 1.0)
            return {"cosine": 0.5 * (1 + math.cos(math.pi * x)), "linear": 1 - x, "constant": 1.0}[ocfg.schedule]

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return self.accelerator.prepare_optimizer(opt), sched

    def clip_and_step(self, optimizer, scheduler, max_norm: float | None) -> float:
        """Clip the gradient norm (if asked), step optimizer and schedule, zero grads; returns the norm."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        norm = self.accelerator.clip_grad_norm_(params, max_norm if max_norm else float("inf"))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return float(norm)

    # -- logging ----------------------------------------------------------------------------------
    def log(self, stage: str, step: int, row: dict) -> dict:
        from foveal.io import append_jsonl

        metrics = {k: v for k, v in row.items() if v is not None}
        row = {"stage": stage, "step": step, **metrics}
        if self.accelerator.is_main_process:
            append_jsonl(self.run_dir / "train.jsonl", [row])
            if self.writer is not None:
                for k, v in metrics.items():
                    if isinstance(v, (int, float)):
                        self.writer.add_scalar(f"{stage}/{k}", v, step)
        return row


def _truncate_log(run_dir: Path, stage: str, step: int) -> None:
    """Drop log rows written after the checkpoint being resumed from (they will be redone)."""
    path = run_dir / "train.jsonl"
    rows = read_jsonl(path)
    order = ckpt.STAGES.index(stage)
    keep = [r for r in rows if (ckpt.STAGES.index(r["stage"]), r["step"]) <= (order, step)]
    if len(keep) != len(rows):
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in keep))


SUMMARY_KEYS = {"sft": ("loss",), "pref": ("loss", "reward_margin", "reward_accuracy", "pairs")}  # the progress line


def _summary(stage: str, row: dict) -> str:
    keys = SUMMARY_KEYS.get(stage, ("reward_mean", "accuracy", "format_rate", "completion_len"))
    return "  ".join(f"{k}={row[k]:.3g}" for k in keys if isinstance(row.get(k), (int, float)))


def make_accelerator():
    """The `Accelerator` of a run: GPUs when there are, else CPU (processes joined over gloo); DDP
    tolerates parameters a batch leaves unused (a text-only batch never reaches the vision tower)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    return Accelerator(cpu=not torch.cuda.is_available(), kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


class Resume(NamedTuple):
    """The checkpoint a resumed run continues from: its directory and its state.json."""

    path: Path
    state: dict


def train(config: RunConfig | str | Path | None, out: str | Path | None = None, resume: str | Path | None = None) -> Path:
    """Run the stages of `config` (SFT, RL, preference) into `out` (or continue run `resume`); returns the run dir."""
    cfg, run_dir, at = _resolve(config, out, resume)
    session, source = _open_session(cfg, run_dir, fresh=resume is None, at=at)
    meta = {"seed": cfg.seed, **provenance(), "models": {}}
    with progress_bar("{task.fields[info]}", enabled=cfg.log.progress and session.accelerator.is_main_process) as progress:
        for stage_cls in stage_classes():
            at = _run_stage(session, stage_cls, source, at, progress, meta)
    _close_session(session, source, meta)
    return run_dir


def stage_classes() -> tuple:
    """The stages of a run, in order (each skipped when its `steps` is 0)."""
    from foveal.train.preference import PrefStage
    from foveal.train.rl import RLStage
    from foveal.train.sft import SFTStage

    return (SFTStage, RLStage, PrefStage)


def _resolve(config, out, resume) -> tuple[RunConfig, Path, Resume | None]:
    """(config, run directory, checkpoint to continue from) of a new or resumed run."""
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "config.yaml").is_file():
            raise FovealError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        path = ckpt.latest_checkpoint(run_dir)
        return load_config(run_dir / "config.yaml"), run_dir, Resume(path, ckpt.read_state(path)) if path else None
    if config is None:
        raise FovealError("train: give a config (or resume a run)")
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    run_dir = Path(out) if out is not None else Path("runs") / time.strftime("train-%Y%m%d-%H%M%S")
    if run_dir.exists() and any(run_dir.iterdir()):
        raise FovealError(f"output directory {run_dir} already exists and is not empty (use --resume {run_dir} to continue it)")
    return cfg, run_dir, None


def _open_session(cfg: RunConfig, run_dir: Path, fresh: bool, at: Resume | None) -> tuple[Session, PromptSource]:
    """Check every input (config, algorithms and their options, model, data, rewards), then create
    the run directory, its config.yaml and log: nothing is written before all input is known good."""
    from accelerate.utils import set_seed

    from foveal.models import load_policy

    algos.check_rl_config(cfg.rl)  # the algorithm names and options are known here, not in config.py
    accelerator = make_accelerator()
    set_seed(cfg.seed)
    policy = load_policy(cfg.model.path, lora=cfg.model.lora, dtype=cfg.model.dtype, device=str(accelerator.device),
                         system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
    source = PromptSource(cfg.data, seed=cfg.seed)
    check_sampler(cfg, source.sampler)  # it acts in a stage that trains; it draws pictures for sft.align
    check_align(cfg, policy)
    if cfg.rl.steps:
        from foveal.train.rl import load_rewards

        load_rewards(cfg.rewards)
    if cfg.pref.steps:
        from foveal.train.preference import check_pref_config

        check_pref_config(cfg, accelerator.num_processes)  # the loss, the pairs file's records, the verifier
    if cfg.model.gradient_checkpointing:
        _enable_gradient_checkpointing(policy, cfg.model.lora is not None)
    if cfg.rl.steps:
        from foveal.train.rl import share_prompt

        share_prompt(cfg.rl.share_prompt, policy.model)  # `true` refuses a model that cannot share a prompt
    set_seed(cfg.seed)
    accelerator.wait_for_everyone()  # every process has checked its input (and `out` was empty) before any writes

    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            atomic_write_text(run_dir / "config.yaml", dump_config(cfg))
        if at is not None:
            _truncate_log(run_dir, at.state["stage"], at.state["step"])
        elif not fresh:
            _truncate_log(run_dir, ckpt.STAGES[0], 0)
    session = Session(cfg, run_dir, policy, accelerator)
    if cfg.log.tensorboard and accelerator.is_main_process:
        from torch.utils.tensorboard import SummaryWriter

        session.writer = SummaryWriter(str(run_dir / "tb"))
    return session, source


def _enable_gradient_checkpointing(policy, lora: bool) -> None:
    enable = getattr(policy.model, "activation_checkpointing_enable", None)  # transformers 5's name
    if enable is not None:
        enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        policy.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if lora:
        policy.model.enable_input_require_grads()


def _run_stage(session: Session, stage_cls, source: PromptSource, at: Resume | None, progress, meta: dict) -> Resume | None:
    """Run one stage from its start or from checkpoint `at`; returns the checkpoint still to be
    reached by a later stage (None once it has been restored)."""
    name, run_dir = stage_cls.name, session.run_dir
    steps = getattr(session.cfg, name).steps
    if steps == 0:
        return at
    unwrapped = session.accelerator.unwrap_model(session.model)
    if at is not None:
        order, here = ckpt.STAGES.index(at.state["stage"]), ckpt.STAGES.index(name)
        if order > here:  # finished before the checkpoint; its weights arrive with that checkpoint
            meta["models"][name] = str(run_dir / name)
            return at
        if order == here and at.state["step"] >= steps:  # finished exactly at the checkpoint
            ckpt.load_checkpoint(at.path, unwrapped)
            source.load_state(at.state["data"])
            meta["models"][name] = str(run_dir / name)
            return None
    mid = at is not None and at.state["stage"] == name  # resumed mid-way: the stage rebuilds its start
    session.resuming_stage = name if mid else None
    stage = stage_cls(session, source)
    start = 0
    if mid:
        ckpt.load_checkpoint(at.path, unwrapped, stage.optimizer, stage.scheduler)
        _stage_load(stage, ckpt.load_stage_state(at.path))
        source.load_state(at.state["data"])
        start = at.state["step"]
    task = progress.add_task(name, total=steps, completed=start, info="")
    every = session.cfg.checkpoint.every
    for step in range(start, steps):
        row = session.log(name, step + 1, stage.step(step))
        progress.update(task, advance=1, info=_summary(name, row))
        if every and (step + 1) % every == 0 and step + 1 < steps:
            _save(session, stage, name, step + 1, source)
    if session.accelerator.is_main_process:
        session.policy.save(run_dir / name, overwrite=True)
    _save(session, stage, name, steps, source)
    meta["models"][name] = str(run_dir / name)
    session.resuming_stage = None
    return None if mid else at


def _stage_state(stage) -> dict:
    """A stage's own state for its checkpoint (stateful entries, a moving reference), if it has any."""
    fn = getattr(stage, "state_dict", None)
    return fn() if callable(fn) else {}


def _stage_load(stage, state: dict) -> None:
    fn = getattr(stage, "load_state_dict", None)
    if state and callable(fn):
        fn(state)


def _close_session(session: Session, source: PromptSource, meta: dict) -> None:
    """Write meta.json (data drawn, final model), close the log and leave the process group."""
    acc = session.accelerator
    if acc.is_main_process:
        meta["data"] = source.describe()
        meta["final_model"] = list(meta["models"].values())[-1]
        atomic_write_json(session.run_dir / "meta.json", meta)
        if session.writer is not None:
            session.writer.close()
    acc.end_training()  # waits for every process, then leaves the process group cleanly


def _save(session: Session, stage, name: str, step: int, source: PromptSource) -> None:
    acc = session.accelerator
    acc.wait_for_everyone()
    if acc.is_main_process:
        ckpt.save_checkpoint(
            session.run_dir, name, step, acc.unwrap_model(session.model), stage.optimizer, stage.scheduler,
            {"data": source.state()}, keep=session.cfg.checkpoint.keep, stage_state=_stage_state(stage),
        )
    acc.wait_for_everyone()
