"""EMA-GRPO (OneThinker): in a multi-task mix, normalise each advantage by its *task's* reward spread,
tracked as an exponential moving average across steps, instead of by its group's std.

Source: the abstract (seeds 001/002 "OneThinker: All-in-one Reasoning Model for Image and Video")
says "tracking task-wise moving averages of reward standard deviations"; the form below is the
authors' released estimator (github.com/tulerfeng/OneThinker, EasyR1 `adv_estimator: ema_grpo`,
`compute_ema_grpo_outcome_advantage` with its `_EmaStdTracker`), since the paper's equation could not
be read from here. Per task k, over the rewards r of this step's completions of task k:

    m1_k <- d * m1_k + (1 - d) * mean(r),   m2_k <- d * m2_k + (1 - d) * mean(r^2)   (first step: the
                                                                                     batch moments)
    sigma_k = sqrt(max(m2_k - m1_k^2, min_std^2))
    A_i = (r_i - mean_g r) / (sigma_k + eps)        g = i's group, k = i's task

The moments are updated with this step's rewards *before* they are used (the authors' order). Guard
rail (theirs, default 5): a group in which some |A_i| would exceed `guard` is normalised by its own
(population) std instead, so a task whose spread is still tiny cannot blow one group up.
Defaults d = 0.99, min_std = 1e-3, eps = 1e-6 (theirs). Groups of one get A = 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from foveal.train.objectives._groups import check_aligned, group_index, masked_group_mean


class EMAGRPO:
    """Advantage `ema_grpo`: `__call__(rewards [N], group_ids [N], *, ctx) -> advantages [N]`, the task
    of completion i being `ctx.tasks[i]`. State (`state_dict`): {"moments": {task: [m1, m2]}}."""

    def __init__(self, decay: float = 0.99, min_std: float = 1e-3, eps: float = 1e-6,
                 guard: float | None = 5.0) -> None:
        if not 0 <= decay < 1 or min_std <= 0 or eps < 0 or (guard is not None and guard <= 0):
            raise ValueError(
                f"ema_grpo: need 0 <= decay < 1, min_std > 0, eps >= 0, guard > 0 or None; "
                f"got decay={decay}, min_std={min_std}, eps={eps}, guard={guard}")
        self.decay, self.min_std, self.eps, self.guard = decay, min_std, eps, guard
        self.moments: dict[str, list[float]] = {}

    def std(self, task: str) -> float:
        """sigma_k of `task` from its moments (min_std for a task never seen)."""
        if task not in self.moments:
            return self.min_std
        m1, m2 = self.moments[task]
        return math.sqrt(max(m2 - m1 * m1, self.min_std ** 2))

    def update(self, task: str, rewards: Tensor) -> None:
        """Fold this step's rewards of `task` into its moving moments (initialised on first sight)."""
        r = rewards.to(torch.float64)
        batch = [float(r.mean()), float((r * r).mean())]
        old = self.moments.get(task)
        d = self.decay
        self.moments[task] = batch if old is None else [d * o + (1 - d) * b for o, b in zip(old, batch, strict=True)]

    def __call__(self, rewards: Tensor, group_ids: Tensor, *, ctx) -> Tensor:
        tasks = list(ctx.tasks)
        check_aligned("ema_grpo", len(rewards), tasks=tasks, group_ids=group_ids)
        everyone = torch.ones_like(rewards, dtype=torch.bool)
        centred = (rewards.to(torch.float64) - masked_group_mean(rewards, everyone, group_ids)[0])
        for task in dict.fromkeys(tasks):
            self.update(task, rewards[[t == task for t in tasks]])
        sigma = torch.tensor([self.std(t) for t in tasks], dtype=torch.float64)
        adv = centred / (sigma + self.eps)
        if self.guard is not None:
            inv, _ = group_index(group_ids)
            for g in inv[adv.abs() > self.guard].unique():
                members = inv == g
                adv[members] = centred[members] / (centred[members].pow(2).mean().sqrt() + self.eps)
        return adv.to(rewards.dtype)

    def state_dict(self) -> dict:
        return {"moments": {k: list(v) for k, v in self.moments.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.moments = {str(k): [float(x) for x in v] for k, v in state["moments"].items()}
