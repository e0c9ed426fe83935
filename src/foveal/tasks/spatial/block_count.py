"""Isometric block counting: how many cubes are in a stack (or missing from a full box)."""

from __future__ import annotations

import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas

TOP, LEFT, RIGHT, EDGE = (150, 190, 250), (70, 120, 210), (35, 70, 150), (20, 20, 40)
FLOOR = (225, 225, 225)


def stack_heights(rng: random.Random, n: int, hmax: int) -> list[list[int]]:
    """A random height map that never grows toward the viewer: h[r][c] ≤ h[r-1][c] and ≤ h[r][c-1].

    With that shape (a plane partition) every column's top face is visible in the isometric
    view from the front, so the count is fully determined by the picture.
    """
    h = [[0] * n for _ in range(n)]
    for r in range(n):
        for c in range(n):
            cap = min(h[r - 1][c] if r else hmax, h[r][c - 1] if c else hmax)
            h[r][c] = rng.randint(max(0, cap - 2) if (r, c) != (0, 0) else max(1, hmax - 1), cap)
    return h


@register
class BlockCount(Task):
    """Unit cubes stacked in columns on an n×n floor grid, drawn in isometric view with the floor tiles.

    Columns stand on the floor with no gaps and never get taller toward the viewer, so no cube
    is hidden without its column top being visible.
    Knobs per level:
        n: the floor is n×n tiles.
        hmax: tallest column.
        question: "total" (how many cubes) or "missing" (how many more cubes fill the
            n×n×hmax box, which takes one subtraction more).
        a: half-width of a tile in pixels (cube edges are ≥ a px).
    """

    name = "block_count"
    description = "Isometric cube stacks: count the cubes, or the cubes missing from a full box"
    tags = ("counting", "spatial")
    levels = {
        1: {"n": 2, "hmax": 2, "question": "total", "a": 18},
        2: {"n": 3, "hmax": 3, "question": "total", "a": 14},
        3: {"n": 3, "hmax": 4, "question": "total", "a": 13},
        4: {"n": 4, "hmax": 4, "question": "total", "a": 12},
        5: {"n": 4, "hmax": 4, "question": "missing", "a": 12},
        6: {"n": 5, "hmax": 5, "question": "missing", "a": 11},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, hmax = cfg["n"], cfg["hmax"]
        while True:
            h = stack_heights(rng, n, hmax)
            total = sum(map(sum, h))
            if total >= 2 and (cfg["question"] == "total" or total < n * n * hmax):
                break
        rule = ("Cubes are stacked in columns standing on the grey floor grid, with no gaps under any cube; "
                "columns never get taller toward the viewer.")
        heights = "; ".join(f"row {r + 1}: " + " ".join(map(str, row)) for r, row in enumerate(h))
        if cfg["question"] == "total":
            q = "How many cubes are there in total? Answer with a number."
            answer = str(total)
            sol = f"Adding the column heights ({' + '.join(str(v) for row in h for v in row if v)}) gives {total}. Answer: {answer}."
        else:
            box = n * n * hmax
            q = f"The floor is {n}×{n} tiles. How many more cubes are needed to fill the whole {n}×{n}×{hmax} box (every column {hmax} cubes tall)? Answer with a number."
            answer = str(box - total)
            sol = f"The stack has {total} cubes and the full box holds {n}×{n}×{hmax} = {box}, so {box} − {total} = {answer} are missing. Answer: {answer}."
        twin = (f"Unit cubes are stacked in columns on a {n}×{n} floor grid, with no gaps under any cube. "
                f"The column heights, row by row from the back row to the front, each row left to right, are: {heights}.\n{q}")
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows a stack of unit cubes in isometric view. {rule}\n{q}"),
                           images=(self.picture(self.render, h, hmax, cfg["a"]),), answer=answer, answer_type="number", text_twin=twin,
                           solution=sol, meta={"heights": h, "hmax": hmax, "question": cfg["question"], "a": cfg["a"]})

    @staticmethod
    def render(h: list[list[int]], hmax: int, a: int):
        """Painter's algorithm from back (small r, c, z) to front; row r runs toward the front-left."""
        n = len(h)
        w, ht = 2 * n * a + 8, n * a + hmax * a + 8
        img = canvas(w, ht)
        d = ImageDraw.Draw(img)
        ox, oy = n * a + 4, hmax * a + 4

        def p(r: float, c: float, z: float) -> tuple[float, float]:
            return ox + (c - r) * a, oy + (c + r) * a / 2 - z * a

        for r in range(n):
            for c in range(n):
                d.polygon([p(r, c, 0), p(r, c + 1, 0), p(r + 1, c + 1, 0), p(r + 1, c, 0)], fill=FLOOR, outline=(170, 170, 170))
        for r in range(n):
            for c in range(n):
                for z in range(h[r][c]):
                    d.polygon([p(r, c, z + 1), p(r, c + 1, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c, z + 1)], fill=TOP, outline=EDGE)
                    d.polygon([p(r + 1, c, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c + 1, z), p(r + 1, c, z)], fill=LEFT, outline=EDGE)
                    d.polygon([p(r, c + 1, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c + 1, z), p(r, c + 1, z)], fill=RIGHT, outline=EDGE)
        return img
