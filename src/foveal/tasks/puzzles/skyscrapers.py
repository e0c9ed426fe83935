"""`skyscrapers`: fill an n×n Latin square of building heights from the visibility clues on its edges.

A clue outside the grid says how many buildings are visible looking along that row or column
from that side (a taller building hides every shorter one behind it). Generation: a random
Latin square gives all 4n clues; a random subset of them is kept (the level's number), then cells are revealed as givens while the
line search below still finds a second solution.
"""

from __future__ import annotations

import random
from functools import cache
from itertools import permutations
from typing import Any

from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.puzzles._puzzle import (
    EASY,
    HARD,
    GridPuzzle,
    board,
    centre,
    chunk,
    font_px,
    grid_text,
    latin_square,
    reveal_until_unique,
)

SIDES = ("top", "bottom", "left", "right")  # clue lists in meta, each of length n (0 = no clue)


def visible(heights: list[int] | tuple[int, ...]) -> int:
    """How many buildings are seen looking along `heights` from its first element."""
    seen, top = 0, 0
    for h in heights:
        if h > top:
            seen, top = seen + 1, h
    return seen


@cache
def perms(n: int) -> tuple[tuple[tuple[int, ...], int, int, int], ...]:
    """Every line (permutation of 1..n) with its visibility from its start and its end, and its value mask
    (bit k·n + v - 1 set when position k holds v)."""
    return tuple((p, visible(p), visible(p[::-1]), sum(1 << (k * n + v - 1) for k, v in enumerate(p)))
                 for p in permutations(range(1, n + 1)))


@cache
def with_clues(n: int, a: int, b: int) -> tuple[tuple[tuple[int, ...], int], ...]:
    """(line, value mask) of every permutation seeing `a` buildings from its start and `b` from its end
    (0 = no clue)."""
    return tuple((p, m) for p, va, vb, m in perms(n) if (not a or va == a) and (not b or vb == b))


def solve(n: int, clues: dict[str, list[int]], givens: dict[int, int], limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat solutions for edge `clues` (0 = none) and `givens` {flat index: height}.

    Every row and every column is a permutation meeting its two clues and the givens. Rows are
    chosen top to bottom; a row is tried only if each of its values is still possible at that depth
    of its column (one mask test), and then each column keeps the options agreeing with it.
    """
    top, bottom, left, right = (clues[s] for s in SIDES)

    def lines(a: list[int], b: list[int], pos) -> list[list[tuple[tuple[int, ...], int]]]:
        out = []
        for k in range(n):
            req = 0  # value-mask bits the givens of this line demand
            for j in range(n):
                if v := givens.get(pos(k, j)):
                    req |= 1 << (j * n + v - 1)
            out.append([(p, m) for p, m in with_clues(n, a[k], b[k]) if m & req == req])
        return out

    row_opts = lines(left, right, lambda r, c: r * n + c)
    col0 = [[p for p, _ in opts] for opts in lines(top, bottom, lambda c, r: r * n + c)]
    out: list[list[int]] = []
    rows: list[tuple[int, ...]] = []

    def rec(r: int, cols: list[list[tuple[int, ...]]]) -> None:
        if r == n:
            out.append([v for row in rows for v in row])
            return
        can = 0
        for c in range(n):
            for o in cols[c]:
                can |= 1 << (c * n + o[r] - 1)
        for p, m in row_opts[r]:
            if m & ~can:
                continue
            new = [[o for o in cols[c] if o[r] == p[c]] for c in range(n)]
            rows.append(p)
            rec(r + 1, new)
            rows.pop()
            if len(out) >= limit:
                return

    rec(0, col0)
    return out


def edge_clues(sol: list[list[int]]) -> dict[str, list[int]]:
    n = len(sol)
    cols = [[sol[r][c] for r in range(n)] for c in range(n)]
    return {"top": [visible(c) for c in cols], "bottom": [visible(c[::-1]) for c in cols],
            "left": [visible(r) for r in sol], "right": [visible(r[::-1]) for r in sol]}


def clue_line(side: str, vals: list[int]) -> str:
    return f"{side}: " + " ".join(str(v) if v else "-" for v in vals)


@register
class Skyscrapers(GridPuzzle):
    """Skyscrapers: place heights 1..n, once per row and column, so the edge visibility clues hold.

    Level knobs:
        n: grid size (3-6).
        clues: number of edge clues shown (of 4n); cells are given until the solution is unique.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the left and right clues are stated in text instead of drawn.

    Problem space: level 1's 3x3 board has 12 Latin squares and C(12, 6) = 924 sets of 6 shown
    clues, so its `grid` query holds about 1.2e4 problems (Chao1 11,693 from 20,000 draws; 964 of
    1,000 draws distinct); its cell, row and column queries hold 3-9 times more.
    """

    name = "skyscrapers"
    description = "Skyscrapers: Latin square of heights from edge visibility clues, unique solution (grid)."
    tags = ("logic", "spatial")
    answer_legend = "digits without spaces"
    levels = {
        1: dict(n=3, clues=6, cell=40, queries=EASY),
        2: dict(n=4, clues=10, cell=38, queries=HARD),
        3: dict(n=4, clues=6, cell=38, queries=HARD),
        4: dict(n=5, clues=14, cell=36, queries=HARD),
        5: dict(n=5, clues=10, cell=36, queries=HARD),
        6: dict(n=6, clues=18, cell=32, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        sol = latin_square(rng, n)
        flat = [v for row in sol for v in row]
        clues = edge_clues(sol)
        slots = [(s, k) for s in SIDES for k in range(n)]
        for s, k in rng.sample(slots, len(slots) - cfg["clues"]):
            clues[s][k] = 0
        givens = reveal_until_unique(rng, flat, lambda g: solve(n, clues, g))
        rules = (f"Skyscrapers on a {n}x{n} grid: put a building of height 1-{n} in every cell so that each row "
                 f"and each column has every height exactly once. A number outside the grid says how many "
                 f"buildings are visible from that side looking along its row or column; a taller building "
                 f"hides all shorter ones behind it.")
        puzzle = [givens.get(i) for i in range(n * n)]
        board_text = ("Clues ('-' = no clue), top and bottom clues left to right, left and right clues top to "
                      "bottom:\n" + "\n".join(clue_line(s, clues[s]) for s in SIDES))
        if givens:
            board_text += "\nGiven heights ('.' = empty):\n" + grid_text(chunk(puzzle, n))
        note = (f"A clue of 1 puts the {n} next to its edge and a clue of {n} forces 1..{n} in order; "
                f"combining the clues with the Latin-square rule fixes every cell.")
        free = [divmod(i, n) for i in range(n * n) if i not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=sol, note=note,
                           free=free, meta={"n": n, "cell": cfg["cell"], "clues": clues, "puzzle": puzzle})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        im, d, x0, y0 = board(n, n, cell, left=cell, top=cell, right=cell, bottom=cell)
        fs = font_px(cell, 0.55)
        cl = meta["clues"]
        blue = (30, 60, 200)
        for k in range(n):
            spots = {"top": (x0 + (k + 0.5) * cell, y0 - cell / 2), "bottom": (x0 + (k + 0.5) * cell, y0 + (n + 0.5) * cell),
                     "left": (x0 - cell / 2, y0 + (k + 0.5) * cell), "right": (x0 + (n + 0.5) * cell, y0 + (k + 0.5) * cell)}
            for side, xy in spots.items():
                if cl[side][k] and side not in hide:
                    label(im, xy, str(cl[side][k]), size=fs, fill=blue)
        for i, v in enumerate(meta["puzzle"]):
            if v:
                label(im, centre(x0, y0, cell, *divmod(i, n)), str(v), size=fs)
        return im

    def split(self, meta, rng):
        cl = meta["clues"]
        return ["left", "right"], ("the left and right clues are not drawn ('-' = no clue, top to bottom): "
                                   f"{clue_line('left', cl['left'])}; {clue_line('right', cl['right'])}.")
