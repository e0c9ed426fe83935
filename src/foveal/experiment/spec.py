"""An experiment file: arms × seeds, scored on one set of held-out problems. YAML in, a validated plan out.

    arms:                          # name -> a recipe and its --set overrides
      sft:  {recipe: ../recipes/quickstart.yaml, set: [rl.steps=0]}
      grpo: {recipe: ../recipes/quickstart.yaml}
    seeds: 3                       # a count (0, 1, 2) or a list of seeds
    reference: sft                 # paired differences are taken against this arm ("*/sft": each arm's own sft)
    # an arm may `start: sft` (or sft/STAGE): it trains from that arm's model of the same seed
    eval: {split: test, tasks: [count], levels: [1], forms: [image, text], n: 200}

`load_experiment(path)` checks everything a run would need before anything is written: every
recipe loads with its overrides, every stage asked for is trained, the RL algorithm and rewards
exist, the model can be found, and every task has `n` distinct problems of the split at its levels
(those problems are drawn here, once, and scored by every cell). Errors name the file and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from foveal.config import RunConfig, format_errors, load_config, read_yaml
from foveal.errors import FovealError
from foveal.sample import Sample

STAGES = ("base", "sft", "rl", "pref")  # base: the model before training (the recipe's model.path, init from the seed)
PASS_AT = re.compile(r"pass@(k|[1-9][0-9]*)")  # pass@k (k = eval.k) or pass@N for N <= eval.k
PROBES = ("blind", "think_answer")  # metrics besides accuracy and pass@N (foveal.experiment.results.value_of)
UNLESS = "unless tasks and levels are both given"  # then the eval set's own query/phrasing/style/hold-out
EACH = "*/"  # reference "*/STAGE": every row is compared with its own arm's STAGE


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Arm(Strict):
    """One arm: a recipe, its `--set` overrides, and the stages of each run to evaluate."""

    recipe: str = Field(..., description="a recipe YAML, relative to the experiment file or the repository root")
    set: list[str] = Field(default_factory=list, description="overrides key=value, as `foveal train --set`")
    stages: list[Literal["base", "sft", "rl", "pref"]] | None = Field(
        None, min_length=1, description="checkpoints to evaluate; default: the last stage the recipe trains")
    start: str | None = Field(
        None, description="ARM or ARM/STAGE: start from that arm's model of the same seed (its last trained stage, "
                          "or STAGE) instead of the recipe's model.path; that arm is trained once per seed and "
                          "shared. This arm's `base` stage is then the model it starts from")


class EvalSpec(Strict):
    """The problems every cell is scored on, and how completions are sampled."""

    split: Literal["val", "test", "ood"] = Field(..., description="val for tuning, test to report, ood: held-out parts")
    tasks: list[str] | None = Field(None, min_length=1, description="default: the reference arm's data.gym.tasks")
    levels: list[int] | None = Field(None, min_length=1, description="default: the reference arm's data.gym.levels")
    forms: list[Literal["image", "text"]] = Field(["image"], min_length=1)
    n: int = Field(..., ge=2, description="distinct problems per task")
    k: int = Field(1, ge=1, description="completions per problem")
    temperature: float = Field(0.0, ge=0, allow_inf_nan=False, description="0 = greedy")
    max_new_tokens: int | None = Field(None, ge=1, description="default: the reference arm's sampling.max_new_tokens")
    batch_size: int = Field(64, ge=1)
    query: str | None = Field(None, description=f"default: the reference arm's data.gym.query {UNLESS}")
    phrasing: str | None = Field(None, description=f"default: the reference arm's data.gym.phrasing {UNLESS}")
    style: str | None = Field(None, description=f"default: the reference arm's data.gym.style {UNLESS}")
    hold_out: list[str] | None = Field(None, description=f"default: the reference arm's data.gym.hold_out {UNLESS}")
    blind: bool = Field(False, description="also ask each image problem with its images blanked (metric `blind`)")

    def variant(self):
        """The `foveal.tasks.variant.VariantSpec` of the evaluation set."""
        from foveal.tasks.variant import VariantSpec

        return VariantSpec.parse(self.query, self.phrasing, self.style, self.hold_out)

    @field_validator("tasks", "levels", "forms")
    @classmethod
    def _no_repeats(cls, v):
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"lists an item twice: {v}")
        return v

    @model_validator(mode="after")
    def _sampling(self):
        if self.k > 1 and self.temperature == 0:
            raise ValueError(f"k {self.k} at temperature 0 (greedy) would repeat one completion: "
                             f"set eval.temperature > 0, or k: 1")
        return self

    @model_validator(mode="after")
    def _blind(self):
        if self.blind and "image" not in self.forms:
            raise ValueError(f"blind blanks the images of image problems; forms {self.forms} has no image")
        return self

    @property
    def twin(self) -> str:
        """The harness's `twin` for these forms."""
        return self.forms[0] if len(self.forms) == 1 else "both"


class ExperimentFile(Strict):
    """The YAML file as written."""

    arms: dict[str, Arm] = Field(..., min_length=1)
    seeds: int | list[int] = Field(..., description="a count n (seeds 0..n-1) or a list of seeds")
    reference: str = Field(..., description="the arm (or arm/stage) the paired differences are taken against, "
                                            "or */STAGE: each arm's own STAGE")
    eval: EvalSpec
    set: list[str] = Field(default_factory=list, description="overrides applied to every arm, before its own")
    metrics: list[str] | None = Field(
        None, description="accuracy (= pass@1) is always reported; pass@k (k = eval.k) and pass@N (N <= eval.k), "
                          "all from the same eval.k completions per problem (default: pass@k when k > 1); blind "
                          "(accuracy with the images blanked: needs eval.blind); think_answer (the share of "
                          "completions whose reasoning's own conclusion is the final answer)")

    @field_validator("arms")
    @classmethod
    def _arm_names(cls, v):
        for name in v:
            if not name or "/" in name or name.startswith(".") or name != name.strip():
                raise ValueError(f"arm name {name!r}: use a plain name (no '/', no leading '.')")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        seeds = list(range(v)) if isinstance(v, int) else v
        if isinstance(v, int) and v < 1:
            raise ValueError(f"a count must be at least 1, got {v}")
        if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"expected distinct seeds >= 0, got {v}")
        return seeds

    @model_validator(mode="after")
    def _metrics(self):
        for m in self.metrics or ():
            match = PASS_AT.fullmatch(m)
            if m != "accuracy" and m not in PROBES and not match:
                raise ValueError(f"metrics: unknown metric {m!r}; expected accuracy, pass@k, pass@N (N a whole "
                                 f"number), {' or '.join(PROBES)}")
            if m == "blind" and not self.eval.blind:
                raise ValueError("metrics: blind needs eval.blind: true")
            if m == "pass@k" and self.eval.k < 2:
                raise ValueError("metrics: pass@k needs eval.k > 1")
            if match and match[1] != "k" and int(match[1]) > self.eval.k:
                raise ValueError(f"metrics: {m} needs at least {match[1]} completions per problem, eval.k is {self.eval.k}")
        if self.metrics and len(set(self.metrics)) != len(self.metrics):
            raise ValueError(f"metrics: lists a metric twice: {self.metrics}")
        return self


@dataclass(frozen=True)
class Row:
    """One line of the results: an arm's run evaluated at one stage. `label` is `arm` when the arm
    evaluates one stage, else `arm/stage`."""

    arm: str
    stage: str
    label: str


@dataclass
class Experiment:
    """A validated experiment: arm configs (seed not yet set), the rows, each row's reference row,
    the shared problems."""

    path: Path
    spec: ExperimentFile
    configs: dict[str, RunConfig]
    stages: dict[str, list[str]]
    rows: list[Row]
    references: dict[Row, Row]
    max_new_tokens: int
    samples: list[Sample]
    starts: dict[str, tuple[str, str]]  # arm -> (arm, stage) it starts from (`Arm.start`)

    @property
    def seeds(self) -> list[int]:
        return list(self.spec.seeds)

    @property
    def reference(self) -> str:
        """The reference row's label, or */STAGE as written (each arm's own STAGE)."""
        ref = self.spec.reference
        return ref if ref.startswith(EACH) else next(iter(self.references.values())).label

    @property
    def metrics(self) -> list[str]:
        """accuracy, then pass@N for each N asked for (pass@k resolved to eval.k; by default pass@k
        when eval.k > 1), by increasing N (pass@1 is accuracy and is not repeated), then blind and
        think_answer when asked for."""
        k = self.spec.eval.k
        asked = self.spec.metrics if self.spec.metrics is not None else ["pass@k"] * (k > 1)
        ns = {k if m == "pass@k" else int(m[len("pass@"):]) for m in asked if PASS_AT.fullmatch(m)} - {1}
        return ["accuracy", *(f"pass@{n}" for n in sorted(ns)), *(m for m in PROBES if m in asked)]


def repo_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding pyproject.toml (the repository root)."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def find_recipe(recipe: str, here: Path) -> Path:
    """`recipe` as given when absolute, else relative to `here` (the experiment file's folder), else to
    the repository root; FovealError naming both places when neither holds it."""
    p = Path(recipe)
    if p.is_absolute():
        candidates = [p]
    else:
        root = repo_root(here.resolve())
        candidates = [here / p] + ([root / p] if root else [])
    for c in candidates:
        if c.is_file():
            return c
    raise FovealError(f"recipe {recipe!r} not found (looked in {' and '.join(str(c.parent) for c in candidates)})")


def stages_of(cfg: RunConfig) -> list[str]:
    """The stages a config trains, in order."""
    return [s for s in ("sft", "rl", "pref") if getattr(cfg, s).steps]


def check_model(path: str) -> None:
    from foveal.models.load import MODELS, NAMES

    if path not in MODELS and not Path(path).is_dir():
        raise FovealError(f"model.path {path!r}: not a directory, nor a model name ({NAMES})")


def load_arm(name: str, arm: Arm, common: list[str], here: Path) -> tuple[RunConfig, list[str]]:
    """The arm's RunConfig (recipe + common + own overrides) and its stages to evaluate, checked (its
    model.path only when the arm does not `start` from another arm)."""
    from foveal.train.algos import check_rl_config
    from foveal.train.data import build_sampler, check_sampler
    from foveal.train.rl import load_rewards

    where = f"arms.{name}"
    try:
        cfg = load_config(find_recipe(arm.recipe, here), overrides=[*common, *arm.set])
        check_rl_config(cfg.rl)
        check_sampler(cfg, build_sampler(cfg.data))
        if cfg.rl.steps:
            load_rewards(cfg.rewards)
        if cfg.pref.steps:
            from foveal.train.preference import check_pref_config

            check_pref_config(cfg)  # the loss and its values, the pairs file, the verifier
        if arm.start is None:
            check_model(cfg.model.path)
    except FovealError as e:
        raise FovealError(f"{where}: {e}") from None
    trained = stages_of(cfg)
    if not trained and not arm.stages:
        raise FovealError(f"{where}: trains nothing (every stage has 0 steps): give `stages: [base]` to score its model")
    stages = list(arm.stages) if arm.stages else [trained[-1]]
    for s in stages:
        if s != "base" and s not in trained:
            raise FovealError(f"{where}.stages: {s!r} is not trained by this arm (it trains {', '.join(trained)})")
    if len(set(stages)) != len(stages):
        raise FovealError(f"{where}.stages: lists a stage twice: {stages}")
    return cfg, stages


def start_points(spec: ExperimentFile, configs: dict[str, RunConfig], stages: dict[str, list[str]],
                 path: Path) -> dict[str, tuple[str, str]]:
    """Each arm's `start` resolved to (arm, stage): the named arm's last trained stage unless a stage is
    given. The start arm must train that stage and must not itself start from another arm (one level)."""
    starts = {}
    for name, arm in spec.arms.items():
        if arm.start is None:
            continue
        where = f"{path}: arms.{name}.start: {arm.start!r}"
        src, _, stage = arm.start.partition("/")
        if src not in spec.arms or src == name:
            others = [a for a in spec.arms if a != name]
            raise FovealError(f"{where} is not another arm (arms: {', '.join(others) or 'none'})")
        if spec.arms[src].start is not None:
            raise FovealError(f"{where}: arm {src!r} itself starts from {spec.arms[src].start!r}; "
                              f"start from an arm that trains from its recipe's model")
        trained = stages_of(configs[src])
        stage = stage or (trained[-1] if trained else "")
        if stage not in trained:
            raise FovealError(f"{where}: arm {src!r} trains {', '.join(trained) or 'nothing'}, not {stage!r}")
        if set(stages[src]) == {"base"}:
            raise FovealError(f"{where}: arm {src!r} evaluates only its base model, so it is never trained; "
                              f"give it a trained stage in `stages`")
        starts[name] = (src, stage)
    return starts


def reference_rows(reference: str, rows: list[Row], stages: dict[str, list[str]], path: Path) -> dict[Row, Row]:
    """Each row's reference row: the one row `reference` names (an arm: its last evaluated stage; or
    arm/stage), or with */STAGE the row of the same arm at STAGE (every arm must evaluate STAGE)."""
    if reference.startswith(EACH):
        stage = reference[len(EACH):]
        missing = [a for a, st in stages.items() if stage not in st]
        if missing:
            raise FovealError(f"{path}: reference: {reference!r}: arm(s) {', '.join(missing)} do not evaluate stage "
                              f"{stage!r} (add it to their stages)")
        return {r: next(x for x in rows if x.arm == r.arm and x.stage == stage) for r in rows}
    by_label = {r.label: r for r in rows}
    ref = by_label.get(reference) or next((r for r in reversed(rows) if r.arm == reference), None)
    if ref is None:
        raise FovealError(f"{path}: reference: {reference!r} is not an arm (arms: {', '.join(by_label)})")
    return {r: ref for r in rows}


def read_file(path: Path) -> ExperimentFile:
    if not path.is_file():
        raise FovealError(f"experiment file {path}: {'is not a file' if path.exists() else 'no such file'}")
    tree = read_yaml(path)
    if not isinstance(tree, dict):
        raise FovealError(f"{path}: expected a mapping with arms, seeds, reference and eval")
    try:
        return ExperimentFile.model_validate(tree)
    except ValidationError as e:
        raise FovealError(format_errors(e, str(path))) from None


def load_experiment(path: str | os.PathLike) -> Experiment:
    """Read and check an experiment file completely (see the module docstring); writes nothing."""
    import foveal.tasks as gym
    from foveal.tasks.generate import distinct_samples

    path = Path(path)
    spec = read_file(path)
    configs, stages = {}, {}
    for name, arm in spec.arms.items():
        try:
            configs[name], stages[name] = load_arm(name, arm, spec.set, path.parent)
        except FovealError as e:
            raise FovealError(f"{path}: {e}") from None
    starts = start_points(spec, configs, stages, path)
    rows = [Row(a, s, a if len(stages[a]) == 1 else f"{a}/{s}") for a in spec.arms for s in stages[a]]
    references = reference_rows(spec.reference, rows, stages, path)
    ev = spec.eval
    ref = next(iter(references.values()))
    gym_ref = configs[ref.arm].data.gym
    if ev.tasks is None or ev.levels is None:
        if gym_ref is None:
            raise FovealError(f"{path}: eval: give tasks and levels (the reference arm trains on a dataset)")
        ev.tasks = ev.tasks or list(gym_ref.tasks)
        ev.levels = ev.levels or list(gym_ref.levels)
        for field in ("query", "phrasing", "style", "hold_out"):
            if getattr(ev, field) is None:
                setattr(ev, field, getattr(gym_ref, field))
    try:
        for t in ev.tasks:
            task = gym.get(t)
            for level in ev.levels:
                task.check_level(level)
            missing = [f for f in ev.forms if f not in task.forms]
            if missing:
                raise FovealError(f"task {t!r} has no {missing[0]} form")
        samples = distinct_samples(ev.tasks, ev.levels, ev.n, ev.split, variant=ev.variant())
    except FovealError as e:
        raise FovealError(f"{path}: eval: {e}") from None
    max_new = ev.max_new_tokens or configs[ref.arm].sampling.max_new_tokens
    return Experiment(path, spec, configs, stages, rows, references, max_new, samples, starts)
