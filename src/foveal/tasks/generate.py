"""Dataset generation: many samples from many tasks, in parallel, identical whatever the split.

The contract: for each task (in the order given) and each index i in range(n), the sample
has seed `seed + i` and level `levels[i % len(levels)]`, and each form in `forms` that the
task has is produced for it, in the order given. With `split` ("train", "val" or "test") every
sample is a problem of that content split (`foveal.split`), so datasets of different splits
never share a problem. `variant` (a `foveal.tasks.variant.VariantSpec`) pins the query, phrasing
or style, or holds parts out (split "ood" then draws only those). `shard=(k, N)` keeps the indices
i in [k·n/N, (k+1)·n/N) of every task, so the N shards together hold exactly the unsharded
samples. `workers` only changes how fast: the output, order included, is the same.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from foveal import tasks as registry
from foveal.errors import FovealError
from foveal.options import about
from foveal.sample import FORMS, Sample
from foveal.tasks.base import Task
from foveal.tasks.variant import VariantSpec

Job = tuple[str, int, int, tuple[str, ...], str | None, VariantSpec]  # (task, seed, level, forms, split, variant)


def parse_levels(spec: str | int | Sequence[int]) -> list[int]:
    """'1-5' -> [1, 2, 3, 4, 5]; '1,3,5' -> [1, 3, 5]; '2' -> [2]. Order kept, duplicates dropped."""
    if isinstance(spec, int):
        return [spec]
    if not isinstance(spec, str):
        return list(dict.fromkeys(int(x) for x in spec))
    out: list[int] = []
    for part in spec.replace(" ", "").split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            raise FovealError(f"--levels {spec!r}: expected levels like '1-5' or '1,3,5'")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


def parse_shard(spec: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """'k/N' (0 <= k < N) -> (k, N); None stays None."""
    if spec is None or isinstance(spec, tuple):
        if spec is not None and not (0 <= spec[0] < spec[1]):
            raise FovealError(f"shard {spec[0]}/{spec[1]}: expected k/N with 0 <= k < N")
        return spec
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not m or not int(m.group(1)) < int(m.group(2)):
        raise FovealError(f"--shard {spec!r}: expected k/N with 0 <= k < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def parse_names(spec: str | Sequence[str], what: str = "--tasks") -> list[str]:
    """'a,b' -> ['a', 'b']; 'all' -> every registered task."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [s for s in names if s]
    if not names:
        raise FovealError(f"{what}: expected a comma-separated list, got {spec!r}")
    if what == "--tasks" and names == ["all"]:
        return registry.names()
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Plan:
    """What `generate_samples` will produce: one job per (task, index), each with its forms."""

    tasks: tuple[str, ...]
    n: int
    levels: tuple[int, ...]
    seed: int
    forms: tuple[str, ...]
    shard: tuple[int, int] | None
    split: str | None
    variant: VariantSpec
    jobs: tuple[Job, ...]
    skipped: dict[str, tuple[str, ...]]  # task -> requested forms it does not have

    @property
    def count(self) -> int:
        return sum(len(j[3]) for j in self.jobs)


def plan(tasks: Sequence[str] | str, n: int, levels: Sequence[int] | str, seed: int,
         forms: Sequence[str] | str = ("image",), shard: str | tuple[int, int] | None = None,
         split: str | None = None, variant: VariantSpec | None = None) -> Plan:
    """Validate every argument (FovealError on bad input) and list the jobs; generates nothing."""
    variant = variant or VariantSpec()
    variant.check_split(split)
    names = parse_names(tasks)
    with about("--tasks"):
        families: list[Task] = [registry.get(t) for t in names]
    lv = parse_levels(levels)
    forms_ = parse_names(forms, "--forms")
    if not isinstance(n, int) or n < 1:
        raise FovealError(f"--n must be a positive integer, got {n!r}")
    if not isinstance(seed, int) or seed < 0:
        raise FovealError(f"--seed must be a non-negative integer, got {seed!r}")
    if not lv:
        raise FovealError("--levels is empty")
    for f in forms_:
        if f not in FORMS:
            raise FovealError(f"--forms: unknown form {f!r} (expected some of {', '.join(FORMS)})")
    with about("--levels"):
        for t in families:
            for level in lv:
                t.check_level(level)
    for t in families:
        variant.check_task(t, lv, split)
    skipped = {t.name: tuple(f for f in forms_ if f not in t.forms) for t in families}
    skipped = {k: v for k, v in skipped.items() if v}
    if all(set(forms_) <= set(skipped.get(t.name, ())) for t in families):
        raise FovealError(f"--forms {','.join(forms_)}: none of the tasks has these forms")
    sh = parse_shard(shard)
    lo, hi = (0, n) if sh is None else (sh[0] * n // sh[1], (sh[0] + 1) * n // sh[1])
    jobs = tuple((t.name, seed + i, lv[i % len(lv)], tuple(f for f in forms_ if f in t.forms), split, variant)
                 for t in families for i in range(lo, hi))
    return Plan(tuple(names), n, tuple(lv), seed, tuple(forms_), sh, split, variant, jobs, skipped)


def run_job(job: Job) -> list[Sample]:
    """All requested forms of one (task, seed, level); the image form is built once and reused."""
    name, seed, level, forms, split, variant = job
    task = registry.get(name)
    if type(task).generate is not Task.generate:  # a family with its own form logic
        return [task.generate(seed, level, f, split=split, **variant.kwargs()) for f in forms]
    if forms == ("text",):  # no picture needed
        return [task.generate(seed, level, "text", split=split, **variant.kwargs())]
    base = task.generate(seed, level, "image", split=split, **variant.kwargs())
    derive = {"image": lambda: base, "text": base.as_text, "mixed": lambda: task.mixed_of(base)}
    return [derive[f]() for f in forms]


def iter_plan(p: Plan, workers: int = 1, chunksize: int = 8) -> Iterator[Sample]:
    """Run a plan's jobs in order, with `workers` processes when > 1 (same output either way)."""
    if not isinstance(workers, int) or workers < 1:
        raise FovealError(f"--workers must be a positive integer, got {workers!r}")
    if workers == 1 or len(p.jobs) <= chunksize:
        return (s for job in p.jobs for s in run_job(job))
    # the pool starts here, before the caller starts threads (e.g. a progress bar) that fork would copy
    method = "fork" if sys.platform.startswith("linux") else "spawn"  # fork: no re-import of __main__
    return _drain(mp.get_context(method).Pool(workers), p, chunksize)


def _drain(pool, p: Plan, chunksize: int) -> Iterator[Sample]:
    with pool:
        for samples in pool.imap(run_job, p.jobs, chunksize=chunksize):
            yield from samples


def generate_samples(tasks: Sequence[str] | str, n: int, levels: Sequence[int] | str, seed: int,
                     forms: Sequence[str] | str = ("image",), workers: int = 1,
                     shard: str | tuple[int, int] | None = None, split: str | None = None,
                     variant: VariantSpec | None = None) -> Iterator[Sample]:
    """Samples for every task × index × form, in the contract's order (see the module docstring).

    Arguments are validated before anything is generated (FovealError on bad input).
    """
    return iter_plan(plan(tasks, n, levels, seed, forms, shard, split, variant), workers)


def distinct_samples(tasks: Sequence[str], levels: Sequence[int], n: int, split: str, seed: int = 0,
                     search: int = 20, variant: VariantSpec | None = None) -> list[Sample]:
    """`n` distinct problems of each task from one content split, for evaluation.

    Seeds seed, seed+1, ... are drawn with `split` (levels round-robin over the draws); a draw whose
    problem key was already taken is skipped, so every problem counts once. FovealError when a
    task's levels hold fewer than `n` distinct problems of the split in `search`·n draws: such a
    set could not measure generalisation (`foveal tasks stats` shows the level's size). Two
    draws of one problem in different phrasings or styles count once. `variant` pins or holds out
    parts of the gym (split "ood": only the held-out parts, on test-split content).
    """
    variant = variant or VariantSpec()
    variant.check_split(split)
    out: list[Sample] = []
    for name in tasks:
        task = registry.get(name)
        variant.check_task(task, levels, split)
        keys: set[str] = set()
        for i in range(search * n):
            if len(keys) == n:
                break
            s = task.generate(seed + i, levels[i % len(levels)], split=split, **variant.kwargs())
            if s.problem_key not in keys:
                keys.add(s.problem_key)
                out.append(s)
        if len(keys) < n:
            raise FovealError(f"task {name!r} at level(s) {', '.join(map(str, levels))}: only {len(keys)} distinct "
                              f"{split} problems in {search * n} draws, fewer than the {n} asked for; "
                              f"choose a level with more problems (`foveal tasks stats {name}`)")
    return out
