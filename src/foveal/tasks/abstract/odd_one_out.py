"""Odd one out: every item shares one property except a single item."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task
from foveal.tasks.draw import COLORS, canvas, letters, polygon_points

VALUES = {
    "shape": ("circle", "square", "triangle", "diamond", "hexagon", "star"),
    "color": ("red", "blue", "green", "orange", "purple"),
    "size": ("small", "large"),
    "fill": ("solid", "hollow"),
}
ORDER = ("shape", "color", "fill", "size")  # rule attributes are drawn from the first `rule_attrs`
CELL = 44


def is_odd_pattern(values: list) -> bool:
    """True when all values but exactly one are equal (the pattern that singles out one item)."""
    counts = Counter(values)
    return len(counts) == 2 and min(counts.values()) == 1 and len(values) > 2


def describe(item: dict[str, str]) -> str:
    return f"{item['size']} {item['fill']} {item['color']} {item['shape']}"


@register
class OddOneOut(Task):
    """Lettered items (shape, colour, size, solid or hollow); one property is shared by all but one item.

    Every other property either is the same for all items or varies with no single item standing
    out (checked), so exactly one item is the odd one.
    Knobs per level:
        items: number of items.
        rule_attrs: the shared property is one of the first rule_attrs of (shape, colour, fill, size).
        distractors: how many other properties vary across items (to mislead).
    """

    name = "odd_one_out"
    description = "Odd one out among lettered items that share a property"
    tags = ("logic", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"items": 4, "rule_attrs": 2, "distractors": 0},
        2: {"items": 5, "rule_attrs": 2, "distractors": 1},
        3: {"items": 6, "rule_attrs": 3, "distractors": 2},
        4: {"items": 7, "rule_attrs": 4, "distractors": 2},
        5: {"items": 9, "rule_attrs": 4, "distractors": 3},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        k = cfg["items"]
        rule = rng.choice(ORDER[: cfg["rule_attrs"]])
        others = [a for a in VALUES if a != rule]
        varying = set(rng.sample(others, cfg["distractors"]))
        odd = rng.randrange(k)
        while True:
            v, w = rng.sample(VALUES[rule], 2)
            cols = {rule: [w if i == odd else v for i in range(k)]}
            for a in others:
                cols[a] = [rng.choice(VALUES[a]) for _ in range(k)] if a in varying else [rng.choice(VALUES[a])] * k
            items = [{a: cols[a][i] for a in VALUES} for i in range(k)]
            if not any(is_odd_pattern(cols[a]) for a in others):
                break
        answer = letters(k)[odd]
        label = {"shape": "shape", "color": "colour", "size": "size", "fill": "fill (solid or hollow)"}[rule]
        q = "Which item is the odd one out: the only one that does not share a property all the other items have?"
        listing = "\n".join(f"{L}. {describe(i)}" for L, i in zip(letters(k), items, strict=False))
        sol = f"All items but {answer} have the {label} {v}; item {answer} is {w}. Answer: {answer}."
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows {k} items labelled {letters(k)[0]}-{letters(k)[-1]}.\n{q} Answer with the letter."),
                           images=(self.picture(self.render, items),), answer=answer, answer_type="choice",
                           choices=tuple(describe(i) for i in items),
                           text_twin=f"There are {k} items:\n{listing}\n{q} Answer with the letter.", solution=sol,
                           meta={"items": items, "rule": rule, "question_text": f"{q} Answer with the letter."})

    @staticmethod
    def render(items: list[dict[str, str]], first: int = 0):
        """The items in a grid, lettered from letter number `first` on."""
        k = len(items)
        cols = k if k <= 5 else (k + 1) // 2
        rows = (k + cols - 1) // cols
        img = canvas(cols * CELL + 8, rows * (CELL + 14) + 4)
        d = ImageDraw.Draw(img)
        for i, it in enumerate(items):
            x, y = 4 + (i % cols) * CELL + CELL / 2, 4 + (i // cols) * (CELL + 14)
            label(img, (x, y + 6), letters(first + k)[first + i], size=12)
            r = 16 if it["size"] == "large" else 9
            col = COLORS[it["color"]]
            cy = y + 14 + CELL / 2 - 2
            fill = col if it["fill"] == "solid" else None
            if it["shape"] == "circle":
                d.ellipse([x - r, cy - r, x + r, cy + r], fill=fill, outline=col, width=3)
            else:
                d.polygon(polygon_points(it["shape"], x, cy, r), fill=fill, outline=col, width=3)
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the items described in words, the rest drawn."""
        items = sample.meta["items"]
        k, half = len(items), len(items) // 2
        names = letters(k)
        said = "; ".join(f"{L}. {describe(i)}" for L, i in zip(names[:half], items[:half], strict=True))
        img = self.render(items[half:], first=half)
        prompt = self.image_prompt(f"There are {k} items. Items {names[0]}-{names[half - 1]} are: {said}. "
                                   f"The picture shows items {names[half]}-{names[-1]}.\n{sample.meta['question_text']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
