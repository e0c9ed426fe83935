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
from foveal.tasks.draw import canvas, choice_block, letters, polygon_points, rgb

VALUES = {
    "shape": ("circle", "square", "triangle", "diamond", "hexagon", "star"),
    "color": ("red", "blue", "green", "orange", "purple"),
    "size": ("small", "large"),
    "fill": ("solid", "hollow"),
}
ORDER = ("shape", "color", "fill", "size")  # rule attributes are drawn from the first `rule_attrs`
PROPERTY = {"shape": "shape", "color": "colour", "size": "size", "fill": "fill (solid or hollow)"}
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

    Queries: "odd" (the letter of the odd item; choice), "property" (which property sets it apart:
    shape, colour, fill or size; choice), "count" (how many items have a named colour; number),
    "shape_of" (the shape of a named item; choice among the shapes).

    Knobs per level:
        items: number of items, or (min, max) drawn per problem.
        rule_attrs: the shared property is one of the first rule_attrs of (shape, colour, fill, size).
        distractors: how many other properties vary across items (to mislead).
    """

    name = "odd_one_out"
    description = "Odd one out among lettered items that share a property"
    tags = ("logic", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "odd": {
            "direct": "Which item is the odd one out: the only one that does not share a property all the other "
                      "items have?",
            "imperative": "Find the odd one out: the only item that does not share a property all the other items "
                          "have.",
            "polite": "Could you tell me which item is the odd one out: the only one that does not share a property "
                      "all the other items have?",
            "terse": "Odd one out (the only item lacking a property all others share)?",
        },
        "property": {
            "direct": "One item is the odd one out: the only one that does not share a property all the other items "
                      "have. Which property is it?",
            "imperative": "One item is the odd one out: the only one that does not share a property all the other "
                          "items have. Name that property.",
            "polite": "One item is the odd one out: the only one that does not share a property all the other items "
                      "have. Could you tell me which property it is?",
            "terse": "Property that all items but one share?",
        },
        "count": {
            "direct": "How many items are {colour}?",
            "imperative": "Count the {colour} items.",
            "polite": "Could you tell me how many items are {colour}?",
            "terse": "Number of {colour} items?",
        },
        "shape_of": {
            "direct": "What shape is item {item}?",
            "imperative": "Name the shape of item {item}.",
            "polite": "Could you tell me what shape item {item} is?",
            "terse": "Item {item}: shape?",
        },
    }
    levels = {
        1: {"items": (4, 6), "rule_attrs": 2, "distractors": 0},
        2: {"items": 5, "rule_attrs": 2, "distractors": 1},
        3: {"items": 6, "rule_attrs": 3, "distractors": 2},
        4: {"items": 7, "rule_attrs": 4, "distractors": 2},
        5: {"items": 9, "rule_attrs": 4, "distractors": 3},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        k = cfg["items"] if isinstance(cfg["items"], int) else rng.randint(*cfg["items"])
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
        names = letters(k)
        label = PROPERTY[rule]
        choices, fmt = tuple(describe(i) for i in items), "Answer with the letter."
        listing = "\n".join(f"{L}. {describe(i)}" for L, i in zip(names, items, strict=False))
        why = f"All items but {names[odd]} have the {label} {v}; item {names[odd]} is {w}."
        query = self.query
        if query == "odd":
            q, answer = self.ask(), names[odd]
            sol = f"{why} Answer: {answer}."
        elif query == "property":
            options = [PROPERTY[a] for a in ORDER]
            choices, answer = tuple(options), names[ORDER.index(rule)]
            q = f"{self.ask()}\n{choice_block(options)}"
            sol = f"{why} So the property is {label}. Answer: {answer}."
        elif query == "count":
            colour = rng.choice(VALUES["color"])
            n = sum(i["color"] == colour for i in items)
            q, answer, fmt = self.ask(colour=colour), str(n), "Answer with a number."
            hits = [L for L, i in zip(names, items, strict=True) if i["color"] == colour]
            sol = f"The {colour} items are {', '.join(hits) if hits else 'none'}: {n}. Answer: {answer}."
        else:
            j = rng.randrange(k)
            options = list(VALUES["shape"])
            choices, answer = tuple(options), letters(len(options))[options.index(items[j]["shape"])]
            q = f"{self.ask(item=names[j])}\n{choice_block(options)}"
            sol = f"Item {names[j]} is a {describe(items[j])}, a {items[j]['shape']}. Answer: {answer}."
        question = f"{q} {fmt}" if "\n" not in q else f"{q}\n{fmt}"
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows {k} items labelled {names[0]}-{names[-1]}.\n{question}"),
                           images=(self.picture(self.render, items),), answer=answer,
                           answer_type="number" if query == "count" else "choice",
                           choices=None if query == "count" else choices,
                           text_twin=f"There are {k} items:\n{listing}\n{question}", solution=sol,
                           meta={"items": items, "rule": rule, "question_text": question, "query": query})

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
            col = rgb(it["color"])
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
