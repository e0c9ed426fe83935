"""Cross-form alignment (Math-PUMA, stage 2): pull the next-token distributions a model has on a
problem's picture towards those it has on the same problem's text twin, over the same target.

Math-PUMA (Zhuang et al., 2024; shared/seeds, MECHANISMS.md entry 18) pairs each problem in a
text-rich and a vision-rich form and adds the KL divergence between the two forms' next-token
distributions to the SFT loss; the text-rich side is the target (its forward pass runs without
gradients) and the vision-rich side is trained. foveal's gym gives every image problem an exact
text twin with the same answer and trace, so the pair costs one extra forward pass without gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

DIRECTIONS = ("forward", "reverse", "symmetric")


def align_kl(image_logits: Tensor, text_logits: Tensor, mask: Tensor, direction: str = "forward",
             temperature: float = 1.0) -> Tensor:
    """Per-token KL divergence between the image form's and the text twin's next-token distributions.

        p = softmax(z_text / T)      the text twin's distribution, detached: the target
        q = softmax(z_image / T)     the image form's distribution: the one trained
        forward:   KL(p || q) = sum_v p_v (log p_v - log q_v)    mode-covering: q must put mass
                                                                 wherever the text form does
        reverse:   KL(q || p) = sum_v q_v (log q_v - log p_v)    mode-seeking
        symmetric: (KL(p || q) + KL(q || p)) / 2                 as Math-PUMA's released code (alpha_kl = 0.5)
        out[b, t] = T^2 * KL[b, t] * mask[b, t]

    foveal's default (`sft.align.direction`) is forward.

    T^2 keeps the gradient's scale independent of the temperature (Hinton et al.'s distillation;
    Math-PUMA's code multiplies by T^2 too). Gradients reach only `image_logits`.

    image_logits, text_logits: [B, Tc, V], the logits predicting target token t of row b on each form.
    mask: [B, Tc], 1 on target tokens (0 on padding). Returns [B, Tc], float32, 0 where the mask is 0.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"align direction {direction!r} is not one of {DIRECTIONS}")
    if image_logits.shape != text_logits.shape:
        raise ValueError(f"align_kl: image logits {tuple(image_logits.shape)} and text logits "
                         f"{tuple(text_logits.shape)} differ in shape")
    log_q = torch.log_softmax(image_logits.float() / temperature, -1)
    log_p = torch.log_softmax(text_logits.detach().float() / temperature, -1)
    kl = torch.zeros(log_q.shape[:-1], dtype=log_q.dtype, device=log_q.device)
    if direction in ("forward", "symmetric"):
        kl = kl + (log_p.exp() * (log_p - log_q)).sum(-1)
    if direction in ("reverse", "symmetric"):
        kl = kl + (log_q.exp() * (log_q - log_p)).sum(-1)
    if direction == "symmetric":
        kl = kl / 2
    return temperature**2 * kl * mask.to(kl.dtype)
