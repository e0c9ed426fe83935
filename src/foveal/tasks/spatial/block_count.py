"""Isometric block counting: how many cubes are in a stack, missing from a full box, in one column,
or how many floor tiles stay empty."""

from __future__ import annotations

import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas

TOP, LEFT, RIGHT, EDGE = (150, 190, 250), (70, 120, 210), (35, 70, 150), (20, 20, 40)
FLOOR = (225, 225, 225)
CUBE_COLORS = ("blue", "red", "green", "orange", "purple", "cyan", "yellow", "brown")


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


def shades(rgb: tuple[int, int, int]) -> tuple[tuple[int, int, int], ...]:
    """Top, left and right face colours of a cube of base colour `rgb`: the top mixed halfway to
    white, the left as is, the right at 55% brightness."""
    return (tuple((v + 255) // 2 for v in rgb), rgb, tuple(v * 55 // 100 for v in rgb))


@register
class BlockCount(Task):
    """Unit cubes stacked in columns on an n×n floor grid, drawn in isometric view with the floor tiles.

    Columns stand on the floor with no gaps and never get taller toward the viewer, so no cube
    is hidden without its column top being visible.

    Queries: "count" (how many cubes in total), "missing" (how many more cubes fill the
    n×n×hmax box: one subtraction more), "column" (how tall the column on one named tile is),
    "empty" (how many floor tiles have no cube).
    Knobs per level:
        n: the floor is n×n tiles.
        hmax: tallest column.
        a: half-width of a tile in pixels (cube edges are ≥ a px); with `sizes`, drawn from
            a .. a + sizes - 1.
        sizes, jitter, colored: look variety stated in the twin: tile sizes drawn, the stack's
            offset in pixels (0..jitter each way) on a canvas `jitter` px larger, and whether the
            cubes take a named colour from CUBE_COLORS (else the blue shades).
        keep_look: queries drawn without that variety (level 3's "count").
    Level 3 is the quickstart's task: its "count" problems under the direct phrasing and plain
    style are those foveal drew before queries existed, byte for byte, so that query keeps no look
    variety and its problem space stays ~2,000 distinct stacks (an exception to the 10^4 target). Levels 5-6 asked
    only "missing" before queries existed; that is now their "missing" query.
    """

    name = "block_count"
    description = "Isometric cube stacks: count the cubes, the cubes missing from a full box, a column, empty tiles"
    tags = ("counting", "spatial")
    questions = {
        "count": {
            "direct": "How many cubes are there in total? Answer with a number.",
            "imperative": "Count all the cubes in the stack. Answer with a number.",
            "polite": "Could you tell me how many cubes there are in total? Answer with a number.",
            "terse": "Cubes in total: how many? Answer with a number.",
        },
        "missing": {
            "direct": "The floor is {n}×{n} tiles. How many more cubes are needed to fill the whole {n}×{n}×{hmax} box "
                      "(every column {hmax} cubes tall)? Answer with a number.",
            "imperative": "The floor is {n}×{n} tiles. Count the cubes still needed to fill the whole {n}×{n}×{hmax} "
                          "box (every column {hmax} cubes tall). Answer with a number.",
            "polite": "The floor is {n}×{n} tiles. Could you tell me how many more cubes would fill the whole "
                      "{n}×{n}×{hmax} box (every column {hmax} cubes tall)? Answer with a number.",
            "terse": "Floor {n}×{n} tiles; box {n}×{n}×{hmax} (every column {hmax} cubes tall). Cubes missing to "
                     "fill it: how many? Answer with a number.",
        },
        "column": {
            "direct": "How many cubes tall is the column on the tile in row {r} from the back, position {c} from "
                      "the left? Answer with a number.",
            "imperative": "Give the height in cubes of the column on the tile in row {r} from the back, position {c} "
                          "from the left. Answer with a number.",
            "polite": "Could you tell me how many cubes tall the column on the tile in row {r} from the back, "
                      "position {c} from the left is? Answer with a number.",
            "terse": "Tile in row {r} from the back, position {c} from the left: column height in cubes? "
                     "Answer with a number.",
        },
        "empty": {
            "direct": "How many floor tiles have no cube on them? Answer with a number.",
            "imperative": "Count the floor tiles with no cube on them. Answer with a number.",
            "polite": "Could you tell me how many floor tiles have no cube on them? Answer with a number.",
            "terse": "Floor tiles without a cube: how many? Answer with a number.",
        },
    }
    levels = {
        1: {"n": 2, "hmax": 2, "a": 16, "sizes": 5, "jitter": 24, "colored": True},
        2: {"n": 3, "hmax": 3, "a": 13, "sizes": 3, "jitter": 16, "colored": True},
        3: {"n": 3, "hmax": 4, "a": 13, "sizes": 3, "jitter": 16, "colored": True, "keep_look": ("count",)},
        4: {"n": 4, "hmax": 4, "a": 12, "sizes": 2, "jitter": 8, "colored": True},
        5: {"n": 4, "hmax": 4, "a": 12, "sizes": 2, "jitter": 8, "colored": True},
        6: {"n": 5, "hmax": 5, "a": 11, "sizes": 2, "jitter": 8, "colored": True},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, hmax, query = cfg["n"], cfg["hmax"], self.query
        while True:
            h = stack_heights(rng, n, hmax)
            total = sum(map(sum, h))
            if total >= 2 and (query != "missing" or total < n * n * hmax):
                break
        if query in cfg.get("keep_look", ()):
            cfg = {k: cfg[k] for k in ("n", "hmax", "a")}
        a, jitter = cfg["a"] + rng.randrange(cfg.get("sizes", 1)), cfg.get("jitter", 0)
        offset = (rng.randint(0, jitter), rng.randint(0, jitter)) if jitter else (0, 0)
        color = rng.choice(CUBE_COLORS) if cfg.get("colored") else None
        rule = ("Cubes are stacked in columns standing on the grey floor grid, with no gaps under any cube; "
                "columns never get taller toward the viewer.")
        heights = "; ".join(f"row {r + 1}: " + " ".join(map(str, row)) for r, row in enumerate(h))
        slots: dict[str, Any] = {"n": n, "hmax": hmax}
        tile = None
        if query == "count":
            answer = str(total)
            sol = f"Adding the column heights ({' + '.join(str(v) for row in h for v in row if v)}) gives {total}. Answer: {answer}."
        elif query == "missing":
            box = n * n * hmax
            answer = str(box - total)
            sol = f"The stack has {total} cubes and the full box holds {n}×{n}×{hmax} = {box}, so {box} − {total} = {answer} are missing. Answer: {answer}."
        elif query == "column":
            tile = r, c = rng.randrange(n), rng.randrange(n)
            slots.update(r=r + 1, c=c + 1)
            answer = str(h[r][c])
            sol = f"The column in row {r + 1} from the back, position {c + 1} from the left, stands {answer} cubes tall. The answer is {answer}."
        else:
            empty = sum(v == 0 for row in h for v in row)
            answer = str(empty)
            sol = f"Of the {n * n} floor tiles, {n * n - empty} carry a column, so {empty} are empty. The answer is {answer}."
        q = self.ask(**slots)
        look = ""
        if color is not None or jitter or cfg.get("sizes", 1) > 1:
            look = (f" The cubes are {color or 'blue'}, each tile {2 * a} px wide, and the picture's "
                    f"drawing is shifted {offset[0]} px right and {offset[1]} px down.")
        twin = (f"Unit cubes are stacked in columns on a {n}×{n} floor grid, with no gaps under any cube. "
                f"The column heights, row by row from the back row to the front, each row left to right, are: {heights}.{look}\n{q}")
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows a stack of unit cubes in isometric view. {rule}\n{q}"),
                           images=(self.picture(self.render, h, hmax, a, color, offset, jitter),), answer=answer,
                           answer_type="number", text_twin=twin, solution=sol,
                           meta={"heights": h, "hmax": hmax, "question": query, "a": a, "color": color,
                                 "offset": list(offset), "tile": tile and list(tile)})

    @staticmethod
    def render(h: list[list[int]], hmax: int, a: int, color: str | None = None, offset: tuple[int, int] = (0, 0),
               pad: int = 0):
        """Painter's algorithm from back (small r, c, z) to front; row r runs toward the front-left.
        The drawing sits `offset` px right and down on a canvas `pad` px larger each way."""
        n = len(h)
        w, ht = 2 * n * a + 8 + pad, n * a + hmax * a + 8 + pad
        img = canvas(w, ht)
        d = ImageDraw.Draw(img)
        ox, oy = n * a + 4 + offset[0], hmax * a + 4 + offset[1]
        top, left, right = (TOP, LEFT, RIGHT) if color is None else shades(D.rgb(color))

        def p(r: float, c: float, z: float) -> tuple[float, float]:
            return ox + (c - r) * a, oy + (c + r) * a / 2 - z * a

        for r in range(n):
            for c in range(n):
                d.polygon([p(r, c, 0), p(r, c + 1, 0), p(r + 1, c + 1, 0), p(r + 1, c, 0)], fill=FLOOR, outline=(170, 170, 170))
        for r in range(n):
            for c in range(n):
                for z in range(h[r][c]):
                    d.polygon([p(r, c, z + 1), p(r, c + 1, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c, z + 1)], fill=top, outline=EDGE)
                    d.polygon([p(r + 1, c, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c + 1, z), p(r + 1, c, z)], fill=left, outline=EDGE)
                    d.polygon([p(r, c + 1, z + 1), p(r + 1, c + 1, z + 1), p(r + 1, c + 1, z), p(r, c + 1, z)], fill=right, outline=EDGE)
        return img
