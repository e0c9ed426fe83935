"""The RL algorithms as pure tensor functions, registered by name (after verl's `core_algos.py`).

A step of the GRPO family is four choices, each a registry below, each entry one small function:

    A     = ADVANTAGES[name](rewards, group_ids, **opts)                 # [N] per completion
    L_tok = POLICY_LOSSES[name](logp, old_logp, A, mask, clip_low=..., clip_high=..., **opts)  # [B, T]
    L_tok *= top_entropy_mask(entropy, mask, q)   # rl.top_entropy_quantile q < 1 (TRL's option)
    L_tok += beta_i * KL[kind](logp, ref_logp)                            # beta [N] from BETA_SCHEDULES
    loss  = AGGREGATIONS[name](L_tok, mask, num_seqs=..., num_tokens=..., max_len=...)

Each registry is a `foveal.registry.Registry`: an entry's options are its keyword parameters with
defaults (a recipe sets them as `{name: ..., args: {...}}`), and a function that declares a keyword
`ctx` also receives the step's `foveal.train.context.StepContext` (task ids, correctness, lengths,
group pass rates, the step index, ...). `foveal algos` lists every entry with its options.

Shapes: `logp`, `old_logp`, `ref_logp`, `mask` are [B, T] over completion tokens (mask 1 on real
tokens); `rewards`, `group_ids`, advantages are [N] with N = B over the whole optimizer step.

The recipes map onto these names:
    GRPO     advantage grpo,   loss ppo_clip, aggregation seq-mean-token-mean
    Dr.GRPO  advantage drgrpo, loss ppo_clip, aggregation seq-mean-token-sum-norm
    DAPO     advantage grpo,   loss ppo_clip (clip_high 0.28), aggregation token-mean,
             dynamic sampling (`rl.py` refills groups whose correctness is all equal) and the soft
             overlong penalty as a reward
    GSPO     advantage grpo,   loss gspo (sequence-level ratio), aggregation seq-mean-token-mean

TRL 1.16's `GRPOTrainer(loss_type=...)` values, with the same settings (checked to <= 1e-5 in loss
and gradients by `benchmarks/bench_rl_vs_trl.py --all-loss-types`):
    grpo     ppo_clip + seq-mean-token-mean        bnpo   ppo_clip + bnpo
    dr_grpo  ppo_clip + seq-mean-token-sum-norm    dapo   ppo_clip + token-mean
    cispo    cispo    + token-mean                 sapo   sapo     + seq-mean-token-mean
    luspo    gspo     + seq-mean-token-sum         vespo  vespo    + token-mean
    (luspo with TRL's importance_sampling_level="sequence", as TRL advises; with "token" it is
    ppo_clip + seq-mean-token-sum. grpo with "sequence" is GSPO: gspo + seq-mean-token-mean.)
    `delta` (two-sided clip) is a ppo_clip/gspo option, `top_entropy_quantile` the RL stage's
    `rl.top_entropy_quantile` (`top_entropy_mask`); verl's dual-clip is ppo_clip's `clip_ratio_c`.

Conventions follow TRL's `GRPOTrainer` (1.16) so the same settings give the same loss: group std is
Bessel-corrected with eps 1e-4 added to it, the KL term is added per token before aggregation, and
`token-mean` divides by the token count of the whole optimizer step (TRL's "dapo" loss type).
A later algorithm is one more `@register_*` function, in this module or any other. The seeds'
objectives (APO, GRPO-D, EMA-GRPO, PAPO, and the rewards of GRPO-CARE and ACRE) live in
`foveal.train.objectives` and are registered by `foveal.train.objectives.entries`, imported at the
end of this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from foveal.registry import Registry


class PolicyLoss(NamedTuple):
    """What a policy loss returns, each [B, T]: the per-token loss, where the clip removed the
    gradient, and the importance ratio used (token-level, or a sequence's ratio broadcast)."""

    loss: Tensor
    clipped: Tensor
    ratio: Tensor


ADVANTAGES = Registry("advantage", reserved=("ctx",))
POLICY_LOSSES = Registry("policy loss", reserved=("ctx", "entropy", "entropy_grad", "view_logp", "view_entropy"))
AGGREGATIONS = Registry("aggregation", reserved=("ctx", "num_seqs", "num_tokens", "max_len"))
KL = Registry("KL estimator", reserved=("ctx",))
BETA_SCHEDULES = Registry("beta schedule", reserved=("ctx", "n"))  # n: the loop's completion count


def register_advantage(name: str, needs_groups: bool = False, **flags):
    """Register `fn(rewards [N], group_ids [N], *, <options>, ctx=None) -> advantages [N]` (or a class
    whose instances are such callables, with `state_dict`/`load_state_dict` if they keep state).
    `needs_groups`: it compares completions of one prompt, so rl.group_size must be >= 2."""
    return ADVANTAGES.register(name, needs_groups=needs_groups, **flags)


def register_policy_loss(name: str, **flags):
    """Register `fn(logp, old_logp, advantages, mask, clip_low=0.2, clip_high=0.2, *, <options>,
    ctx=None, entropy=None) -> PolicyLoss` (each [B,T]); options are keyword-only with defaults and
    arrive as keywords from the recipe's `loss.args`; a loss that needs the per-token entropy [B,T]
    declares `entropy` (detached: for weights and masks) or `entropy_grad` (with its gradient: for a
    loss term), one that needs the step context `ctx`.

    `view=True`: the loss compares the policy on each prompt with a second view of it (PAPO's masked
    pictures). The built entry then has `view(sample, rng) -> Sample`; the loop encodes every
    micro-batch again on those views (the same completions), computes their per-token log-probs and
    entropies once per batch before the update, without gradient (like old log-probs), and passes
    them as the keywords `view_logp`, `view_entropy` [B,T]; one without a `view` method is refused here."""
    register = POLICY_LOSSES.register(name, **flags)

    def deco(fn):
        if flags.get("view") and not callable(getattr(fn, "view", None)):
            raise ValueError(f"policy loss {name!r}: view=True needs a view(sample, rng) method on {fn!r}")
        return register(fn)

    return deco


def register_aggregation(name: str, **flags):
    """Register `fn(loss [B,T], mask [B,T], *, num_seqs, num_tokens, max_len) -> scalar`."""
    return AGGREGATIONS.register(name, **flags)


def register_kl(name: str, **flags):
    """Register `fn(logp [B,T], ref_logp [B,T], *, <options>) -> per-token KL estimate [B,T]`."""
    return KL.register(name, **flags)


def register_beta(name: str, active: Callable[..., bool] | None = None, **flags):
    """Register a KL-coefficient schedule `fn(step: int, n: int, *, <options>, ctx=None) -> beta [n]`
    (a float is broadcast). A class instance may keep state (`state_dict`/`load_state_dict`) and
    observe the step's measured KL through `observe(kl: float)` (adaptive controllers).
    `active(**options) -> bool`: whether beta can be non-zero with these options (False: no
    reference model is loaded and no KL computed); default always True."""
    return BETA_SCHEDULES.register(name, active=active, **flags)


def lookup(table: Registry, name: str, what: str | None = None):
    """`table[name]`, or a ValueError with close matches and the registered names (older callers)."""
    if name in table:
        return table[name]
    raise ValueError(table.unknown(name).replace(" (", "; expected one of (", 1))


def beta_active(spec) -> bool:
    """Whether the recipe's beta schedule `{name, args}` can be non-zero (a reference model is needed)."""
    active = BETA_SCHEDULES.flag(spec.name, "active")
    return True if active is None else bool(active(**spec.args))


def check_rl_config(rl) -> None:
    """FovealError naming the field when an `RLConfig` names an unregistered function or an option the
    function does not have, or asks for a group advantage (which compares completions of one prompt)
    with group_size < 2."""
    from foveal.errors import FovealError
    from foveal.train.reference import REF_UPDATES

    specs = [("advantage", ADVANTAGES), ("loss", POLICY_LOSSES), ("aggregation", AGGREGATIONS), ("kl", KL),
             ("beta", BETA_SCHEDULES), ("ref_update", REF_UPDATES)]
    for field, table in specs:
        spec = getattr(rl, field)
        if spec is None:
            continue
        if spec.name not in table:
            raise FovealError(f"rl.{field}: {table.unknown(spec.name)}")
        table.check_options(spec.name, spec.args, f"rl.{field}.args")
    if ADVANTAGES.flag(rl.advantage.name, "needs_groups") and rl.group_size < 2:
        raise FovealError(
            f"rl.group_size must be >= 2 for the group advantage {rl.advantage.name!r} (got {rl.group_size})"
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


@register_advantage("grpo", needs_groups=True)
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


@register_advantage("drgrpo", needs_groups=True)
def drgrpo_advantages(rewards: Tensor, group_ids: Tensor) -> Tensor:
    """Dr.GRPO: A_i = r_i - mean_g(r), no division by the std (which favours too-easy/too-hard groups)."""
    mean, _, _ = group_stats(rewards, group_ids)
    return rewards - mean


@register_advantage("rloo", needs_groups=True)
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
#
# Each is `fn(logp, old_logp, advantages, mask, clip_low=0.2, clip_high=0.2, *, <options>)` ->
# PolicyLoss of [B, T] tensors; `advantages` is [N] (one per sequence) or [B, T]. The options are
# keyword-only with defaults (a recipe gives them as `loss: {name: cispo, args: {...}}`). `clip_low`
# and `clip_high` may also be passed by position, as older callers do. The KL term (added by the
# loop before aggregation) uses the returned `ratio`, so that is always the importance ratio
# exp(logp - old_logp) of the token (or the sequence's, broadcast, for sequence-level losses).


def _as_2d(advantages: Tensor, like: Tensor) -> Tensor:
    """Advantages as [B, 1] (one per sequence) or [B, T] unchanged, so they broadcast over tokens."""
    return advantages if advantages.dim() == like.dim() else advantages.unsqueeze(-1)


def _clip_loss(ratio: Tensor, advantages: Tensor, clip_low: float, clip_high: float,
               delta: float | None = None, clip_ratio_c: float | None = None) -> PolicyLoss:
    adv = _as_2d(advantages, ratio)
    clipped_ratio = ratio.clamp(1 - clip_low, 1 + clip_high)
    capped = ratio if delta is None else ratio.clamp(max=delta)
    loss = -torch.min(capped * adv, clipped_ratio * adv)
    clipped = ((ratio < 1 - clip_low) & (adv < 0)) | ((ratio > 1 + clip_high) & (adv > 0))
    if delta is not None:  # min(rho, delta) is constant above delta; for A < 0 the max takes it past 1 + clip_high
        clipped = clipped | ((ratio > delta) & (adv > 0)) | ((ratio > max(delta, 1 + clip_high)) & (adv < 0))
    if clip_ratio_c is not None:
        bound = -adv * clip_ratio_c
        clipped = clipped | ((adv < 0) & (loss > bound))
        loss = torch.where(adv < 0, torch.min(loss, bound), loss)
    return PolicyLoss(loss, clipped, ratio)


@register_policy_loss("ppo_clip")
def ppo_clip_loss(logp, old_logp, advantages, mask, clip_low: float = 0.2, clip_high: float = 0.2, *,
                  delta: float | None = None, clip_ratio_c: float | None = None):
    """PPO-clip per token, with DAPO's asymmetric bounds (clip-higher: clip_high > clip_low):

        rho_t = exp(logp_t - old_logp_t)
        L_t   = -min(rho_t * A, clip(rho_t, 1 - clip_low, 1 + clip_high) * A)

    Two optional caps on the ratio for A < 0 (where plain PPO lets a large rho grow the loss without bound):
      `delta` (TRL's two-sided clip, INTELLECT-2): rho_t in the first term becomes min(rho_t, delta):
            L_t = -min(min(rho_t, delta) * A, clip(rho_t, 1 - clip_low, 1 + clip_high) * A)
      `clip_ratio_c` (verl's dual-clip, Ye et al. 2020, arXiv:1912.09729; verl `compute_policy_loss_vanilla`):
            L_t = min(L_t, -A * clip_ratio_c)  where A < 0,  clip_ratio_c > 1
    With delta = clip_ratio_c > 1 + clip_high the two give the same loss; TRL's delta also caps A > 0
    tokens when delta < 1 + clip_high. (verl also clamps logp - old_logp to [-20, 20]; not done here.)

    Returns PolicyLoss(L, clipped, rho), each [B,T]; `clipped` marks tokens whose gradient a clip or
    cap removed (rho < 1 - clip_low with A < 0, rho > 1 + clip_high with A > 0; with delta also
    rho > delta with A > 0 and rho > max(delta, 1 + clip_high) with A < 0; rho > clip_ratio_c with A < 0).
    """
    if clip_ratio_c is not None and clip_ratio_c <= 1:
        raise ValueError(f"ppo_clip: clip_ratio_c must be > 1 (dual-clip's lower bound), got {clip_ratio_c}")
    return _clip_loss(torch.exp(logp - old_logp), advantages, clip_low, clip_high, delta, clip_ratio_c)


@register_policy_loss("gspo")
def gspo_loss(logp, old_logp, advantages, mask, clip_low: float = 3e-4, clip_high: float = 4e-4, *,
              delta: float | None = None):
    """GSPO: one length-normalised importance ratio per sequence, clipped as a whole:

        s_i = exp( sum_t m_t (logp_t - old_logp_t) / sum_t m_t )
        L_i = -min(s_i * A_i, clip(s_i, 1 - clip_low, 1 + clip_high) * A_i), broadcast over the tokens

    (GSPO's bounds are tiny, 3e-4 / 4e-4, because s_i is a geometric mean.) TRL's `loss_type="grpo"`
    with `importance_sampling_level="sequence"`; `delta` caps s_i as in `ppo_clip`. With the
    aggregation `seq-mean-token-sum` this is LUSPO. Returns PolicyLoss of [B,T].
    """
    m = mask.to(logp.dtype)
    seq = ((logp - old_logp) * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
    out = _clip_loss(torch.exp(seq), advantages, clip_low, clip_high, delta)
    return PolicyLoss(*(t.expand_as(logp) for t in out))


@register_policy_loss("cispo")
def cispo_loss(logp, old_logp, advantages, mask, clip_low: float = 0.2, clip_high: float = 0.2):
    """CISPO (MiniMax-M1, arXiv:2506.13585, eq. 4-5): clip the importance weight, not the update, and
    keep every token's gradient:

        rho_t = exp(logp_t - old_logp_t)
        L_t   = -sg(min(rho_t, 1 + clip_high)) * A * logp_t          (sg: stop-gradient)

    so dL/dlogp_t = -min(rho_t, 1 + clip_high) * A. No lower bound (MiniMax-M1 sets eps_low large;
    TRL has none; `clip_low` is unused). TRL's `epsilon_high` for cispo is the absolute cap, i.e.
    1 + clip_high here: ScaleRL's recommended eps_max = 5 is clip_high = 4. Aggregate with
    `token-mean` for TRL's `loss_type="cispo"`. `clipped` marks tokens whose weight was capped.
    """
    ratio = torch.exp(logp - old_logp)
    weight = ratio.clamp(max=1 + clip_high).detach()
    loss = -weight * _as_2d(advantages, logp) * logp
    return PolicyLoss(loss, ratio > 1 + clip_high, ratio)


@register_policy_loss("sapo")
def sapo_loss(logp, old_logp, advantages, mask, clip_low: float = 0.2, clip_high: float = 0.2, *,
              temperature_pos: float = 1.0, temperature_neg: float = 1.05):
    """SAPO (Soft Adaptive Policy Optimization, arXiv:2511.20347): a smooth, temperature-controlled gate
    in place of the hard clip (TRL's `loss_type="sapo"`, `sapo_temperature_pos/neg`):

        rho_t = exp(logp_t - old_logp_t),   tau = temperature_pos if A > 0 else temperature_neg
        L_t   = -(4 / tau) * sigmoid(tau * (rho_t - 1)) * A

    dL/dlogp_t = -4 sigma (1 - sigma) rho_t A: the plain policy gradient at rho = 1, fading smoothly
    as rho leaves 1. `clip_low` / `clip_high` are unused; nothing is hard-clipped (`clipped` all False).
    Aggregate with `seq-mean-token-mean` for TRL's sapo.
    """
    ratio = torch.exp(logp - old_logp)
    adv = _as_2d(advantages, logp)
    tau = torch.where(adv > 0, temperature_pos, temperature_neg).to(logp.dtype)
    loss = -torch.sigmoid(tau * (ratio - 1)) * 4 / tau * adv
    return PolicyLoss(loss, torch.zeros_like(loss, dtype=torch.bool), ratio)


@register_policy_loss("vespo")
def vespo_loss(logp, old_logp, advantages, mask, clip_low: float = 0.2, clip_high: float = 0.2, *,
               k_pos: float = 2.0, lambda_pos: float = 3.0, k_neg: float = 3.0, lambda_neg: float = 2.0):
    """VESPO (arXiv:2602.10693; TRL's `loss_type="vespo"`, `get_gamma_weights`): a Gamma-shaped weight
    of the sequence's importance ratio, normalised to 1 at w = 1, scales a REINFORCE term:

        log w_i = clamp( sum_t m_t clamp(logp_t - old_logp_t, -20, 20), log 1e-8, 20 )   (a sum, not a mean)
        phi_i   = exp( lambda + k log w_i - lambda w_i ) = e^lambda w_i^k e^(-lambda w_i)
                  (k, lambda) = (k_pos, lambda_pos) if A_i >= 0 else (k_neg, lambda_neg)
        L_it    = -sg(phi_i) * A_i * logp_t

    `clip_low` / `clip_high` are unused; returns the token ratio for the KL term. Aggregate with
    `token-mean` for TRL's vespo. [B,T] in, PolicyLoss of [B,T] out.
    """
    m = mask.to(logp.dtype)
    log_ratio = logp - old_logp
    with torch.no_grad():
        log_w = (log_ratio.clamp(-20.0, 20.0) * m).sum(-1, keepdim=True).clamp(math.log(1e-8), 20.0)
        adv = _as_2d(advantages, logp)
        pos = adv >= 0
        k = torch.where(pos, k_pos, k_neg).to(logp.dtype)
        lam = torch.where(pos, lambda_pos, lambda_neg).to(logp.dtype).clamp(min=1e-4)
        phi = torch.exp(lam + k * log_w - lam * torch.exp(log_w)).nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)
    loss = -phi * adv * logp
    return PolicyLoss(loss, torch.zeros_like(loss, dtype=torch.bool), torch.exp(log_ratio))


def top_entropy_mask(entropy: Tensor, mask: Tensor, quantile: float) -> Tensor:
    """Keep only the highest-entropy tokens in the policy loss ("Beyond the 80/20 Rule",
    arXiv:2506.01939; TRL's `top_entropy_quantile`, `get_high_entropy_mask`):

        h*     = the (1 - quantile) quantile of {H_t : m_t = 1}   (torch.quantile, linear interpolation)
        keep_t = m_t = 1 and H_t >= h*

    quantile 1 keeps every real token, 0 only the highest; the paper uses 0.2. `entropy`, `mask`
    [B, T] -> bool [B, T]. The loop multiplies the policy loss (not the KL term) by it; TRL takes
    the quantile over one micro-batch's tokens (gathered over processes).
    """
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"top_entropy_mask: quantile must lie in [0, 1], got {quantile}")
    real = mask.bool()
    if not real.any():
        return real
    threshold = torch.quantile(entropy[real].float(), 1.0 - quantile)
    return (entropy * mask >= threshold) & real


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


def kl_reward_penalty(rewards: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta, kind: str = "k1") -> Tensor:
    """KL as a reward penalty (no gradient through it): r_i - beta * sum_t m_t KL_t."""
    kl = KL.get(kind)(logp.detach(), ref_logp.detach())
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


@register_aggregation("seq-mean-token-sum")
def seq_mean_token_sum(loss: Tensor, mask: Tensor, *, num_seqs: int | None = None, num_tokens=None, max_len=None) -> Tensor:
    """LUSPO (arXiv:2602.05261; TRL's `loss_type="luspo"`): (1/N) sum_i sum_t m_it L_it.

    Each sequence's loss is its token sum, i.e. a sequence-level loss (GSPO's) scaled by the sequence's
    length, which removes GSPO's bias towards short sequences. verl's name for it.
    """
    n = loss.shape[0] if num_seqs is None else num_seqs
    return (loss * mask).sum() / n


@register_aggregation("bnpo")
def bnpo(loss: Tensor, mask: Tensor, *, num_seqs: int | None = None, num_tokens=None, max_len=None) -> Tensor:
    """BNPO (TRL's `loss_type="bnpo"`): the token mean of this micro-batch, over the micro-batches:

        sum_{i,t in mb} m_it L_it / sum_{i,t in mb} m_it  *  b / N      (b sequences here, N in the step)

    b / N is 1 / (number of micro-batches) when they are of equal size, as TRL's gradient accumulation
    has them. Unlike `token-mean` the normaliser is local, so the value depends on how the step is
    cut into micro-batches (it equals `token-mean` with one micro-batch, `seq-mean-token-mean` with
    one sequence per micro-batch).
    """
    n = loss.shape[0] if num_seqs is None else num_seqs
    return (loss * mask).sum() / mask.sum().clamp(min=1) * loss.shape[0] / n


# -- beta schedules: the KL coefficient of each completion -----------------------------------


@register_beta("constant", active=lambda value=0.0: value != 0)
def constant_beta(step: int, n: int, value: float = 0.0) -> Tensor:
    """beta_i = value for every completion i and step: [n]. 0 loads no reference model."""
    return torch.full((n,), float(value))


# -- the seeds' objectives register themselves in the registries above ----------------------------

from foveal.train.objectives import entries as _entries  # noqa: E402, F401  (after the registries: it imports them)
