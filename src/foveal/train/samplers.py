"""Samplers: which (task, level[, form]) the next training prompt is drawn from, registered by name.

    task, level = SAMPLERS["uniform"](rng, {"count": 2.0, "chart": 1.0}, [1, 2])
    sampler = SAMPLERS.build("sec", {"alpha": 0.5, "tau": 0.5}, "data.sampler.args")

A recipe picks one with `data.sampler: {name, args}` (default: `uniform`). The contract:

- A sampler is `fn(rng: random.Random, tasks: {name: weight}, levels: [int], *, <options>)
  -> (task, level)` or `(task, level, form)`, or a class whose instances are such callables.
  `PromptSource` calls it once per gym draw with that draw's own seeded `rng`, so a draw depends
  only on the run seed, the draw's index and what the sampler has learned. A pair keeps the
  recipe's `data.gym.form`; a triple names the form ("image", "text", "mixed") of this draw. A
  sampler that declares a keyword `step` gets the index (0-based) of the step it draws for, one
  that declares `stage` the run stage drawing ("sft", "rl", "pref"; None from a caller outside a run).
- `check(gym)` (optional): a FovealError when the options do not fit the recipe's `data.gym`
  (called before a run writes anything).
- `acts_in` (optional attribute): the run stage ("sft" or "rl") whose draws differ from
  `uniform`'s; a recipe that gives that stage no steps is refused (the sampler would never act).
- `forms_in(stage, default) -> set` (optional): the forms the sampler may draw during run stage
  `stage` (`default`: data.gym.form); without it, {default}. `sft.align` needs a picture in SFT.
- `update(ctx) -> dict` (optional): after each RL step, the step's `StepContext` over every
  process's completions, `advantages` filled in; returns what train.jsonl logs for the step.
  The curricula below log `draws` ({arm: prompts trained on this step}), `pass` ({arm: the step's
  mean correctness}) and what they track (`band_p`, `sec_q`, `curriculum_stage`).
- `state_dict()` / `load_state_dict()` (optional): what the sampler has learned, saved in the RL
  checkpoint's stage.pt, so a killed run resumes bit-identically. (A sampler needs no RNG state of
  its own: each draw's `rng` is seeded by the draw's index.)

An arm is a (task, level) pair, written "task:level" in logs and state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from foveal.errors import FovealError
from foveal.registry import Registry

SAMPLERS = Registry("sampler", reserved=("ctx", "step", "stage"))
WHERE = "data.sampler.args"
FORMS = ("image", "text", "mixed")


@SAMPLERS.register("uniform")
def uniform(rng: random.Random, tasks: dict[str, float], levels: list[int]) -> tuple[str, int]:
    """The task mix's static weights, then a level uniformly: P(t, l) = w_t / sum(w) * 1 / |levels|."""
    names, weights = zip(*tasks.items(), strict=True)
    name = rng.choices(names, weights)[0]
    return name, rng.choice(levels)


# -- what the curricula share --------------------------------------------------------------------

def arm(task: str, level: int) -> str:
    """The name of arm (task, level) in logs and state: "task:level"."""
    return f"{task}:{level}"


def arms_of(tasks: dict[str, float], levels: Sequence[int]) -> tuple[list[str], list[float]]:
    """Every arm of a task mix in order (tasks, then levels) and its static prior w_t / |levels|."""
    names = [arm(t, lv) for t in tasks for lv in levels]
    prior = [w / len(levels) for w in tasks.values() for _ in levels]
    return names, prior


def split_arm(name: str) -> tuple[str, int]:
    task, _, level = name.rpartition(":")
    return task, int(level)


def step_arms(ctx) -> dict[str, dict[str, float]]:
    """{arm: {"prompts": prompts drawn, "pass": mean correctness, "abs_adv": mean |advantage|}} over a
    step's completions (`pass` left out where no reward has the correctness role, `abs_adv` where
    the context has no advantages). Sums are in float64, so every process gets the same numbers."""
    rows: dict[str, list[int]] = {}
    for i, (t, lv) in enumerate(zip(ctx.tasks, ctx.levels, strict=True)):
        rows.setdefault(arm(t, lv), []).append(i)
    out = {}
    for name, idx in sorted(rows.items()):
        stats: dict[str, float] = {"prompts": len({int(ctx.group_ids[i]) for i in idx})}
        if ctx.correct is not None:
            c = ctx.correct[idx].double()
            c = c[~c.isnan()]
            if len(c):
                stats["pass"] = float(c.mean())
        if ctx.advantages is not None:
            stats["abs_adv"] = float(ctx.advantages[idx].double().abs().mean())
        out[name] = stats
    return out


def step_log(stats: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The compact train.jsonl fields of a step's arms: {"draws": {arm: n}, "pass": {arm: rate}}."""
    out: dict[str, Any] = {"draws": {a: int(s["prompts"]) for a, s in stats.items()}}
    rates = {a: round(s["pass"], 4) for a, s in stats.items() if "pass" in s}
    if rates:
        out["pass"] = rates
    return out


def _bad(field: str, msg: str) -> FovealError:
    return FovealError(f"{WHERE}.{field}: {msg}")


def _number(value: Any, field: str, lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> float:
    """`value` as a float within [lo, hi] ((lo, hi] with `open_lo`), else a FovealError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(field, f"expected a number, got {value!r}")
    if (lo is not None and (value <= lo if open_lo else value < lo)) or (hi is not None and value > hi):
        span = f"{'(' if open_lo else '['}{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise _bad(field, f"{value!r} is outside {span}")
    return float(value)


# -- staged ----------------------------------------------------------------------------------------

@SAMPLERS.register("staged")
class Staged:
    """Step ranges -> tasks, levels, forms (Curr-ReFT's perception -> reasoning, LMM-R1's text -> image).

    stages: [{until: 100, tasks: {count: 1}, levels: [1], forms: [text]}, {until: null}]

    At step s (0-based) of the run stage `during` (default rl), the first curriculum stage with
    s < until draws (the last has until: null and runs to the end): a task t with P(t) = w_t / sum(w)
    over its `tasks` (a list means equal weights; default data.gym.tasks), a level uniformly from its
    `levels` (default data.gym.levels), a form uniformly from its `forms` (default [data.gym.form]).
    Its tasks and levels must be among data.gym's (whose levels and variants the recipe check
    covers). Other run stages (an SFT cold start, pref) draw exactly what `uniform` draws.
    """

    KEYS = ("until", "tasks", "levels", "forms")

    def __init__(self, *, stages: list[dict[str, Any]], during: str = "rl") -> None:
        if during not in ("sft", "rl"):
            raise _bad("during", f"expected sft or rl, got {during!r}")
        self.during = self.acts_in = during
        if not isinstance(stages, list) or not stages:
            raise _bad("stages", f"expected a non-empty list of {{until, tasks, levels, forms}}, got {stages!r}")
        self.stages = [self._stage(i, st) for i, st in enumerate(stages)]
        bounds = [st["until"] for st in self.stages]
        if bounds[-1] is not None:
            raise _bad(f"stages[{len(bounds) - 1}].until", "the last stage runs to the end: until must be null")
        for i in range(len(bounds) - 1):
            if bounds[i] is None:
                raise _bad(f"stages[{i}].until", "only the last stage may have until: null")
            if i and bounds[i] <= bounds[i - 1]:
                raise _bad(f"stages[{i}].until", f"{bounds[i]} must be larger than the previous stage's {bounds[i - 1]}")

    def _stage(self, i: int, st: Any) -> dict[str, Any]:
        field = f"stages[{i}]"
        if not isinstance(st, dict):
            raise _bad(field, f"expected a mapping {{until, tasks, levels, forms}}, got {st!r}")
        unknown = [k for k in st if k not in self.KEYS]
        if unknown:
            raise _bad(field, f"unknown key(s) {unknown} (known: {', '.join(self.KEYS)})")
        until = st.get("until")
        if until is not None and (isinstance(until, bool) or not isinstance(until, int) or until < 1):
            raise _bad(f"{field}.until", f"expected a step count >= 1 or null, got {until!r}")
        tasks = st.get("tasks")
        if isinstance(tasks, (list, tuple)):
            tasks = {t: 1.0 for t in tasks}
        if tasks is not None:
            if not isinstance(tasks, dict) or not tasks:
                raise _bad(f"{field}.tasks", f"expected task names or {{task: weight}}, got {tasks!r}")
            tasks = {str(t): _number(w, f"{field}.tasks.{t}", 0, open_lo=True) for t, w in tasks.items()}
        levels = st.get("levels")
        if levels is not None and (not isinstance(levels, list) or not levels
                                   or not all(isinstance(x, int) and not isinstance(x, bool) for x in levels)):
            raise _bad(f"{field}.levels", f"expected a non-empty list of levels, got {levels!r}")
        forms = st.get("forms")
        if isinstance(forms, str):
            forms = [forms]
        if forms is not None and (not isinstance(forms, list) or not forms or any(f not in FORMS for f in forms)):
            raise _bad(f"{field}.forms", f"expected a non-empty list of {', '.join(FORMS)}, got {forms!r}")
        return {"until": until, "tasks": tasks, "levels": levels, "forms": forms}

    def check(self, gym) -> None:
        """Each stage's tasks, levels and forms exist in the recipe's `data.gym`."""
        import foveal.tasks as registry

        for i, st in enumerate(self.stages):
            extra = [t for t in st["tasks"] or {} if t not in gym.tasks]
            if extra:
                raise _bad(f"stages[{i}].tasks", f"{extra} not in data.gym.tasks {list(gym.tasks)}")
            extra = [lv for lv in st["levels"] or [] if lv not in gym.levels]
            if extra:
                raise _bad(f"stages[{i}].levels", f"{extra} not in data.gym.levels {gym.levels}")
            for form in st["forms"] or []:
                lacking = [t for t in st["tasks"] or gym.tasks if form not in registry.get(t).forms]
                if lacking:
                    raise _bad(f"stages[{i}].forms", f"task(s) {lacking} have no {form!r} form")

    def forms_in(self, stage: str, default: str) -> set[str]:
        """The forms drawn during run stage `stage`: every curriculum stage's during `during`, else `default`."""
        if stage != self.during:
            return {default}
        return {f for st in self.stages for f in (st["forms"] or [default])}

    def index(self, step: int) -> int:
        """The stage in force at `step`: the first with step < until (the last: until null)."""
        return next(i for i, st in enumerate(self.stages) if st["until"] is None or step < st["until"])

    def __call__(self, rng: random.Random, tasks: dict[str, float], levels: list[int], *,
                 step: int = 0, stage: str = "rl") -> tuple[str, int] | tuple[str, int, str]:
        if stage != self.during:
            return uniform(rng, tasks, levels)
        st = self.stages[self.index(step)]
        task, level = uniform(rng, st["tasks"] or tasks, st["levels"] or levels)
        return (task, level) if st["forms"] is None else (task, level, rng.choice(st["forms"]))

    def update(self, ctx) -> dict[str, Any]:
        """Logs the step's draws and pass rates, the curriculum stage in force and the forms drawn."""
        out = step_log(step_arms(ctx))
        if self.during == "rl":
            out["curriculum_stage"] = self.index(ctx.step)
        if ctx.forms is not None:
            groups = {(int(g), f) for g, f in zip(ctx.group_ids, ctx.forms, strict=True)}
            out["forms"] = {f: sum(1 for _, x in groups if x == f) for f in sorted({f for _, f in groups})}
        return out


# -- band ------------------------------------------------------------------------------------------

def band_weight(p: float, lo: float, hi: float, floor: float) -> float:
    """An arm's weight from its pass rate p: 4 p (1 - p) when lo <= p <= hi (1 at p = 0.5: the
    variance of a group's correctness, which is what gives GRPO a signal), `floor` outside the band."""
    return 4 * p * (1 - p) if lo <= p <= hi else floor


def ema_update(p: float, observed: float, rate: float) -> float:
    """p <- (1 - rate) p + rate * observed."""
    return (1 - rate) * p + rate * observed


class ArmSampler:
    """A curriculum over (task, level) arms that learns from RL steps: in RL a draw picks arm c with
    probability proportional to `weights(tasks, levels)`; any other run stage (SFT, pref) draws exactly
    what `uniform` draws."""

    acts_in = "rl"

    def __call__(self, rng: random.Random, tasks: dict[str, float], levels: list[int], *, stage: str = "rl") -> tuple[str, int]:
        if stage != self.acts_in:
            return uniform(rng, tasks, levels)
        names, w = self.weights(tasks, levels)
        return split_arm(rng.choices(names, w)[0])


@SAMPLERS.register("band")
class Band(ArmSampler):
    """Online pass-rate band: arm weight w_t * 4p(1-p) if lo <= p <= hi else w_t * floor, p an EMA of pass rates.

    Arms are (task, level). p_c starts at `prior` and, after each RL step that trained on arm c,
    moves to p_c <- (1 - ema) p_c + ema * phat_c, phat_c the step's mean correctness over c's
    completions (the reward with role `correctness`; an arm without one is not updated). A draw
    picks arm c with P(c) proportional to w_t / |levels| * band_weight(p_c) (`band_weight`: 4 p (1 - p) in
    [lo, hi], `floor` outside, so arms that left the band are still retried now and then); when
    every weight is 0 it falls back to the static mix w_t / |levels|. (VL-Cogito's online soft
    weighting, Observe-R1's and UniVG-R1's difficulty weighting, PeBR-R1's vanishing advantages.)
    Any other run stage (SFT, pref) draws exactly what `uniform` draws.
    """

    def __init__(self, lo: float = 0.2, hi: float = 0.8, ema: float = 0.5, prior: float = 0.5, floor: float = 0.02) -> None:
        self.lo = _number(lo, "lo", 0, 1)
        self.hi = _number(hi, "hi", 0, 1)
        if self.hi < self.lo:
            raise _bad("hi", f"{hi} is below lo {lo}")
        self.ema = _number(ema, "ema", 0, 1, open_lo=True)
        self.prior = _number(prior, "prior", 0, 1)
        self.floor = _number(floor, "floor", 0)
        self.p: dict[str, float] = {}  # arm -> tracked pass rate (unseen: prior)

    def weights(self, tasks: dict[str, float], levels: list[int]) -> tuple[list[str], list[float]]:
        """Every arm and its (unnormalised) draw weight."""
        names, prior = arms_of(tasks, levels)
        w = [s * band_weight(self.p.get(a, self.prior), self.lo, self.hi, self.floor) for a, s in zip(names, prior, strict=True)]
        return names, (w if sum(w) > 0 else prior)

    def update(self, ctx) -> dict[str, Any]:
        stats = step_arms(ctx)
        for a, s in stats.items():
            if "pass" in s:
                self.p[a] = ema_update(self.p.get(a, self.prior), s["pass"], self.ema)
        return {**step_log(stats), "band_p": {a: round(p, 4) for a, p in sorted(self.p.items())}}

    def state_dict(self) -> dict[str, Any]:
        return {"p": dict(self.p)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = dict(state["p"])


# -- SEC ---------------------------------------------------------------------------------------

def td0(q: float, reward: float, alpha: float) -> float:
    """The TD(0) update of a non-stationary bandit: Q <- Q + alpha (r - Q)."""
    return q + alpha * (reward - q)


def boltzmann(q: Sequence[float], tau: float, prior: Sequence[float] | None = None) -> list[float]:
    """P(c) = prior_c exp(Q_c / tau) / sum_c' prior_c' exp(Q_c' / tau) (prior: all ones by default),
    computed with Q - max Q for stability."""
    top = max(q)
    prior = prior if prior is not None else [1.0] * len(q)
    e = [p * math.exp((x - top) / tau) for x, p in zip(q, prior, strict=True)]
    total = sum(e)
    return [x / total for x in e]


@SAMPLERS.register("sec")
class SEC(ArmSampler):
    """Self-Evolving Curriculum: Q_c <- Q_c + alpha (mean |advantage| of arm c - Q_c), P(c) ~ w_t exp(Q_c / tau).

    Arms are (task, level) (SEC, "Self-Evolving Curriculum for LLM Reasoning": a non-stationary
    bandit over problem categories, with the absolute advantage as the learning-gain reward). Every
    Q starts at `q0`. After each RL step, each arm c the step trained on gets the reward r_c = the
    mean |A_i| over its completions and the TD(0) update Q_c <- Q_c + alpha (r_c - Q_c); arms not
    drawn keep their Q. A draw picks arm c with P(c) = w_t exp(Q_c / tau) / sum_c' w_t' exp(Q_c' / tau)
    (Boltzmann; w_t the task mix's weights, all equal in the paper's setting). Groups whose
    completions are all equally right have A = 0, so arms the model always or never solves lose
    probability. The defaults (alpha 0.5, tau 0.5) are ours, not the paper's. Any other run stage
    (SFT, pref) draws exactly what `uniform` draws.
    """

    def __init__(self, alpha: float = 0.5, tau: float = 0.5, q0: float = 0.0) -> None:
        self.alpha = _number(alpha, "alpha", 0, 1, open_lo=True)
        self.tau = _number(tau, "tau", 0, open_lo=True)
        self.q0 = _number(q0, "q0")
        self.q: dict[str, float] = {}  # arm -> Q (unseen: q0)

    def weights(self, tasks: dict[str, float], levels: list[int]) -> tuple[list[str], list[float]]:
        """Every arm and its draw probability."""
        names, prior = arms_of(tasks, levels)
        return names, boltzmann([self.q.get(a, self.q0) for a in names], self.tau, prior)

    def update(self, ctx) -> dict[str, Any]:
        if ctx.advantages is None:
            raise FovealError("sampler sec: the step context has no advantages")
        stats = step_arms(ctx)
        for a, s in stats.items():
            self.q[a] = td0(self.q.get(a, self.q0), s["abs_adv"], self.alpha)
        return {**step_log(stats), "sec_q": {a: round(q, 4) for a, q in sorted(self.q.items())}}

    def state_dict(self) -> dict[str, Any]:
        return {"q": dict(self.q)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q = dict(state["q"])
