"""`futoshiki`: fill an n×n Latin square that obeys inequality signs between neighbouring cells.

Generation: a random Latin square is the solution; a random share of the adjacent pairs get
their inequality sign; then givens are removed in random order while the bitmask solver below
still finds exactly one solution, down to the level's target.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from PIL import ImageDraw

from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.puzzles._puzzle import (
    EASY,
    HARD,
    PAD,
    GridPuzzle,
    chunk,
    font_px,
    grid_text,
    latin_solve,
    latin_square,
    third,
)


def solve(n: int, grid: list[int], ineqs: list[tuple[int, int]], limit: int = 2) -> list[list[int]]:
    """Up to `limit` solutions of `grid` (flat, 0 = empty); each (a, b) in `ineqs` means cell a < cell b.

    The Latin-square search of `_puzzle.latin_solve`, each cell's digits narrowed by its signs.
    """
    return solver(n, tuple(ineqs))(grid, limit)


def solver(n: int, ineqs: tuple[tuple[int, int], ...]) -> Callable[[list[int], int], list[list[int]]]:
    """`solve` for one set of signs: what depends only on the signs (who must be smaller than whom,
    each cell's digits allowed by its chains) is worked out once, for the many grids `carve` tries."""
    full = (1 << n) - 1
    lower = [[] for _ in range(n * n)]  # lower[i]: cells that must be smaller than i
    upper = [[] for _ in range(n * n)]  # upper[i]: cells that must be larger than i
    for a, b in ineqs:
        lower[b].append(a)
        upper[a].append(b)
    # a cell with a chain of k smaller cells below it is at least k + 1; with k larger above it, at most n - k
    below, above = chain(lower), chain(upper)
    static = [full & ~((1 << below[i]) - 1) & ((1 << (n - above[i])) - 1) for i in range(n * n)]

    def run(grid: list[int], limit: int = 2, ban: tuple[int, int] | None = None) -> list[list[int]]:
        """`ban` (i, v): solutions in which cell i (empty in `grid`) is not v."""
        for a, b in ineqs:
            if grid[a] and grid[b] and grid[a] >= grid[b]:
                return []
        allowed = static
        if ban is not None:
            allowed = list(static)
            allowed[ban[0]] &= ~(1 << (ban[1] - 1))
        return latin_solve(n, grid, limit, allowed=allowed, less=ineqs)

    return run


def chain(nxt: list[list[int]]) -> list[int]:
    """For each cell, the length of the longest chain following `nxt` (the inequality graph has no cycles)."""
    memo: dict[int, int] = {}

    def depth(i: int) -> int:
        if i not in memo:
            memo[i] = max((1 + depth(j) for j in nxt[i]), default=0)
        return memo[i]

    return [depth(i) for i in range(len(nxt))]


def carve(rng: random.Random, n: int, solution: list[int], ineqs: list[tuple[int, int]], givens: int) -> list[int]:
    """Remove givens in random order while the puzzle stays uniquely solvable, down to `givens`."""
    grid = list(solution)
    filled = n * n
    solve_signs = solver(n, tuple(ineqs))
    for i in rng.sample(range(n * n), n * n):
        if filled <= givens:
            break
        v, grid[i] = grid[i], 0
        if solve_signs(grid, 1, ban=(i, v)):  # one search over every other digit at once
            grid[i] = v  # another digit fits here too: keep the given
        else:
            filled -= 1
    return grid


def sign_text(n: int, a: int, b: int) -> str:
    return f"(row {a // n + 1}, column {a % n + 1}) < (row {b // n + 1}, column {b % n + 1})"


@register
class Futoshiki(GridPuzzle):
    """Futoshiki: an n×n Latin square where signs between neighbouring cells say which is smaller.

    Level knobs:
        n: grid size (4-7).
        signs: share of the adjacent cell pairs that carry an inequality sign.
        givens: target number of given digits (carving stops earlier if uniqueness would break).
        cell: cell side in pixels (a gap of half a cell between cells holds the signs).
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: a third of the inequality signs are stated in text instead of drawn.
    """

    name = "futoshiki"
    description = "Futoshiki: Latin square with inequality signs between cells, unique solution (grid)."
    tags = ("logic", "perception")
    answer_legend = "digits without spaces"
    levels = {
        1: dict(n=4, signs=0.3, givens=6, cell=36, queries=EASY),
        2: dict(n=4, signs=0.3, givens=4, cell=36, queries=HARD),
        3: dict(n=5, signs=0.3, givens=6, cell=32, queries=HARD),
        4: dict(n=5, signs=0.35, givens=3, cell=32, queries=HARD),
        5: dict(n=6, signs=0.35, givens=5, cell=30, queries=HARD),
        6: dict(n=7, signs=0.4, givens=8, cell=28, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        sol = [v for row in latin_square(rng, n) for v in row]
        pairs = [(i, i + 1) for i in range(n * n) if i % n < n - 1] + [(i, i + n) for i in range(n * n - n)]
        chosen = sorted(rng.sample(pairs, round(cfg["signs"] * len(pairs))))
        ineqs = [(a, b) if sol[a] < sol[b] else (b, a) for a, b in chosen]
        puzzle = carve(rng, n, sol, ineqs, cfg["givens"])
        rules = (f"Fill the {n}x{n} Futoshiki grid with digits 1-{n} so that each row and each column contains "
                 f"every digit exactly once and every inequality sign between two neighbouring cells holds "
                 f"(the sign points at the smaller cell).")
        signs = "; ".join(sign_text(n, a, b) for a, b in ineqs) or "none"
        board = (f"The grid, row by row ('.' is an empty cell):\n"
                 f"{grid_text(chunk([v or None for v in puzzle], n))}\nInequalities: {signs}.")
        free = [divmod(i, n) for i, v in enumerate(puzzle) if not v]
        note = f"Placing digits where the row, column and {len(ineqs)} inequalities leave one option"
        note += " gives a unique grid."
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board, solution=chunk(sol, n),
                           note=note, free=free,
                           meta={"n": n, "cell": cfg["cell"], "puzzle": puzzle, "ineqs": [list(p) for p in ineqs]})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        gap = cell // 2
        step = cell + gap
        size = 2 * PAD + n * cell + (n - 1) * gap
        im = D.canvas(size)
        d = ImageDraw.Draw(im)
        for i, v in enumerate(meta["puzzle"]):
            r, c = divmod(i, n)
            x, y = PAD + c * step, PAD + r * step
            d.rectangle([x, y, x + cell, y + cell], outline=D.ink(), width=D.width(2))
            if v:
                label(im, (x + cell / 2, y + cell / 2), str(v), size=font_px(cell))
        hidden = {tuple(h) for h in hide}
        s = gap * 0.3
        for a, b in meta["ineqs"]:
            if (a, b) in hidden:
                continue
            ra, ca = divmod(a, n)
            rb, cb = divmod(b, n)
            if ra == rb:  # horizontal: "<" opens toward the larger cell
                x = PAD + min(ca, cb) * step + cell + gap / 2
                y = PAD + ra * step + cell / 2
                t = 1 if ca < cb else -1  # tip at the smaller cell's side
                pts = [(x + t * s, y - s * 1.3), (x - t * s, y), (x + t * s, y + s * 1.3)]
            else:
                x = PAD + ca * step + cell / 2
                y = PAD + min(ra, rb) * step + cell + gap / 2
                t = 1 if ra < rb else -1
                pts = [(x - s * 1.3, y + t * s), (x, y - t * s), (x + s * 1.3, y + t * s)]
            d.line(pts, fill=(200, 30, 30), width=3, joint="curve")
        return im

    def split(self, meta, rng):
        told = third([tuple(p) for p in meta["ineqs"]], rng)
        n = meta["n"]
        return told, "these inequalities hold but are not drawn: " + "; ".join(sign_text(n, a, b) for a, b in told) + "."
