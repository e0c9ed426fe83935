"""The seeds' objectives registered by name, so a recipe (and `foveal algos`) can use them.

Imported at the end of `foveal.train.algos`: every registry there holds these entries as soon as
`algos` is imported. The math stays in the objective modules; this file only names it.

    registry          name        entry                         needs from the step (ctx)
    advantage         apo         apo.apo_advantage             correct, lengths (G >= 2)
    advantage         ema_grpo    ema_grpo.EMAGRPO (stateful)   tasks (G >= 2)
    beta schedule     apo         apo.apo_beta (DADS)           correct, group_pass_rate
    beta schedule     linear, cosine, step, grpo_d (= linear)   -
    beta schedule     adaptive_kl grpo_d.AdaptiveKL (stateful; the loop calls observe(kl) each step)
    policy loss       papo        PAPOLoss (below)              a second view of each prompt
    reward            grpo_care   grpo_care.grpo_care           policy, ref_model, group_ids, token_ids
    reward            acre        acre.acre                     backend, step
"""

from __future__ import annotations

from foveal.rewards import register_reward
from foveal.train.algos import (
    BETA_SCHEDULES,
    PolicyLoss,
    ppo_clip_loss,
    register_advantage,
    register_beta,
    register_policy_loss,
)
from foveal.train.objectives.acre import acre
from foveal.train.objectives.apo import apo_advantage, apo_beta
from foveal.train.objectives.ema_grpo import EMAGRPO
from foveal.train.objectives.grpo_care import grpo_care
from foveal.train.objectives.grpo_d import AdaptiveKL, cosine_beta, linear_beta, step_beta
from foveal.train.objectives.papo import mask_sample, papo_token_loss

# -- advantages ------------------------------------------------------------------------------------

register_advantage("apo", needs_groups=True)(apo_advantage)
register_advantage("ema_grpo", needs_groups=True)(EMAGRPO)


# -- beta schedules --------------------------------------------------------------------------------


def _ramp_active(total: int | None = None, beta0: float = 0.0, beta_end: float = 0.04, **_) -> bool:
    """A schedule from beta0 to beta_end can be non-zero unless both ends are 0."""
    return beta0 != 0 or beta_end != 0


register_beta("apo", active=lambda beta=0.04: beta != 0)(apo_beta)
register_beta("linear", active=_ramp_active)(linear_beta)
register_beta("cosine", active=_ramp_active)(cosine_beta)
register_beta("step", active=_ramp_active)(step_beta)
register_beta("adaptive_kl")(AdaptiveKL)
BETA_SCHEDULES.add(
    "grpo_d", linear_beta,
    "GRPO-D (OThink-MR1): beta rises linearly, beta0 + (beta_end - beta0) * min(step / total, 1) "
    "(the `linear` schedule; the direction OThink-MR1 describes: a loose leash early, a tighter one late)",
    active=_ramp_active,
)


# -- policy losses ---------------------------------------------------------------------------------


@register_policy_loss("papo", view=True)
class PAPOLoss:
    """PAPO: PPO-clip plus the implicit perception loss and the double entropy loss, per token:

        L_t = PPO-clip_t - gamma * KL_prcp,t + eta * (H_t(I) + H_t(I_mask))
        KL_prcp,t = rho_t - log rho_t - 1,   rho_t = pi(o_t | q, I_mask, o_<t) / pi(o_t | q, I, o_<t)

    (`objectives.papo.papo_token_loss`). I_mask is the prompt's pictures with each `patch` x `patch`
    cell blackened with probability `mask_ratio` (`view`, i.e. `objectives.papo.mask_sample`); the
    loop runs that second forward once per batch before the update, without gradient (the authors'
    default), and passes its log-probs and entropies as `view_logp`, `view_entropy` [B,T]. H_t(I)
    is this forward's entropy, with its gradient (`entropy_grad`). `clip_low`, `clip_high`, `delta`
    and `clip_ratio_c` are ppo_clip's. The authors' PAPO-G: gamma 0.02, eta 0.03, 14-px patches, 0.6.
    """

    def __init__(self, clip_low: float = 0.2, clip_high: float = 0.2, *, gamma: float = 0.02, eta: float = 0.03,
                 mask_ratio: float = 0.6, patch: int = 14, delta: float | None = None,
                 clip_ratio_c: float | None = None) -> None:
        if gamma < 0 or eta < 0 or not 0 <= mask_ratio <= 1 or patch < 1:
            raise ValueError(f"papo: need gamma >= 0, eta >= 0, 0 <= mask_ratio <= 1, patch >= 1; got "
                             f"gamma={gamma}, eta={eta}, mask_ratio={mask_ratio}, patch={patch}")
        self.clip = {"clip_low": clip_low, "clip_high": clip_high, "delta": delta, "clip_ratio_c": clip_ratio_c}
        self.gamma, self.eta, self.mask_ratio, self.patch = gamma, eta, mask_ratio, patch

    def view(self, sample, rng):
        """The masked view of a prompt: its pictures with random cells blackened (`mask_sample`)."""
        return mask_sample(sample, self.mask_ratio, rng, self.patch)

    def __call__(self, logp, old_logp, advantages, mask, *, entropy_grad, view_logp, view_entropy) -> PolicyLoss:
        out = ppo_clip_loss(logp, old_logp, advantages, mask, **self.clip)
        extra = papo_token_loss(logp, view_logp.detach(), entropy_grad, view_entropy.detach(),
                                     gamma=self.gamma, eta=self.eta)
        return out._replace(loss=out.loss + extra)


# -- rewards (no role: neither is the step's correctness) ------------------------------------------

register_reward("grpo_care")(grpo_care)
register_reward("acre")(acre)
