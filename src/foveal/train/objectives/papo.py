"""PAPO, Perception-Aware Policy Optimization: besides the GRPO/DAPO loss, push the policy's token
distributions given the real image *away* from those given a masked image (the Implicit Perception
Loss), and keep both distributions' entropies low (the Double Entropy Loss) so that the push cannot be
won by making the masked-image distribution arbitrarily flat ("KL hacking").

Source: the abstract (seed 001 "Perception-Aware Policy Optimization for Multimodal Reasoning",
arXiv 2507.06448) names both terms; the paper's equation numbers could not be read from here, so the
forms are checked against the authors' code (github.com/MikeWangWZHL/PAPO: random 14-px patches
blackened with probability 0.6 before the processor, KL_prcp with the k3 "low_var_kl" estimator,
coefficient gamma 0.02 for PAPO-G / 0.01 for PAPO-D, eta 0.03 for both entropies) and TRL's port
(trl/experimental/papo, `loss - gamma * KL_prcp + eta1 * H + eta2 * H_mask`). Per completion token t
(o sampled from the policy given the real image I; I_mask the masked image):

    rho_t     = pi(o_t | q, I_mask, o_<t) / pi(o_t | q, I, o_<t)
    KL_prcp,t = rho_t - log rho_t - 1           (>= 0; estimates KL(pi(.|I) || pi(.|I_mask)))
    L_PAPO,t  = -gamma * KL_prcp,t + eta * (H_t(I) + H_t(I_mask))

The KL is *maximised*, so it enters the loss (which is minimised) with a minus sign; the entropies are
minimised, so they enter with a plus sign. L_PAPO is added to the policy loss per token, before
aggregation (TRL adds its mean to the GRPO loss). Gradients: TRL's port differentiates both forward
passes; the authors' default computes the masked view once, without gradient, before the update
(README "Additional Implementation Notes on Entropy Losses"; `RECOMPUTE_AUG_LOG_PROBS` off), which is
cheaper and, they report, about as good: pass `logp_masked.detach()` (and `entropy_masked.detach()`)
for that behaviour.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import torch
from PIL import Image
from torch import Tensor


def _patch_grid(height: int, width: int, patch: int, ratio: float, rng: random.Random) -> list[tuple[int, int]]:
    """Top-left corners of the patch x patch cells (row-major) that are masked, each with probability `ratio`."""
    if not 0 <= ratio <= 1 or patch < 1:
        raise ValueError(f"mask_image: need 0 <= ratio <= 1 and patch >= 1, got ratio={ratio}, patch={patch}")
    return [(y, x) for y in range(0, height, patch) for x in range(0, width, patch) if rng.random() < ratio]


def mask_image(image: Image.Image | Tensor, ratio: float, rng: random.Random, patch: int = 14):
    """PAPO's corrupted view: each `patch` x `patch` cell of the picture blackened (set to 0) with
    probability `ratio` (the authors: 14 px, 0.6), cells visited row by row drawing `rng.random()`.
    A PIL image gives a new PIL image; a tensor [..., C, H, W] of pixels gives a new tensor (every
    leading index masked alike). Mask pictures before the processor: a Qwen2-VL processor's
    `pixel_values` are normalised, flattened patches in which 0 is not black."""
    if isinstance(image, Image.Image):
        out, black = image.copy(), (0,) * len(image.getbands())
        for y, x in _patch_grid(image.height, image.width, patch, ratio, rng):
            out.paste(black, (x, y, min(x + patch, image.width), min(y + patch, image.height)))
        return out
    if not isinstance(image, Tensor) or image.dim() < 3:
        raise ValueError(f"mask_image: expected a PIL image or a pixel tensor [..., C, H, W], got {type(image).__name__}")
    out = image.clone()
    for y, x in _patch_grid(image.shape[-2], image.shape[-1], patch, ratio, rng):
        out[..., y:y + patch, x:x + patch] = 0
    return out


def mask_sample(sample: Any, ratio: float, rng: random.Random, patch: int = 14) -> Any:
    """A copy of `sample` (a foveal Sample) with every image masked by `mask_image` (same id and text)."""
    return dataclasses.replace(sample, images=tuple(mask_image(im, ratio, rng, patch) for im in sample.images))


def perception_kl(logp_real: Tensor, logp_masked: Tensor) -> Tensor:
    """KL_prcp per token, rho - log rho - 1 with log rho = logp_masked - logp_real. [B,T] -> [B,T]."""
    log_rho = logp_masked - logp_real
    return torch.exp(log_rho) - log_rho - 1


def papo_token_loss(logp_real: Tensor, logp_masked: Tensor, entropy_real: Tensor, entropy_masked: Tensor, *,
                    gamma: float = 0.02, eta: float = 0.03) -> Tensor:
    """L_PAPO per token: -gamma * KL_prcp + eta * (H(I) + H(I_mask)), each input [B,T]. -> [B,T] (add it to
    the policy loss's per-token term, then aggregate as the recipe says)."""
    if not logp_real.shape == logp_masked.shape == entropy_real.shape == entropy_masked.shape:
        raise ValueError("papo: logp_real, logp_masked, entropy_real and entropy_masked must have one shape [B, T], got "
                         f"{[tuple(t.shape) for t in (logp_real, logp_masked, entropy_real, entropy_masked)]}")
    if gamma < 0 or eta < 0:
        raise ValueError(f"papo: gamma and eta must be >= 0, got {gamma}, {eta}")
    return -gamma * perception_kl(logp_real, logp_masked) + eta * (entropy_real + entropy_masked)


def papo_loss(logp_real: Tensor, logp_masked: Tensor, mask: Tensor, entropy_real: Tensor, entropy_masked: Tensor,
              gamma: float = 0.02, eta: float = 0.03) -> Tensor:
    """The token mean of `papo_token_loss` over `mask` [B,T] (1 on completion tokens): a scalar."""
    per_token = papo_token_loss(logp_real, logp_masked, entropy_real, entropy_masked, gamma=gamma, eta=eta)
    m = mask.to(per_token.dtype)
    return (per_token * m).sum() / m.sum().clamp(min=1)
