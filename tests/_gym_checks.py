"""Checks every gym family must pass, shared by the family test files (not collected: underscore)."""

from __future__ import annotations

import json
import re

from foveal.sample import IMAGE_TOKEN, SKILLS, png_bytes
from foveal.split import image_id, text_id
from foveal.tasks import get
from foveal.tasks.draw import letters

SEEDS = (0, 1, 2)


def cases(names: list[str], seeds=SEEDS) -> list[tuple[str, int, int]]:
    return [(n, lv, s) for n in names for lv in sorted(get(n).levels) for s in seeds]


def check_contract(name: str, level: int, seed: int):
    """Determinism, forms, placeholders, twin, answer format; returns the image-form sample."""
    task = get(name)
    s, again = task.generate(seed, level), task.generate(seed, level)
    assert (s.prompt, s.answer, s.text_twin, s.solution) == (again.prompt, again.answer, again.text_twin, again.solution)
    assert [png_bytes(i) for i in s.images] == [png_bytes(i) for i in again.images]
    assert s.images and s.prompt.count(IMAGE_TOKEN) == len(s.images)
    assert all(im.mode == "RGB" and min(im.size) >= 32 for im in s.images)
    assert s.text_twin and IMAGE_TOKEN not in s.text_twin
    assert s.solution.endswith(f"{s.answer}.") or s.solution.endswith(f"The answer is {s.answer}.")
    assert set(s.tags) <= set(SKILLS) and s.tags
    assert json.loads(json.dumps(s.to_record(with_images=False)))["meta"] == json.loads(json.dumps(s.meta))
    if task.modality == "video":
        assert len(s.images) >= 3
    if s.answer_type == "choice":
        assert s.choices and s.answer in letters(len(s.choices))
    elif s.answer_type == "number":
        int(s.answer)
    elif s.answer_type == "sequence":
        assert re.fullmatch(r"\d+( \d+)*", s.answer)
    elif s.answer_type == "box":
        x1, y1, x2, y2 = map(int, re.fullmatch(r"\[(\d+), (\d+), (\d+), (\d+)\]", s.answer).groups())
        w, h = s.images[0].size
        assert 0 <= x1 < x2 < w and 0 <= y1 < y2 < h
    for form in task.forms:
        f = task.generate(seed, level, form)
        assert f.form == form and f.answer == s.answer and f.prompt.count(IMAGE_TOKEN) == len(f.images)
        if form == "text":
            assert not f.images and f.prompt == s.text_twin
        if form == "mixed":
            assert f.images and f.prompt != s.prompt
    return s


def letter_of(s, index: int) -> str:
    return letters(len(s.choices))[index]


def level1_distinct(name: str, query: str, n: int = 1000) -> tuple[int, int]:
    """Distinct text ids and image ids among n level-1 draws of one query (direct wording, plain style)."""
    task = get(name)
    kw = dict(query=query, phrasing="direct", style="plain")
    texts = {text_id(task.generate(seed, 1, "text", **kw)) for seed in range(n)}
    images = {image_id(task.generate(seed, 1, **kw)) for seed in range(n)}
    return len(texts), len(images)
