"""`binairo`: fill an n×n grid with black and white circles (1 and 0) under the binairo rules.

Rules: each row and column holds as many 1s as 0s, never three equal cells in a row or
column, and no two rows (or two columns) are identical. Generation: a random valid grid from
the line search of `_puzzle.line_solutions`, then givens removed in random order while the
search still finds exactly one solution, down to the level's target.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

from foveal.tasks import register
from foveal.tasks.puzzles._puzzle import (
    EASY,
    HARD,
    GridPuzzle,
    board,
    centre,
    chunk,
    filter_options,
    grid_text,
    line_solutions,
    masks_to_grid,
)


@cache
def lines(n: int) -> tuple[int, ...]:
    """Bitmasks of length n with n/2 ones and no three equal neighbours."""
    out = []
    for m in range(1 << n):
        if m.bit_count() != n // 2:
            continue
        bits = [m >> i & 1 for i in range(n)]
        if all(not (bits[i] == bits[i + 1] == bits[i + 2]) for i in range(n - 2)):
            out.append(m)
    return tuple(out)


def distinct_lines(rows: list[int]) -> bool:
    n = len(rows)
    cols = [sum((rows[r] >> c & 1) << r for r in range(n)) for c in range(n)]
    return len(set(rows)) == n and len(set(cols)) == n


def solve(n: int, givens: dict[int, int], limit: int = 2, order: random.Random | None = None) -> list[list[int]]:
    """Up to `limit` flat solutions agreeing with `givens` {flat index: 0/1}; `order` shuffles the search."""
    ro, co = filter_options(n, lines(n), lines(n), givens)
    if order is not None:
        for opts in ro + co:
            order.shuffle(opts)
    sols = line_solutions(ro, co, n, n, limit, accept=distinct_lines)
    return [[v for row in masks_to_grid(s, n) for v in row] for s in sols]


def forced(n: int, givens: dict[int, int], i: int, w: int) -> bool:
    """True if the other givens alone rule out colour `w` at cell i (count or no-three rule)."""
    r, c = divmod(i, n)
    for line in ([r * n + k for k in range(n)], [k * n + c for k in range(n)]):
        if sum(givens.get(j) == w for j in line) >= n // 2:
            return True
        p = line.index(i)
        vals = [w if j == i else givens.get(j) for j in line]
        if any(vals[a] == vals[a + 1] == vals[a + 2] == w for a in range(max(0, p - 2), min(p + 1, n - 2))):
            return True
    return False


def deduce(n: int, givens: dict[int, int], target: int) -> bool:
    """Whether line-by-line deduction from `givens` fixes cell `target`: each row and column keeps the
    valid lines agreeing with its known cells, and cells on which all of them agree become known,
    until nothing changes. Sound (only forced values are found), so a fixed target stays unique."""
    known = dict(givens)
    idx = [[r * n + k for k in range(n)] for r in range(n)] + [[k * n + c for k in range(n)] for c in range(n)]
    changed = True
    while changed and target not in known:
        changed = False
        for line in idx:
            km = kv = 0
            for k, j in enumerate(line):
                if j in known:
                    km |= 1 << k
                    kv |= known[j] << k
            if km == (1 << n) - 1:
                continue
            ones, zeros = (1 << n) - 1, (1 << n) - 1
            found = False
            for m in lines(n):
                if m & km == kv:
                    ones &= m
                    zeros &= ~m
                    found = True
            if not found:
                return False
            for k, j in enumerate(line):
                if j not in known and (ones >> k & 1 or zeros >> k & 1):
                    known[j] = ones >> k & 1
                    changed = True
    return target in known


@register
class Binairo(GridPuzzle):
    """Binairo (Takuzu): complete a grid of black (1) and white (0) circles.

    Level knobs:
        n: grid size (even: 4-10).
        givens: target number of given circles (carving stops earlier if uniqueness would break).
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: a third of the given circles are stated in text instead of drawn.

    Problem space: level 2 (4x4, 4 givens) holds exactly 11,088 `grid` problems: the 72 valid 4x4
    grids, each with its unique sets of 4 givens and its minimal unique sets of more; carving draws
    them unevenly (1,652 distinct in 2,000 draws).
    """

    name = "binairo"
    description = "Binairo/Takuzu: balanced black/white circles, no three in a line, unique solution (grid)."
    tags = ("logic", "perception")
    answer_legend = "1 for a black circle and 0 for a white circle, without spaces"
    levels = {
        1: dict(n=4, givens=6, cell=36, queries=EASY),
        2: dict(n=4, givens=4, cell=36, queries=HARD),
        3: dict(n=6, givens=14, cell=32, queries=HARD),
        4: dict(n=6, givens=10, cell=32, queries=HARD),
        5: dict(n=8, givens=24, cell=28, queries=HARD),
        6: dict(n=8, givens=16, cell=28, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        sol = solve(n, {}, limit=1, order=rng)[0]
        givens = dict(enumerate(sol))
        for i in rng.sample(range(n * n), n * n):
            if len(givens) <= cfg["givens"]:
                break
            v = givens.pop(i)  # unique iff no solution has the other colour here
            if not forced(n, givens, i, 1 - v) and not deduce(n, givens, i) and \
                    solve(n, {**givens, i: 1 - v}, limit=1):
                givens[i] = v
        rules = (f"Binairo on a {n}x{n} grid: put a black or a white circle in every empty cell so that every row "
                 f"and every column has {n // 2} black and {n // 2} white circles, no three circles of the same "
                 f"colour are adjacent in a row or column, and no two rows and no two columns are identical.")
        puzzle = [givens.get(i) for i in range(n * n)]
        board_text = ("The grid, row by row (1 = black circle, 0 = white circle, '.' = empty):\n"
                      + grid_text(chunk(puzzle, n)))
        free = [divmod(i, n) for i in range(n * n) if i not in givens]
        note = "Avoiding three equal circles in a line and balancing each row and column forces the cells one by one."
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, n),
                           note=note, free=free, meta={"n": n, "cell": cfg["cell"], "puzzle": puzzle})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        im, d, x0, y0 = board(n, n, cell)
        hidden = set(hide)
        r0 = cell * 0.36
        for i, v in enumerate(meta["puzzle"]):
            if v is None or i in hidden:
                continue
            x, y = centre(x0, y0, cell, *divmod(i, n))
            d.ellipse([x - r0, y - r0, x + r0, y + r0], fill=(20, 20, 20) if v else (255, 255, 255),
                      outline=(20, 20, 20), width=2)
        return im

    def split(self, meta, rng):
        n = meta["n"]
        told = [i for i, v in enumerate(meta["puzzle"]) if v is not None]
        told = sorted(rng.sample(told, max(1, len(told) // 3)))
        colour = {0: "white", 1: "black"}
        return told, "these given circles are not drawn: " + "; ".join(
            f"row {i // n + 1}, column {i % n + 1} is {colour[meta['puzzle'][i]]}" for i in told) + "."
