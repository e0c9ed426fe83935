"""Per-group reductions over the [N] completions of a step (completions of one prompt share a group id)."""

from __future__ import annotations

import torch
from torch import Tensor


def group_index(group_ids: Tensor) -> tuple[Tensor, int]:
    """(inv [N], G): `inv[i]` is the 0-based index of completion i's group among the G groups."""
    _, inv = torch.unique(torch.as_tensor(group_ids), return_inverse=True)
    return inv, int(inv.max()) + 1 if inv.numel() else 0


def masked_group_mean(values: Tensor, mask: Tensor, group_ids: Tensor) -> tuple[Tensor, Tensor]:
    """Per element, the mean of `values` over the members of its group where `mask` is true, and
    how many members that is: (mean [N], count [N]); mean is NaN where the count is 0."""
    inv, g = group_index(group_ids)
    v = values.to(torch.float64)
    m = mask.to(torch.float64)
    sums = torch.zeros(g, dtype=v.dtype).index_add_(0, inv, v * m)
    counts = torch.zeros(g, dtype=v.dtype).index_add_(0, inv, m)
    mean = torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, float("nan")))
    return mean[inv], counts[inv]


def check_aligned(name: str, n: int, **tensors) -> None:
    """ValueError naming `name` and the field when a per-completion input is not [n]."""
    for field, t in tensors.items():
        if t is None:
            raise ValueError(f"{name}: {field} is needed (one entry per completion, {n}), got None")
        shape = tuple(t.shape) if isinstance(t, Tensor) else (len(t),)
        if shape != (n,):
            raise ValueError(f"{name}: {field} must have one entry per completion ({n}), got shape {shape}")
