"""Grounding: give the pixel bounding box of the described object (VLM-R³ / UI-R1-style box answers)."""

from __future__ import annotations

import random
from typing import Any

from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, rgb, scatter, shape

SHAPES = ("circle", "square", "triangle", "star")
QUADRANTS = ("top left", "top right", "bottom left", "bottom right")
PCOLORS = ("red", "blue", "green", "yellow", "purple", "orange")
RADII = {"small": 8, "large": 14}
BOX_RULE = ("Give the box as [x1, y1, x2, y2] in pixels: (x1, y1) is its top-left corner and (x2, y2) its "
            "bottom-right corner, with x counted from the left edge and y from the top edge (the top-left pixel is (0, 0)).")


def shape_box(kind: str, cx: int, cy: int, r: int) -> list[int]:
    """The inclusive pixel box [x1, y1, x2, y2] that `draw.shape` fills, found by drawing the shape
    on a small mask (exact, whatever the rasteriser rounds)."""
    pad = r + 2
    mask = Image.new("L", (2 * pad + 1, 2 * pad + 1), 0)
    shape(ImageDraw.Draw(mask), kind, pad, pad, r, 255)
    x1, y1, x2, y2 = mask.getbbox()
    return [cx - pad + x1, cy - pad + y1, cx - pad + x2 - 1, cy - pad + y2 - 1]


def phrase(o: dict[str, Any], with_size: bool) -> str:
    return f"{o['size'] + ' ' if with_size else ''}{o['color']} {o['shape']}"


@register
class Locate(Task):
    """Shapes on a canvas; answer the pixel box of the one object the question describes.

    The description is unique by construction: distractors share the target's colour or shape
    (and, from level 3, a same-coloured same-shaped object of the other size; at level 5 the
    target is "the leftmost/rightmost/topmost/bottommost" of several look-alikes, ≥12 px apart
    along that axis).
    Queries: "box" (the described object's pixel box), "quadrant" (the quarter of the image its centre
    lies in; choice; objects centred on a midline are redrawn), "count" (objects of a named colour;
    number), "shape" (the described object's shape; level 1 only, where the description names no
    shape). `meta["about"]` holds the boxes of the objects the question is about. Geometry never
    depends on the style.

    Knobs per level:
        size: canvas side in pixels (stated in the prompt).
        objects: number of objects.
        describe: "color" | "color_shape" | "size" | "extreme" (how the target is singled out).
        queries: the queries the level asks.
    """

    name = "locate"
    questions = {
        "box": {
            "direct": "Locate {what}.",
            "imperative": "Find {what} and give its box.",
            "polite": "Could you locate {what}?",
            "terse": "Box of {what}?",
        },
        "quadrant": {
            "direct": "In which quarter of the image is {what}?",
            "imperative": "Name the quarter of the image that holds {what}.",
            "polite": "Could you tell me in which quarter of the image {what} is?",
            "terse": "Quarter holding {what}?",
        },
        "count": {
            "direct": "How many {colour} objects are there?",
            "imperative": "Count the {colour} objects.",
            "polite": "Could you tell me how many {colour} objects there are?",
            "terse": "Number of {colour} objects?",
        },
        "shape": {
            "direct": "What shape is {what}?",
            "imperative": "Name the shape of {what}.",
            "polite": "Could you tell me what shape {what} is?",
            "terse": "Shape of {what}?",
        },
    }
    description = "Grounding: pixel bounding box of the described object"
    tags = ("grounding", "perception")
    levels = {
        1: {"size": 128, "objects": 3, "describe": "color", "queries": ("box", "quadrant", "count", "shape")},
        2: {"size": 128, "objects": 5, "describe": "color_shape", "queries": ("box", "quadrant", "count")},
        3: {"size": 160, "objects": 7, "describe": "size", "queries": ("box", "quadrant", "count")},
        4: {"size": 192, "objects": 10, "describe": "size", "queries": ("box", "quadrant", "count")},
        5: {"size": 224, "objects": 12, "describe": "extreme", "queries": ("box", "quadrant", "count")},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        size, n, how = cfg["size"], cfg["objects"], cfg["describe"]
        query = self.query
        while True:
            objs = self.scene(rng, size, n, how)
            target, text_ = self.pick(rng, objs, how)
            if target is not None and (query != "quadrant" or size / 2 not in (target["x"], target["y"])):
                break
        box = shape_box(target["shape"], target["x"], target["y"], target["r"])
        about, choices, answer_type, fmt = [box], None, "choice", "Answer with the letter."
        centre = f"{text_[0].upper() + text_[1:]} is centred near ({target['x']}, {target['y']})"
        if query == "box":
            answer, answer_type = f"[{box[0]}, {box[1]}, {box[2]}, {box[3]}]", "box"
            q = f"{self.ask(what=text_)} {BOX_RULE}"
            sol = f"{centre} with radius about {target['r']} px, so its box is {answer}. Answer: {answer}."
        elif query == "quadrant":
            options = list(QUADRANTS)
            k = 2 * (target["y"] > size / 2) + (target["x"] > size / 2)
            choices, answer = tuple(options), "ABCD"[k]
            q = f"{self.ask(what=text_)}\n{choice_block(options)}"
            sol = (f"{centre}; the image's middle is at {size // 2}, so it lies in the {options[k]} quarter. "
                   f"Answer: {answer}.")
        elif query == "count":
            colour = rng.choice(PCOLORS)
            hits = [o for o in objs if o["color"] == colour]
            about = [shape_box(o["shape"], o["x"], o["y"], o["r"]) for o in hits]
            answer, answer_type, fmt = str(len(hits)), "number", "Answer with a number."
            q = self.ask(colour=colour)
            sol = (f"The {colour} objects are " + ("; ".join(f"the {phrase(o, True)} at ({o['x']}, {o['y']})" for o in hits)
                   or "none") + f": {len(hits)}. Answer: {answer}.")
        else:
            options = list(SHAPES)
            choices, answer = tuple(options), "ABCD"[options.index(target["shape"])]
            q = f"{self.ask(what=text_)}\n{choice_block(options)}"
            sol = f"{centre} and is a {target['shape']}. Answer: {answer}."
        if query != "box":
            q = f"{q} {fmt}" if "\n" not in q else f"{q}\n{fmt}"
        listing = "; ".join(f"a {phrase(o, True)} with box {shape_box(o['shape'], o['x'], o['y'], o['r'])}" for o in objs)
        return self.sample(seed, level, prompt=self.image_prompt(f"The image is {size}×{size} pixels.\n{q}"),
                           images=(self.picture(self.render, objs, size),), answer=answer, answer_type=answer_type,
                           choices=choices,
                           text_twin=f"A {size}×{size}-pixel image shows {len(objs)} objects: {listing}.\n{q}", solution=sol,
                           meta={"objects": objs, "target": objs.index(target), "size": size, "box": box,
                                 "about": about, "query": query})

    @staticmethod
    def scene(rng: random.Random, size: int, n: int, how: str) -> list[dict[str, Any]]:
        pts = scatter(rng, n, size, size, RADII["large"] + 1, gap=4)
        base = {"shape": rng.choice(SHAPES), "color": rng.choice(PCOLORS)}
        objs = []
        for i, (x, y) in enumerate(pts):
            o = {"shape": rng.choice(SHAPES), "color": rng.choice(PCOLORS),
                 "size": rng.choice(("small", "large")) if how in ("size", "extreme") else "large"}
            if how == "extreme" and i < 3:
                o.update(base)  # look-alikes, one of which is the extreme
            elif how == "size" and i < 2:
                o.update(base, size=("small", "large")[i])
            o.update(x=round(x), y=round(y), r=RADII[o["size"]])
            objs.append(o)
        return objs

    @staticmethod
    def pick(rng: random.Random, objs: list[dict[str, Any]], how: str):
        """(target, its unique description) or (None, "") when this scene has no clean target."""
        key = {"color": lambda o: (o["color"],), "color_shape": lambda o: (o["color"], o["shape"]),
               "size": lambda o: (o["size"], o["color"], o["shape"]), "extreme": lambda o: (o["color"], o["shape"])}[how]
        if how == "extreme":
            group = [o for o in objs if key(o) == key(objs[0])]
            axis, pickf, word = rng.choice([("x", min, "leftmost"), ("x", max, "rightmost"), ("y", min, "topmost"), ("y", max, "bottommost")])
            t = pickf(group, key=lambda o: o[axis])
            if all(abs(o[axis] - t[axis]) >= 12 for o in group if o is not t):
                return t, f"the {word} {t['color']} {t['shape']}"
            return None, ""
        unique = [o for o in objs if sum(key(p) == key(o) for p in objs) == 1]
        if how == "size":
            unique = [o for o in unique if any(p is not o and p["color"] == o["color"] and p["shape"] == o["shape"] for p in objs)]
        if how == "color_shape":
            unique = [o for o in unique if any(p is not o and (p["color"] == o["color"] or p["shape"] == o["shape"]) for p in objs)]
        if not unique:
            return None, ""
        t = rng.choice(unique)
        return t, {"color": f"the {t['color']} object", "color_shape": f"the {t['color']} {t['shape']}",
                   "size": f"the {t['size']} {t['color']} {t['shape']}"}[how]

    @staticmethod
    def render(objs: list[dict[str, Any]], size: int):
        img = canvas(size)
        d = ImageDraw.Draw(img)
        for o in objs:
            shape(d, o["shape"], o["x"], o["y"], o["r"], rgb(o["color"]))
        return img
