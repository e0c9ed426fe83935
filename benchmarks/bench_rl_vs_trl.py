"""foveal's GRPO step against TRL's `GRPOTrainer`: the same loss and gradients, and the step time.

    .venv/bin/python benchmarks/bench_rl_vs_trl.py [--steps 5] [--prompts 4] [--group 4] [--max-new 32]

1. Parity. The embedded tiny VLM, P gym prompts (count, level 1), G completions per prompt sampled
   once and fed to both trainers (TRL through a `rollout_func` that returns them), rewards accuracy
   + 0.5 format + a distinct-characters score (so advantages are not all 0), the policy perturbed
   away from its reference (so the KL term is not 0), GRPO settings (loss "grpo" = foveal's ppo_clip + seq-mean-token-mean, group-scaled
   advantages, beta 0.04 with the k3 estimator, epsilon 0.2, temperature 1). Prints the two losses
   and the largest absolute difference over every parameter's gradient; the goal is <= 1e-5.
2. Speed. N full steps of each (generation, rewards, loss, backward, optimizer step), same sizes and
   sampling, fresh models, interleaved step by step (TRL, foveal, TRL, ...) so that both meet the
   same machine load; prints each trainer's mean step time and the ratio foveal / TRL (goal <= 0.7).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402


def distinct_chars(completions, samples):
    """A reward that differs between completions of an untrained model (accuracy is 0 for all of them)."""
    return [len(set(c)) / max(len(c), 1) for c in completions]


REWARDS = [("accuracy", 1.0), ("format", 0.5), ("bench_distinct_chars", 1.0)]


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


def trl_trainer(model_dir: Path, rows, args, out: Path, steps: int, rollout_func=None):
    from datasets import Dataset
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    from foveal.rewards import get_reward, to_trl

    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32)
    processor = AutoProcessor.from_pretrained(model_dir)
    config = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=args.prompts * args.group,
        gradient_accumulation_steps=1,
        num_generations=args.group,
        max_completion_length=args.max_new,
        temperature=1.0,
        top_k=0,
        beta=0.04,
        epsilon=0.2,
        loss_type="grpo",
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
    )
    return GRPOTrainer(
        model=model,
        reward_funcs=[to_trl(get_reward(name)) for name, _ in REWARDS],
        args=config,
        train_dataset=Dataset.from_list(rows * max(steps, 1) * 4),
        processing_class=processor,
        rollout_func=rollout_func,
    )


def foveal_session(model_dir: Path, args, run_dir: Path, steps: int):
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
               "micro_batch_size": args.prompts * args.group, "advantage": "grpo", "scale_rewards": "group",
               "loss": "ppo_clip", "aggregation": "seq-mean-token-mean", "clip_low": 0.2, "clip_high": 0.2,
               "beta": 0.04, "kl": "k3", "optim": {"lr": 1e-4, "max_grad_norm": 1.0}},
        "log": {"progress": False},
    })
    policy = load_policy(str(model_dir), dtype="float32")
    return cfg, Session(cfg, run_dir, policy, Accelerator(cpu=not torch.cuda.is_available()))


def parity(model_dir: Path, args, tmp: Path) -> float:
    import copy

    import foveal.tasks as gym
    from foveal.rollout import Sampling
    from foveal.train.data import PromptSource
    from foveal.train.rl import RLStage

    torch.manual_seed(0)
    cfg, session = foveal_session(model_dir, args, tmp / "fov", steps=1)
    samples = [gym.get("count").generate(seed, 1, "image") for seed in range(args.prompts)]
    stage = RLStage(session, PromptSource(cfg.data), ref_model=copy.deepcopy(session.policy.model).eval())
    perturb(session.policy.model)
    groups = stage.backend.generate(samples, args.group, Sampling(1.0, 1.0, args.max_new, seed=0))
    ro = stage.assemble([stage.score_group(s, g) for s, g in zip(samples, groups, strict=False)], len(samples), 0, 1)
    prepared = stage.prepare(ro)
    stats = {"clipped": 0.0, "kl": 0.0, "entropy": 0.0, "loss": 0.0}
    stage.backward_pass(prepared, stats)
    fov_grads = {n: p.grad.detach().clone() for n, p in session.policy.model.named_parameters() if p.grad is not None}

    fixed = [list(ids) for ids in ro.token_ids]  # [P*G], prompt-major, as TRL's repeat sampler orders them
    prompt_ids = {}

    def rollout_func(prompts, trainer):
        ids, _, _ = trainer._tokenize_prompts(prompts)
        prompt_ids["trl"] = [list(x) for x in ids]
        return {"prompt_ids": ids, "completion_ids": fixed, "logprobs": [[0.0] * len(c) for c in fixed]}

    rows = trl_rows(samples, session.policy.system_prompt)
    trainer = trl_trainer(model_dir, rows, args, tmp / "trl", steps=1, rollout_func=rollout_func)
    perturb(trainer.model)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1
    inputs = [r for r in rows for _ in range(args.group)]
    batch = trainer._generate_and_score_completions(inputs)
    trl_loss = trainer._compute_loss(trainer.model, batch)
    trl_loss.backward()
    trl_grads = {n: p.grad.detach() for n, p in trainer.model.named_parameters() if p.grad is not None}

    ours = [session.policy.encode_prompts([s])["input_ids"][0].tolist() for s in samples]
    same_prompts = all(prompt_ids["trl"][i * args.group] == ours[i] for i in range(len(samples)))
    adv_diff = (batch["advantages"].cpu() - prepared.advantages).abs().max().item()
    keys = sorted(set(fov_grads) | set(trl_grads))
    missing = [k for k in keys if k not in fov_grads or k not in trl_grads]
    grad_diff = max((fov_grads[k] - trl_grads[k]).abs().max().item() for k in keys if k not in missing)
    grad_scale = max(g.abs().max().item() for g in trl_grads.values())
    loss_diff = abs(stats["loss"] - trl_loss.item())
    print(f"prompt token ids identical: {same_prompts}; completions: {len(fixed)} "
          f"({sum(map(len, fixed))} tokens); reward mean {ro.rewards.mean():.3f}")
    print(f"KL (k3)     foveal {stats['kl']:.3e}  (policy perturbed away from the reference)")
    print(f"advantages  max |foveal - TRL| = {adv_diff:.2e}")
    print(f"loss        foveal {stats['loss']:.8f}  TRL {trl_loss.item():.8f}  |diff| = {loss_diff:.2e}")
    print(f"gradients   max |foveal - TRL| = {grad_diff:.2e} over {len(keys) - len(missing)} tensors "
          f"(largest gradient entry {grad_scale:.2e}){'; missing in one: ' + str(missing) if missing else ''}")
    return max(loss_diff, grad_diff, adv_diff)


def speed(model_dir: Path, args, tmp: Path) -> tuple[float, float]:
    """Mean step time of each trainer over `args.steps` steps, interleaved (TRL step k, then foveal step k)
    so that both see the same machine load; one warm-up step of each is not timed."""
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

    class Interleave(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            trl_times.append(time.perf_counter() - self.t0)
            t0 = time.perf_counter()
            stage.step(len(fov_times))
            fov_times.append(time.perf_counter() - t0)

    trainer = trl_trainer(model_dir, rows, args, tmp / "trl_speed", steps=args.steps + 1)
    trainer.add_callback(Interleave())
    trainer.train()
    return sum(fov_times[1:]) / args.steps, sum(trl_times[1:]) / args.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--group", type=int, default=4)
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from foveal.models import build_tiny_vlm
    from foveal.rewards import register_reward

    register_reward("bench_distinct_chars")(distinct_chars)

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model_dir = tmp / "tiny"
        build_tiny_vlm(model_dir, seed=0)
        print(f"tiny VLM, {args.prompts} prompts x {args.group} completions, max {args.max_new} new tokens, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print("== parity (fixed completions) ==")
        diff = parity(model_dir, args, tmp)
        print(f"max abs difference (loss, advantages, gradients): {diff:.2e}  ->  {'PASS' if diff <= 1e-5 else 'FAIL'} (<= 1e-5)")
        print(f"== speed ({args.steps} full steps each, after one warm-up step) ==")
        fov, trl = speed(model_dir, args, tmp)
        print(f"step time   foveal {fov:.3f} s   TRL {trl:.3f} s   ratio foveal/TRL = {fov / trl:.2f} (goal <= 0.7)")
    sys.exit(0 if diff <= 1e-5 else 1)


if __name__ == "__main__":
    main()
