"""Mental rotation: is a shape the reference turned, or its mirror image? (2-D polyominoes)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import COLORS, canvas, choice_block, letters, text

Cells = frozenset[tuple[int, int]]


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
    """A reference polyomino and candidates, each either the reference rotated (by 90°, 180° or 270°)
    or its mirror image rotated. Shapes are chiral, so the two cases never coincide.

    Knobs per level:
        cells: squares in the shape (more squares = harder to match).
        candidates: 1 = "same or mirrored?" (choice of two); n > 1 = "which candidate is the
            reference rotated?" with exactly one rotation and n-1 distinct mirror images.
        panel: pixels per panel.
    """

    name = "mental_rotation"
    description = "Mental rotation: rotated copy or mirror image of a polyomino"
    tags = ("spatial",)
    forms = ("image", "text", "mixed")
    levels = {
        1: {"cells": 4, "candidates": 1, "panel": 64},
        2: {"cells": 5, "candidates": 1, "panel": 64},
        3: {"cells": 6, "candidates": 2, "panel": 64},
        4: {"cells": 7, "candidates": 3, "panel": 64},
        5: {"cells": 8, "candidates": 4, "panel": 64},
        6: {"cells": 10, "candidates": 4, "panel": 72},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        while True:
            ref = grow(rng, cfg["cells"])
            rots = {rotate(ref, k) for k in range(4)}
            mirrors = {rotate(mirror(ref), k) for k in range(4)}
            if not rots & mirrors and len(mirrors) >= cfg["candidates"] - 1:
                break  # chiral, with enough distinct mirror images for the candidates
        n = cfg["candidates"]
        if n == 1:
            same = rng.random() < 0.5
            cands = [rotate(ref, rng.randrange(1, 4)) if same else rotate(mirror(ref), rng.randrange(4))]
            answer = "A" if same else "B"
            choices = ("the same shape, rotated", "a mirror image")
            q = "Is the shape marked '?' the reference shape rotated in the plane, or its mirror image?"
        else:
            cands = rng.sample(sorted(mirrors, key=sorted), n - 1)
            pos = rng.randrange(n)
            cands.insert(pos, rotate(ref, rng.randrange(1, 4)))
            answer = letters(n)[pos]
            choices = tuple(f"candidate {x}" for x in letters(n))
            q = "Which candidate is the reference shape rotated in the plane (not mirrored)?"
        names = ["reference"] + ([] if n == 1 else [f"candidate {x}" for x in letters(n)])
        if n == 1:
            names.append("shape marked '?'")
        is_rot = [c in rots for c in cands]
        ask = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        img = self.picture(self.render, [ref] + cands, ["ref"] + (["?"] if n == 1 else letters(n)), cfg["panel"])
        twin = ("Shapes are drawn on a grid, '#' a filled square and '.' empty.\n"
                + "\n".join(f"{nm.capitalize()}:\n{ascii_art(c)}" for nm, c in zip(names, [ref] + cands, strict=False)) + f"\n{ask}")
        if n == 1:
            sol = ("Turning the reference by quarter turns reproduces the right shape exactly, so it is the same shape rotated. Answer: A."
                   if is_rot[0] else "No quarter turn of the reference matches the right shape, but a turn of its mirror image does, so it is a mirror image. Answer: B.")
        else:
            sol = f"Only candidate {answer} matches a quarter turn of the reference; the others match only after flipping it. Answer: {answer}."
        return self.sample(seed, level, prompt=self.image_prompt(
            f"The picture shows a reference shape (labelled 'ref') and {'another shape' if n == 1 else 'candidate shapes'} made of squares.\n{ask}"),
            images=(img,), answer=answer, answer_type="choice", choices=choices, text_twin=twin, solution=sol,
            meta={"shapes": [sorted(map(list, c)) for c in [ref] + cands], "candidates": n, "panel": cfg["panel"]})

    @staticmethod
    def render(shapes: list[Cells], labels: list[str], panel: int):
        img = canvas(panel * len(shapes), panel + 16)
        d = ImageDraw.Draw(img)
        for i, (cells, lab) in enumerate(zip(shapes, labels, strict=False)):
            rows, cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
            cell = min(14, (panel - 10) // max(rows, cols))
            x0 = i * panel + (panel - cols * cell) // 2
            y0 = 16 + (panel - rows * cell) // 2
            for r, c in cells:
                d.rectangle([x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell, y0 + (r + 1) * cell],
                            fill=COLORS["blue"], outline=(255, 255, 255))
            text(d, (i * panel + panel / 2, 8), lab, size=12)
            if i:
                d.line([(i * panel, 16), (i * panel, panel + 16)], fill=(170, 170, 170))
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The reference shape spelled out as a grid in words; only the other shape(s) drawn."""
        m = sample.meta
        ref, *cands = m["shapes"]
        n = m["candidates"]
        labels = ["?"] if n == 1 else letters(n)
        img = self.render(cands, labels, m["panel"])
        art = ascii_art(frozenset(map(tuple, ref)))
        what = "the shape in the picture" if n == 1 else "the candidate shapes in the picture"
        ask = sample.prompt.split("\n", 2)[2]
        prompt = self.image_prompt(f"The reference shape, drawn on a grid ('#' a filled square, '.' empty):\n{art}\n"
                                   f"Compare it with {what}.\n{ask}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
