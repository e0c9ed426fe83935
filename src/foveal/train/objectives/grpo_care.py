"""GRPO-CARE: a consistency bonus instead of the KL penalty. A slowly moving (EMA) reference model
reads each completion's reasoning and scores how likely the completion's own final answer is after it;
correct completions whose answer the reference finds at least as likely as their correct peers do get
a bonus. The KL term is dropped (beta = 0).

Source: the abstract (seed 002 "GRPO-CARE: Consistency-Aware Reinforcement Learning for Multimodal
Reasoning") describes the two-tier reward; the paper's equations could not be read from here, so the
forms are the authors' code (github.com/TencentARC/GRPO-CARE, commit 03c3a7c:
src/r1-v/src/open_r1/trainer/grpo_trainer_ref_ema.py, `use_care`) and their run script
(scripts/run_grpo_care_margin0.01_seed_bench_r1.sh: decay 0.995 every 10 steps, bonus 0.5, upper
bound 0.95, margin 0.01, beta 0, G = 8). For completion i of group g with accuracy reward a_i:

    c_i        = min(exp(mean_{t in answer} log pi_ref(o_t | prompt, o_<t)), upper)   reference confidence
    accurate_i = a_i > 0.1  and  a_i >= mean_g(a)                                    relative accuracy
    confident_i = c_i >= mean_{j in g, accurate_j}(c_j) - margin                     relative consistency
    bonus_i    = coef * a_i  if accurate_i and confident_i, else 0                   added to the reward

`answer` is the span of tokens inside the completion's last `<answer>...</answer>` (the authors' mask
starts after the `<answer>` token and stops before the closing tag). The reference is the trainer's,
moved by the recipe's `rl.ref_update` (`foveal.train.reference`): `{name: sync, args: {alpha: 0.005,
every: 10}}` is the authors' theta_ref <- 0.995 theta_ref + 0.005 theta every 10 optimizer steps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from foveal.train.objectives._groups import check_aligned, masked_group_mean

OPEN, CLOSE = "<answer>", "</answer>"


def answer_span(tokenizer: Any, ids: Sequence[int]) -> tuple[int, int] | None:
    """[start, end) of the tokens of `ids` that carry the text inside its last `<answer>...</answer>`:
    start = the first token after the one completing `<answer>`, end = the token holding the first
    character of `</answer>` (or one past it when that token also holds answer text; a token holding
    both `<answer>`'s end and answer text is left out). None when the decoded text has no closed answer
    block or the block is empty."""
    text = tokenizer.decode(list(ids), skip_special_tokens=True)
    open_at = text.rfind(OPEN)
    close_at = text.find(CLOSE, open_at + len(OPEN)) if open_at >= 0 else -1
    if open_at < 0 or close_at < 0 or not text[open_at + len(OPEN):close_at].strip():
        return None

    def prefix_len(k: int) -> int:
        return len(tokenizer.decode(list(ids[:k]), skip_special_tokens=True))

    def first_prefix_longer(n_chars: int) -> int:
        """Smallest k with len(decode(ids[:k])) > n_chars (decoded length grows with k)."""
        lo, hi = 0, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if prefix_len(mid) > n_chars:
                hi = mid
            else:
                lo = mid + 1
        return lo

    start = first_prefix_longer(open_at + len(OPEN) - 1)  # tokens [0, start) complete `<answer>`
    holder = first_prefix_longer(close_at) - 1  # the token holding the first char of `</answer>`
    end = holder + 1 if prefix_len(holder) < close_at else holder  # keep it if it also holds answer text
    return (start, end) if end > start else None


@torch.no_grad()
def answer_logprobs(policy: Any, samples: Sequence[Any], completion_ids: Sequence[Sequence[int]], *,
                    model: torch.nn.Module | None = None, batch_size: int = 16) -> Tensor:
    """Mean log-probability of each completion's answer tokens given the prompt and the reasoning
    before them, under `model` (default `policy.model`; pass the EMA reference), teacher-forced:

        ell_i = mean_{t in answer span} log p_model(o_t | prompt_i, o_<t)

    `policy` is a `foveal.models.Policy` (its processor encodes prompts, images included);
    `samples` [N] the prompts, `completion_ids` [N] the completions' token ids, scored `batch_size`
    at a time. -> [N] float32, -inf where a completion has no answer block (its confidence exp(ell) is 0)."""
    if len(samples) != len(completion_ids):
        raise ValueError(f"answer_logprobs: {len(samples)} samples but {len(completion_ids)} completions")
    if batch_size < 1:
        raise ValueError(f"answer_logprobs: batch_size must be >= 1, got {batch_size}")
    scorer = policy if model is None else dataclasses.replace(policy, model=model)
    spans = [answer_span(policy.tokenizer, ids) for ids in completion_ids]
    out = torch.full((len(samples),), -math.inf)
    todo = [i for i, span in enumerate(spans) if span is not None]
    for k in range(0, len(todo), batch_size):
        rows = todo[k:k + batch_size]
        batch = policy.encode_pairs([samples[i] for i in rows], [list(completion_ids[i]) for i in rows])
        logp, _ = scorer.token_logprobs(batch)
        for j, i in enumerate(rows):
            out[i] = logp[j, spans[i][0]:spans[i][1]].float().mean().cpu()
    return out


def care_bonus(answer_logp: Tensor, group_ids: Tensor, correct: Tensor, *, coef: float = 0.5,
               upper: float = 0.95, margin: float = 0.01) -> Tensor:
    """The CARE bonus (module docstring) from answer log-likelihoods [N] under the EMA reference, group
    ids [N] and accuracy rewards `correct` [N] (in [0, 1]). -> [N], coef * a_i or 0."""
    check_aligned("care_bonus", len(correct), answer_logp=answer_logp, group_ids=group_ids)
    a = correct.to(torch.float64)
    conf = answer_logp.to(torch.float64).exp().clamp(max=upper)
    everyone = torch.ones_like(a, dtype=torch.bool)
    accurate = (a > 0.1) & (a >= masked_group_mean(a, everyone, group_ids)[0])
    peer_conf, _ = masked_group_mean(conf, accurate, group_ids)
    bonus_mask = accurate & (conf >= peer_conf - margin)
    return torch.where(bonus_mask, coef * a, torch.zeros_like(a)).float()


def grpo_care(completions: Sequence[str], samples: Sequence[Any], *, ctx, coef: float = 0.5,
              upper: float = 0.95, margin: float = 0.01, answer_format: str = "r1") -> list[float]:
    """Reward `grpo_care`: the CARE bonus of each completion (add it to `accuracy`; use beta 0). Scores
    the completions' answers under `ctx.ref_model` with `ctx.policy`'s processor; `ctx.group_ids` [N].
    Accuracy a_i is recomputed here (`foveal.rewards.accuracy` under `answer_format`), since a reward
    cannot see the step's correctness while rewards are being computed."""
    from foveal.rewards import accuracy

    if ctx.ref_model is None or ctx.policy is None:
        raise ValueError("grpo_care: needs the step's policy and its EMA reference model (ctx.policy, ctx.ref_model)")
    a = torch.tensor(accuracy(list(completions), list(samples), answer_format=answer_format))
    ids = ctx.token_ids if ctx.token_ids is not None else [
        ctx.policy.tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    ell = answer_logprobs(ctx.policy, samples, ids, model=ctx.ref_model)
    return care_bonus(ell, ctx.group_ids, a, coef=coef, upper=upper, margin=margin).tolist()
