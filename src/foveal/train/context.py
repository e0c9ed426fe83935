"""The per-step context: what an advantage, loss, β schedule or reward function may ask for.

A function receives it by declaring a keyword parameter `ctx` (`wants(fn, "ctx")`); functions that
do not declare it are called exactly as before. Every per-completion field is aligned with the
step's completions: item i is completion i % G of prompt i // G, N items in all.

    @register_advantage("my_adv", needs_groups=True)
    def my_adv(rewards, group_ids, *, ctx=None):            # rewards, group_ids: [N]
        hard = ctx.group_pass_rate < 0.5                    # [N] bool
        ...

Fields that a step cannot know yet are None: rewards see `correct`, `group_pass_rate` and
`rewards` as None (they are being computed) and get a context of one prompt's group (N = G).
Under several processes an advantage sees every process's completions (so batch statistics are
global): its context is gathered in rank order, except `samples` (None; their pictures stay put);
losses, β schedules, KL estimators and aggregations see this process's completions, whose rows
`MicroBatch.rows` index.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor


@dataclass
class StepContext:
    """One RL step's completions and what is known about them (tensors on CPU, [N] each)."""

    step: int  # the optimizer step index (0-based) of the RL stage
    tasks: list[str]  # [N] task name of each completion's prompt
    levels: list[int]  # [N] difficulty level of each completion's prompt
    samples: list[Any] | None  # [N] the prompts (foveal.Sample)
    texts: list[str]  # [N] completion texts
    lengths: Tensor  # [N] completion lengths in tokens (float)
    group_ids: Tensor  # [N] int: completions of one prompt share an id
    correct: Tensor | None = None  # [N] the correctness-role reward's scores (NaN when no reward has that role)
    group_pass_rate: Tensor | None = None  # [N] mean of `correct` over each completion's group
    rewards: Tensor | None = None  # [N] weighted total reward
    per_fn: dict[str, Tensor] | None = None  # reward name -> [N] raw scores
    token_ids: list[list[int]] | None = None  # [N] completion token ids
    backend: Any = None  # the rollout backend (for rewards that generate again)
    policy: Any = None  # the `foveal.models.Policy` being trained
    ref_model: Any = None  # the reference model (None when β is 0 everywhere)
    forms: list[str] | None = None  # [N] form of each completion's prompt (image, text, mixed)
    advantages: Tensor | None = None  # [N] filled in for the sampler's `update` after the step's update

    @property
    def n(self) -> int:
        return len(self.texts)

    def with_scores(self, rewards: Tensor, per_fn: dict[str, Tensor], correct: Tensor | None) -> StepContext:
        """A copy with the step's rewards and correctness (and each group's pass rate) filled in."""
        if correct is None:
            correct = torch.full((self.n,), float("nan"))
        return replace(self, rewards=rewards, per_fn=per_fn, correct=correct,
                       group_pass_rate=group_mean(correct, self.group_ids))


def group_mean(values: Tensor, group_ids: Tensor) -> Tensor:
    """Per element, the mean of `values` over its group: out_i = mean_{j: g_j = g_i} v_j, [N] -> [N]."""
    _, inv, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    v = values.to(torch.float64)
    sums = torch.zeros(len(counts), dtype=v.dtype).index_add_(0, inv, v)
    return (sums / counts)[inv].to(values.dtype)


def wants(fn: Any, name: str) -> bool:
    """Whether callable `fn` (a function, a partial, or an object with `__call__`) takes keyword `name`."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    p = params.get(name)
    return p is not None and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)


def is_stateful(obj: Any) -> bool:
    """An entry whose state must survive a resume: it has `state_dict` and `load_state_dict`."""
    return callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "load_state_dict", None))
