"""Abstract-reasoning families: answers re-derived by independent rule solvers and pixel comparison."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from _gym_checks import cases, check_contract, letter_of, level1_distinct
from foveal.tasks import get
from foveal.tasks.style import STYLES
from foveal.tasks.variant import PHRASINGS

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


def panel_words(text: str) -> tuple[int, str, str]:
    """'2 medium purple diamonds' → (2, 'purple', 'diamond'); '4 red stars' → (4, 'red', 'star')."""
    w = text.split()
    return int(w[0]), w[-2], w[-1][:-1] if w[-1].endswith("s") else w[-1]


def solve_raven(s):
    table, query = s.meta["table"], s.meta["variant"]["query"]
    if query in ("count", "shape_of"):
        r, c = map(int, re.search(r"row (\d), column (\d)", s.text_twin.split("\n")[-1 if query == "count" else -8]).groups())
        row = next(line for line in s.text_twin.split("\n") if line.startswith(f"Row {r}: "))
        k, _, shape = panel_words(row.split(": ", 1)[1].split("; ")[c - 1])
        return str(k) if query == "count" else letter_of(s, s.choices.index(shape))
    want = {}
    for attr, rows in table.items():
        pred = raven_prediction(rows, ordinal=attr in ("count", "size"))
        assert len(pred) == 1, (attr, rows)
        want[attr] = pred.pop()
    if query == "missing_count":
        return str(want["count"] + 1)
    hits = [i for i, c in enumerate(s.meta["candidates"]) if c == want]
    assert len(hits) == 1
    return letter_of(s, hits[0])


PROPERTY_WORD = {"shape": "shape", "color": "colour", "fill": "fill", "size": "size"}


def solve_odd(s):
    items, query = s.meta["items"], s.meta["variant"]["query"]
    listing = [line.split(". ", 1)[1].split() for line in s.text_twin.split("\n")[1:1 + len(items)]]
    if query == "count":
        colour = next(c for c in ("red", "blue", "green", "orange", "purple") if c in s.text_twin.split("\n")[-1].lower())
        return str(sum(words[2] == colour for words in listing))
    if query == "shape_of":
        item = re.search(r"[Ii]tem ([A-Z])", s.text_twin.split("\n")[-8]).group(1)
        return letter_of(s, s.choices.index(listing[ord(item) - 65][3]))
    odd = []
    for attr in items[0]:
        counts = Counter(i[attr] for i in items)
        if len(counts) == 2 and min(counts.values()) == 1:
            lone = next(v for v, k in counts.items() if k == 1)
            odd.append((attr, next(n for n, i in enumerate(items) if i[attr] == lone)))
    assert len(odd) == 1, "exactly one property singles out exactly one item"
    if query == "property":
        return letter_of(s, next(i for i, c in enumerate(s.choices) if c.startswith(PROPERTY_WORD[odd[0][0]])))
    return letter_of(s, odd[0][1])


def solve_pattern(s):
    panels, query = s.meta["panels"], s.meta["variant"]["query"]
    seq = re.search(r"A sequence of panels: (.*?)(?:\. Shapes|, then a)", s.text_twin).group(1)
    told = [panel_words(p.split(": ", 1)[1]) for p in seq.split("; ")]
    if query in ("count", "color"):
        j = int(re.search(r"(?i)panel (\d+)", s.text_twin.split("\n")[-1 if query == "count" else -7]).group(1)) - 1
        return str(told[j][0]) if query == "count" else letter_of(s, s.choices.index(told[j][1]))
    if query == "step":
        diffs = {b[0] - a[0] for a, b in zip(told, told[1:], strict=False)}
        assert len(diffs) == 1
        return str(diffs.pop())
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
    """Count grid cells whose pixels differ between the two pictures (of the same seed's plain "count"
    sample; tests/test_tasks_grounding.py re-derives every query)."""
    s = get("spot_difference").generate(s.seed, s.level, query="count", phrasing="direct", style="plain")
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
    want = s.answer if name != "spot_difference" else \
        get(name).generate(seed, level, query="count", phrasing="direct", style="plain").answer
    assert SOLVERS[name](s) == want


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


VARIANT_FAMILIES = ["raven", "odd_one_out", "pattern"]


@pytest.mark.parametrize("name", VARIANT_FAMILIES)
def test_every_query_rederived_under_every_style(name):
    task = get(name)
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                s = task.generate(10 + k, level, "text", query=query, style=style)
                assert s.meta["variant"]["query"] == query and s.meta["variant"]["style"] == style
                assert SOLVERS[name](s) == s.answer, (level, query, style)
                assert s.solution.endswith(f"{s.answer}.")
            img = task.generate(20, level, query=query)  # a random style draws, same problem as plain
            plain = task.generate(20, level, query=query, phrasing=img.meta["variant"]["phrasing"], style="plain")
            assert img.problem_key == plain.problem_key and img.images[0].size == plain.images[0].size


@pytest.mark.parametrize("name", VARIANT_FAMILIES)
def test_phrasings_ask_one_question(name):
    task = get(name)
    for query in task.queries:
        level = next(lv for lv in task.levels if query in task.level_queries(lv))
        got = [task.generate(7, level, "text", query=query, phrasing=p) for p in PHRASINGS]
        assert len({s.answer for s in got}) == 1 and len({s.problem_key for s in got}) == 1
        assert len({s.text_twin for s in got}) == len(PHRASINGS)
        for p, s in zip(PHRASINGS, got, strict=True):
            img = task.generate(7, level, query=query, phrasing=p, style="plain")
            question = img.prompt.split("\n")[2].split(" Answer with")[0]
            assert question in s.text_twin  # the twin asks what the picture's prompt asks


@pytest.mark.parametrize("name", VARIANT_FAMILIES)
def test_level1_distinct_per_query_and_form(name):
    for query in get(name).level_queries(1):
        texts, images = level1_distinct(name, query)
        assert texts >= 950 and images >= 950, (query, texts, images)
