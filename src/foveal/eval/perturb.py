"""Perturbed twins: the same gym problem with one knob changed ("On Memorization" style).

A gym family builds a problem from one random stream (`Task.make_from(rng, ...)`), and every
choice it makes is one call on that stream: `randint(1, 4)` for the number of targets,
`choice(shapes)` for the queried shape, `sample(colours, 3)` for the palette, `uniform(...)`
for an angle. A *knob* here is one such call. `perturbed_twin(sample)` replays the stream that
drew `sample` with exactly one call's result replaced by another value that call could have
returned, and every other call returning what it returned before:

    randint / randrange   another value of the same range
    choice                another element of the same sequence (one that differs from the original)
    sample                one picked element swapped for an unpicked one (or, when all are picked,
                          two positions swapped)
    shuffle               two positions of the shuffled list swapped
    random / uniform      a fresh value in the same interval

The stream itself is consumed exactly as before, so later calls return the same values as in
the original; a knob that sets *how many* things are drawn (a count) keeps the first ones and
draws or drops the rest. The twin is kept only if its answer differs from the original's (a
model that recalls the original's answer gets the twin wrong), its problem key differs, and its
problem lies in the same split (`foveal.split`), so a twin of a test problem is a test problem.
Knobs are tried in a seeded random order, each with up to `ALTERNATIVES` values, up to
`MAX_TRIES` replays; a sample whose replay does not reproduce it (external data, a sample from
another version of the generator) or whose knobs never change the answer within those tries
gets no twin.

Limits: a knob is one random call, not one named parameter: the changed call may be a count, a
colour, a position or a whole puzzle's seed-like choice, and a structural knob can change more of
the picture than one parameter would (other objects move when the count changes the layout
draws). Calls that other code makes on the stream (`getrandbits`, `choices`, `gauss`) are
replayed but never changed. Generators enforce their invariants either by drawing inside the
allowed set (kept: the replacement is another value of the same call) or by rejecting and
redrawing (kept: the rejection loop runs on the replaced value too); an invariant checked
nowhere but assumed from an earlier draw could in principle be broken, so a twin is also
required to be a valid `Sample` that the family's own problem key accepts.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from foveal.sample import Sample
from foveal.split import split_of

MAX_TRIES = 256  # replays (with pictures off) spent looking for a twin of one sample
ALTERNATIVES = 8  # values tried per knob
MAX_CALLS_FACTOR = 20  # a replay that makes this many times the original's calls is a runaway


class Runaway(Exception):
    """A replay made far more random calls than the original (a changed value made a loop long)."""


class KnobRng(random.Random):
    """A `random.Random` that records its outermost calls and can change the result of one of them.

    `knob` is the index of the call to change (None: replay faithfully), `alt` seeds the choice
    of the replacement value. After a run, `calls` lists (method, args) of every outermost call and
    `change` is (was, now) for the changed one (None when that call had no other value).
    """

    def __init__(self, seed: int, knob: int | None = None, alt: int = 0, max_calls: int | None = None):
        super().__init__(seed)
        self.knob, self.alt, self.max_calls = knob, alt, max_calls
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.change: tuple[Any, Any] | None = None
        self._depth = 0

    def __deepcopy__(self, memo: dict) -> KnobRng:
        """A copy at the same point of the stream, with the same knob and record (`Task.make_from`
        copies the stream to replay a draw under the canonical phrasing)."""
        twin = KnobRng(0, self.knob, self.alt, self.max_calls)
        twin.setstate(self.getstate())
        twin.calls, twin.change, twin._depth = list(self.calls), self.change, self._depth
        return twin

    def _call(self, name: str, args: tuple[Any, ...], draw, other):
        """Run `draw()` (the stream's own result); at the outermost level, record the call and, if
        it is the knob, return `other(value)` instead."""
        self._depth += 1
        try:
            value = draw()
        finally:
            self._depth -= 1
        if self._depth:
            return value
        i = len(self.calls)
        self.calls.append((name, args))
        if self.max_calls is not None and i >= self.max_calls:
            raise Runaway(f"more than {self.max_calls} random calls")
        if i != self.knob:
            return value
        new = other(value, random.Random(f"{self.alt}/{i}"))
        if new is not None:
            self.change = (value, new)
            return new
        return value

    def randrange(self, start, stop=None, step=1):
        values = range(start, stop, step) if stop is not None else range(start)
        return self._call("randrange", (start, stop, step), lambda: super(KnobRng, self).randrange(start, stop, step),
                          lambda v, r: another(values, v, r))

    def randint(self, a, b):
        return self._call("randint", (a, b), lambda: super(KnobRng, self).randint(a, b),
                          lambda v, r: another(range(a, b + 1), v, r))

    def choice(self, seq):
        def other(v, r):
            idx = [i for i, x in enumerate(seq) if x != v]
            return seq[r.choice(idx)] if idx else None
        return self._call("choice", (len(seq),), lambda: super(KnobRng, self).choice(seq), other)

    def sample(self, population, k, **kw):
        def other(v, r):
            pop = list(population)
            rest = [x for x in pop if x not in v]
            out = list(v)
            if rest and out:
                out[r.randrange(len(out))] = r.choice(rest)
            elif len(out) > 1 and len(set(map(repr, out))) > 1:
                i, j = r.sample(range(len(out)), 2)
                out[i], out[j] = out[j], out[i]
            else:
                return None
            return out if out != list(v) else None
        return self._call("sample", (len(population), k), lambda: super(KnobRng, self).sample(population, k, **kw),
                          other)

    def shuffle(self, x):
        before = list(x)

        def draw():
            super(KnobRng, self).shuffle(x)
            return list(x)

        def other(v, r):
            if len(x) < 2 or len(set(map(repr, x))) < 2:
                return None
            while True:
                i, j = r.sample(range(len(x)), 2)
                if repr(x[i]) != repr(x[j]):
                    x[i], x[j] = x[j], x[i]
                    return list(x)

        self._call("shuffle", (len(before),), draw, other)

    def getrandbits(self, k):
        # Defined (unchanged) so that `random.Random.__init_subclass__` keeps drawing integers from
        # getrandbits: a subclass that overrides only `random` would switch `_randbelow` to a
        # float-based method, and every randint/choice/shuffle would differ from the original.
        return super().getrandbits(k)

    def random(self):
        return self._call("random", (), lambda: super(KnobRng, self).random(), lambda v, r: r.random())

    def uniform(self, a, b):
        return self._call("uniform", (a, b), lambda: super(KnobRng, self).uniform(a, b),
                          lambda v, r: a + (b - a) * r.random() if b != a else None)


def another(values: range, v: int, r: random.Random) -> int | None:
    """A uniformly drawn element of `values` other than `v` (None when there is none)."""
    if v not in values:
        return values[r.randrange(len(values))] if values else None
    if len(values) < 2:
        return None
    i = r.randrange(len(values) - 1)
    return values[i + (i >= values.index(v))]


def short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def perturbed_twin(sample: Sample, seed: int = 0, max_tries: int = MAX_TRIES) -> Sample | None:
    """The twin of gym `sample` with one knob changed (see the module docstring), in `sample`'s
    form, or None.

    The twin's image form has id `{original image-form id}/perturb` (its text form `…/perturb/text`);
    its meta records `perturb_of` (`sample.id`) and `knob`: {"call": index of the changed call,
    "method": e.g. "randint(1, 4)", "was": ..., "now": ...}. Deterministic in (sample, seed).
    """
    from foveal import tasks
    from foveal.errors import FovealError
    from foveal.eval.harness import base_id

    try:
        task = tasks.get(sample.task)
        draw_seed = task.draw_seed(sample.seed, sample.level, task.draw_of(sample))
    except (FovealError, KeyError, ValueError):
        return None
    if not sample.problem_key:
        return None
    probe = KnobRng(draw_seed)
    try:
        original = task.make_from(probe, sample.seed, sample.level, drawing=False, variant=task.variant_of(sample))
    except Exception:  # noqa: BLE001 - a sample this generator cannot replay gets no twin
        return None
    if (original.problem_key, original.answer) != (sample.problem_key, sample.answer):
        return None  # not what this generator draws for (seed, level): external or stale data
    split = split_of(original.problem_key)
    limit = MAX_CALLS_FACTOR * len(probe.calls) + 1000
    order = list(range(len(probe.calls)))
    random.Random(f"perturb/{seed}/{sample.id}").shuffle(order)
    tries = 0
    for knob in order:
        for alt in range(ALTERNATIVES):
            if tries >= max_tries:
                return None
            tries += 1
            twin, rng = replay(task, sample, draw_seed, knob, alt, limit, drawing=False)
            if twin is None or rng.change is None:
                break  # this knob has no other value (or none the generator can build from): next knob
            if twin.answer == original.answer:
                continue
            if twin.problem_key != original.problem_key and split_of(twin.problem_key) == split:
                twin, rng = replay(task, sample, draw_seed, knob, alt, limit, drawing=sample.form != "text")
                name, args = rng.calls[knob]
                knob_info = {"call": knob, "method": f"{name}{short(args)}", "was": short(rng.change[0]),
                             "now": short(rng.change[1])}
                twin = replace(twin, id=f"{base_id(sample)}/perturb")
                if sample.form == "text":
                    twin = twin.as_text()
                elif sample.form == "mixed":
                    twin = task.mixed_of(twin)
                return replace(twin, meta={**twin.meta, "perturb_of": sample.id, "knob": knob_info})
    return None


def replay(task, sample: Sample, draw_seed: int, knob: int, alt: int, limit: int, drawing: bool):
    """(the sample made with call `knob` changed, its rng), or (None, rng) when the replay fails."""
    rng = KnobRng(draw_seed, knob=knob, alt=alt, max_calls=limit)
    try:
        return task.make_from(rng, sample.seed, sample.level, drawing=drawing, variant=task.variant_of(sample)), rng
    except Exception:  # noqa: BLE001 - a changed value the generator cannot build from: not a twin
        return None, rng
