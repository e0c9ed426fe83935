"""foveal's GRPO step against TRL's `GRPOTrainer`: the same loss and gradients, and the step time.

    .venv/bin/python benchmarks/bench_rl_vs_trl.py [--steps 5] [--prompts 4] [--group 4] [--max-new 32]
                                                   [--all-loss-types] [--profile] [--no-speed]
                                                   [--threads N] [--share-prompt auto|true|false]

1. Parity. The embedded tiny VLM made peaked (`sharpen`), P gym prompts (count, level 1), G
   completions per prompt sampled once and fed to both trainers (TRL through a `rollout_func` that
   returns them), rewards accuracy + 0.5 format + two stand-ins with the same values (`BENCH_REWARDS`),
   the policy perturbed away from its reference (so the KL term is not 0), GRPO settings (loss "grpo" =
   foveal's ppo_clip + seq-mean-token-mean, group-scaled advantages, beta 0.04 with the k3 estimator,
   epsilon 0.2, temperature 1). Prints the two losses and the largest absolute difference over every
   parameter's gradient; the goal is <= 1e-5. Also printed apart: the advantages foveal computes and
   TRL's formula gives from the same rewards (foveal takes group means and stds in float64, TRL in
   float32), so that this rounding is visible, not folded into the loss lines.
   Why these inputs: the check is on the algorithm, so its inputs are conditioned as real ones are.
   Real rewards take a few values (a verifier's 0/1 plus a 0/0.5 format term), so a group's std is 0
   or >= 0.25; a continuous score can give a group std of 0.01, and then the advantages (r - mean) /
   std amplify float32's rounding of the mean ~100x, which measures TRL's float32 group statistics,
   not the loss. The untrained model is never right nor well formatted, so a bit of each completion's
   CRC-32 stands in for each 0/1 (deterministic, the same on both sides). A randomly initialised
   model's token entropies all lie within 0.01 nats of log(V); then the top-entropy threshold falls
   between tokens 1 ulp apart, and which of them is kept depends on each trainer's rounding of the
   entropy: a check on ties is a check on rounding. A trained model's entropies are spread, so the
   bench scales the final norm's gain (logits x `SHARPEN` = 4: entropies over ~4.9-6.2 nats, neighbours
   ~1e-4 apart or more at the 0.2 quantile), and prints the margin at the threshold (smallest kept minus
   largest dropped entropy), which must dwarf float32 rounding (~1e-6) for the top-entropy line to mean
   anything. A larger gain gives every completion the full length (hiding the aggregations' differences)
   and larger gradients, whose float32 rounding then nears the absolute 1e-5. Each loss-type line also
   prints its largest gradient entry: luspo sums over tokens, so its gradients are ~30x the others' and
   so is its rounding. The speed part uses the tiny VLM as built.
   `--all-loss-types`: then every TRL 1.16 `loss_type` (grpo, dr_grpo, dapo, bnpo, cispo, sapo, luspo,
   vespo) and TRL's two-sided clip (`delta`) and top-entropy mask (`top_entropy_quantile`), each against
   TRL's own `_compute_loss` on the same batch, off-policy (the same noisy old log-probs on both sides,
   so clips and gates act), with one micro-batch and with gradient accumulation over two; one line each:
   `loss type NAME: max abs diff X` over the loss and every gradient entry. `LOSS_TYPES` says which
   foveal loss, options and aggregation reproduce each.
2. Speed. N full steps of each (generation, rewards, loss, backward, optimizer step), same sizes and
   sampling, fresh models, gradient checkpointing off on both sides (TRL's GRPOConfig turns it on by
   default; foveal's recipes leave it off), interleaved step by step (TRL, foveal, TRL, ...) so that
   both meet the same machine load; prints each trainer's mean step time and the ratio foveal / TRL
   (goal <= 0.7). `--profile`: also where foveal's step spends its time. foveal runs each prompt once
   per micro-batch in its log-prob passes (`rl.share_prompt`, on by default); `--share-prompt false`
   times it running every row whole, as TRL does.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402


def crc_bit(bit: int):
    """A 0/1 reward: bit `bit` of the completion's CRC-32, a stand-in for a verifier's verdict on an
    untrained model, whose real accuracy and format scores are 0 for every completion."""

    def reward(completions, samples):
        return [float((zlib.crc32(c.encode("utf-8")) >> bit) & 1) for c in completions]

    return reward


# name -> reward: stand-ins for correctness (0/1, weight 1) and format (0/1, weight 0.5)
BENCH_REWARDS = {"bench_correct": crc_bit(0), "bench_format": crc_bit(1)}
REWARDS = [("accuracy", 1.0), ("format", 0.5), ("bench_correct", 1.0), ("bench_format", 0.5)]
SHARPEN = 4.0  # logits x 4: token entropies over ~4.9-6.2 nats instead of log(V) - 0.06 +- 0.005


def sharpen(out_dir: Path, gain: float = SHARPEN) -> Path:
    """The tiny VLM with its final RMSNorm gain multiplied by `gain` (every logit x gain), saved to
    `out_dir`: a peaked model whose token entropies are spread, as a trained model's are."""
    from foveal.models import build_tiny_vlm

    policy = build_tiny_vlm(None, seed=0)
    with torch.no_grad():
        policy.model.get_decoder().norm.weight.mul_(gain)
    return policy.save(out_dir)


def perturb(model, scale: float = 0.02) -> None:
    """Move the policy away from its reference (same noise for the same parameter names), so KL is not 0."""
    with torch.no_grad():
        for i, (_name, p) in enumerate(sorted(model.named_parameters())):
            g = torch.Generator().manual_seed(i)
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype))


def trl_rows(samples, system_prompt: str):
    """TRL's dataset rows: conversational prompts (system + user text) with the image in an `image` column."""
    rows = []
    for s in samples:
        question = s.prompt.replace("<image>", "").strip()
        rows.append({
            "prompt": [{"role": "system", "content": system_prompt}, {"role": "user", "content": question}],
            "image": s.images[0],
            "answer": s.answer,
            "answer_type": s.answer_type,
        })
    return rows


# TRL loss_type (and option) -> (GRPOConfig overrides, foveal policy loss, its options, aggregation,
# top-entropy quantile). TRL's cispo `epsilon_high` is the absolute cap on the ratio, foveal's 1 + clip_high.
LOSS_TYPES: dict[str, tuple[dict, str, dict, str, float]] = {
    "grpo": ({}, "ppo_clip", {}, "seq-mean-token-mean", 1.0),
    "dr_grpo": ({}, "ppo_clip", {}, "seq-mean-token-sum-norm", 1.0),
    "dapo": ({}, "ppo_clip", {}, "token-mean", 1.0),
    "bnpo": ({}, "ppo_clip", {}, "bnpo", 1.0),
    "cispo": ({"epsilon_high": 1.3}, "cispo", {"clip_high": 0.3}, "token-mean", 1.0),
    "sapo": ({"sapo_temperature_pos": 1.0, "sapo_temperature_neg": 1.05}, "sapo",
             {"temperature_pos": 1.0, "temperature_neg": 1.05}, "seq-mean-token-mean", 1.0),
    "luspo": ({"importance_sampling_level": "sequence"}, "gspo", {"clip_low": 0.2, "clip_high": 0.2}, "seq-mean-token-sum", 1.0),
    "vespo": ({}, "vespo", {}, "token-mean", 1.0),
    "grpo importance_sampling_level=sequence": ({"importance_sampling_level": "sequence"}, "gspo",
                                                {"clip_low": 0.2, "clip_high": 0.2}, "seq-mean-token-mean", 1.0),
    "grpo delta=1.5": ({"delta": 1.5}, "ppo_clip", {"delta": 1.5}, "seq-mean-token-mean", 1.0),
    "dapo top_entropy_quantile=0.2": ({"top_entropy_quantile": 0.2}, "ppo_clip", {}, "token-mean", 0.2),
}


def trl_trainer(model_dir: Path, rows, args, out: Path, steps: int, rollout_func=None, loss_type: str = "grpo",
                micro_batches: int = 1, **overrides):
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    from foveal.rewards import get_reward, to_trl

    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(model_dir)
    config = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=args.prompts * args.group // micro_batches,
        gradient_accumulation_steps=micro_batches,
        gradient_checkpointing=False,  # GRPOConfig's default is True; foveal's is off: compare like with like
        num_generations=args.group,
        max_completion_length=args.max_new,
        temperature=1.0,
        top_k=0,
        beta=0.04,
        epsilon=0.2,
        loss_type=loss_type,
        scale_rewards="group",
        reward_weights=[w for _, w in REWARDS],
        learning_rate=1e-4,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        max_steps=steps,
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        seed=0,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **overrides,
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=[to_trl(get_reward(name)) for name, _ in REWARDS],
        args=config,
        train_dataset=Dataset.from_list(rows * max(steps, 1) * 4),
        processing_class=processor,
        rollout_func=rollout_func,
    )


def foveal_session(model_dir: Path, args, run_dir: Path, steps: int, micro_batches: int = 1):
    from accelerate import Accelerator

    from foveal.config import config_from_dict
    from foveal.models import load_policy
    from foveal.train.run import Session

    cfg = config_from_dict({
        "model": {"path": str(model_dir)},
        "data": {"gym": {"tasks": ["count"], "levels": [1]}},
        "rewards": [{"name": name, "weight": w} for name, w in REWARDS],
        "sampling": {"temperature": 1.0, "max_new_tokens": args.max_new},
        "rl": {"steps": steps, "prompts_per_step": args.prompts, "group_size": args.group,
               "micro_batch_size": args.prompts * args.group // micro_batches,
               "advantage": {"name": "grpo", "args": {"scale": "group"}},
               "loss": {"name": "ppo_clip", "args": {"clip_low": 0.2, "clip_high": 0.2}},
               "aggregation": {"name": "seq-mean-token-mean"}, "kl": {"name": "k3"},
               "beta": {"name": "constant", "args": {"value": 0.04}}, "optim": {"lr": 1e-4, "max_grad_norm": 1.0},
               "share_prompt": {"auto": "auto", "true": True, "false": False}[args.share_prompt]},
        "log": {"progress": False},
    })
    policy = load_policy(str(model_dir), dtype="float32")
    return cfg, Session(cfg, run_dir, policy, Accelerator(cpu=not torch.cuda.is_available()))


class Parity:
    """One batch (P prompts x G fixed completions) scored by both trainers: foveal's `RLStage` and TRL's
    `GRPOTrainer`, each from the same tiny VLM perturbed the same way away from its reference, in
    `micro_batches` equal micro-batches (gradient accumulation) on both sides."""

    def __init__(self, model_dir: Path, args, tmp: Path, micro_batches: int = 1) -> None:
        import copy

        import foveal.tasks as gym
        from foveal.rollout import Sampling
        from foveal.train.data import PromptSource
        from foveal.train.rl import RLStage

        torch.manual_seed(0)
        self.model_dir, self.args, self.tmp, self.k = model_dir, args, tmp, micro_batches
        cfg, self.session = foveal_session(model_dir, args, tmp / f"fov{micro_batches}", steps=1, micro_batches=micro_batches)
        self.samples = [gym.get("count").generate(seed, 1, "image") for seed in range(args.prompts)]
        self.stage = RLStage(self.session, PromptSource(cfg.data), ref_model=copy.deepcopy(self.session.policy.model).eval())
        perturb(self.session.policy.model)
        groups = self.stage.backend.generate(self.samples, args.group, Sampling(1.0, 1.0, args.max_new, seed=0))
        scored = [self.stage.score_group(s, g) for s, g in zip(self.samples, groups, strict=False)]
        self.ro = self.stage.assemble(scored, len(self.samples), 0, 1)
        self.prepared = self.stage.prepare(self.ro)
        self.rows = trl_rows(self.samples, self.session.policy.system_prompt)
        self.fixed = [list(ids) for ids in self.ro.token_ids]  # [P*G], prompt-major, as TRL's repeat sampler orders them
        self.prompt_ids: dict[str, list] = {}
        self.batch = None  # TRL's scored batch, made by the first TRL trainer and reused by the others

    def rollout_func(self, prompts, trainer):
        ids, _, _ = trainer._tokenize_prompts(prompts)
        self.prompt_ids["trl"] = [list(x) for x in ids]
        return {"prompt_ids": ids, "completion_ids": self.fixed, "logprobs": [[0.0] * len(c) for c in self.fixed]}

    def trl(self, loss_type: str = "grpo", old=None, **overrides) -> tuple[float, dict]:
        """TRL's own `_compute_loss` and backward on each micro-batch, cut as TRL's `_prepare_inputs` cuts
        the generation batch (less its shuffle): (summed loss, {parameter: accumulated gradient})."""
        from trl.trainer.utils import (
            split_pixel_values_by_grid,
            split_tensor_dict,
            unsplit_pixel_values_by_grid,
        )

        trainer = trl_trainer(self.model_dir, self.rows, self.args, self.tmp / "trl", steps=1, rollout_func=self.rollout_func,
                              loss_type=loss_type, micro_batches=self.k, **overrides)
        perturb(trainer.model)
        trainer.model.train()
        trainer.current_gradient_accumulation_steps = self.k
        if self.batch is None:
            self.batch = trainer._generate_and_score_completions([r for r in self.rows for _ in range(self.args.group)])
        batch = dict(self.batch)
        if old is not None:
            if old.shape != batch["completion_ids"].shape:
                raise SystemExit(f"old log-probs {tuple(old.shape)} != TRL's completions {tuple(batch['completion_ids'].shape)}")
            batch["old_per_token_logps"] = old.to(batch["completion_ids"].device)
        total = 0.0
        for chunk in split_tensor_dict(split_pixel_values_by_grid(batch), self.k):
            loss = trainer._compute_loss(trainer.model, unsplit_pixel_values_by_grid(chunk))
            loss.backward()
            total += loss.item()
        return total, {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}

    def foveal(self, loss: str = "ppo_clip", opts=None, aggregation: str = "seq-mean-token-mean",
               entropy_quantile: float = 1.0, old=None) -> tuple[float, dict]:
        """foveal's loss and gradients through `RLStage.backward_pass` with the given registered loss
        (and options), aggregation, `rl.top_entropy_quantile` and old log-probs (None: on-policy)."""
        from foveal.train import algos

        stage, session = self.stage, self.session
        saved = dict(stage.entries), stage.cfg, self.prepared.old
        stage.entries.update(loss=algos.POLICY_LOSSES.build(loss, opts), aggregation=algos.AGGREGATIONS.build(aggregation))
        stage.cfg = stage.cfg.model_copy(update={"top_entropy_quantile": entropy_quantile})
        self.prepared.old = old
        session.model.zero_grad(set_to_none=True)
        stats = {"clipped": 0.0, "kl": 0.0, "entropy": 0.0, "loss": 0.0}
        try:
            stage.backward_pass(self.prepared, stats)
        finally:
            stage.entries, stage.cfg, self.prepared.old = saved
        grads = {n: p.grad.detach().clone() for n, p in session.policy.model.named_parameters() if p.grad is not None}
        self.kl = stats["kl"]
        return stats["loss"], grads

    def off_policy_old(self, scale: float = 0.3) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Old log-probs = the policy's own + N(0, scale^2) noise on the real tokens, so ratios spread
        over about [0.5, 2] and every clip, cap and gate of the loss types is exercised: (foveal's per
        micro-batch [b, Tc_mb], TRL's [N, Tc] with the same values in the same rows)."""
        cur = self.stage.frozen_logprobs(self.prepared.mbs, self.session.model)
        width = max(map(len, self.fixed))  # TRL pads the completions to the longest
        gen = torch.Generator().manual_seed(1)
        full = torch.zeros(len(self.fixed), width)
        old = []
        for c, (sl, _, mask) in zip(cur, self.prepared.mbs, strict=True):
            o = c + scale * torch.randn(c.shape, generator=gen).to(c.device) * mask
            full[sl, : o.shape[1]] = o.cpu()
            old.append(o)
        return old, full


def grad_diff(a: dict, b: dict) -> tuple[float, int, list]:
    """(max |a - b| over every gradient entry, tensors compared, names present in one only)."""
    keys = sorted(set(a) | set(b))
    missing = [k for k in keys if k not in a or k not in b]
    return max((a[k] - b[k]).abs().max().item() for k in keys if k not in missing), len(keys) - len(missing), missing


def trl_group_advantages(rewards: torch.Tensor, group: int) -> torch.Tensor:
    """TRL 1.16's advantages with scale_rewards="group" (`_generate_and_score_completions`), in float32:
    (r - nanmean_g(r)) / (nanstd_g(r) + 1e-4), the groups being consecutive runs of `group` rows."""
    from trl.trainer.utils import nanstd

    r = rewards.to(torch.float32)
    mean = torch.nanmean(r.view(-1, group), dim=1).repeat_interleave(group)
    std = nanstd(r.view(-1, group), dim=1).repeat_interleave(group)
    return (r - mean) / (std + 1e-4)


def entropy_margin(p: Parity, quantile: float) -> float:
    """The smallest gap, over the micro-batches, between the entropies the top-entropy mask keeps and
    those it drops (smallest kept - largest dropped) under the policy: how far the threshold is from
    a tie, which rounding would decide."""
    from foveal.train import algos

    margins = []
    with torch.no_grad():
        for mb in p.prepared.mbs:
            _, entropy = p.session.logprobs(mb.batch, p.session.cfg.sampling.temperature)
            real = mb.mask.bool()
            keep = algos.top_entropy_mask(entropy, mb.mask, quantile)
            dropped = entropy[real & ~keep]
            if dropped.numel():
                margins.append((entropy[keep].min() - dropped.max()).item())
    return min(margins, default=float("inf"))


def parity(p: Parity) -> float:
    """The GRPO setting on-policy (old = logp.detach(), as both trainers do with mu = 1)."""
    fov_loss, fov_grads = p.foveal()
    trl_loss, trl_grads = p.trl()
    ours = [p.session.policy.encode_prompts([s])["input_ids"][0].tolist() for s in p.samples]
    same_prompts = all(p.prompt_ids["trl"][i * p.args.group] == ours[i] for i in range(len(p.samples)))
    adv_diff = (p.batch["advantages"].cpu() - p.prepared.advantages).abs().max().item()
    same_rewards = (trl_group_advantages(p.ro.rewards, p.args.group) - p.prepared.advantages).abs().max().item()
    stds = p.ro.rewards.view(-1, p.args.group).std(dim=1)
    spread = int((stds > 0).sum())
    gdiff, n, missing = grad_diff(fov_grads, trl_grads)
    grad_scale = max(g.abs().max().item() for g in trl_grads.values())
    loss_diff = abs(fov_loss - trl_loss)
    print(f"prompt token ids identical: {same_prompts}; completions: {len(p.fixed)} "
          f"({sum(map(len, p.fixed))} tokens); reward mean {p.ro.rewards.mean():.3f}")
    print(f"rewards     {spread} of {len(stds)} groups with >= 2 distinct values; group stds "
          f"{', '.join(f'{x:.3f}' for x in stds.tolist())}")
    print(f"KL (k3)     foveal {p.kl:.3e}  (policy perturbed away from the reference)")
    print(f"advantages  max |foveal - TRL| = {adv_diff:.2e} as each computed them; {same_rewards:.2e} from the "
          f"same rewards (foveal's float64 group mean/std vs TRL's float32)")
    print(f"loss        foveal {fov_loss:.8f}  TRL {trl_loss:.8f}  |diff| = {loss_diff:.2e}")
    print(f"gradients   max |foveal - TRL| = {gdiff:.2e} over {n} tensors "
          f"(largest gradient entry {grad_scale:.2e}){'; missing in one: ' + str(missing) if missing else ''}")
    return max(loss_diff, gdiff, adv_diff)


def _entropy_range(p: Parity) -> str:
    with torch.no_grad():
        h = torch.cat([p.session.logprobs(mb.batch, p.session.cfg.sampling.temperature)[1][mb.mask.bool()]
                       for mb in p.prepared.mbs])
    return f"{h.min():.2f}-{h.max():.2f}"


def all_loss_types(parities: list[Parity]) -> float:
    """Every TRL loss type (and TRL's two-sided clip and top-entropy mask) on the same batch, off-policy
    (the same old log-probs given to both, so the ratios are not all 1), with one micro-batch and with
    gradient accumulation over two (where bnpo differs from dapo). One line per type: the largest of
    the loss and every gradient entry's difference over the settings."""
    olds = [p.off_policy_old() for p in parities]
    p, (old, _) = parities[0], olds[0]
    cur = p.stage.frozen_logprobs(p.prepared.mbs, p.session.model)[0]
    mask = p.prepared.mbs[0][2].bool()
    ratio = (cur - old[0]).exp()[mask]
    print(f"old log-probs: policy's + N(0, 0.3^2) noise; token ratios in [{ratio.min():.2f}, {ratio.max():.2f}], "
          f"{float(((ratio < 0.8) | (ratio > 1.2)).float().mean()):.0%} outside [0.8, 1.2]; "
          f"micro-batches: {', '.join(str(q.k) for q in parities)}")
    for q in sorted({v[4] for v in LOSS_TYPES.values()} - {1.0}):
        margin = min(entropy_margin(x, q) for x in parities)
        print(f"top-entropy mask (quantile {q}): entropies {_entropy_range(p)} nats; margin at the threshold "
              f"{margin:.2e} (smallest kept - largest dropped entropy; a margin near float32 rounding, ~1e-6, "
              f"would make the check one on ties)")
    worst = 0.0
    for name, (overrides, loss, opts, aggregation, quantile) in LOSS_TYPES.items():
        diffs, losses, scale = [], [], 0.0
        for q, (old, full) in zip(parities, olds, strict=True):
            fov_loss, fov_grads = q.foveal(loss, opts, aggregation, quantile, old=old)
            trl_loss, trl_grads = q.trl(name.split()[0], old=full, **overrides)
            gdiff, _, missing = grad_diff(fov_grads, trl_grads)
            diffs.append(max(abs(fov_loss - trl_loss), gdiff) if not missing else float("inf"))
            losses.append(f"{fov_loss:.6f}/{trl_loss:.6f}")
            scale = max(scale, *(g.abs().max().item() for g in trl_grads.values()))
        worst = max(worst, *diffs)
        print(f"loss type {name}: max abs diff {max(diffs):.2e}  (loss foveal/TRL {' | '.join(losses)}; "
              f"largest gradient entry {scale:.2e}; foveal {loss} + {aggregation}{' ' + str(opts) if opts else ''})")
    return worst


class Sections:
    """Wall time of the parts of foveal's RL step, by wrapping the stage's own methods (bench only):
    generation, rewards, encoding, the frozen (reference / old) log-prob passes, the policy's forward,
    the loss, backward, and clip + optimizer step; `other` is the rest of `RLStage.step`."""

    NAMES = ("generate", "rewards", "encode", "frozen log-probs (ref)", "policy forward", "backward", "optimizer step")

    def __init__(self, stage) -> None:
        self.t = dict.fromkeys(self.NAMES, 0.0)
        s = stage.s
        self._wrap(stage.backend, "generate", "generate")
        self._wrap(stage, "score_group", "rewards")
        self._wrap(stage, "micro_batches", "encode")
        self._wrap(stage, "frozen_logprobs", "frozen log-probs (ref)")
        self._wrap(s, "logprobs", "policy forward", only=lambda a, k: k.get("model") is None)
        self._wrap(s.accelerator, "backward", "backward")
        self._wrap(s, "clip_and_step", "optimizer step")

    def _wrap(self, obj, attr: str, name: str, only=None) -> None:
        fn = getattr(obj, attr)

        def timed(*a, **k):
            if only is not None and not only(a, k):
                return fn(*a, **k)
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.t[name] += time.perf_counter() - t0

        setattr(obj, attr, timed)

    def reset(self) -> None:
        self.t = dict.fromkeys(self.NAMES, 0.0)

    def report(self, steps: int, step_time: float) -> None:
        print(f"foveal's step, where the time goes (mean over {steps} steps):")
        rows = [(n, v / steps) for n, v in self.t.items()]
        rows.append(("other (loss math, logging, Python)", step_time - sum(v for _, v in rows)))
        for name, v in rows:
            print(f"  {name:36s} {v:7.3f} s  {v / step_time:5.1%}")


def speed(model_dir: Path, args, tmp: Path) -> tuple[float, float]:
    """Mean step time of each trainer over `args.steps` steps, interleaved (TRL step k, then foveal step k)
    so that both see the same machine load; one warm-up step of each is not timed. With `--profile`,
    also prints where foveal's step spends its time."""
    import copy

    from transformers import TrainerCallback

    import foveal.tasks as gym
    from foveal.train.data import PromptSource
    from foveal.train.rl import RLStage

    torch.manual_seed(0)
    cfg, session = foveal_session(model_dir, args, tmp / "fov_speed", steps=args.steps + 1)
    stage = RLStage(session, PromptSource(cfg.data, seed=0), ref_model=copy.deepcopy(session.policy.model).eval())
    samples = [gym.get("count").generate(1_000_000 + i, 1, "image") for i in range(args.prompts * (args.steps + 2))]
    rows = trl_rows(samples, session.policy.system_prompt)
    trl_times: list[float] = []
    fov_times: list[float] = []
    sections = Sections(stage) if args.profile else None

    class Interleave(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            trl_times.append(time.perf_counter() - self.t0)
            t0 = time.perf_counter()
            stage.step(len(fov_times))
            fov_times.append(time.perf_counter() - t0)
            if sections is not None and len(fov_times) == 1:
                sections.reset()  # the warm-up step is not counted

    trainer = trl_trainer(model_dir, rows, args, tmp / "trl_speed", steps=args.steps + 1)
    trainer.add_callback(Interleave())
    trainer.train()
    fov = sum(fov_times[1:]) / args.steps
    if sections is not None:
        sections.report(args.steps, fov)
    return fov, sum(trl_times[1:]) / args.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--all-loss-types", action="store_true",
                    help="also check every TRL loss type (and delta, top_entropy_quantile) off-policy, one line each")
    ap.add_argument("--no-speed", action="store_true", help="parity only")
    ap.add_argument("--profile", action="store_true", help="print where foveal's step spends its time")
    ap.add_argument("--share-prompt", choices=("auto", "true", "false"), default="auto",
                    help="foveal's rl.share_prompt: run each prompt once per micro-batch in the log-prob passes")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from foveal.models import build_tiny_vlm
    from foveal.rewards import register_reward

    for name, fn in BENCH_REWARDS.items():
        register_reward(name)(fn)

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model_dir = tmp / "tiny"
        build_tiny_vlm(model_dir, seed=0)
        sharp_dir = sharpen(tmp / "tiny_sharp")
        print(f"tiny VLM, {args.prompts} prompts x {args.group} completions, max {args.max_new} new tokens, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads, foveal rl.share_prompt {args.share_prompt}")
        print(f"== parity (fixed completions; the tiny VLM with logits x {SHARPEN:g}) ==")
        p = Parity(sharp_dir, args, tmp)
        diff = parity(p)
        print(f"max abs difference (loss, advantages, gradients): {diff:.2e}  ->  {'PASS' if diff <= 1e-5 else 'FAIL'} (<= 1e-5)")
        if args.all_loss_types:
            print("== every TRL loss type (same batch, off-policy old log-probs, loss and every gradient entry) ==")
            worst = all_loss_types([p, Parity(sharp_dir, args, tmp, micro_batches=2)])
            print(f"worst over the loss types: {worst:.2e}  ->  {'PASS' if worst <= 1e-5 else 'FAIL'} (<= 1e-5)")
            diff = max(diff, worst)
        if not args.no_speed:
            print(f"== speed ({args.steps} full steps each, after one warm-up step; gradient checkpointing off in both) ==")
            fov, trl = speed(model_dir, args, tmp)
            print(f"step time   foveal {fov:.3f} s   TRL {trl:.3f} s   ratio foveal/TRL = {fov / trl:.2f} (goal <= 0.7)")
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    main()
