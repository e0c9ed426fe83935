"""The RL algorithms as pure tensor functions, registered by name (after verl's `core_algos.py`).

A step of the GRPO family is four choices, each a registry below, each entry one small function:

    A     = ADVANTAGES[name](rewards, group_ids, **opts)                 # [N] per completion
    L_tok = POLICY_LOSSES[name](logp, old_logp, A, mask, clip_low, clip_high)   # [B, T] per token
    L_tok += beta * KL[kind](logp, ref_logp)                              # only when beta > 0
    loss  = AGGREGATIONS[name](L_tok, mask, num_seqs=..., num_tokens=..., max_len=...)

Shapes: `logp`, `old_logp`, `ref_logp`, `mask` are [B, T] over completion tokens (mask 1 on real
tokens); `rewards`, `group_ids`, advantages are [N] with N = B over the whole optimizer step.

The recipes map onto these names:
    GRPO     advantage grpo,   loss ppo_clip, aggregation seq-mean-token-mean
    Dr.GRPO  advantage drgrpo, loss ppo_clip, aggregation seq-mean-token-sum-norm
    DAPO     advantage grpo,   loss ppo_clip (clip_high 0.28), aggregation token-mean,
             dynamic sampling (`rl.py` refills groups whose rewards are all equal) and the soft
             overlong penalty as a reward
    GSPO     advantage grpo,   loss gspo (sequence-level ratio), aggregation seq-mean-token-mean

Conventions follow TRL's `GRPOTrainer` (1.16) so the same settings give the same loss: group std is
Bessel-corrected with eps 1e-4 added to it, the KL term is added per token before aggregation, and
`token-mean` divides by the token count of the whole optimizer step (TRL's "dapo" loss type).
A later algorithm (APO, GRPO-D, PAPO, EMA-GRPO, GRPO-CARE, ...) is one more `@register_*` function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor


class PolicyLoss(NamedTuple):
    """What a policy loss returns, each [B, T]: the per-token loss, where the clip removed the
    gradient, and the importance ratio used (token-level, or a sequence's ratio broadcast)."""

    loss: Tensor
    clipped: Tensor
    ratio: Tensor


ADVANTAGES: dict[str, Callable[..., Tensor]] = {}
POLICY_LOSSES: dict[str, Callable[..., PolicyLoss]] = {}
AGGREGATIONS: dict[str, Callable[..., Tensor]] = {}
KL: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}

# Advantage estimators that compare completions of the same prompt: they need G >= 2.
GROUP_ADVANTAGES = {"grpo", "drgrpo", "rloo"}


def _register(table: dict, name: str):
    def deco(fn):
        if name in table:
            raise ValueError(f"{name!r} is already registered")
        table[name] = fn
        return fn

    return deco


def register_advantage(name: str):
    """Register `fn(rewards [N], group_ids [N], **opts) -> advantages [N]` under `name`."""
    return _register(ADVANTAGES, name)


def register_policy_loss(name: str):
    """Register `fn(logp, old_logp, advantages, mask, clip_low, clip_high) -> PolicyLoss` (each [B,T])."""
    return _register(POLICY_LOSSES, name)


def register_aggregation(name: str):
    """Register `fn(loss [B,T], mask [B,T], *, num_seqs, num_tokens, max_len) -> scalar`."""
    return _register(AGGREGATIONS, name)


def register_kl(name: str):
    """Register `fn(logp [B,T], ref_logp [B,T]) -> per-token KL estimate [B,T]`."""
    return _register(KL, name)


def lookup(table: dict, name: str, what: str):
    """`table[name]`, or a ValueError listing the registered names."""
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(table)}") from None


def check_rl_config(rl) -> None:
    """FovealError naming the field when an `RLConfig` names an unregistered function, or asks
    for a group advantage (which compares completions of one prompt) with group_size < 2."""
    from foveal.errors import FovealError

    for name, table, what in (
        (rl.advantage, ADVANTAGES, "advantage"),
        (rl.loss, POLICY_LOSSES, "loss"),
        (rl.aggregation, AGGREGATIONS, "aggregation"),
        (rl.kl, KL, "kl"),
    ):
        if name not in table:
            raise FovealError(f"rl.{what}: unknown {name!r}; expected one of {sorted(table)}")
    if rl.advantage in GROUP_ADVANTAGES and rl.group_size < 2:
        raise FovealError(
            f"rl.group_size must be >= 2 for the group advantage {rl.advantage!r} (got {rl.group_size})"
        )


# -- groups --------------------------------------------------------------------------------


def group_stats(rewards: Tensor, group_ids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-element group mean, Bessel-corrected group std (0 for a group of one) and group size, each [N]."""
    _, inv, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    r = rewards.to(torch.float64)
    sums = torch.zeros(len(counts), dtype=r.dtype, device=r.device).index_add_(0, inv, r)
    mean = (sums / counts)[inv]
    sq = torch.zeros_like(sums).index_add_(0, inv, (r - mean) ** 2)
    n = counts.to(r.dtype)
    std = torch.where(counts > 1, (sq / (n - 1).clamp(min=1)).sqrt(), torch.zeros_like(sq))[inv]
    return mean.to(rewards.dtype), std.to(rewards.dtype), counts[inv]


# -- advantages ----------------------------------------------------------------------------


@register_advantage("grpo")
def grpo_advantages(rewards: Tensor, group_ids: Tensor, scale: str = "group", eps: float = 1e-4) -> Tensor:
    """GRPO: A_i = (r_i - mean_g(r)) / (std(r) + eps), the mean over the completion's group g.

    `scale`: "group" divides by the group's std, "batch" by the std over all N rewards (TRL's
    scale_rewards="batch"), "none" not at all (that is Dr.GRPO's advantage). std is Bessel-corrected.
    """
    mean, std, _ = group_stats(rewards, group_ids)
    adv = rewards - mean
    if scale == "group":
        return adv / (std + eps)
    if scale == "batch":
        return adv / (rewards.std() + eps) if rewards.numel() > 1 else adv
    if scale == "none":
        return adv
    raise ValueError(f"grpo advantage scale must be 'group', 'batch' or 'none', got {scale!r}")


@register_advantage("drgrpo")
def drgrpo_advantages(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """Dr.GRPO: A_i = r_i - mean_g(r), no division by the std (which favours too-easy/too-hard groups)."""
    mean, _, _ = group_stats(rewards, group_ids)
    return rewards - mean


@register_advantage("rloo")
def rloo_advantages(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """RLOO: A_i = r_i - (sum_{j in g, j != i} r_j) / (G - 1) = G / (G - 1) * (r_i - mean_g(r))."""
    mean, _, n = group_stats(rewards, group_ids)
    n = n.to(rewards.dtype)
    return torch.where(n > 1, n / (n - 1).clamp(min=1) * (rewards - mean), torch.zeros_like(rewards))


@register_advantage("reinforce")
def reinforce_advantages(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """REINFORCE with a batch baseline: A_i = r_i - mean over all N rewards (groups ignored)."""
    return rewards - rewards.mean()


# -- policy losses -------------------------------------------------------------------------


def _clip_loss(ratio: Tensor, advantages: Tensor, clip_low: float, clip_high: float) -> PolicyLoss:
    adv = advantages if advantages.dim() == ratio.dim() else advantages.unsqueeze(-1)
    clipped_ratio = ratio.clamp(1 - clip_low, 1 + clip_high)
    loss = -torch.min(ratio * adv, clipped_ratio * adv)
    clipped = ((ratio < 1 - clip_low) & (adv < 0)) | ((ratio > 1 + clip_high) & (adv > 0))
    return PolicyLoss(loss, clipped, ratio)


@register_policy_loss("ppo_clip")
def ppo_clip_loss(logp, old_logp, advantages, mask, clip_low: float = 0.2, clip_high: float = 0.2):
    """PPO-clip per token, with DAPO's asymmetric bounds (clip-higher: clip_high > clip_low):

        rho_t = exp(logp_t - old_logp_t)
        L_t   = -min(rho_t * A, clip(rho_t, 1 - clip_low, 1 + clip_high) * A)

    Returns PolicyLoss(L, clipped, rho), each [B,T]; `clipped` marks tokens whose gradient the clip
    removed (rho < 1 - clip_low with A < 0, or rho > 1 + clip_high with A > 0).
    """
    return _clip_loss(torch.exp(logp - old_logp), advantages, clip_low, clip_high)


@register_policy_loss("gspo")
def gspo_loss(logp, old_logp, advantages, mask, clip_low: float = 3e-4, clip_high: float = 4e-4):
    """GSPO: one length-normalised importance ratio per sequence, clipped as a whole:

        s_i = exp( sum_t m_t (logp_t - old_logp_t) / sum_t m_t )
        L_i = -min(s_i * A_i, clip(s_i, 1 - clip_low, 1 + clip_high) * A_i), broadcast over the tokens

    (GSPO's bounds are tiny, 3e-4 / 4e-4, because s_i is a geometric mean.) Returns PolicyLoss of [B,T].
    """
    m = mask.to(logp.dtype)
    seq = ((logp - old_logp) * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
    out = _clip_loss(torch.exp(seq), advantages, clip_low, clip_high)
    return PolicyLoss(*(t.expand_as(logp) for t in out))


# -- KL estimators (Schulman's k1, k2, k3 of KL(pi || ref), per token) ---------------------


@register_kl("k1")
def kl_k1(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k1 = log pi - log ref (unbiased, high variance, can be negative)."""
    return logp - ref_logp


@register_kl("k2")
def kl_k2(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k2 = (log pi - log ref)^2 / 2 (biased, low variance, >= 0)."""
    return 0.5 * (logp - ref_logp) ** 2


@register_kl("k3")
def kl_k3(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k3 = exp(log ref - log pi) - (log ref - log pi) - 1 (unbiased, low variance, >= 0; GRPO's and TRL's)."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def kl_with_ratio(kl: Tensor, ratio: Tensor) -> Tensor:
    """KL_t * rho_t: the importance-corrected KL term (DeepSeek-V3.2; TRL's use_bias_correction_kl).

    Its value equals KL_t on-policy (rho = 1), but its gradient gains KL_t * grad log pi, which makes
    it an unbiased gradient of KL(pi || ref) for samples drawn from pi_old.
    """
    return kl * ratio


def kl_reward_penalty(rewards: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float, kind: str = "k1") -> Tensor:
    """KL as a reward penalty (no gradient through it): r_i - beta * sum_t m_t KL_t."""
    kl = lookup(KL, kind, "KL estimator")(logp.detach(), ref_logp.detach())
    return rewards - beta * (kl * mask).sum(-1)


# -- aggregations: per-token loss -> this micro-batch's share of the step's scalar loss -----
#
# The counts are those of the whole optimizer step (all micro-batches and passes of gradient
# accumulation), so summing the micro-batch values gives exactly the full-batch loss.


@register_aggregation("token-mean")
def token_mean(loss: Tensor, mask: Tensor, *, num_seqs: int | None = None, num_tokens=None, max_len=None) -> Tensor:
    """DAPO: sum_{i,t} m_it L_it / sum_{i,t} m_it, every token of the step weighted equally."""
    n = mask.sum() if num_tokens is None else num_tokens
    return (loss * mask).sum() / max(float(n), 1.0)


@register_aggregation("seq-mean-token-mean")
def seq_mean_token_mean(loss: Tensor, mask: Tensor, *, num_seqs: int | None = None, num_tokens=None, max_len=None) -> Tensor:
    """GRPO: (1/N) sum_i (sum_t m_it L_it / sum_t m_it), each sequence weighted equally."""
    n = loss.shape[0] if num_seqs is None else num_seqs
    per_seq = (loss * mask).sum(-1) / mask.sum(-1).clamp(min=1)
    return per_seq.sum() / n


@register_aggregation("seq-mean-token-sum-norm")
def seq_mean_token_sum_norm(loss: Tensor, mask: Tensor, *, num_seqs: int | None = None, num_tokens=None, max_len=None) -> Tensor:
    """Dr.GRPO: sum_{i,t} m_it L_it / (N * L_max), L_max the fixed maximum completion length.

    Dividing by a constant instead of each sequence's length removes GRPO's length bias.
    """
    n = loss.shape[0] if num_seqs is None else num_seqs
    t = loss.shape[1] if max_len is None else max_len
    return (loss * mask).sum() / (n * t)
