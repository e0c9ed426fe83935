"""Option shuffling for evaluation: copies of a choice question with its options permuted.

A model that reasons about the content picks the same option *text* whatever its letter;
one that leans on position ("always A") does not. `shuffled_copies(sample, n)` builds
`n` copies of a choice sample with permuted options, and the harness reports how often
the majority answer names the same option across the original and its copies.

The permutation of one sample (`shuffle_options`, what is supported, which layouts) lives in
`foveal.tasks.shuffle`, below both evaluation and training; it is re-exported here.
"""

from __future__ import annotations

import random

from foveal.sample import Sample
from foveal.tasks.shuffle import letters, option_line, rewrite_options, shuffle_options

__all__ = ["letters", "option_line", "rewrite_options", "shuffle_options", "shuffled_copies"]


def shuffled_copies(sample: Sample, n: int, seed: int = 0) -> list[Sample]:
    """Up to `n` copies of `sample` with distinct non-identity option orders, chosen by a
    generator seeded from (`seed`, sample id) so reruns shuffle the same way. A question
    with 2 options has only one other order, so it gets at most one copy."""
    k = len(sample.choices or ())
    rng = random.Random(f"{seed}/{sample.id}")
    identity = tuple(range(k))
    seen = {identity}
    total = 1
    for i in range(2, k + 1):
        total *= i
    out = []
    while len(out) < min(n, total - 1):
        perm = tuple(rng.sample(range(k), k))
        if perm in seen:
            continue
        seen.add(perm)
        out.append(shuffle_options(sample, perm, index=len(out) + 1))
    return out
