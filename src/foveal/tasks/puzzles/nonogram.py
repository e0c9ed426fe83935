"""`nonogram`: shade the cells of a grid from its row and column run-length clues.

A clue lists the lengths of the runs of shaded cells in its line, in order (0: no shaded
cell). Generation: random shadings are drawn until the line search of
`_puzzle.line_solutions` finds exactly one solution; after a few tries, cells of the last
shading are revealed as givens until it is unique (`_puzzle.unique_binary_grid`).
"""

from __future__ import annotations

import random
from functools import cache
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


def runs(bits: list[int]) -> tuple[int, ...]:
    """Lengths of the runs of 1s in `bits`, in order; (0,) if there are none."""
    out, k = [], 0
    for b in [*bits, 0]:
        if b:
            k += 1
        elif k:
            out.append(k)
            k = 0
    return tuple(out) or (0,)


@cache
def placements(n: int, clue: tuple[int, ...]) -> tuple[int, ...]:
    """Bitmasks of length n whose runs of 1s are exactly `clue`."""
    if clue == (0,):
        return (0,)
    out = []

    def place(k: int, start: int, mask: int) -> None:
        if k == len(clue):
            out.append(mask)
            return
        rest = sum(clue[k + 1:]) + len(clue) - k - 1
        for s in range(start, n - rest - clue[k] + 1):
            place(k + 1, s + clue[k] + 1, mask | ((1 << clue[k]) - 1) << s)

    place(0, 0, 0)
    return tuple(out)


def solve(n: int, rows: list[tuple[int, ...]], cols: list[tuple[int, ...]], givens: dict[int, int],
          limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 solutions of the clues that agree with `givens` {flat index: 0/1}."""
    ro, co = filter_options(n, [placements(n, c) for c in rows], [placements(n, c) for c in cols], givens)
    return [[v for row in masks_to_grid(s, n) for v in row] for s in line_solutions(ro, co, n, n, limit)]


def clues(grid: list[list[int]]) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """The run clues of a 0/1 grid: (rows top to bottom, columns left to right)."""
    return [runs(row) for row in grid], [runs([row[c] for row in grid]) for c in range(len(grid[0]))]


def clue_text(clue: tuple[int, ...]) -> str:
    return " ".join(map(str, clue))


@register
class Nonogram(GridPuzzle):
    """Nonogram: shade cells so each row and column shows the runs its clue lists.

    Level knobs:
        n: grid size (4-10).
        density: chance a cell of the hidden picture is shaded.
        tries: random pictures drawn before falling back to revealing givens.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the row clues are stated in text instead of drawn.
    """

    name = "nonogram"
    description = "Nonogram: shade cells from row/column run-length clues, unique solution (grid)."
    tags = ("logic", "perception")
    answer_legend = "1 for a shaded cell and 0 for an unshaded cell, without spaces"
    levels = {
        1: dict(n=4, density=0.55, tries=10, cell=34, queries=EASY),
        2: dict(n=5, density=0.55, tries=10, cell=32, queries=HARD),
        3: dict(n=6, density=0.55, tries=10, cell=30, queries=HARD),
        4: dict(n=7, density=0.55, tries=8, cell=28, queries=HARD),
        5: dict(n=8, density=0.55, tries=6, cell=26, queries=HARD),
        6: dict(n=10, density=0.55, tries=4, cell=24, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        grid, rows, cols, givens = unique_binary_grid(rng, n, cfg["density"], cfg["tries"], clues,
                                                      lambda rows, cols, g: solve(n, rows, cols, g))
        rules = (f"Nonogram on a {n}x{n} grid: shade cells so that the runs of consecutive shaded cells in each "
                 f"row (clues left of the row, in order from left to right) and in each column (clues above the "
                 f"column, in order from top to bottom) have exactly the listed lengths; 0 means no shaded cell.")
        if givens:
            rules += " Cells already shaded grey are shaded; cells marked x are unshaded."
        board_text = ("Row clues, top to bottom: " + "; ".join(clue_text(c) for c in rows) + ".\n"
                      "Column clues, left to right: " + "; ".join(clue_text(c) for c in cols) + ".")
        if givens:
            board_text += known_cells(givens, n, {1: ("#", "shaded"), 0: ("x", "unshaded")})
        big = max(range(n), key=lambda r: sum(rows[r]))
        note = (f"Row {big + 1} (clue {clue_text(rows[big])}) leaves little slack, and crossing row and column "
                f"overlaps fixes the rest.")
        free = [(r, c) for r in range(n) for c in range(n) if r * n + c not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=grid, note=note,
                           free=free, meta={"n": n, "cell": cfg["cell"], "rows": [list(c) for c in rows],
                                            "cols": [list(c) for c in cols],
                                            "givens": {str(k): v for k, v in givens.items()}})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        fs = font_px(cell, 0.5)
        step = int(fs * 1.1)
        left = max(len(c) for c in meta["rows"]) * step + 4
        top = max(len(c) for c in meta["cols"]) * step + 4
        im, d, x0, y0 = board(n, n, cell, left=left, top=top)
        for i in range(n):
            if "rows" not in hide:
                clue = meta["rows"][i]
                for k, v in enumerate(clue):
                    label(im, (x0 - 4 - (len(clue) - k - 0.5) * step, y0 + (i + 0.5) * cell), str(v), size=fs)
            clue = meta["cols"][i]
            for k, v in enumerate(clue):
                label(im, (x0 + (i + 0.5) * cell, y0 - 4 - (len(clue) - k - 0.5) * step), str(v), size=fs)
        for k, v in meta["givens"].items():
            r, c = divmod(int(k), n)
            if v:
                fill_cell(d, x0, y0, cell, r, c, (150, 150, 150))
            else:
                label(im, centre(x0, y0, cell, r, c), "x", size=fs)
        return im

    def split(self, meta, rng):
        return ["rows"], ("the row clues (left of the grid) are not drawn; top to bottom they are "
                          + "; ".join(clue_text(c) for c in meta["rows"]) + ".")
