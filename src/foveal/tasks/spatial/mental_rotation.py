"""Mental rotation: is a shape the reference turned, or its mirror image? Which candidate is the
turn, by what angle, about which mirror line? (2-D polyominoes)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, letters, text

Cells = frozenset[tuple[int, int]]
SQUARE_COLORS = ("blue", "red", "green", "orange", "purple", "cyan", "brown")
ANGLES = ("90°", "180°", "270°")
FLIPS = ("flipped left-right (about a vertical line)", "flipped top-bottom (about a horizontal line)")


def normalize(cells) -> Cells:
    """Translate so the smallest row and column are 0."""
    r0, c0 = min(r for r, _ in cells), min(c for _, c in cells)
    return frozenset((r - r0, c - c0) for r, c in cells)


def rotate(cells, quarter_turns: int) -> Cells:
    """Rotate clockwise by quarter_turns × 90° (row down, column right)."""
    for _ in range(quarter_turns % 4):
        cells = [(c, -r) for r, c in cells]
    return normalize(cells)


def mirror(cells) -> Cells:
    """Mirror left-right."""
    return normalize([(r, -c) for r, c in cells])


def grow(rng: random.Random, k: int) -> Cells:
    """A random connected polyomino of k cells."""
    cells = {(0, 0)}
    while len(cells) < k:
        r, c = rng.choice(sorted(cells))
        dr, dc = rng.choice(((0, 1), (1, 0), (0, -1), (-1, 0)))
        cells.add((r + dr, c + dc))
    return normalize(cells)


def ascii_art(cells: Cells) -> str:
    rows, cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
    return "\n".join("".join("#" if (r, c) in cells else "." for c in range(cols)) for r in range(rows))


@register
class MentalRotation(Task):
    """A reference polyomino and one or more other shapes, each the reference turned (by 90°, 180°
    or 270°, clockwise) or its mirror image, turned. Shapes are chiral, so the two never coincide.

    Queries:
        "mirror": is the one other shape the reference rotated, or its mirror image? (choice of two)
        "pick": which of `candidates` shapes is the reference rotated (exactly one is; the others
            are distinct mirror images)?
        "angle": by how many degrees clockwise is the other shape the reference turned (a
            reference with four distinct quarter turns, so the angle is unique)?
        "flip": is the other shape the reference flipped left-right or top-bottom (a reference
            whose half turn differs from it, so the two flips differ)?
    Knobs per level:
        cells: squares in the shape (more squares = harder to match).
        candidates: how many shapes "pick" offers (at least 2).
        panel: pixels per panel.
        jitter: each shape sits up to `jitter` px off its panel's centre (each way), stated in the twin.
    Every draw also picks the squares' colour (SQUARE_COLORS) and their size (9-14 px, capped so
    the shape fits its panel), both stated in the twin.
    """

    name = "mental_rotation"
    description = "Mental rotation: rotated copy or mirror image of a polyomino; which candidate, what angle, which flip"
    tags = ("spatial",)
    forms = ("image", "text", "mixed")
    questions = {
        "mirror": {
            "direct": "Is the shape marked '?' the reference shape rotated in the plane, or its mirror image?",
            "imperative": "Decide whether the shape marked '?' is the reference shape rotated in the plane or its mirror image.",
            "polite": "Could you tell me whether the shape marked '?' is the reference shape rotated in the plane, or its mirror image?",
            "terse": "Shape '?': the reference rotated in the plane, or its mirror image?",
        },
        "pick": {
            "direct": "Which candidate is the reference shape rotated in the plane (not mirrored)?",
            "imperative": "Find the candidate that is the reference shape rotated in the plane (not mirrored).",
            "polite": "Could you tell me which candidate is the reference shape rotated in the plane (not mirrored)?",
            "terse": "Reference rotated in the plane (not mirrored): which candidate?",
        },
        "angle": {
            "direct": "The shape marked '?' is the reference shape turned clockwise in the plane. By how many degrees?",
            "imperative": "The shape marked '?' is the reference shape turned clockwise in the plane. Give the angle of the turn.",
            "polite": "The shape marked '?' is the reference shape turned clockwise in the plane. Could you tell me by how many degrees?",
            "terse": "Shape '?' = reference turned clockwise. Angle?",
        },
        "flip": {
            "direct": "The shape marked '?' is the reference shape flipped over once, without turning. Which flip is it?",
            "imperative": "The shape marked '?' is the reference shape flipped over once, without turning. Name the flip.",
            "polite": "The shape marked '?' is the reference shape flipped over once, without turning. Could you tell me which flip it is?",
            "terse": "Shape '?' = reference flipped once, no turn. Which flip?",
        },
    }
    levels = {
        1: {"cells": 4, "candidates": 2, "panel": 64, "jitter": 4},
        2: {"cells": 5, "candidates": 2, "panel": 64, "jitter": 4},
        3: {"cells": 6, "candidates": 2, "panel": 64, "jitter": 3},
        4: {"cells": 7, "candidates": 3, "panel": 64, "jitter": 3},
        5: {"cells": 8, "candidates": 4, "panel": 64, "jitter": 2},
        6: {"cells": 10, "candidates": 4, "panel": 72, "jitter": 2},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        query = self.query
        n = max(2, cfg["candidates"]) if query == "pick" else 1
        while True:
            ref = grow(rng, cfg["cells"])
            rots = {rotate(ref, k) for k in range(4)}
            mirrors = {rotate(mirror(ref), k) for k in range(4)}
            if rots & mirrors or len(mirrors) < n - 1:
                continue  # not chiral, or too few distinct mirror images for the candidates
            if (query == "angle" and len(rots) < 4) or (query == "flip" and rotate(ref, 2) == ref):
                continue  # the angle or the flip would not be unique
            break
        if query == "mirror":
            same = rng.random() < 0.5
            cands = [rotate(ref, rng.randrange(1, 4)) if same else rotate(mirror(ref), rng.randrange(4))]
            choices, answer = ("the same shape, rotated", "a mirror image"), "A" if same else "B"
            sol = ("Turning the reference by quarter turns reproduces the right shape exactly, so it is the same shape rotated. Answer: A."
                   if same else "No quarter turn of the reference matches the right shape, but a turn of its mirror image does, so it is a mirror image. Answer: B.")
        elif query == "pick":
            cands = rng.sample(sorted(mirrors, key=sorted), n - 1)
            pos = rng.randrange(n)
            cands.insert(pos, rotate(ref, rng.randrange(1, 4)))
            answer = letters(n)[pos]
            choices = tuple(f"candidate {x}" for x in letters(n))
            sol = f"Only candidate {answer} matches a quarter turn of the reference; the others match only after flipping it. Answer: {answer}."
        elif query == "angle":
            k = rng.randrange(1, 4)
            cands, choices, answer = [rotate(ref, k)], ANGLES, letters(3)[k - 1]
            sol = f"Turning the reference clockwise by {ANGLES[k - 1]} reproduces the shape marked '?'; no other quarter turn does. The answer is {answer}."
        else:
            k = rng.randrange(2)
            cands, choices, answer = [mirror(ref) if k == 0 else rotate(mirror(ref), 2)], FLIPS, letters(2)[k]
            sol = f"The shape marked '?' is the reference {FLIPS[k]}; the other flip gives a different shape. The answer is {answer}."
        names = ["reference"] + ([f"candidate {x}" for x in letters(n)] if n > 1 else ["shape marked '?'"])
        labels = ["ref"] + (letters(n) if n > 1 else ["?"])
        color = rng.choice(SQUARE_COLORS)
        cell = rng.randint(9, 14)
        j = cfg["jitter"]
        offsets = [(rng.randint(-j, j), rng.randint(-j, j)) for _ in range(n + 1)]
        look = {"color": color, "cell": cell, "offsets": [list(o) for o in offsets], "jitter": j}
        ask = f"{self.ask()}\n{choice_block(list(choices))}\nAnswer with the letter."
        shapes = [ref] + cands
        img = self.picture(self.render, shapes, labels, cfg["panel"], look)
        sizes = [fit(c, cfg["panel"], cell, j) for c in shapes]
        twin = (f"Shapes are drawn on a grid, '#' a filled square and '.' empty; the squares are {color}, and each "
                "shape is drawn at the centre of its own panel, moved by the offset given (pixels right, down).\n"
                + "\n".join(f"{nm[0].upper() + nm[1:]} ({sz} px squares, offset {dx:+d}, {dy:+d}):\n{ascii_art(c)}"
                            for nm, c, sz, (dx, dy) in zip(names, shapes, sizes, offsets, strict=True)) + f"\n{ask}")
        return self.sample(seed, level, prompt=self.image_prompt(
            f"The picture shows a reference shape (labelled 'ref') and {'another shape' if n == 1 else 'candidate shapes'} made of squares.\n{ask}"),
            images=(img,), answer=answer, answer_type="choice", choices=choices, text_twin=twin, solution=sol,
            meta={"shapes": [sorted(map(list, c)) for c in shapes], "candidates": n, "panel": cfg["panel"],
                  **look})

    @staticmethod
    def render(shapes: list[Cells], labels: list[str], panel: int, look: dict[str, Any], first: int = 0):
        """One panel per shape; `look` gives the colour, square size, jitter and offsets (`first`:
        index of the first shape's offset in `look["offsets"]`)."""
        img = canvas(panel * len(shapes), panel + 16)
        d = ImageDraw.Draw(img)
        for i, (cells, lab) in enumerate(zip(shapes, labels, strict=True)):
            rows, cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
            cell = fit(cells, panel, look["cell"], look["jitter"])
            dx, dy = look["offsets"][first + i]
            x0 = i * panel + (panel - cols * cell) // 2 + dx
            y0 = 16 + (panel - rows * cell) // 2 + dy
            for r, c in cells:
                d.rectangle([x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell, y0 + (r + 1) * cell],
                            fill=D.rgb(look["color"]), outline=S.current().background)
            text(d, (i * panel + panel / 2, 8), lab, size=12)
            if i:
                d.line([(i * panel, 16), (i * panel, panel + 16)], fill=(170, 170, 170))
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The reference shape spelled out as a grid in words, with the square size and offset the twin
        gives it (so two problems that differ only there keep apart); only the other shape(s) drawn."""
        m = sample.meta
        ref, *cands = m["shapes"]
        n = m["candidates"]
        labels = ["?"] if n == 1 else letters(n)
        img = self.render([frozenset(map(tuple, c)) for c in cands], labels, m["panel"], m, first=1)
        cells = frozenset(map(tuple, ref))
        size, (dx, dy) = fit(cells, m["panel"], m["cell"], m["jitter"]), m["offsets"][0]
        what = "the shape in the picture" if n == 1 else "the candidate shapes in the picture"
        ask = sample.prompt.split("\n", 2)[2]
        prompt = self.image_prompt(f"The reference shape ({size} px squares, offset {dx:+d}, {dy:+d} in its own panel, "
                                   f"not shown), on a grid ('#' a filled square, '.' empty):\n{ascii_art(cells)}\n"
                                   f"Compare it with {what}.\n{ask}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")


def fit(cells, panel: int, cell: int, jitter: int) -> int:
    """The square size a shape is drawn at: `cell`, shrunk so the shape and its offset fit the panel."""
    rows, cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
    return min(cell, (panel - 10 - 2 * jitter) // max(rows, cols))
