"""Where training prompts come from: the gym live, or a dataset directory, with a resumable cursor.

    source = PromptSource(cfg.data, seed=cfg.seed)
    samples = source.draw(8, step=3, stage="rl")  # the next 8 samples, for RL step 3; `cursor` counts draws
    state = source.state()              # saved in checkpoints; `load_state` continues exactly there
    log = source.update(ctx)            # after an RL step: a curriculum sampler learns (`wants_feedback`)

Gym: draw k (k = 0, 1, 2, ...) is the train-split problem of task t_k at level l_k (in form f_k)
for gym seed `seed_start + STREAM_STRIDE · run seed + k` (so each run seed has its own problem
stream), where (t_k, l_k[, f_k]) is the pick of the recipe's sampler (`data.sampler`, default
`uniform`: the task mix's weights; `foveal.train.samplers`) made with a generator seeded with
(run seed, k); f_k is `data.gym.form` unless the sampler picks the form. A curriculum sampler's
state (what it learned from rewards) is saved by the RL stage. Training only ever sees problems of
the `train` content split (`foveal.split`), so no val or test problem, picture or twin, is trained
on, whatever the seeds.

Dataset: the samples of a `foveal gen` directory, in a fresh seeded permutation each epoch; a
dataset holding val or test problems is refused.
"""

from __future__ import annotations

import random

from foveal.config import DataConfig
from foveal.errors import FovealError
from foveal.sample import Sample
from foveal.split import split_of
from foveal.train.context import is_stateful, wants
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
        self.sampler = build_sampler(cfg)
        self._wants = [k for k in ("step", "stage") if wants(self.sampler, k)]

    def draw(self, n: int, step: int = 0, stage: str | None = None) -> list[Sample]:
        """The next `n` samples, drawn for step `step` of run stage `stage` ("sft", "rl", "pref"); a
        curriculum acts in the stage it declares (`acts_in`: "rl" for band and sec, `staged`'s `during`)
        and draws like `uniform` in any other."""
        when = {k: v for k, v in (("step", step), ("stage", stage)) if k in self._wants}
        out = [self._at(self.cursor + i, when) for i in range(n)]
        self.cursor += n
        return out

    @property
    def wants_feedback(self) -> bool:
        """Whether the sampler learns from (or logs) each RL step: it has `update(ctx)`."""
        return callable(getattr(self.sampler, "update", None))

    def update(self, ctx) -> dict:
        """Feed the sampler an RL step's context (advantages included); returns its log fields."""
        return self.sampler.update(ctx) if self.wants_feedback else {}

    def sampler_state(self) -> dict | None:
        """What the sampler has learned (None for a stateless one), for the RL checkpoint's stage.pt."""
        return self.sampler.state_dict() if is_stateful(self.sampler) else None

    def load_sampler_state(self, state: dict) -> None:
        self.sampler.load_state_dict(state)

    def _at(self, k: int, when: dict) -> Sample:
        if self._dataset is not None:
            epoch, i = divmod(k, len(self._dataset))
            if self._perm is None or self._perm[0] != epoch:
                order = list(range(len(self._dataset)))
                random.Random(f"{self.seed}:epoch:{epoch}").shuffle(order)
                self._perm = (epoch, order)
            return self._dataset[self._perm[1][i]]
        import foveal.tasks as gym

        gcfg = self.cfg.gym
        rng = random.Random(f"{self.seed}:draw:{k}")
        picked = self.sampler(rng, gcfg.tasks, gcfg.levels, **when)
        name, level, form = picked if len(picked) == 3 else (*picked, gcfg.form)
        task = gym.get(name)
        return task.generate(gcfg.seed_start + STREAM_STRIDE * self.seed + k, level, form, split="train",
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
            "sampler": sampler_spec(self.cfg),
            "split": "train",
            "train_seed_range": [gcfg.seed_start + STREAM_STRIDE * self.seed,
                                 gcfg.seed_start + STREAM_STRIDE * self.seed + self.cursor],
        }


def build_sampler(cfg: DataConfig):
    """The recipe's sampler (`data.sampler`, default `uniform`), its options checked against its
    registry entry and its own rules, and against data.gym: a one-line FovealError naming the field."""
    spec = cfg.sampler
    if spec is None:
        return SAMPLERS.get("uniform")
    if spec.name not in SAMPLERS:
        raise FovealError(f"data.sampler.name: {SAMPLERS.unknown(spec.name)}")
    sampler = SAMPLERS.build(spec.name, spec.args, "data.sampler.args")
    if callable(check := getattr(sampler, "check", None)):
        check(cfg.gym)
    return sampler


def check_sampler(cfg, sampler) -> None:
    """FovealError when run config `cfg`'s sampler (built by `build_sampler`) cannot do its part:
    it acts in a stage given no steps, or `sft.align` asks for pictures it does not draw in SFT."""
    name = sampler_spec(cfg.data)["name"]
    stage = getattr(sampler, "acts_in", None)
    if stage is not None and not getattr(cfg, stage).steps:
        raise FovealError(f"data.sampler {name!r} acts only during {stage}, but {stage}.steps is 0 "
                          f"(every draw would be uniform's): train {stage}, or drop data.sampler")
    gym = cfg.data.gym
    if cfg.sft.align is not None and gym is not None:
        forms_in = getattr(sampler, "forms_in", None)
        forms = forms_in("sft", gym.form) if callable(forms_in) else {gym.form}
        if not forms & {"image", "mixed"}:
            raise FovealError(f"sft.align pairs each picture with its text twin, but data.gym.form {gym.form} with "
                              f"data.sampler {name!r} draws no pictures during sft (forms {sorted(forms)})")


def sampler_spec(cfg: DataConfig) -> dict:
    """The recipe's sampler as {name, args} (`uniform` when the recipe names none)."""
    return cfg.sampler.model_dump() if cfg.sampler is not None else {"name": "uniform", "args": {}}


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
