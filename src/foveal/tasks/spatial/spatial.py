"""`spatial`: is one named object left of, right of, above or below another? (and three more
questions about where things are: a yes/no relation, the leftmost/.../bottommost object, the
quarter of the picture an object lies in).

Objects are scattered without overlap; the question names them by colour and shape (each
colour-shape pair occurs once) and is only asked where its answer is unambiguous: a relation
whose offset along the dominant axis is at least `ratio` times the other, an extreme object
that beats the runner-up by at least a radius, an object lying wholly inside one quarter.
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
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}
# extreme word -> (coordinate, sign): the extreme object minimises sign * coordinate
EXTREMES = {"leftmost": ("x", 1), "rightmost": ("x", -1), "topmost": ("y", 1), "bottommost": ("y", -1)}
QUARTERS = ("top left", "top right", "bottom left", "bottom right")


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


def quarter(o: dict[str, Any], size: int) -> str | None:
    """The quarter of a size×size picture that object `o` lies wholly inside, or None."""
    dx, dy = o["x"] - size / 2, o["y"] - size / 2
    if min(abs(dx), abs(dy)) < o["r"]:
        return None
    return QUARTERS[2 * (dy > 0) + (dx > 0)]


def extreme(objects: list[dict[str, Any]], word: str) -> int | None:
    """Index of the `word` (EXTREMES) object, or None unless it beats the runner-up by a radius."""
    axis, sign = EXTREMES[word]
    order = sorted(range(len(objects)), key=lambda k: sign * objects[k][axis])
    first, second = objects[order[0]], objects[order[1]]
    return order[0] if abs(first[axis] - second[axis]) >= first["r"] else None


@register
class Spatial(Task):
    """Where named objects are (choice answers).

    Queries:
        "relation": where is object A relative to object B: left, right, above or below (A-D)?
        "yesno": is A left of / right of / above / below B? (yes/no; the relation asked is the
            true one or its opposite, so the answer never hinges on the minor axis)
        "extreme": which object is the leftmost / rightmost / topmost / bottommost one (options:
            every object, in alphabetical order)?
        "quarter": in which quarter of the picture (top left, top right, bottom left, bottom right)
            does object A lie (wholly inside it)?

    Level knobs:
        size: image side in pixels (64-80 px at levels 1-2 for the tiny VLM).
        radius: object circumradius in pixels.
        objects: how many objects are drawn (2 = only the two named ones).
        shapes, colors: how many shapes / colours the objects draw from; with more objects
            the distractors share a colour or a shape with the named ones.
        palette: the colours are drawn from the first `palette` of `draw.COLORS` (level 1 always
            uses red and green, so the names in the question map to fixed colours).
        ratio: the dominant-axis offset is at least `ratio` times the other axis's.
        shuffle: whether the order of the options is shuffled.
        gap: the least gap between two objects in pixels; objects sit in distinct cells of a grid
            of (2·radius + gap) px cells, jittered within each cell's spare room (level 1's gap
            leaves 10 px of it each way, so positions vary).

    Mixed form: the reference object (B, or an object the question does not ask for) is not
    drawn; its coordinates are given in text.
    """

    name = "spatial"
    modality = "image"
    description = "Where objects are: left of / right of / above / below, yes-no, leftmost..., which quarter (choice)"
    tags = ("spatial", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "relation": {
            "direct": "Where is {a} relative to {b}?",
            "imperative": "Say where {a} is relative to {b}.",
            "polite": "Could you tell me where {a} is relative to {b}?",
            "terse": "Position of {a} relative to {b}?",
        },
        "yesno": {
            "direct": "Is {a} {rel} {b}?",
            "imperative": "Say whether {a} is {rel} {b}.",
            "polite": "Could you tell me whether {a} is {rel} {b}?",
            "terse": "Yes or no: {a} {rel} {b}?",
        },
        "extreme": {
            "direct": "Which object is the {word} one in the picture?",
            "imperative": "Name the {word} object in the picture.",
            "polite": "Could you tell me which object is the {word} one in the picture?",
            "terse": "The {word} object: which one?",
        },
        "quarter": {
            "direct": "In which quarter of the picture is {a}?",
            "imperative": "Say in which quarter of the picture {a} is.",
            "polite": "Could you tell me in which quarter of the picture {a} is?",
            "terse": "Quarter of the picture holding {a}?",
        },
    }
    levels = {
        1: dict(size=64, radius=9, objects=2, shapes=1, colors=2, palette=2, ratio=2.0, shuffle=False, gap=4),
        2: dict(size=80, radius=9, objects=2, shapes=3, colors=4, palette=10, ratio=2.0, shuffle=False, gap=3),
        3: dict(size=128, radius=10, objects=4, shapes=3, colors=5, palette=10, ratio=1.5, shuffle=True, gap=3),
        4: dict(size=160, radius=10, objects=6, shapes=4, colors=6, palette=10, ratio=1.5, shuffle=True, gap=3),
        5: dict(size=224, radius=10, objects=10, shapes=6, colors=8, palette=10, ratio=1.3, shuffle=True, gap=3),
        6: dict(size=256, radius=9, objects=14, shapes=6, colors=10, palette=10, ratio=1.2, shuffle=True, gap=3),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        size, r, n, query = cfg["size"], cfg["radius"], cfg["objects"], self.query
        palette = list(D.COLORS)[: cfg["palette"]]
        combos = [(c, s) for c in rng.sample(palette, cfg["colors"]) for s in D.SHAPES[: cfg["shapes"]]]
        while True:
            pts = D.scatter(rng, n, size, size, r, gap=cfg["gap"])
            objects = [{"color": c, "shape": s, "x": round(x), "y": round(y), "r": r}  # whole pixels, as the twin says
                       for (c, s), (x, y) in zip(rng.sample(combos, n), pts, strict=True)]
            if query in ("relation", "yesno"):
                found = [(i, j) for i in range(n) for j in range(n)
                         if i != j and relation(objects[i], objects[j], cfg["ratio"])]
            elif query == "extreme":
                found = [(w, k) for w in EXTREMES if (k := extreme(objects, w)) is not None]
            else:
                found = [k for k in range(n) if quarter(objects[k], size)]
            if found:
                break
        pick = rng.choice(found)
        if query in ("relation", "yesno"):
            i, j = pick
            rel = relation(objects[i], objects[j], cfg["ratio"])
        elif query == "extreme":
            word, i = pick
            j = rng.choice([k for k in range(n) if k != i])
        else:
            i = pick
            j = rng.choice([k for k in range(n) if k != i])
        a, b = objects[i], objects[j]
        slots = {"a": name(a), "b": name(b)}
        if query == "relation":
            choices = list(RELATIONS)
            if cfg["shuffle"]:
                rng.shuffle(choices)
            letter = D.letters(4)[choices.index(rel)]
            # Qualitative on purpose: exact coordinates cannot be read off the picture, so a trace that
            # recites them teaches a model to invent numbers (measured: the tiny VLM stayed at chance).
            solution = f"{name(a).capitalize()} is {PHRASES[rel]} {name(b)}. The answer is {letter}."
        elif query == "yesno":
            asked = rel if rng.random() < 0.5 else OPPOSITE[rel]
            slots["rel"] = PHRASES[asked]
            choices = ["yes", "no"]
            letter = "A" if asked == rel else "B"
            solution = (f"{name(a).capitalize()} is {PHRASES[rel]} {name(b)}, so {choices[asked != rel]}. "
                        f"The answer is {letter}.")
        elif query == "extreme":
            slots["word"] = word
            choices = sorted(name(o)[4:] for o in objects)
            letter = D.letters(n)[choices.index(name(a)[4:])]
            side = {"leftmost": "left", "rightmost": "right", "topmost": "up", "bottommost": "down"}[word]
            solution = f"{name(a).capitalize()} lies farther {side} than every other object. The answer is {letter}."
        else:
            choices = list(QUARTERS)
            if cfg["shuffle"]:
                rng.shuffle(choices)
            where = quarter(a, size)
            letter = D.letters(4)[choices.index(where)]
            solution = f"{name(a).capitalize()} lies in the {where} quarter of the picture. The answer is {letter}."
        question = f"{self.ask(**slots)}\n{D.choice_block(choices)}\nAnswer with the letter."
        twin = (f"A {size}x{size} picture (x grows to the right, y grows downwards) shows "
                f"{', '.join(at(o) for o in sorted(objects, key=lambda o: (o['y'], o['x'])))}. {question}")  # reading order
        return self.sample(
            seed, level, prompt=self.image_prompt(question), images=(self.picture(D.scene, size, objects),), answer=letter,
            answer_type="choice", choices=tuple(choices), text_twin=twin, solution=solution,
            meta={"size": size, "objects": objects, "a": i, "b": j, "relation": relation(a, b, cfg["ratio"]),
                  "ratio": cfg["ratio"], "query": query},
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
