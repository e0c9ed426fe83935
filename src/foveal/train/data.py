"""Where training prompts come from: the gym live, or a dataset directory, with a resumable cursor.

    source = PromptSource(cfg.data, seed=cfg.seed)
    samples = source.draw(8)            # the next 8 samples; `source.cursor` counts draws so far
    state = source.state()              # saved in checkpoints; `load_state` continues exactly there

Gym: draw k (k = 0, 1, 2, ...) is the train-split problem of task t_k at level l_k for gym seed
`seed_start + STREAM_STRIDE · run seed + k` (so each run seed has its own problem stream), where (t_k, l_k) is a weighted pick from the task mix made by a generator seeded
with (run seed, k). Training only ever sees problems of the `train` content split
(`foveal.split`), so no val or test problem, picture or twin, is trained on, whatever the seeds.

Dataset: the samples of a `foveal gen` directory, in a fresh seeded permutation each epoch; a
dataset holding val or test problems is refused.
"""

from __future__ import annotations

import random

from foveal.config import DataConfig
from foveal.errors import FovealError
from foveal.sample import Sample
from foveal.split import split_of
from foveal.train.samplers import SAMPLERS

STREAM_STRIDE = 10**9  # gym seeds per run seed: streams of different run seeds never overlap


class PromptSource:
    """An endless, deterministic stream of training Samples; `cursor` is its whole state."""

    def __init__(self, cfg: DataConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed
        self.cursor = 0
        self._dataset: list[Sample] | None = None
        self._perm: tuple[int, list[int]] | None = None  # (epoch, order)
        if cfg.dataset is not None:
            self._dataset = load_dataset(cfg.dataset)
        self._variant = cfg.gym.variant() if cfg.gym is not None else None
        self._sampler = SAMPLERS.get("uniform")  # the only sampler so far: the task mix's static weights

    def draw(self, n: int) -> list[Sample]:
        """The next `n` samples."""
        out = [self._at(self.cursor + i) for i in range(n)]
        self.cursor += n
        return out

    def _at(self, k: int) -> Sample:
        if self._dataset is not None:
            epoch, i = divmod(k, len(self._dataset))
            if self._perm is None or self._perm[0] != epoch:
                order = list(range(len(self._dataset)))
                random.Random(f"{self.seed}:epoch:{epoch}").shuffle(order)
                self._perm = (epoch, order)
            return self._dataset[self._perm[1][i]]
        import foveal.tasks as gym

        gcfg = self.cfg.gym
        name, level = self._sampler(random.Random(f"{self.seed}:draw:{k}"), gcfg.tasks, gcfg.levels)
        task = gym.get(name)
        return task.generate(gcfg.seed_start + STREAM_STRIDE * self.seed + k, level, gcfg.form, split="train",
                             **self._variant.kwargs())

    def state(self) -> dict:
        return {"cursor": self.cursor}

    def load_state(self, state: dict) -> None:
        self.cursor = int(state["cursor"])

    def describe(self) -> dict:
        """What a run records about its data: the source and, for the gym, the seed range used."""
        if self._dataset is not None:
            return {"dataset": self.cfg.dataset, "size": len(self._dataset), "drawn": self.cursor}
        gcfg = self.cfg.gym
        return {
            "gym": {"tasks": gcfg.tasks, "levels": gcfg.levels, "form": gcfg.form, "variant": self._variant.as_dict(),
                    **({"mixture": gcfg.mixture} if gcfg.mixture is not None else {})},
            "split": "train",
            "train_seed_range": [gcfg.seed_start + STREAM_STRIDE * self.seed,
                                 gcfg.seed_start + STREAM_STRIDE * self.seed + self.cursor],
        }


def load_dataset(path: str) -> list[Sample]:
    """The samples of a dataset directory written by `foveal gen` (FovealError if absent or empty)."""
    try:
        from foveal.tasks.export import load_samples
    except ImportError:
        raise FovealError("data.dataset needs foveal.tasks.export (dataset export), which is not installed") from None
    samples = list(load_samples(path))
    if not samples:
        raise FovealError(f"data.dataset: {path} holds no samples")
    held = [s for s in samples if s.problem_key and split_of(s.problem_key) != "train"]
    if held:
        raise FovealError(f"data.dataset: {path} holds {len(held)} val/test problems (e.g. {held[0].id}); "
                          f"training data must come from the train split (`foveal gen --split train`)")
    return samples
