"""Supervised fine-tuning: teach the answer format (and the task) from targets, prompt tokens masked.

One SFT step on a batch of (prompt, target) pairs, split into micro-batches for gradient accumulation:

    loss = - sum_{i,t} m_it log p(y_it | prompt_i, y_i,<t) / sum_{i,t} m_it

with m_it = 1 on target tokens only (the prompt, images included, is context, not a label; no
packing). The targets are the samples' R1 traces `<think>solution</think><answer>answer</answer>`
(`target: r1`) or the answer alone, tagged so the verifiers read it: `<answer>answer</answer>`
(`target: answer`, `foveal.prompts.sft_target`), each followed by the eos token. The same
loss serves the cold start before RL and rejection-sampling self-training (`rejection_sample`:
sample completions, keep the ones a reward function accepts, train on those).
"""

from __future__ import annotations

import time

import torch

from foveal.errors import FovealError
from foveal.prompts import sft_target
from foveal.rollout.base import Sampling
from foveal.sample import Sample


def target_text(sample: Sample, target: str) -> str:
    """The text the model learns to produce for `sample`: `foveal.prompts.sft_target` in format `target`."""
    return sft_target(sample, target)


def sft_loss(session, prompts: list, target_ids: list[list[int]], num_tokens: float) -> tuple[torch.Tensor, dict]:
    """This micro-batch's share of the step's token-mean NLL (divided by the step's `num_tokens`).

    Returns (loss, {"nll_sum", "tokens"}) for logging.
    """
    batch = session.policy.encode_pairs(prompts, target_ids)
    logp, _ = session.logprobs(batch)
    mask = batch["completion_mask"][:, -logp.shape[1] :].to(logp.dtype)
    nll = -(logp * mask).sum()
    return nll / num_tokens, {"nll_sum": nll.item(), "tokens": mask.sum().item()}


class SFTStage:
    """The SFT stage of a run: `step(i)` draws a batch, accumulates gradients, takes one optimizer step."""

    name = "sft"

    def __init__(self, session, source) -> None:
        self.s = session
        self.cfg = session.cfg.sft
        self.source = source
        if self.cfg.batch_size % session.world:
            raise FovealError(f"sft.batch_size {self.cfg.batch_size} must divide by the {session.world} processes")
        self.optimizer, self.scheduler = session.make_optimizer(self.cfg.optim, self.cfg.steps)

    def step(self, step: int) -> dict:
        s, cfg = self.s, self.cfg
        t0 = time.perf_counter()
        samples = s.shard(self.source.draw(cfg.batch_size, step=step, stage=self.name))
        ids = [s.policy.tokenize_target(target_text(x, cfg.target)) for x in samples]
        num_tokens = s.global_sum(sum(len(t) for t in ids)) / s.world
        chunks = list(range(0, len(samples), cfg.micro_batch_size))
        nll, tokens = 0.0, 0.0
        s.model.train()
        for k, lo in enumerate(chunks):
            hi = lo + cfg.micro_batch_size
            with s.sync(last=k == len(chunks) - 1):
                loss, info = sft_loss(s, samples[lo:hi], ids[lo:hi], num_tokens)
                s.accelerator.backward(loss)
            nll += info["nll_sum"]
            tokens += info["tokens"]
        grad_norm = s.clip_and_step(self.optimizer, self.scheduler, cfg.optim.max_grad_norm)
        dt = time.perf_counter() - t0
        return {
            "loss": nll / max(tokens, 1),
            "tokens": int(tokens),
            "grad_norm": grad_norm,
            "lr": self.scheduler.get_last_lr()[0],
            "samples_per_s": len(samples) * s.world / dt,
            "step_time_s": dt,
        }


def rejection_sample(backend, samples: list[Sample], n: int, sampling: Sampling, reward_fn, threshold: float = 1.0):
    """Self-training data: for each sample, the distinct completions whose reward is >= `threshold`.

    `reward_fn(completions: list[str], samples: list[Sample]) -> list[float]` (e.g. the accuracy
    reward). Returns [(sample, completion token ids)] ready for `sft_loss` (seeds "Video-STaR",
    "OpenVLThinker": generate, verify, keep what verifies, fine-tune on it).
    """
    groups = backend.generate(samples, n, sampling)
    kept: list[tuple[Sample, list[int]]] = []
    for sample, group in zip(samples, groups, strict=False):
        texts = [c.text for c in group.completions]
        scores = reward_fn(texts, [sample] * len(texts))
        seen: set[tuple[int, ...]] = set()
        for comp, score in zip(group.completions, scores, strict=False):
            key = tuple(comp.token_ids)
            if score >= threshold and key not in seen:
                seen.add(key)
                kept.append((sample, list(comp.token_ids)))
    return kept
