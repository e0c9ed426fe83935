"""APO, Asymmetric Policy Optimization (View-R1): the correct and the wrong completions of a group are
treated apart. Positives get a KL weight set by the problem's difficulty (DADS); negatives longer than
the group's correct answers get a larger penalty (STCR).

Source: the abstract (seeds 000/001 "APO: Enhancing Reasoning Ability of MLLMs via Asymmetric Policy
Optimization") names DADS and STCR without formulas, and the paper's equations could not be read from
here; the forms below are the authors' code (github.com/Indolent-Kawhi/View-R1, commit 917ec74:
`calculate_kl_weight` in openrlhf/trainer/ray/ppo_actor.py and `compute_advantages_and_returns` in
openrlhf/trainer/ppo_utils/experience_maker.py), which is what View-R1 was trained with.

    DADS  beta_i = beta * f(p_g)  for a positive completion i (A_i > 0, i.e. correct while p_g < 1),
          beta_i = beta            otherwise,         f(p) = 1 - exp(-e * p)  (f = 1 at p in {0, 1}),
          p_g the pass rate of i's group: hard problems (small p) let their correct answers move
          further from the reference, easy ones stay close (f(0.5) = 0.743, f(0.9) = 0.913).
    STCR  w_i = 1 - base^-(L_i - Lbar_g)  for a wrong completion i with L_i > Lbar_g, else 0,
          Lbar_g the mean length (tokens) of the correct completions of i's group (w = 0 when the
          group has none); the advantage becomes A_i * (1 + w_i), so a long wrong answer is pushed
          down harder. The authors use base = 1.00001 (w = 0.0099 for 1,000 extra tokens).

Shapes: every per-completion input and output is [N]; `group_ids` [N] marks completions of one prompt.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from foveal.train.objectives._groups import check_aligned, masked_group_mean


def dads_weight(pass_rate: Tensor) -> Tensor:
    """f(p) = 1 - exp(-e * p) for 0 < p < 1 and 1 at p = 0 or 1 (View-R1 `calculate_kl_weight`,
    written there as 1 - exp(-e (1 - d)) of the difficulty d = 1 - p). [N] -> [N]."""
    p = pass_rate.to(torch.float64)
    if bool(((p < 0) | (p > 1) | p.isnan()).any()):
        raise ValueError(f"dads_weight: pass rates must lie in [0, 1], got {pass_rate.tolist()}")
    f = 1 - torch.exp(-math.e * p)
    return torch.where((p == 0) | (p == 1), torch.ones_like(f), f).to(pass_rate.dtype)


def dads_beta(beta: float, group_pass_rate: Tensor, correct: Tensor) -> Tensor:
    """DADS per-completion KL weight: beta_i = beta * f(p_g) where completion i is correct (a positive
    of its group), beta elsewhere. `group_pass_rate` [N] is p_g of i's group, `correct` [N] in {0, 1}.
    The trainer multiplies completion i's per-token KL by beta_i (View-R1 weights its per-sequence
    mean KL the same way). -> [N] float."""
    check_aligned("dads_beta", len(correct), group_pass_rate=group_pass_rate)
    w = dads_weight(group_pass_rate.float())
    return beta * torch.where(correct.float() > 0.5, w, torch.ones_like(w))


def stcr_weight(correct: Tensor, lengths: Tensor, group_ids: Tensor, base: float = 1.00001) -> Tensor:
    """STCR weight w_i = 1 - base^-(L_i - Lbar_g) for wrong completions longer than their group's
    correct mean length Lbar_g, else 0 (and 0 in a group with no correct completion). -> [N] in [0, 1)."""
    check_aligned("stcr_weight", len(correct), lengths=lengths, group_ids=group_ids)
    if base <= 1:
        raise ValueError(f"stcr: base must be > 1, got {base}")
    ok = correct.float() > 0.5
    lengths = lengths.to(torch.float64)
    lbar, n_ok = masked_group_mean(lengths, ok, group_ids)
    excess = torch.nan_to_num(lengths - lbar, nan=0.0)
    w = 1 - torch.pow(torch.tensor(base, dtype=torch.float64), -excess)
    return torch.where(~ok & (n_ok > 0) & (excess > 0), w, torch.zeros_like(w)).float()


def stcr_advantages(advantages: Tensor, correct: Tensor, lengths: Tensor, group_ids: Tensor,
                    base: float = 1.00001) -> Tensor:
    """STCR on advantages (the authors' form): A_i * (1 + w_i). [N] -> [N]."""
    return advantages * (1 + stcr_weight(correct, lengths, group_ids, base).to(advantages.dtype))


def stcr_reward(correct: Tensor, lengths: Tensor, group_ids: Tensor, base: float = 1.00001,
                scale: float = 1.0) -> Tensor:
    """STCR as an additive reward term: r_i = -scale * w_i (0 for correct completions and short wrong
    ones). An alternative to `stcr_advantages` for trainers that shape rewards, not advantages; with a
    group-normalised advantage it is not the same update (the authors scale the advantage). -> [N]."""
    return -scale * stcr_weight(correct, lengths, group_ids, base)


# -- registry entries (the trainer's `@register_*` decorators are applied where they are wired) -----


def _check_correct(where: str, correct: Tensor) -> None:
    if bool(torch.isnan(correct.float()).any()):
        raise ValueError(f"{where}: needs a reward with the correctness role (ctx.correct is NaN)")


def apo_advantage(rewards: Tensor, group_ids: Tensor, *, scale: str = "group", base: float = 1.00001,
                  ctx) -> Tensor:
    """Advantage `apo`: GRPO's group-normalised advantage (`scale` as in `grpo`) with STCR on the wrong
    completions, A_i * (1 + w_i). Needs ctx.correct and ctx.lengths [N]; groups of G >= 2."""
    from foveal.train.algos import grpo_advantages

    check_aligned("apo advantage", len(rewards), correct=ctx.correct, lengths=ctx.lengths, group_ids=group_ids)
    _check_correct("apo advantage", ctx.correct)
    return stcr_advantages(grpo_advantages(rewards, group_ids, scale=scale), ctx.correct, ctx.lengths,
                           group_ids, base)


def apo_beta(step: int, n: int, *, beta: float = 0.04, ctx) -> Tensor:
    """Beta schedule `apo` (DADS): beta_i = beta * f(p_g) on correct completions, beta elsewhere.
    Needs ctx.correct and ctx.group_pass_rate [n]; `step` is unused (DADS is per step, not scheduled)."""
    check_aligned("apo beta", n, correct=ctx.correct, group_pass_rate=ctx.group_pass_rate)
    _check_correct("apo beta", ctx.correct)
    return dads_beta(beta, ctx.group_pass_rate, ctx.correct)
