"""Symmetry: which mirror lines a coloured grid pattern has."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import COLORS, choice_block
from foveal.tasks.spatial._spatial import cells_image

PALETTE = {".": (255, 255, 255), "R": COLORS["red"], "B": COLORS["blue"], "G": COLORS["green"], "Y": COLORS["yellow"]}
NAMES = {".": "white", "R": "red", "B": "blue", "G": "green", "Y": "yellow"}
# Mirror maps on an n×n grid (0-based r, c).
AXES = {
    "vertical": lambda r, c, n: (r, n - 1 - c),
    "horizontal": lambda r, c, n: (n - 1 - r, c),
    "diagonal": lambda r, c, n: (c, r),
    "anti-diagonal": lambda r, c, n: (n - 1 - c, n - 1 - r),
}
GROUPS = ((), ("vertical",), ("horizontal",), ("vertical", "horizontal"), ("diagonal",), ("anti-diagonal",),
          ("diagonal", "anti-diagonal"), tuple(AXES))
CHOICES = ("vertical only", "horizontal only", "both vertical and horizontal", "neither")


def mirror_lines(grid: list[str]) -> list[str]:
    """The axes (of AXES) the pattern is unchanged under."""
    n = len(grid)
    return [a for a, f in AXES.items()
            if all(grid[r][c] == grid[f(r, c, n)[0]][f(r, c, n)[1]] for r in range(n) for c in range(n))]


@register
class Symmetry(Task):
    """An n×n pattern of coloured cells; name or count its mirror lines (vertical, horizontal, two diagonals).

    Knobs per level:
        n: grid size.
        colors: colours besides white.
        question: "vh" (vertical only / horizontal only / both / neither, a choice) or "count"
            (how many of the four mirror lines, a number).
        near_miss: probability that one cell is recoloured after symmetrising, which usually breaks
            a symmetry by a single cell (the answer is recomputed from the final grid).
        cell: pixels per cell.
    """

    name = "symmetry"
    description = "Mirror symmetry of a coloured grid pattern: which lines / how many"
    tags = ("spatial", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"n": 4, "colors": 1, "question": "vh", "near_miss": 0.0, "cell": 20},
        2: {"n": 5, "colors": 2, "question": "vh", "near_miss": 0.3, "cell": 18},
        3: {"n": 6, "colors": 2, "question": "count", "near_miss": 0.3, "cell": 16},
        4: {"n": 7, "colors": 3, "question": "count", "near_miss": 0.4, "cell": 15},
        5: {"n": 8, "colors": 4, "question": "count", "near_miss": 0.5, "cell": 14},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n = cfg["n"]
        keys = ".RBGY"[: cfg["colors"] + 1]
        groups = GROUPS[:4] if cfg["question"] == "vh" else GROUPS
        group = rng.choice(groups)
        grid = [[rng.choice(keys) for _ in range(n)] for _ in range(n)]
        for _ in range(3):  # closing the orbit under each generator twice reaches the whole group
            for a in group:
                for r in range(n):
                    for c in range(n):
                        r2, c2 = AXES[a](r, c, n)
                        grid[r2][c2] = grid[r][c]
        if rng.random() < cfg["near_miss"]:
            r, c = rng.randrange(n), rng.randrange(n)
            grid[r][c] = rng.choice([k for k in keys if k != grid[r][c]])
        rows = ["".join(row) for row in grid]
        lines = mirror_lines(rows)
        if cfg["question"] == "vh":
            v, h = "vertical" in lines, "horizontal" in lines
            idx = 2 if v and h else 0 if v else 1 if h else 3
            answer, choices = "ABCD"[idx], CHOICES
            q = f"Which mirror lines does the pattern have (the vertical and horizontal lines through its centre)?\n{choice_block(list(CHOICES))}\nAnswer with the letter."
            sol = (f"Comparing each cell with its mirror cell: the pattern is {'unchanged' if v else 'changed'} by a left-right flip and "
                   f"{'unchanged' if h else 'changed'} by a top-bottom flip, so {CHOICES[idx]}. Answer: {answer}.")
        else:
            answer, choices = str(len(lines)), None
            q = "How many mirror lines does the pattern have, among the vertical, the horizontal and the two diagonal lines through its centre? Answer with a number."
            sol = (f"Checking each flip cell by cell, the pattern is symmetric about {', '.join(lines) if lines else 'none of them'}, "
                   f"so {answer}. Answer: {answer}.")
        legend = ", ".join(f"'{k}' {NAMES[k]}" for k in keys)
        twin = f"A {n}×{n} pattern of coloured cells, row by row from the top ({legend}):\n" + "\n".join(rows) + f"\n{q}"
        cell = cfg["cell"]
        img = self.picture(self.render, rows, cell)
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows a {n}×{n} pattern of coloured cells.\n{q}"),
                           images=(img,), answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=twin, solution=sol, meta={"grid": rows, "question": cfg["question"], "cell": cell, "border": 6,
                                                         "legend": legend, "question_text": q})

    @staticmethod
    def render(rows: list[str], cell: int):
        """The rows as coloured cells (any number of rows of equal length) with grey grid lines."""
        n, w = len(rows), len(rows[0])
        img = cells_image([[PALETTE[k] for k in row] for row in rows], cell, border=6)
        d = ImageDraw.Draw(img)
        for i in range(w + 1):
            d.line([(6 + i * cell, 6), (6 + i * cell, 6 + n * cell)], fill=(160, 160, 160))
        for i in range(n + 1):
            d.line([(6, 6 + i * cell), (6 + w * cell, 6 + i * cell)], fill=(160, 160, 160))
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The top half of the rows written out, the bottom half drawn."""
        m = sample.meta
        rows, n = m["grid"], len(m["grid"])
        half = n // 2
        img = self.render(rows[half:], m["cell"])
        prompt = self.image_prompt(
            f"A {n}×{n} pattern of coloured cells has these top {half} rows ({m['legend']}):\n" + "\n".join(rows[:half])
            + f"\nThe picture shows its bottom {n - half} rows.\n{m['question_text']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
