"""`count`: how many objects of a queried colour and/or shape are in the picture.

The scene is a list of non-overlapping filled shapes. The answer is the number of
objects matching the query; every other object is a distractor that differs from the
query in at least one queried attribute.
"""

from __future__ import annotations

import random
from collections import Counter
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
        queries: the queries the level asks.

    Queries: `how_many` (objects matching the colour/shape query), `total` (all objects), `half`
    (matching objects whose centre lies in the left, right, top or bottom half; no centre within
    3 px of the midline), `more` (how many more of one kind than another), `which_more` (which of
    two kinds is more numerous: choice), `most_colour` (the most common colour: choice). Level 1
    draws one kind of object only, so it asks `how_many`, `total` and `half`.

    Mixed form: a third of the objects are described in words instead of drawn; the
    question asks about the drawn and the described objects together.
    """

    name = "count"
    modality = "image"
    description = "Count the objects of a queried colour/shape among distractors (number)."
    tags = ("counting", "perception")
    forms = ("image", "text", "mixed")
    CHOOSE = "\n{options}\nAnswer with the letter."
    questions = {
        "how_many": {
            "direct": "How many {what} are there? Answer with a number.",
            "imperative": "Count the {what}. Answer with a number.",
            "polite": "Could you tell me how many {what} there are? Answer with a number.",
            "terse": "Number of {what}? Answer with a number.",
        },
        "total": {
            "direct": "How many objects are there in all? Answer with a number.",
            "imperative": "Count all the objects. Answer with a number.",
            "polite": "Could you tell me how many objects there are in all? Answer with a number.",
            "terse": "Objects in all: how many? Answer with a number.",
        },
        "half": {
            "direct": "How many {what} are in the {side} half of the picture? Answer with a number.",
            "imperative": "Count the {what} in the {side} half of the picture. Answer with a number.",
            "polite": "Could you tell me how many {what} are in the {side} half of the picture? Answer with a number.",
            "terse": "Number of {what} in the {side} half? Answer with a number.",
        },
        "more": {
            "direct": "How many more {what} than {other} are there? Answer with a number.",
            "imperative": "Work out how many more {what} there are than {other}. Answer with a number.",
            "polite": "Could you tell me how many more {what} there are than {other}? Answer with a number.",
            "terse": "Count of {what} minus count of {other}? Answer with a number.",
        },
        "which_more": {
            "direct": "Are there more {what} or more {other}?" + CHOOSE,
            "imperative": "Say whether there are more {what} or more {other}." + CHOOSE,
            "polite": "Could you tell me whether there are more {what} or more {other}?" + CHOOSE,
            "terse": "More {what} or more {other}?" + CHOOSE,
        },
        "most_colour": {
            "direct": "Which colour is the most common among the objects?" + CHOOSE,
            "imperative": "Name the most common colour among the objects." + CHOOSE,
            "polite": "Could you tell me which colour is the most common among the objects?" + CHOOSE,
            "terse": "Most common colour?" + CHOOSE,
        },
    }
    ALL = ("how_many", "total", "half", "more", "which_more", "most_colour")
    levels = {
        1: dict(size=64, radius=(10, 10), targets=(1, 4), distractors=(0, 0), query="shape", shapes=1, colors=1,
                queries=("how_many", "total", "half")),
        2: dict(size=80, radius=(9, 9), targets=(1, 5), distractors=(0, 3), query="color+shape", shapes=1, colors=4,
                queries=ALL),
        3: dict(size=128, radius=(10, 12), targets=(1, 6), distractors=(2, 5), query="any", shapes=3, colors=4,
                queries=ALL),
        4: dict(size=160, radius=(10, 12), targets=(1, 8), distractors=(3, 8), query="color+shape", shapes=4,
                colors=5, queries=ALL),
        5: dict(size=224, radius=(8, 12), targets=(2, 12), distractors=(6, 14), query="color+shape", shapes=6,
                colors=8, queries=ALL),
        6: dict(size=256, radius=(7, 11), targets=(3, 15), distractors=(10, 20), query="color+shape", shapes=6,
                colors=10, queries=ALL),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        for _ in range(200):  # queries other than how_many/total redraw until the scene can answer them
            query, objects = self.scene(rng, cfg)
            asked = self.question(rng, query, objects, cfg["size"])
            if asked is not None:
                break
        else:
            raise RuntimeError(f"count L{level}: no scene for query {self.query!r} in 200 draws")
        slots, answer, choices, solution = asked
        question = self.ask(**slots)
        twin = (f"A {cfg['size']}x{cfg['size']} picture shows {len(objects)} object{'s' * (len(objects) > 1)}, "
                f"listed top to bottom: {located_list(objects)}. {question}")
        return self.sample(
            seed, level, prompt=self.image_prompt(question), images=(self.picture(D.scene, cfg["size"], objects),),
            answer=answer, answer_type="choice" if choices else "number", choices=choices, text_twin=twin,
            solution=solution, meta={"size": cfg["size"], "query": query, "objects": objects, "ask": question},
        )

    @staticmethod
    def scene(rng: random.Random, cfg: dict[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """The colour/shape query and the objects (targets and distractors, placed without overlap)."""
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
        return query, objects

    def question(self, rng: random.Random, query: dict[str, str], objects: list[dict[str, Any]], size: int):
        """(slots, answer, choices, solution) of the current query about the scene, or None when the
        scene cannot answer it uniquely (no second kind, equal counts, a tie for the most common colour)."""
        n = sum(matches(o, query) for o in objects)
        if self.query == "how_many":
            others = len(objects) - n
            rest = f", and {others} other object{'s' * (others > 1)}" if others else ""
            return {"what": describe(query)}, str(n), None, \
                f"I count {n} {describe(query, n)}{rest}. The answer is {n}."
        if self.query == "total":
            return {}, str(len(objects)), None, f"I count {len(objects)} objects in all. The answer is {len(objects)}."
        if self.query == "half":
            side = rng.choice(("left", "right", "top", "bottom"))
            axis, mid = ("x" if side in ("left", "right") else "y"), size / 2
            if any(abs(o[axis] - mid) < 3 for o in objects if matches(o, query)):
                return None  # a centre on the midline: which half it is in is not clear to the eye
            inside = [o for o in objects if matches(o, query) and (o[axis] < mid) == (side in ("left", "top"))]
            k = len(inside)
            where = ", ".join(f"({o['x']}, {o['y']})" for o in inside) or "none"
            return {"what": describe(query), "side": side}, str(k), None, \
                f"The {side} half has {axis} {'<' if side in ('left', 'top') else '>'} {mid:g}; the {describe(query)} " \
                f"there are at {where}: {k}. The answer is {k}."
        if self.query == "most_colour":
            tally = Counter(o["color"] for o in objects).most_common()
            if len(tally) < 2 or tally[0][1] == tally[1][1]:
                return None
            options = sorted(c for c, _ in tally)
            said = ", ".join(f"{c} {k}" for c, k in tally)
            letter = D.letters(len(options))[options.index(tally[0][0])]
            return {"options": D.choice_block(options)}, letter, tuple(options), \
                f"Counting by colour: {said}; {tally[0][0]} is the most common. The answer is {letter}."
        groups = Counter(tuple(o[k] for k in query) for o in objects)
        others = [g for g, k in groups.items() if g != tuple(query.values()) and k != n]
        if not others:
            return None
        other = dict(zip(query, rng.choice(sorted(others)), strict=True))
        m = groups[tuple(other.values())]
        (big, nb), (small, ns) = sorted(((query, n), (other, m)), key=lambda p: -p[1])
        counted = f"I count {n} {describe(query, n)} and {m} {describe(other, m)}"
        if self.query == "more":
            slots = {"what": describe(big), "other": describe(small)}
            return slots, str(nb - ns), None, f"{counted}, so there are {nb} - {ns} = {nb - ns} more " \
                                              f"{describe(big)}. The answer is {nb - ns}."
        first, second = (query, other) if rng.random() < 0.5 else (other, query)
        options = [describe(first), describe(second)]
        letter = "AB"[options.index(describe(big))]
        slots = {"what": options[0], "other": options[1], "options": D.choice_block(options)}
        return slots, letter, tuple(options), f"{counted}, so there are more {describe(big)}. The answer is {letter}."

    def mixed(self, sample: Sample) -> Sample:
        """Describe about a third of the objects in words, with their positions, and draw the rest; ask
        about all of them. (The positions keep two problems that differ only in a described object's
        place apart, as the key and the twin keep them.)"""
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        objects = sample.meta["objects"]
        k = max(1, len(objects) // 3) if len(objects) > 1 else 0
        told = sorted(rng.sample(range(len(objects)), k))
        drawn = [o for i, o in enumerate(objects) if i not in told]
        what = describe(sample.meta["query"])
        variant = self.variant_of(sample)
        said = f" Besides the drawn objects there are {k} more, described here but not drawn: " \
               f"{located_list([objects[i] for i in told])}." if k else ""
        if variant.query != "how_many":  # any other question is asked of the drawn and described objects together
            prompt = self.image_prompt(f"The image shows some objects.{said} Counting the drawn and the described "
                                       f"objects together: {sample.meta['ask']}")
            return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                           images=(D.scene(sample.meta["size"], drawn),), meta={**sample.meta, "described": told})
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
