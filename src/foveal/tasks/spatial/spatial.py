"""`spatial`: is one named object left of, right of, above or below another?

Objects are scattered without overlap; the question names two of them by colour and
shape (each colour-shape pair occurs once) and picks an ordered pair whose relation is
unambiguous: the offset along the dominant axis is at least `ratio` times the other.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks.base import Task

RELATIONS = ("left", "right", "above", "below")
PHRASES = {"left": "to the left of", "right": "to the right of", "above": "above", "below": "below"}


def relation(a: dict[str, Any], b: dict[str, Any], ratio: float) -> str | None:
    """Where `a` is relative to `b` in image coordinates (y down), or None if ambiguous."""
    dx, dy = a["x"] - b["x"], a["y"] - b["y"]
    if abs(dx) >= ratio * abs(dy):
        return "left" if dx < 0 else "right"
    if abs(dy) >= ratio * abs(dx):
        return "above" if dy < 0 else "below"
    return None


def name(o: dict[str, Any]) -> str:
    return f"the {o['color']} {o['shape']}"


def at(o: dict[str, Any]) -> str:
    article = "an" if o["color"][0] in "aeiou" else "a"
    return f"{article} {o['color']} {o['shape']} at ({round(o['x'])}, {round(o['y'])})"


@register
class Spatial(Task):
    """Relative position of two named objects: left, right, above or below (choice A-D).

    Level knobs:
        size: image side in pixels (64-80 px at levels 1-2 for the tiny VLM).
        radius: object circumradius in pixels.
        objects: how many objects are drawn (2 = only the two named ones).
        shapes, colors: how many shapes / colours the objects draw from; with more objects
            the distractors share a colour or a shape with the named ones.
        palette: the colours are drawn from the first `palette` of `draw.COLORS` (level 1 always
            uses red and green, so the names in the question map to fixed colours).
        ratio: the dominant-axis offset is at least `ratio` times the other axis's.
        shuffle: whether the order of the four options is shuffled.

    Mixed form: the reference object is not drawn; its coordinates are given in text.
    """

    name = "spatial"
    modality = "image"
    description = "Is one named object left of, right of, above or below another? (choice)"
    tags = ("spatial", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(size=64, radius=9, objects=2, shapes=1, colors=2, palette=2, ratio=2.0, shuffle=False),
        2: dict(size=80, radius=9, objects=2, shapes=3, colors=4, palette=10, ratio=2.0, shuffle=False),
        3: dict(size=128, radius=10, objects=4, shapes=3, colors=5, palette=10, ratio=1.5, shuffle=True),
        4: dict(size=160, radius=10, objects=6, shapes=4, colors=6, palette=10, ratio=1.5, shuffle=True),
        5: dict(size=224, radius=10, objects=10, shapes=6, colors=8, palette=10, ratio=1.3, shuffle=True),
        6: dict(size=256, radius=9, objects=14, shapes=6, colors=10, palette=10, ratio=1.2, shuffle=True),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        size, r, n = cfg["size"], cfg["radius"], cfg["objects"]
        palette = list(D.COLORS)[: cfg["palette"]]
        combos = [(c, s) for c in rng.sample(palette, cfg["colors"]) for s in D.SHAPES[: cfg["shapes"]]]
        while True:
            pts = D.scatter(rng, n, size, size, r, gap=3)
            objects = [{"color": c, "shape": s, "x": round(x), "y": round(y), "r": r}  # whole pixels, as the twin says
                       for (c, s), (x, y) in zip(rng.sample(combos, n), pts, strict=True)]
            pairs = [(i, j) for i in range(n) for j in range(n)
                     if i != j and relation(objects[i], objects[j], cfg["ratio"])]
            if pairs:
                break
        i, j = rng.choice(pairs)
        a, b = objects[i], objects[j]
        rel = relation(a, b, cfg["ratio"])
        choices = list(RELATIONS)
        if cfg["shuffle"]:
            rng.shuffle(choices)
        letter = D.letters(4)[choices.index(rel)]
        question = (f"Where is {name(a)} relative to {name(b)}?\n{D.choice_block(choices)}\n"
                    "Answer with the letter.")
        twin = (f"A {size}x{size} picture (x grows to the right, y grows downwards) shows "
                f"{', '.join(at(o) for o in sorted(objects, key=lambda o: (o['y'], o['x'])))}. {question}")  # reading order
        # Qualitative on purpose: exact coordinates cannot be read off the picture, so a trace that
        # recites them teaches a model to invent numbers (measured: the tiny VLM stayed at chance).
        solution = f"{name(a).capitalize()} is {PHRASES[rel]} {name(b)}. The answer is {letter}."
        return self.sample(
            seed, level, prompt=self.image_prompt(question), images=(self.picture(D.scene, size, objects),), answer=letter,
            answer_type="choice", choices=tuple(choices), text_twin=twin, solution=solution,
            meta={"size": size, "objects": objects, "a": i, "b": j, "relation": rel, "ratio": cfg["ratio"]},
        )

    def mixed(self, sample: Sample) -> Sample:
        """Leave the reference object out of the picture and give its coordinates in text."""
        m = sample.meta
        objects, b = m["objects"], m["objects"][m["b"]]
        drawn = [o for k, o in enumerate(objects) if k != m["b"]]
        question = sample.prompt.split("\n", 1)[1]
        prompt = self.image_prompt(
            f"{name(b).capitalize()} is not drawn: it is at ({round(b['x'])}, {round(b['y'])}) in this "
            f"{m['size']}x{m['size']} image (x grows to the right, y grows downwards). {question}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(D.scene(m["size"], drawn),))
