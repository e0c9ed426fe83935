"""`count`: how many objects of a queried colour and/or shape are in the picture.

The scene is a list of non-overlapping filled shapes. The answer is the number of
objects matching the query; every other object is a distractor that differs from the
query in at least one queried attribute.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks.base import Task, task_rng


def describe(query: dict[str, str], n: int = 2) -> str:
    """'red circles', 'circles' or 'red objects' (singular when n == 1) for a colour/shape query."""
    colour, shape = query.get("color"), query.get("shape")
    noun = (shape or "object") + ("s" if n != 1 else "")
    return f"{colour} {noun}" if colour else noun


def matches(obj: dict[str, Any], query: dict[str, str]) -> bool:
    return all(obj[k] == v for k, v in query.items())


def a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def object_list(objects: list[dict[str, Any]]) -> str:
    return ", ".join(a(f"{o['color']} {o['shape']}") for o in objects)


def located_list(objects: list[dict[str, Any]]) -> str:
    """'a red circle at (12, 40), ...' in reading order (top to bottom, then left to right): the
    twin states the whole scene, in an order the picture fixes."""
    ordered = sorted(objects, key=lambda o: (o["y"], o["x"]))
    return ", ".join(a(f"{o['color']} {o['shape']}") + f" at ({o['x']}, {o['y']})" for o in ordered)


@register
class Count(Task):
    """Count the objects matching a colour and/or shape query among distractors.

    Level knobs:
        size: image side in pixels (small at levels 1-2 so a tiny VLM can learn them).
        radius: (min, max) object circumradius in pixels.
        targets: (min, max) number of matching objects.
        distractors: (min, max) number of non-matching objects.
        query: which attributes the question names: "shape", "color" or "color+shape"
            ("any" picks shape or color at random).
        shapes, colors: how many shapes / colours the scene draws from.

    Mixed form: a third of the objects are described in words instead of drawn; the
    question asks for the total over the drawn and the described objects.
    """

    name = "count"
    modality = "image"
    description = "Count the objects of a queried colour/shape among distractors (number)."
    tags = ("counting", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(size=64, radius=(10, 10), targets=(1, 4), distractors=(0, 0), query="shape", shapes=1, colors=1),
        2: dict(size=80, radius=(9, 9), targets=(1, 5), distractors=(0, 3), query="color+shape", shapes=1, colors=4),
        3: dict(size=128, radius=(10, 12), targets=(1, 6), distractors=(2, 5), query="any", shapes=3, colors=4),
        4: dict(size=160, radius=(10, 12), targets=(1, 8), distractors=(3, 8), query="color+shape", shapes=4,
                colors=5),
        5: dict(size=224, radius=(8, 12), targets=(2, 12), distractors=(6, 14), query="color+shape", shapes=6,
                colors=8),
        6: dict(size=256, radius=(7, 11), targets=(3, 15), distractors=(10, 20), query="color+shape", shapes=6,
                colors=10),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        shapes = list(D.SHAPES[: cfg["shapes"]])
        colors = rng.sample(list(D.COLORS), cfg["colors"])
        kind = cfg["query"] if cfg["query"] != "any" else rng.choice(["shape", "color"])
        query = {}
        if "color" in kind:
            query["color"] = colors[0]
        if "shape" in kind:
            query["shape"] = rng.choice(shapes)
        n_t, n_d = rng.randint(*cfg["targets"]), rng.randint(*cfg["distractors"])
        kinds = [dict(query) for _ in range(n_t)]
        for _ in range(n_d):
            while True:  # a distractor differs from the query in at least one queried attribute
                o = {"color": rng.choice(colors), "shape": rng.choice(shapes)}
                if not matches(o, query):
                    break
            kinds.append(o)
        rng.shuffle(kinds)
        lo, hi = cfg["radius"]
        pts = D.scatter(rng, len(kinds), cfg["size"], cfg["size"], hi, gap=3)
        objects = []
        for k, (x, y) in zip(kinds, pts, strict=True):
            obj = {"color": k.get("color") or rng.choice(colors), "shape": k.get("shape") or rng.choice(shapes),
                   "x": round(x), "y": round(y), "r": rng.randint(lo, hi)}  # unqueried attribute: random
            objects.append(obj)
        answer = sum(matches(o, query) for o in objects)
        what = describe(query)
        question = f"How many {what} are there? Answer with a number."
        twin = (f"A {cfg['size']}x{cfg['size']} picture shows {len(objects)} object{'s' * (len(objects) > 1)}, "
                f"listed top to bottom: {located_list(objects)}. {question}")
        others = len(objects) - answer
        rest = f", and {others} other object{'s' * (others > 1)}" if others else ""
        solution = f"I count {answer} {describe(query, answer)}{rest}. The answer is {answer}."
        return self.sample(
            seed, level, prompt=self.image_prompt(question), images=(self.picture(D.scene, cfg["size"], objects),),
            answer=str(answer), answer_type="number", text_twin=twin, solution=solution,
            meta={"size": cfg["size"], "query": query, "objects": objects},
        )

    def mixed(self, sample: Sample) -> Sample:
        """Describe about a third of the objects in words and draw the rest; ask for the total."""
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        objects = sample.meta["objects"]
        k = max(1, len(objects) // 3) if len(objects) > 1 else 0
        told = sorted(rng.sample(range(len(objects)), k))
        drawn = [o for i, o in enumerate(objects) if i not in told]
        what = describe(sample.meta["query"])
        said = f" Besides the drawn objects there are {k} more, described here but not drawn: " \
               f"{object_list([objects[i] for i in told])}." if k else ""
        prompt = self.image_prompt(f"The image shows some objects.{said} How many {what} are there in all, "
                                   f"drawn and described? Answer with a number.")
        n_drawn = sum(matches(o, sample.meta["query"]) for o in drawn)
        n_told = int(sample.answer) - n_drawn
        solution = (f"The image has {n_drawn} {describe(sample.meta['query'], n_drawn)} and the text "
                    f"describes {n_told} more, "
                    f"so there are {n_drawn} + {n_told} = {sample.answer}. The answer is {sample.answer}.")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(D.scene(sample.meta["size"], drawn),), solution=solution,
                       meta={**sample.meta, "described": told})
