"""Supervised fine-tuning: teach the answer format (and the task) from targets, prompt tokens masked.

One SFT step on a batch of (prompt, target) pairs, split into micro-batches for gradient accumulation:

    loss = - sum_{i,t} m_it log p(y_it | prompt_i, y_i,<t) / sum_{i,t} m_it

with m_it = 1 on target tokens only (the prompt, images included, is context, not a label; no
packing). The targets are the samples' R1 traces `<think>solution</think><answer>answer</answer>`
(`target: r1`) or the answer alone, tagged so the verifiers read it: `<answer>answer</answer>`
(`target: answer`, `foveal.prompts.sft_target`), each followed by the eos token. The same
loss serves the cold start before RL and rejection-sampling self-training (`rejection_sample`:
sample completions, keep the ones a reward function accepts, train on those).

With `sft.align` (Math-PUMA, `foveal.train.align`) each sample that shows a picture (image or mixed
form) is also run as its text twin, without gradients, on the same target, and the loss gains the
two forms' per-token KL (text-form samples, e.g. under a sampler that mixes forms, add NLL alone):

    loss = [ sum_{i,t} m_it (-log q(y_it | prompt_i, y_i,<t)) + lambda sum_{i pictured, t} KL_it ] / sum_{i,t} m_it

with KL_it = T^2 KL(p_text || q_image) at target token t of sample i (or the reverse or symmetric
divergence, `sft.align.direction`), so the NLL part is exactly plain SFT's (lambda = 0 gives the same loss).
"""

from __future__ import annotations

import time

import torch

from foveal.config import AlignConfig
from foveal.errors import FovealError
from foveal.models.policy import PAIR_KEYS
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


def target_logits(model, batch: dict) -> torch.Tensor:
    """[B, Tc, V] float32 logits predicting each completion token of a pair batch (as
    `Policy.token_logprobs` computes them, full vocabulary kept)."""
    tc = batch["completion_ids"].shape[1]
    inputs = {k: v for k, v in batch.items() if k not in PAIR_KEYS}
    return model(**inputs, use_cache=False, logits_to_keep=tc + 1).logits[:, -tc - 1 : -1].float()


def align_sft_loss(session, samples: list[Sample], target_ids: list[list[int]], num_tokens: float,
                   align: AlignConfig) -> tuple[torch.Tensor, dict]:
    """`sft_loss` plus lambda times the Math-PUMA KL between each sample that shows a picture (image
    or mixed form) and its text twin on the same target ids; text-form samples add NLL alone. This
    micro-batch's share of the step's token means (divided by `num_tokens`).

    `align`: the `sft.align` config (weight, direction, temperature). Returns (loss, {"nll_sum",
    "tokens", "kl_sum", "kl_tokens"}), kl_tokens counting the target tokens of the paired samples.
    """
    from foveal.train.align import align_kl

    paired = [i for i, x in enumerate(samples) if x.images]
    for i in paired:
        if not samples[i].text_twin:
            raise FovealError(f"sft.align: sample {samples[i].id} has no text twin to align its picture with")
    image = session.policy.encode_pairs(samples, target_ids)
    z_image = target_logits(session.model, image)
    comp = image["completion_ids"]
    mask = image["completion_mask"][:, -comp.shape[1] :].to(z_image.dtype)
    logz = torch.logsumexp(z_image, -1)  # the NLL as token_logprobs and sft_loss compute it, op for op
    logp = (torch.gather(z_image, -1, comp.unsqueeze(-1)).squeeze(-1) - logz) * mask
    nll = -logp.sum()  # masked once: x * m * m == x * m exactly for a 0/1 mask
    kl, kl_tokens = z_image.new_zeros(()), 0.0
    if paired:
        text = session.policy.encode_pairs([samples[i].as_text() for i in paired], [target_ids[i] for i in paired])
        with torch.no_grad():
            z_text = target_logits(session.model, text)  # [P, Tc', V]; Tc' <= Tc (right-padded targets)
        tc = z_text.shape[1]
        kl = align_kl(z_image[paired, :tc], z_text, mask[paired, :tc], align.direction, align.temperature).sum()
        kl_tokens = mask[paired].sum().item()
    loss = (nll + align.weight * kl) / num_tokens
    return loss, {"nll_sum": nll.item(), "tokens": mask.sum().item(), "kl_sum": kl.item(), "kl_tokens": kl_tokens}


def check_align(cfg, policy) -> None:
    """FovealError when the run asks for `sft.align` on a text-only model (it would be given the text
    twin in both forms); `train` calls it with the other input checks, before writing anything."""
    if cfg.sft.steps and cfg.sft.align is not None and not policy.is_vlm:
        raise FovealError(f"sft.align needs a vision-language model: {policy.name} is text-only, so both forms "
                          f"of a problem would be its text twin")


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
        nll, tokens, kl, kl_tokens = 0.0, 0.0, 0.0, 0.0
        s.model.train()
        for k, lo in enumerate(chunks):
            hi = lo + cfg.micro_batch_size
            with s.sync(last=k == len(chunks) - 1):
                if cfg.align is None:
                    loss, info = sft_loss(s, samples[lo:hi], ids[lo:hi], num_tokens)
                else:
                    loss, info = align_sft_loss(s, samples[lo:hi], ids[lo:hi], num_tokens, cfg.align)
                s.accelerator.backward(loss)
            nll += info["nll_sum"]
            tokens += info["tokens"]
            kl += info.get("kl_sum", 0.0)
            kl_tokens += info.get("kl_tokens", 0.0)
        grad_norm = s.clip_and_step(self.optimizer, self.scheduler, cfg.optim.max_grad_norm)
        dt = time.perf_counter() - t0
        return {
            "loss": nll / max(tokens, 1),
            "align_kl": kl / kl_tokens if cfg.align is not None and kl_tokens else None,  # None: no picture drawn
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
