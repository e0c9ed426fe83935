"""Symmetry: which mirror lines a coloured grid pattern has, how many, whether it has a given one,
and where a cell lands under a flip."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import COLORS, canvas, choice_block, letters
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
# how the axis and mirror_cell queries name each line
AXIS_WORDS = {"vertical": "vertical", "horizontal": "horizontal", "diagonal": "top-left to bottom-right diagonal",
              "anti-diagonal": "top-right to bottom-left diagonal"}
CHOICES = ("vertical only", "horizontal only", "both vertical and horizontal", "neither")


def mirror_lines(grid: list[str]) -> list[str]:
    """The axes (of AXES) the pattern is unchanged under."""
    n = len(grid)
    return [a for a, f in AXES.items()
            if all(grid[r][c] == grid[f(r, c, n)[0]][f(r, c, n)[1]] for r in range(n) for c in range(n))]


@register
class Symmetry(Task):
    """An n×n pattern of coloured cells and its mirror lines (vertical, horizontal, two diagonals).

    Queries:
        "vh": vertical only / horizontal only / both / neither (a choice; patterns symmetrised
            under a group of vertical and horizontal flips only).
        "count": how many of the four mirror lines (a number).
        "axis": is the pattern unchanged by a flip about a named line (yes/no, even odds)?
        "mirror_cell": the colour of the cell that a named cell lands on under a flip about a
            named line (a choice among the pattern's colours; the cell is off that line).
    Knobs per level:
        n: grid size.
        colors: colours besides white (drawn from red, blue, green, yellow; the twin's legend names them).
        near_miss: probability that one cell is recoloured after symmetrising, which usually breaks
            a symmetry by a single cell (the answer is recomputed from the final grid).
        cell: pixels per cell; with `sizes`, drawn from cell .. cell + sizes - 1.
        jitter: the pattern sits 0..jitter px right and down on a canvas `jitter` px larger (the
            twin states the cell size and offset).
    """

    name = "symmetry"
    description = "Mirror symmetry of a coloured grid pattern: which lines / how many / this line? / mirror cell"
    tags = ("spatial", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "vh": {
            "direct": "Which mirror lines does the pattern have (the vertical and horizontal lines through its centre)?",
            "imperative": "Name the mirror lines the pattern has (the vertical and horizontal lines through its centre).",
            "polite": "Could you tell me which mirror lines the pattern has (the vertical and horizontal lines through its centre)?",
            "terse": "Mirror lines among the vertical and horizontal lines through the centre?",
        },
        "count": {
            "direct": "How many mirror lines does the pattern have, among the vertical, the horizontal and the two diagonal lines through its centre?",
            "imperative": "Count the mirror lines of the pattern among the vertical, the horizontal and the two diagonal lines through its centre.",
            "polite": "Could you tell me how many mirror lines the pattern has, among the vertical, the horizontal and the two diagonal lines through its centre?",
            "terse": "Mirror lines among the vertical, horizontal and two diagonal lines through the centre: how many?",
        },
        "axis": {
            "direct": "Is the pattern unchanged by a flip about its {axis} line through the centre?",
            "imperative": "Say whether a flip about the pattern's {axis} line through the centre leaves it unchanged.",
            "polite": "Could you tell me whether the pattern is unchanged by a flip about its {axis} line through the centre?",
            "terse": "Flip about the {axis} line through the centre: pattern unchanged?",
        },
        "mirror_cell": {
            "direct": "Flip the cell at row {r}, column {c} about the pattern's {axis} line through the centre. What colour is the cell it lands on?",
            "imperative": "Flip the cell at row {r}, column {c} about the pattern's {axis} line through the centre and name the colour of the cell it lands on.",
            "polite": "Could you tell me the colour of the cell that the cell at row {r}, column {c} lands on when flipped about the pattern's {axis} line through the centre?",
            "terse": "Row {r}, column {c} flipped about the {axis} line through the centre: colour of the cell it lands on?",
        },
    }
    levels = {
        1: {"n": 4, "colors": 1, "near_miss": 0.0, "cell": 16, "sizes": 9, "jitter": 10},
        2: {"n": 5, "colors": 2, "near_miss": 0.3, "cell": 15, "sizes": 6, "jitter": 8},
        3: {"n": 6, "colors": 2, "near_miss": 0.3, "cell": 16},
        4: {"n": 7, "colors": 3, "near_miss": 0.4, "cell": 15},
        5: {"n": 8, "colors": 4, "near_miss": 0.5, "cell": 14},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, query = cfg["n"], self.query
        keys = "." + "".join(rng.sample("RBGY", cfg["colors"]))
        groups = GROUPS[:4] if query == "vh" else GROUPS
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
        slots: dict[str, Any] = {}
        choices = None
        if query == "vh":
            v, h = "vertical" in lines, "horizontal" in lines
            idx = 2 if v and h else 0 if v else 1 if h else 3
            answer, choices = "ABCD"[idx], CHOICES
            sol = (f"Comparing each cell with its mirror cell: the pattern is {'unchanged' if v else 'changed'} by a left-right flip and "
                   f"{'unchanged' if h else 'changed'} by a top-bottom flip, so {CHOICES[idx]}. Answer: {answer}.")
        elif query == "count":
            answer = str(len(lines))
            sol = (f"Checking each flip cell by cell, the pattern is symmetric about {', '.join(lines) if lines else 'none of them'}, "
                   f"so {answer}. Answer: {answer}.")
        elif query == "axis":
            want = rng.random() < 0.5
            pool = [a for a in AXES if (a in lines) == want] or list(AXES)
            axis = rng.choice(pool)
            slots["axis"] = AXIS_WORDS[axis]
            choices = ("yes", "no")
            answer = "A" if axis in lines else "B"
            sol = (f"Comparing each cell with its mirror cell across the {AXIS_WORDS[axis]} line, the pattern is "
                   f"{'unchanged' if axis in lines else 'changed'}. The answer is {answer}.")
        else:
            axis = rng.choice(list(AXES))
            r, c = rng.choice([(r, c) for r in range(n) for c in range(n) if AXES[axis](r, c, n) != (r, c)])
            r2, c2 = AXES[axis](r, c, n)
            slots.update(axis=AXIS_WORDS[axis], r=r + 1, c=c + 1)
            choices = tuple(NAMES[k] for k in keys)
            answer = letters(len(keys))[keys.index(grid[r2][c2])]
            sol = (f"Flipped about the {AXIS_WORDS[axis]} line, row {r + 1}, column {c + 1} lands on row {r2 + 1}, column {c2 + 1}, "
                   f"which is {NAMES[grid[r2][c2]]}. The answer is {answer}.")
        q = self.ask(**slots)
        q += f"\n{choice_block(list(choices))}\nAnswer with the letter." if choices else " Answer with a number."
        legend = ", ".join(f"'{k}' {NAMES[k]}" for k in keys)
        cell, jitter = cfg["cell"] + rng.randrange(cfg.get("sizes", 1)), cfg.get("jitter", 0)
        offset = [rng.randint(0, jitter), rng.randint(0, jitter)] if jitter else [0, 0]
        look = f"\nIn the picture each cell is {cell} px and the pattern is shifted {offset[0]} px right and {offset[1]} px down." if jitter else ""
        twin = f"A {n}×{n} pattern of coloured cells, row by row from the top ({legend}):\n" + "\n".join(rows) + f"{look}\n{q}"
        img = self.picture(self.render, rows, cell, offset, jitter)
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows a {n}×{n} pattern of coloured cells.\n{q}"),
                           images=(img,), answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=twin, solution=sol, meta={"grid": rows, "question": query, "cell": cell, "border": 6,
                                                         "offset": offset, "pad": jitter, "legend": legend, "question_text": q})

    @staticmethod
    def render(rows: list[str], cell: int, offset: list[int] | tuple[int, int] = (0, 0), pad: int = 0):
        """The rows as coloured cells (any number of rows of equal length) with grey grid lines, 6 px
        from the edge, moved `offset` px right and down on a canvas `pad` px larger."""
        n, w = len(rows), len(rows[0])
        cells = cells_image([[PALETTE[k] for k in row] for row in rows], cell)
        img = canvas(cells.width + 12 + pad, cells.height + 12 + pad)
        x0, y0 = 6 + offset[0], 6 + offset[1]
        img.paste(cells, (x0, y0))
        d = ImageDraw.Draw(img)
        for i in range(w + 1):
            d.line([(x0 + i * cell, y0), (x0 + i * cell, y0 + n * cell)], fill=(160, 160, 160))
        for i in range(n + 1):
            d.line([(x0, y0 + i * cell), (x0 + w * cell, y0 + i * cell)], fill=(160, 160, 160))
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The top half of the rows written out, the bottom half drawn."""
        m = sample.meta
        rows, n = m["grid"], len(m["grid"])
        half = n // 2
        img = self.render(rows[half:], m["cell"], m["offset"], m["pad"])
        prompt = self.image_prompt(
            f"A {n}×{n} pattern of coloured cells has these top {half} rows ({m['legend']}):\n" + "\n".join(rows[:half])
            + f"\nThe picture shows its bottom {n - half} rows.\n{m['question_text']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
