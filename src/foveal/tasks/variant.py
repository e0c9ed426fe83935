"""Variants: which question a problem asks (query), in which words (phrasing), drawn how (style).

A *variant* is family × query × form. Within a variant every seed also draws a phrasing and a
visual style; all three can be pinned (`Task.generate(..., query=, phrasing=, style=)`) or held
out (`hold_out`). They are chosen from their own random stream, seeded from (task, seed, level),
never from the scene's, so pinning one leaves the scene and the other two unchanged:

    u_q, u_p, u_s ~ U[0, 1) from task_seed("{task}/variant", seed, level)
    query = allowed_queries[⌊u_q · |allowed_queries|⌋]   (likewise phrasing, style)

Phrasings are four registers every family words each query in (`PHRASINGS`), so one register
can be held out across the whole gym; `direct` is the canonical one. A problem's identity (its
key, hence its content split) is defined under the canonical phrasing and style, so a phrasing or
a style never separates two copies of one problem across splits; a query is part of the problem.

Held-out parts (`hold_out=("style=noisy", "query=sum")`) never appear in `train`, `val` or
`test`; split `ood` draws only them: one held-out part per seed (the rest drawn freely) on
`test`-split content, so an out-of-distribution score never reuses a problem seen in training.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from foveal.errors import FovealError
from foveal.tasks import style as S

PHRASINGS = ("direct", "imperative", "polite", "terse")
CANONICAL_PHRASING = "direct"
HOLD_OUT_KINDS = ("query", "phrasing", "style")


@dataclass(frozen=True)
class Variant:
    """The query, phrasing and style one sample is made with."""

    query: str
    phrasing: str
    style: str

    def canonical(self) -> Variant:
        """The same question in the canonical phrasing and style: what defines the problem."""
        return Variant(self.query, CANONICAL_PHRASING, S.CANONICAL)

    def as_dict(self) -> dict[str, str]:
        return {"query": self.query, "phrasing": self.phrasing, "style": self.style}


def parse_hold_out(specs: str | Iterable[str | tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    """`"style=noisy,query=sum"`, `["style=noisy", ...]` or `[("style", "noisy"), ...]` →
    (("style", "noisy"), ...), checked."""
    if specs is None:
        return ()
    specs = [specs] if isinstance(specs, str) else specs
    items = [p.strip() for spec in specs
             for p in ("=".join(spec) if isinstance(spec, tuple) else str(spec)).split(",")]
    out = []
    for item in filter(None, items):
        kind, sep, name = item.partition("=")
        if not sep or kind not in HOLD_OUT_KINDS or not name:
            raise FovealError(f"hold-out {item!r}: expected KIND=NAME with KIND one of {', '.join(HOLD_OUT_KINDS)}, "
                              f"e.g. style=noisy")
        if kind == "style":
            S.get(name)
        if kind == "phrasing" and name not in PHRASINGS:
            raise FovealError(f"hold-out {item!r}: unknown phrasing {name!r} (expected one of {', '.join(PHRASINGS)})")
        out.append((kind, name))
    return tuple(dict.fromkeys(out))


def _pick(kind: str, u: float, pinned: str | None, options: Sequence[str], held: set[str], task: str,
          ood: bool) -> str:
    if pinned is not None:
        if pinned not in options:
            raise FovealError(f"task {task!r}: unknown {kind} {pinned!r} (expected one of {', '.join(options)})")
        if pinned in held and not ood:
            raise FovealError(f"task {task!r}: {kind} {pinned!r} is held out; it appears only in split 'ood'")
        return pinned
    allowed = [o for o in options if o not in held]
    if not allowed:
        raise FovealError(f"task {task!r}: every {kind} is held out ({', '.join(options)})")
    return allowed[int(u * len(allowed))]


def choose(task, seed: int, level: int, *, query: str | None = None, phrasing: str | None = None,
           style: str | None = None, hold_out: Sequence[tuple[str, str]] = (), ood: bool = False) -> Variant:
    """The variant of (task, seed, level): pinned parts as given, the rest drawn (module docstring).

    With `ood`, one of the held-out parts that apply to this task is forced (chosen by seed);
    FovealError if none applies (e.g. a held-out query this family does not ask).
    """
    from foveal.tasks.base import task_seed

    rng = random.Random(task_seed(f"{task.name}/variant", seed, level))
    u_q, u_p, u_s, u_h = rng.random(), rng.random(), rng.random(), rng.random()
    options = {"query": task.level_queries(level), "phrasing": task.phrasings, "style": tuple(S.STYLES)}
    pinned = {"query": query, "phrasing": phrasing, "style": style}
    held = {k: {n for kk, n in hold_out if kk == k and n in options[k]} for k in HOLD_OUT_KINDS}
    if ood:
        applicable = [(k, n) for k, n in hold_out if n in options[k]]
        if not applicable:
            parts = ", ".join(f"{k}={n}" for k, n in hold_out) or "nothing"
            raise FovealError(f"task {task.name!r} level {level}: split 'ood' needs a held-out part this task has "
                              f"(held out: {parts}; its queries: {', '.join(options['query'])})")
        k, n = applicable[int(u_h * len(applicable))]
        if pinned[k] is not None and pinned[k] != n:
            raise FovealError(f"task {task.name!r}: {k} {pinned[k]!r} is not held out, so it has no 'ood' problems")
        pinned[k] = n
    return Variant(*(_pick(k, u, pinned[k], options[k], held[k], task.name, ood)
                     for k, u in zip(HOLD_OUT_KINDS, (u_q, u_p, u_s), strict=True)))


@dataclass(frozen=True)
class VariantSpec:
    """What a dataset, a training stream or an evaluation set pins or holds out (None = drawn per seed)."""

    query: str | None = None
    phrasing: str | None = None
    style: str | None = None
    hold_out: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, query: str | None = None, phrasing: str | None = None, style: str | None = None,
              hold_out: str | Iterable[str] | None = None) -> VariantSpec:
        """Checked: a known phrasing and style, well-formed hold-outs that do not clash with a pin."""
        if phrasing is not None and phrasing not in PHRASINGS:
            raise FovealError(f"--phrasing {phrasing!r}: expected one of {', '.join(PHRASINGS)}")
        if style is not None and style not in S.STYLES:
            raise FovealError(f"--style {style!r}: expected one of {', '.join(S.STYLES)}")
        try:
            held = parse_hold_out(hold_out)
        except FovealError as e:
            raise FovealError(f"--{e}") from None
        for kind, name in held:
            if {"query": query, "phrasing": phrasing, "style": style}[kind] == name:
                raise FovealError(f"--{kind} {name!r} is also held out (--hold-out {kind}={name})")
        return cls(query or None, phrasing, style, held)

    def kwargs(self) -> dict:
        """Keyword arguments for `Task.generate`."""
        return {"query": self.query, "phrasing": self.phrasing, "style": self.style, "hold_out": self.hold_out}

    def as_dict(self) -> dict:
        """JSON-ready (for manifests and run configs)."""
        return {"query": self.query, "phrasing": self.phrasing, "style": self.style,
                "hold_out": [f"{k}={n}" for k, n in self.hold_out]}

    def check_split(self, split: str | None) -> str | None:
        """`split` is one of train/val/test, or "ood" when something is held out."""
        from foveal.split import check_split

        if split == "ood":
            if not self.hold_out:
                raise FovealError("--split ood: needs --hold-out KIND=NAME (the part of the gym held out for it)")
            return split
        return check_split(split)

    def check_task(self, task, levels: Sequence[int], split: str | None) -> None:
        """FovealError unless `task` can draw this variant at every level (a pinned query it asks there;
        for split ood, a held-out part it has)."""
        for level in levels:
            if self.query is not None and self.query not in task.level_queries(level):
                raise FovealError(f"--query {self.query!r}: task {task.name!r} level {level} asks "
                                  f"{', '.join(task.level_queries(level))}")
            if self.phrasing is not None and self.phrasing not in task.phrasings:
                raise FovealError(f"--phrasing {self.phrasing!r}: task {task.name!r} words its questions only "
                                  f"{', '.join(task.phrasings)}")
            if split == "ood":
                choose(task, 0, level, query=self.query, phrasing=self.phrasing, style=self.style,
                       hold_out=self.hold_out, ood=True)
