"""`kakurasu`: shade cells so each row's and column's shaded-cell weights add up to its clue.

A shaded cell in column c (1-based) adds c to its row's sum; in row r it adds r to its column's
sum. Generation: random shadings are drawn until one has a unique solution (search over
rows whose weights hit the clue, see `_puzzle.line_solutions`); after a few tries, cells of
the shading are revealed as givens until it is unique (`_puzzle.unique_binary_grid`).
"""

from __future__ import annotations

import random
from functools import cache
from itertools import combinations
from typing import Any

from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.puzzles._puzzle import (
    EASY,
    HARD,
    GridPuzzle,
    board,
    centre,
    fill_cell,
    filter_options,
    font_px,
    known_cells,
    line_solutions,
    masks_to_grid,
    unique_binary_grid,
)


@cache
def options(n: int, total: int) -> tuple[int, ...]:
    """Bitmasks over n positions whose 1-based weights sum to `total`."""
    return tuple(sum(1 << i for i in combo) for k in range(n + 1) for combo in combinations(range(n), k)
                 if sum(i + 1 for i in combo) == total)


def solve(n: int, rows: list[int], cols: list[int], givens: dict[int, int], limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 solutions meeting the row/column clues and the givens {flat index: 0/1}."""
    ro, co = filter_options(n, [options(n, t) for t in rows], [options(n, t) for t in cols], givens)
    return [[v for row in masks_to_grid(s, n) for v in row] for s in line_solutions(ro, co, n, n, limit)]


def clues(grid: list[list[int]]) -> tuple[list[int], list[int]]:
    n = len(grid)
    return ([sum(c + 1 for c in range(n) if grid[r][c]) for r in range(n)],
            [sum(r + 1 for r in range(n) if grid[r][c]) for c in range(n)])


@register
class Kakurasu(GridPuzzle):
    """Kakurasu: shade cells so each row's and column's weighted sums match the clues.

    Level knobs:
        n: grid size (4-8).
        density: chance a cell of the hidden solution is shaded.
        tries: random shadings drawn before falling back to revealing givens.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the row sums are stated in text instead of drawn.
    """

    name = "kakurasu"
    description = "Kakurasu: shade cells whose column/row weights add up to the row/column clues (grid)."
    tags = ("logic", "arithmetic")
    answer_legend = "1 for a shaded cell and 0 for an unshaded cell, without spaces"
    levels = {
        1: dict(n=4, density=0.5, tries=8, cell=36, queries=EASY),
        2: dict(n=4, density=0.5, tries=8, cell=36, queries=HARD),
        3: dict(n=5, density=0.5, tries=8, cell=34, queries=HARD),
        4: dict(n=6, density=0.5, tries=8, cell=32, queries=HARD),
        5: dict(n=7, density=0.5, tries=6, cell=30, queries=HARD),
        6: dict(n=8, density=0.5, tries=4, cell=28, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        grid, rows, cols, givens = unique_binary_grid(rng, n, cfg["density"], cfg["tries"], clues,
                                                      lambda rows, cols, g: solve(n, rows, cols, g))
        rules = (f"Kakurasu on a {n}x{n} grid: shade some cells. A shaded cell counts its column number "
                 f"(1-{n}, left to right, written above the grid) toward its row's sum and its row number (1-{n}, "
                 f"top to bottom, written left of the grid) toward its column's sum. The sum of each row is "
                 f"written right of it and the sum of each column below it; make every sum match.")
        if givens:
            rules += " Cells already shaded grey are shaded; cells marked x are unshaded."
        board_text = (f"Row sums, top to bottom: {' '.join(map(str, rows))}.\nColumn sums, left to right: "
                      f"{' '.join(map(str, cols))}.")
        if givens:
            board_text += known_cells(givens, n, {1: ("#", "shaded"), 0: ("x", "unshaded")})
        note = (f"Each row sum fixes which columns' weights add up to it (e.g. row 1's {rows[0]}), and the "
                f"column sums decide between the options.")
        free = [(r, c) for r in range(n) for c in range(n) if r * n + c not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=grid, note=note,
                           free=free, meta={"n": n, "cell": cfg["cell"], "rows": rows, "cols": cols,
                                            "givens": {str(k): v for k, v in givens.items()}})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        m = int(cell * 0.9)
        im, d, x0, y0 = board(n, n, cell, left=m, top=m, right=m, bottom=m)
        fs, gs = font_px(cell, 0.55), font_px(cell, 0.45)
        for i in range(n):
            label(im, (x0 + (i + 0.5) * cell, y0 - m / 2), str(i + 1), size=gs, fill=(90, 90, 90))
            label(im, (x0 - m / 2, y0 + (i + 0.5) * cell), str(i + 1), size=gs, fill=(90, 90, 90))
            if "rows" not in hide:
                label(im, (x0 + n * cell + m / 2, y0 + (i + 0.5) * cell), str(meta["rows"][i]), size=fs,
                       fill=(30, 60, 200))
            label(im, (x0 + (i + 0.5) * cell, y0 + n * cell + m / 2), str(meta["cols"][i]), size=fs,
                   fill=(30, 60, 200))
        for k, v in meta["givens"].items():
            r, c = divmod(int(k), n)
            if v:
                fill_cell(d, x0, y0, cell, r, c, (150, 150, 150))
            else:
                label(im, centre(x0, y0, cell, r, c), "x", size=fs)
        return im

    def split(self, meta, rng):
        return ["rows"], ("the row sums (right of the grid) are not drawn; top to bottom they are "
                          f"{' '.join(map(str, meta['rows']))}.")

