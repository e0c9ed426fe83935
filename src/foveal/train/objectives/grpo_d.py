"""GRPO-D (OThink-MR1): a KL coefficient that changes over training instead of a constant.

Source: the abstract (seed 000 "OThink-MR1: Stimulating multimodal generalized reasoning capabilities
via dynamic reinforcement learning") says only that a constant KL (or the clamp) bottlenecks RL and
that GRPO-D's dynamic KL "balances exploration early and exploitation later"; its schedule equation
could not be read from here. So GRPO-D is given as the usual schedule shapes, each a pure function
of the step, plus the adaptive controller; the recipe's default (recipes/grpo_d.yaml) rises from a
small beta0 to beta_end, which is the direction OThink-MR1 describes (a looser leash early). With
`beta0 > beta_end` the same functions decay instead.

    linear   beta(t) = beta0 + (beta_end - beta0) * u,                    u = min(t / total, 1)
    cosine   beta(t) = beta_end + (beta0 - beta_end) * (1 + cos(pi u)) / 2
    step     beta(t) = beta0 for t < at * total, beta_end from then on
    adaptive Ziegler et al. 2019 ("Fine-Tuning Language Models from Human Preferences"), eq. 2 with the
             horizon of their code and TRL's/OpenRLHF's AdaptiveKLController:
                 e_t = clip(KL_t / KL_target - 1, -0.2, 0.2),   beta <- beta * (1 + e_t * n_t / horizon)
             KL_t the measured mean KL of step t; n_t how many units of the horizon step t counts
             (1 per optimizer step here, horizon 40: beta moves at most 0.5% a step; TRL counts
             completions with horizon 10,000, the same rate at 250 completions a step).

Each schedule is `fn(step, n, *, <options>, ctx=None) -> float` (the trainer broadcasts it to the
step's n completions); `step` counts optimizer steps from 0.
"""

from __future__ import annotations

import math


def _progress(step: int, total: int) -> float:
    if total < 1 or step < 0:
        raise ValueError(f"beta schedule: need total >= 1 and step >= 0, got total={total}, step={step}")
    return min(step / total, 1.0)


def _check(beta0: float, beta_end: float) -> None:
    if beta0 < 0 or beta_end < 0:
        raise ValueError(f"beta schedule: beta0 and beta_end must be >= 0, got {beta0}, {beta_end}")


def linear_beta(step: int, n: int = 1, *, total: int, beta0: float = 0.0, beta_end: float = 0.04) -> float:
    """beta0 + (beta_end - beta0) * min(step / total, 1)."""
    _check(beta0, beta_end)
    return beta0 + (beta_end - beta0) * _progress(step, total)


def cosine_beta(step: int, n: int = 1, *, total: int, beta0: float = 0.0, beta_end: float = 0.04) -> float:
    """beta_end + (beta0 - beta_end) * (1 + cos(pi * min(step / total, 1))) / 2: flat at both ends."""
    _check(beta0, beta_end)
    return beta_end + (beta0 - beta_end) * (1 + math.cos(math.pi * _progress(step, total))) / 2


def step_beta(step: int, n: int = 1, *, total: int, beta0: float = 0.0, beta_end: float = 0.04,
              at: float = 0.5) -> float:
    """beta0 before step `at * total`, beta_end from then on (0 < at <= 1)."""
    _check(beta0, beta_end)
    if not 0 < at <= 1:
        raise ValueError(f"step beta: at must lie in (0, 1], got {at}")
    return beta_end if _progress(step, total) >= at else beta0


class AdaptiveKL:
    """Adaptive beta towards a target KL (Ziegler et al. 2019, eq. 2; PPO's adaptive KL penalty,
    Schulman et al. 2017 §4, in its proportional form):

        e = clip(KL / target - 1, -0.2, 0.2);   beta <- beta * (1 + e * n / horizon)

    `observe(kl)` after each optimizer step with the step's measured mean per-token KL (`n`: how many
    horizon units the step counts, 1 by default); calling the instance returns the beta to use now.
    State: {"beta": float}.
    """

    def __init__(self, beta0: float = 0.04, target: float = 0.02, horizon: int = 40) -> None:
        if beta0 <= 0 or target <= 0 or horizon < 1:
            raise ValueError(f"adaptive KL: need beta0 > 0, target > 0, horizon >= 1; got {beta0}, {target}, {horizon}")
        self.beta, self.target, self.horizon = float(beta0), float(target), int(horizon)

    def __call__(self, step: int = 0, n: int = 1, *, ctx=None) -> float:
        return self.beta

    def observe(self, kl: float, n: int = 1) -> None:
        """Move beta towards the value that keeps the measured KL at the target."""
        if not math.isfinite(kl):
            raise ValueError(f"adaptive KL: measured KL must be finite, got {kl}")
        error = min(max(kl / self.target - 1, -0.2), 0.2)
        self.beta *= 1 + error * n / self.horizon

    def state_dict(self) -> dict:
        return {"beta": self.beta}

    def load_state_dict(self, state: dict) -> None:
        self.beta = float(state["beta"])
