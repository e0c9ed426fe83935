"""Abstract-reasoning families: answers re-derived by independent rule solvers and pixel comparison."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from _gym_checks import cases, check_contract, letter_of
from foveal.tasks import get

ABSTRACT = ["raven", "odd_one_out", "pattern", "spot_difference"]


def test_families_registered_with_levels_and_docs():
    for name in ABSTRACT:
        t = get(name)
        assert len(t.levels) >= 5 and t.tags and t.modality == "image"
        doc = type(t).__doc__
        assert all(k in doc for cfg in t.levels.values() for k in cfg), name


def raven_prediction(rows: list[list[int]], ordinal: bool) -> set[int]:
    """Values for the missing cell under: same-in-row, ±1 steps (count and size only), or rows
    permuting one value set."""
    known = rows[:2]
    a, b = rows[2][0], rows[2][1]
    out = set()
    if all(r[0] == r[1] == r[2] for r in known) and a == b:
        out.add(a)
    for step in (-1, 1) if ordinal else ():
        if all(r == [r[0], r[0] + step, r[0] + 2 * step] for r in known) and b - a == step:
            out.add(b + step)
    if sorted(known[0]) == sorted(known[1]) and len(set(known[0])) == 3 and a != b and {a, b} <= set(known[0]):
        out |= set(known[0]) - {a, b}
    return out


def solve_raven(s):
    table = s.meta["table"]
    want = {}
    for attr, rows in table.items():
        pred = raven_prediction(rows, ordinal=attr in ("count", "size"))
        assert len(pred) == 1, (attr, rows)
        want[attr] = pred.pop()
    hits = [i for i, c in enumerate(s.meta["candidates"]) if c == want]
    assert len(hits) == 1
    return letter_of(s, hits[0])


def solve_odd(s):
    items = s.meta["items"]
    odd = []
    for attr in items[0]:
        counts = Counter(i[attr] for i in items)
        if len(counts) == 2 and min(counts.values()) == 1:
            lone = next(v for v, k in counts.items() if k == 1)
            odd.append(next(n for n, i in enumerate(items) if i[attr] == lone))
    assert len(odd) == 1, "exactly one property singles out exactly one item"
    return letter_of(s, odd[0])


def solve_pattern(s):
    panels = s.meta["panels"]
    want = {}
    for attr in panels[0]:
        seq = [p[attr] for p in panels]
        diffs = {b - a for a, b in zip(seq, seq[1:], strict=False)}
        periods = [p for p in range(1, len(seq) // 2 + 1) if seq[p:] == seq[:-p]]
        if attr == "count" and len(diffs) == 1:
            want[attr] = seq[-1] + diffs.pop()
        else:
            assert periods, (attr, seq)
            want[attr] = seq[len(seq) - periods[0]]
    hits = [i for i, c in enumerate(s.meta["candidates"]) if c == want]
    assert len(hits) == 1
    return letter_of(s, hits[0])


def solve_spot(s):
    """Count grid cells whose pixels differ between the two pictures."""
    g, size = s.meta["g"], s.meta["size"]
    a, b = (np.asarray(im).astype(int) for im in s.images)
    cell = (size - 4) / g
    changed = 0
    for r in range(g):
        for c in range(g):
            y0, y1 = int(2 + r * cell) + 2, int(2 + (r + 1) * cell) - 2
            x0, x1 = int(2 + c * cell) + 2, int(2 + (c + 1) * cell) - 2
            changed += bool((a[y0:y1, x0:x1] != b[y0:y1, x0:x1]).any())
    assert (a != b).any() == (changed > 0)
    return str(changed)


SOLVERS = {"raven": solve_raven, "odd_one_out": solve_odd, "pattern": solve_pattern, "spot_difference": solve_spot}


@pytest.mark.parametrize("name,level,seed", cases(ABSTRACT))
def test_family(name, level, seed):
    s = check_contract(name, level, seed)
    assert SOLVERS[name](s) == s.answer


def test_minimum_object_sizes():
    from foveal.tasks.abstract import odd_one_out, pattern, raven

    assert min(raven.RADIUS.values()) >= 4 and raven.PANEL >= 40 and pattern.PANEL >= 40 and odd_one_out.CELL >= 40
    s = get("spot_difference").generate(0, 5)
    assert (s.meta["size"] - 4) / s.meta["g"] * 0.22 >= 4  # small objects keep a radius >= 4 px


def test_answers_vary():
    for name, level in (("raven", 3), ("odd_one_out", 2), ("pattern", 4), ("spot_difference", 4)):
        assert len({get(name).generate(k, level).answer for k in range(30)}) >= 3, name


@pytest.mark.slow
@pytest.mark.parametrize("name", ABSTRACT)
def test_family_sweep(name):
    for level in get(name).levels:
        for seed in range(3, 60):
            test_family(name, level, seed)
