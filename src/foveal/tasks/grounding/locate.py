"""Grounding: give the pixel bounding box of the described object (VLM-R³ / UI-R1-style box answers)."""

from __future__ import annotations

import random
from typing import Any

from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import COLORS, canvas, scatter, shape

SHAPES = ("circle", "square", "triangle", "star")
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
    Knobs per level:
        size: canvas side in pixels (stated in the prompt).
        objects: number of objects.
        describe: "color" | "color_shape" | "size" | "extreme" (how the target is singled out).
    """

    name = "locate"
    description = "Grounding: pixel bounding box of the described object"
    tags = ("grounding", "perception")
    levels = {
        1: {"size": 128, "objects": 3, "describe": "color"},
        2: {"size": 128, "objects": 5, "describe": "color_shape"},
        3: {"size": 160, "objects": 7, "describe": "size"},
        4: {"size": 192, "objects": 10, "describe": "size"},
        5: {"size": 224, "objects": 12, "describe": "extreme"},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        size, n, how = cfg["size"], cfg["objects"], cfg["describe"]
        while True:
            objs = self.scene(rng, size, n, how)
            target, text_ = self.pick(rng, objs, how)
            if target is not None:
                break
        box = shape_box(target["shape"], target["x"], target["y"], target["r"])
        answer = f"[{box[0]}, {box[1]}, {box[2]}, {box[3]}]"
        q = f"Locate {text_}. {BOX_RULE}"
        listing = "; ".join(f"a {phrase(o, True)} with box {shape_box(o['shape'], o['x'], o['y'], o['r'])}" for o in objs)
        sol = f"{text_[0].upper() + text_[1:]} is centred near ({target['x']}, {target['y']}) with radius about {target['r']} px, so its box is {answer}. Answer: {answer}."
        return self.sample(seed, level, prompt=self.image_prompt(f"The image is {size}×{size} pixels.\n{q}"),
                           images=(self.picture(self.render, objs, size),), answer=answer, answer_type="box",
                           text_twin=f"A {size}×{size}-pixel image shows {len(objs)} objects: {listing}.\n{q}", solution=sol,
                           meta={"objects": objs, "target": objs.index(target), "size": size, "box": box})

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
            shape(d, o["shape"], o["x"], o["y"], o["r"], COLORS[o["color"]])
        return img
