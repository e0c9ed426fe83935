"""Every registered gym task is scored by `score` with its own answer type.

For each task and level: the sample's own answer in R1 format scores 1, its SFT target
(`r1_target`) scores 1, and a wrong answer of the same type scores 0. A task whose
answer type has no wrong-answer maker here fails loudly instead of being skipped.
"""

from __future__ import annotations

import pytest

from foveal import tasks
from foveal.prompts import r1_format, r1_target
from foveal.rewards import accuracy, score, verify
from foveal.rewards.parse import parse_grid, parse_interval, parse_sequence


def _wrong(sample) -> str:
    """A different answer of the same type (a neighbour, another letter, a changed cell)."""
    a, t = sample.answer, sample.answer_type
    if t == "number":
        return str(float(a) + 1) if "." in a else str(int(a) + 1)
    if t == "choice":
        n = len(sample.choices) if sample.choices else 4
        return chr(ord("A") + (ord(a) - ord("A") + 1) % max(2, n))
    if t == "grid":
        rows = [list(r) for r in parse_grid(a)]
        rows[0][0] = "0" if rows[0][0] != "0" else "1"
        return "\n".join(" ".join(r) for r in rows)
    if t == "sequence":
        items = list(parse_sequence(a))
        items = items[1:] + items[:1] if len(set(items)) > 1 else items + items[:1]
        return " ".join(items)
    if t == "text":
        return a + " not"
    if t == "box":
        return "[0, 0, 0.001, 0.001]"
    if t == "math":
        return f"({a})+1"
    if t == "interval":
        start, end = parse_interval(a)
        return f"[{start}, {end + 1}]"
    raise AssertionError(f"no wrong-answer maker for answer type {t!r} (task {sample.task})")


@pytest.mark.timeout(300)  # a family that hangs fails here instead of stopping the suite
@pytest.mark.parametrize("name", tasks.names())
def test_every_task_level_is_scored_with_its_answer_type(name):
    task = tasks.get(name)
    for level in sorted(task.levels):
        for seed in (0, 1):
            s = task.generate(seed, level)
            assert score(r1_format("reasoning", s.answer), s.answer, s.answer_type) == 1.0, s.id
            assert score(r1_target(s), s.answer, s.answer_type) == 1.0, s.id
            assert score(r1_format("reasoning", _wrong(s)), s.answer, s.answer_type) == 0.0, s.id
            assert accuracy([r1_target(s)], [s]) == [1.0], s.id
            if s.answer_type == "choice" and s.choices:
                option = s.choices[ord(s.answer) - ord("A")]
                assert verify(option, s.answer, "choice", choices=s.choices), (s.id, option)


def test_the_gym_has_tasks():
    assert len(tasks.names()) >= 6
