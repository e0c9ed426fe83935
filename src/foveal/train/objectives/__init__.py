"""The seeds' RL objectives as pure pieces, one module each, registered by name in `entries`.

    module      what it provides (registered as)                 needs from the step (ctx)
    apo         advantage `apo` (GRPO x STCR), beta `apo`         correct, lengths, group_pass_rate
                (DADS); `stcr_reward` (a reward-shaping form)
    grpo_d      beta `linear`, `cosine`, `step` (fns of the       - (adaptive_kl: the loop calls
                step; `grpo_d` = linear) and `adaptive_kl`          observe(kl) after each step)
                (AdaptiveKL, stateful)
    ema_grpo    advantage `ema_grpo` (EMAGRPO, stateful)          tasks
    grpo_care   reward `grpo_care` (the reference moves by        policy, ref_model, group_ids, token_ids
                the recipe's rl.ref_update)
    acre        reward `acre`                                     backend, step
    papo        policy loss `papo` (entries.PAPOLoss: ppo_clip    a second forward on masked pictures
                + papo_token_loss), `mask_sample`                   (the loss's `view`)

Each module's docstring gives its equations, the source they were checked against, and the choices
made where the paper is silent. `entries` (imported by `foveal.train.algos`) does the registering;
the modules themselves import nothing from the trainer at import time. Shapes: per-completion
tensors are [N]; per-token ones [B, T].
"""

from foveal.train.objectives.acre import acre, acre_reward, option_index, reanswer_sample, shuffle_options
from foveal.train.objectives.apo import (
    apo_advantage,
    apo_beta,
    dads_beta,
    dads_weight,
    stcr_advantages,
    stcr_reward,
    stcr_weight,
)
from foveal.train.objectives.ema_grpo import EMAGRPO
from foveal.train.objectives.grpo_care import answer_logprobs, answer_span, care_bonus, grpo_care
from foveal.train.objectives.grpo_d import AdaptiveKL, cosine_beta, linear_beta, step_beta
from foveal.train.objectives.papo import mask_image, mask_sample, papo_loss, papo_token_loss, perception_kl

__all__ = [
    "EMAGRPO", "AdaptiveKL", "acre", "acre_reward", "answer_logprobs", "answer_span", "apo_advantage", "apo_beta",
    "care_bonus", "cosine_beta", "dads_beta", "dads_weight", "grpo_care", "linear_beta",
    "mask_image", "mask_sample", "option_index", "papo_loss", "papo_token_loss", "perception_kl",
    "reanswer_sample", "shuffle_options", "step_beta", "stcr_advantages", "stcr_reward", "stcr_weight",
]
