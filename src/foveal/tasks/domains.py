"""Domains: groups of gym families by skill, and mixtures of tasks and domains (MoDoMoDo, SynLogic).

    domains()["skill:counting"]      # ('block_count', 'count', ...): every family tagged "counting"
    resolve_mixture({"puzzles": 2, "count": 1, "sudoku": 0})   # {task: share}, shares summing to 1

A domain is one of
    skill:TAG   every family carrying skill tag TAG (`foveal.sample.SKILLS`: counting, spatial,
                arithmetic, logic, temporal, grounding, planning, perception);
    kind:KIND   every family of one kind, the subpackage it lives in (puzzles, math, spatial,
                abstract, games, video, grounding).
A bare name means a task when a task has that name (`spatial` is a family), else the one domain
of that name (`counting` = skill:counting, `puzzles` = kind:puzzles); `grounding` is both a skill
and a kind, so it needs its prefix.

A mixture {name: weight} (weights >= 0, not all 0) resolves to per-task shares: a task listed by
name gets its own weight; a domain's weight is split equally among its tasks that are *not*
listed by name (so `{puzzles: 2, sudoku: 0}` is the puzzles without sudoku); a task in several
listed domains gets a share from each. The shares are then normalised to sum to 1, and tasks
with share 0 are dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from foveal.errors import FovealError
from foveal.sample import SKILLS


def kind_of(task) -> str:
    """The kind (subpackage of `foveal.tasks`) a family lives in: 'puzzles', 'math', ..."""
    parts = type(task).__module__.split(".")
    return parts[2] if len(parts) > 3 and parts[:2] == ["foveal", "tasks"] else "other"


def domains() -> dict[str, tuple[str, ...]]:
    """{"skill:TAG": tasks, ..., "kind:KIND": tasks, ...}: every non-empty domain, tasks sorted."""
    from foveal import tasks as gym

    out: dict[str, list[str]] = {}
    for t in gym.all_tasks():
        for tag in t.tags:
            out.setdefault(f"skill:{tag}", []).append(t.name)
        out.setdefault(f"kind:{kind_of(t)}", []).append(t.name)
    skills = [f"skill:{s}" for s in SKILLS if f"skill:{s}" in out]
    rest = sorted(k for k in out if k not in skills)
    return {k: tuple(sorted(out[k])) for k in skills + rest}


def resolve_name(name: str, table: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """'count' -> 'count' (a task); 'counting' -> 'skill:counting'; 'skill:spatial' -> itself.
    FovealError for an unknown or ambiguous name, with close matches."""
    from foveal import tasks as gym

    table = domains() if table is None else table
    if name in gym.names() or name in table:
        return name
    found = [d for d in table if d.split(":", 1)[1] == name]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise FovealError(f"mixture name {name!r} is ambiguous: write {' or '.join(found)}")
    bare = sorted({d.split(":", 1)[1] for d in table})
    close = difflib.get_close_matches(name, [*gym.names(), *table, *bare], n=3)
    hint = f"did you mean {', '.join(close)}?" if close else f"domains: {', '.join(table)}"
    raise FovealError(f"unknown task or domain {name!r} in the mixture ({hint})")


def resolve_mixture(mixture: Mapping[str, float]) -> dict[str, float]:
    """Per-task sampling shares (summing to 1) of a mixture over task and domain names (see module doc)."""
    if not isinstance(mixture, Mapping) or not mixture:
        raise FovealError(f"a mixture is a non-empty mapping {{task or domain: weight}}, got {mixture!r}")
    table = domains()
    names: dict[str, float] = {}
    for raw, w in mixture.items():
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0 or w == float("inf"):
            raise FovealError(f"mixture weight of {raw!r} must be a finite number >= 0, got {w!r}")
        name = resolve_name(str(raw), table)
        if name in names:
            raise FovealError(f"mixture lists {name!r} twice (as {raw!r})")
        names[name] = float(w)
    listed = {n for n in names if n not in table}
    shares: dict[str, float] = {}
    for name, w in names.items():
        if name not in table:
            shares[name] = shares.get(name, 0.0) + w
            continue
        rest = [t for t in table[name] if t not in listed]
        if not rest:
            raise FovealError(f"mixture: every task of domain {name!r} is listed on its own; drop the domain")
        for t in rest:
            shares[t] = shares.get(t, 0.0) + w / len(rest)
    total = sum(shares.values())
    if total <= 0:
        raise FovealError("mixture: the weights are all 0; give at least one weight > 0")
    return {t: s / total for t, s in sorted(shares.items()) if s > 0}
