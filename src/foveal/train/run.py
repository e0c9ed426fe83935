"""`train(config) -> run_dir`: a whole run, SFT then RL, logged, checkpointed and resumable.

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
    sft/, rl/        the model after each stage (a transformers directory; `load_policy("RUN/rl")`)

Everything that can fail on bad input (the config, the model path, the dataset, reward names) is
checked before the run directory is created, so a bad command leaves nothing behind.

Multi-GPU: `accelerate launch -m foveal.cli train --config ...` runs one process per GPU under
DDP (each process takes its share of the prompts; gradients are averaged by DDP). For FSDP, pass an
accelerate config with `distributed_type: FSDP` (see docs/train.md). On CPU the model trains
in float32, on GPU in bfloat16 (`model.dtype` overrides).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from pathlib import Path

import torch

from foveal.config import RunConfig, dump_config, load_config
from foveal.errors import FovealError
from foveal.io import atomic_write_json, atomic_write_text, read_jsonl
from foveal.progress import progress_bar
from foveal.provenance import provenance
from foveal.train import algos
from foveal.train import checkpoint as ckpt
from foveal.train.data import PromptSource


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
        """`Policy.token_logprobs` through `model` (default: the training model, DDP-wrapped if any)."""
        policy = self.policy
        saved = policy.model
        policy.model = self.model if model is None else model
        try:
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

        row = {"stage": stage, "step": step, **{k: v for k, v in row.items() if v is not None}}
        if self.accelerator.is_main_process:
            append_jsonl(self.run_dir / "train.jsonl", [row])
            if self.writer is not None:
                for k, v in row.items():
                    if isinstance(v, (int, float)) and k != "step":
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


def _summary(stage: str, row: dict) -> str:
    keys = ("loss",) if stage == "sft" else ("reward_mean", "accuracy", "format_rate", "completion_len")
    return "  ".join(f"{k}={row[k]:.3g}" for k in keys if isinstance(row.get(k), (int, float)))


def make_accelerator():
    """The `Accelerator` of a run: GPUs when there are, else CPU (processes joined over gloo); DDP
    tolerates parameters a batch leaves unused (a text-only batch never reaches the vision tower)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    return Accelerator(cpu=not torch.cuda.is_available(), kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def train(config: RunConfig | str | Path | None, out: str | Path | None = None, resume: str | Path | None = None) -> Path:
    """Run the SFT and RL stages of `config` into `out` (or continue run `resume`); returns the run dir."""
    from accelerate.utils import set_seed

    from foveal.models import load_policy

    resume_from = None
    if resume is not None:
        run_dir = Path(resume)
        if not (run_dir / "config.yaml").is_file():
            raise FovealError(f"--resume {run_dir}: not a run directory (no config.yaml)")
        cfg = load_config(run_dir / "config.yaml")
        resume_from = ckpt.latest_checkpoint(run_dir)
    else:
        if config is None:
            raise FovealError("train: give a config (or resume a run)")
        cfg = config if isinstance(config, RunConfig) else load_config(config)
        run_dir = Path(out) if out is not None else Path("runs") / time.strftime("train-%Y%m%d-%H%M%S")
        if run_dir.exists() and any(run_dir.iterdir()):
            raise FovealError(f"output directory {run_dir} already exists and is not empty (use --resume {run_dir} to continue it)")

    algos.check_rl_config(cfg.rl)  # the algorithm names are known here, not in config.py
    accelerator = make_accelerator()
    set_seed(cfg.seed)
    # Everything that can fail on bad input happens before anything is written.
    policy = load_policy(cfg.model.path, lora=cfg.model.lora, dtype=cfg.model.dtype, device=str(accelerator.device),
                         system_prompt=cfg.model.system_prompt, seed=cfg.init_seed)
    source = PromptSource(cfg.data, seed=cfg.seed)
    if cfg.rl.steps:
        from foveal.train.rl import load_rewards

        load_rewards(cfg.rewards)
    if cfg.model.gradient_checkpointing:
        enable = getattr(policy.model, "activation_checkpointing_enable", None)  # transformers 5's name
        if enable is not None:
            enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            policy.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.model.lora is not None:
            policy.model.enable_input_require_grads()
    set_seed(cfg.seed)
    accelerator.wait_for_everyone()  # every process has checked its input (and `out` was empty) before any writes

    if accelerator.is_main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
        if resume is None:
            atomic_write_text(run_dir / "config.yaml", dump_config(cfg))
    session = Session(cfg, run_dir, policy, accelerator)
    if cfg.log.tensorboard and accelerator.is_main_process:
        from torch.utils.tensorboard import SummaryWriter

        session.writer = SummaryWriter(str(run_dir / "tb"))
    state = ckpt.read_state(resume_from) if resume_from else None
    if accelerator.is_main_process:
        if state:
            _truncate_log(run_dir, state["stage"], state["step"])
        elif resume is not None:
            _truncate_log(run_dir, "sft", 0)
    meta = {"seed": cfg.seed, **provenance(), "models": {}}
    unwrapped = accelerator.unwrap_model(session.model)

    from foveal.train.rl import RLStage
    from foveal.train.sft import SFTStage

    with progress_bar("{task.fields[info]}", enabled=cfg.log.progress and accelerator.is_main_process) as progress:
        for stage_cls, steps in ((SFTStage, cfg.sft.steps), (RLStage, cfg.rl.steps)):
            name = stage_cls.name
            if steps == 0:
                continue
            start = 0
            if state is not None:
                order, here = ckpt.STAGES.index(state["stage"]), ckpt.STAGES.index(name)
                if order > here:  # finished before the checkpoint; its weights arrive with that checkpoint
                    meta["models"][name] = str(run_dir / name)
                    continue
                if order == here and state["step"] >= steps:  # finished exactly at the checkpoint
                    ckpt.load_checkpoint(resume_from, unwrapped)
                    source.load_state(state["data"])
                    meta["models"][name] = str(run_dir / name)
                    state = None
                    continue
            ref_model = None
            if name == "rl" and cfg.rl.beta > 0:
                if state is not None and state["stage"] == "rl":  # resumed mid-stage: reload the stage's start
                    start_path = str(run_dir / "sft") if cfg.sft.steps else cfg.model.path
                    ref_model = load_policy(start_path, dtype=cfg.model.dtype, device=str(accelerator.device), seed=cfg.init_seed).model
                else:
                    ref_model = copy.deepcopy(unwrapped)
                ref_model.eval().requires_grad_(False)
            stage = stage_cls(session, source, ref_model) if name == "rl" else stage_cls(session, source)
            if state is not None and state["stage"] == name:
                ckpt.load_checkpoint(resume_from, unwrapped, stage.optimizer, stage.scheduler)
                source.load_state(state["data"])
                start = state["step"]
                state = None
            task = progress.add_task(name, total=steps, completed=start, info="")
            for step in range(start, steps):
                row = session.log(name, step + 1, stage.step(step))
                progress.update(task, advance=1, info=_summary(name, row))
                every = cfg.checkpoint.every
                if every and (step + 1) % every == 0 and step + 1 < steps:
                    _save(session, stage, name, step + 1, source)
            if accelerator.is_main_process:
                policy.save(run_dir / name, overwrite=True)
            _save(session, stage, name, steps, source)
            meta["models"][name] = str(run_dir / name)

    if accelerator.is_main_process:
        meta["data"] = source.describe()
        meta["final_model"] = meta["models"][ckpt.STAGES[1] if cfg.rl.steps else ckpt.STAGES[0]]
        atomic_write_json(run_dir / "meta.json", meta)
        if session.writer is not None:
            session.writer.close()
    accelerator.end_training()  # waits for every process, then leaves the process group cleanly
    return run_dir


def _save(session: Session, stage, name: str, step: int, source: PromptSource) -> None:
    acc = session.accelerator
    acc.wait_for_everyone()
    if acc.is_main_process:
        ckpt.save_checkpoint(
            session.run_dir, name, step, acc.unwrap_model(session.model), stage.optimizer, stage.scheduler,
            {"data": source.state()}, keep=session.cfg.checkpoint.keep,
        )
    acc.wait_for_everyone()
