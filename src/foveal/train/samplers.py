"""Samplers: which (task, level) the next training prompt is drawn from, registered by name.

    task, level = SAMPLERS["uniform"](rng, {"count": 2.0, "chart": 1.0}, [1, 2])

A sampler is `fn(rng: random.Random, tasks: {name: weight}, levels: [int], *, <options>, ctx=None)
-> (task name, level)`, or a class whose instances are such callables and keep state
(`state_dict`/`load_state_dict`, saved in checkpoints) when the draw learns from rewards
(curricula). `PromptSource` calls it once per gym draw with that draw's own seeded `rng`.
"""

from __future__ import annotations

import random

from foveal.registry import Registry

SAMPLERS = Registry("sampler", reserved=("ctx",))


@SAMPLERS.register("uniform")
def uniform(rng: random.Random, tasks: dict[str, float], levels: list[int]) -> tuple[str, int]:
    """The task mix's static weights, then a level uniformly: P(t, l) = w_t / sum(w) * 1 / |levels|."""
    names, weights = zip(*tasks.items(), strict=True)
    name = rng.choices(names, weights)[0]
    return name, rng.choice(levels)
