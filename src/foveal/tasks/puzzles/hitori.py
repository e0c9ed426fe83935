"""`hitori`: shade cells so no number repeats in a row or column, shaded cells never touch, and the
unshaded cells stay connected.

Generation: a random Latin square is the unshaded picture; a random set of non-touching cells
that keeps the rest connected is shaded, and each shaded cell takes a number copied from an
unshaded cell of its row or column (so it must go). The search below confirms the solution is
unique; if not, cells are revealed (circled = unshaded, grey = shaded) until it is.
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
    chunk,
    fill_cell,
    font_px,
    grid_text,
    known_cells,
    latin_square,
    reveal_until_unique,
)


@cache
def sides(n: int, i: int) -> tuple[int, ...]:
    r, c = divmod(i, n)
    return tuple(j for j, ok in ((i - n, r > 0), (i + n, r < n - 1), (i - 1, c > 0), (i + 1, c < n - 1)) if ok)


def connected(n: int, shaded: list[int]) -> bool:
    """Whether the unshaded cells (shaded[i] == 0) form one 4-connected region."""
    start = next(i for i in range(n * n) if not shaded[i])
    seen, todo = {start}, [start]
    while todo:
        for j in sides(n, todo.pop()):
            if not shaded[j] and j not in seen:
                seen.add(j)
                todo.append(j)
    return len(seen) == n * n - sum(shaded)


def repeated(n: int, nums: list[int]) -> list[int]:
    """Cells whose number appears more than once in their row or column: the only ones that may be shaded."""
    out = []
    for i, v in enumerate(nums):
        r, c = divmod(i, n)
        if sum(nums[r * n + k] == v for k in range(n)) > 1 or sum(nums[k * n + c] == v for k in range(n)) > 1:
            out.append(i)
    return out


def solve(n: int, nums: list[int], givens: dict[int, int], limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 shadings (1 = shaded). Only repeated cells are decided, in reading order:
    a shaded cell may not touch a shaded one nor cut the cells not shaded so far apart; an unshaded one
    may not repeat an unshaded number of its row or column."""
    cand = repeated(n, nums)
    state = [0] * (n * n)  # 1 shaded, 0 unshaded (cells not in cand stay unshaded)
    decided = [i not in set(cand) for i in range(n * n)]
    out: list[list[int]] = []

    def rec(t: int) -> None:
        if t == len(cand):
            if connected(n, state):
                out.append(list(state))
            return
        i = cand[t]
        r, c = divmod(i, n)
        for v in (1, 0):
            if givens.get(i, v) != v:
                continue
            if v:
                if any(state[j] for j in sides(n, i) if decided[j]):
                    continue
                state[i] = 1
                cut = not connected(n, state)  # undecided cells count as unshaded here
                state[i] = 0
                if cut:
                    continue
            elif any(decided[j] and not state[j] and nums[j] == nums[i] and j != i
                     for j in [*range(r * n, r * n + n), *range(c, n * n, n)]):
                continue
            state[i], decided[i] = v, True
            rec(t + 1)
            state[i], decided[i] = 0, False
            if len(out) >= limit:
                return

    rec(0)
    return out


@register
class Hitori(GridPuzzle):
    """Hitori: shade cells so unshaded numbers never repeat in a line, shaded cells never touch, and the
    unshaded cells stay connected.

    Level knobs:
        n: grid size (4-8).
        shade: share of cells shaded in the hidden solution.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the numbers of the bottom row are stated in text and left out of the picture.
    """

    name = "hitori"
    description = "Hitori: shade repeated numbers, shaded cells apart, unshaded cells connected (grid)."
    tags = ("logic", "perception")
    answer_legend = "1 for a shaded cell and 0 for an unshaded cell, without spaces"
    levels = {
        1: dict(n=4, shade=0.2, cell=40, queries=EASY),
        2: dict(n=4, shade=0.25, cell=40, queries=HARD),
        3: dict(n=5, shade=0.25, cell=38, queries=HARD),
        4: dict(n=6, shade=0.25, cell=36, queries=HARD),
        5: dict(n=7, shade=0.25, cell=34, queries=HARD),
        6: dict(n=8, shade=0.25, cell=32, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        nums = [v for row in latin_square(rng, n) for v in row]
        sol = [0] * (n * n)
        target = round(cfg["shade"] * n * n)
        for i in rng.sample(range(n * n), n * n):
            if sum(sol) >= target:
                break
            if any(sol[j] for j in sides(n, i)):
                continue
            sol[i] = 1
            if not connected(n, sol):
                sol[i] = 0
        for i in range(n * n):
            if sol[i]:
                r, c = divmod(i, n)
                line = [j for j in [*range(r * n, r * n + n), *range(c, n * n, n)] if not sol[j]]
                nums[i] = nums[rng.choice(line)]
        givens = reveal_until_unique(rng, sol, lambda g: solve(n, nums, g))
        rules = (f"Hitori on a {n}x{n} grid of numbers: shade some cells so that no number appears more than once "
                 f"among the unshaded cells of any row or column, no two shaded cells share a side, and all "
                 f"unshaded cells form one connected area (through shared sides). Only a cell whose number is "
                 f"repeated in its row or column may be shaded.")
        if givens:
            rules += " Circled cells are known to be unshaded; grey cells are known to be shaded."
        board_text = "The numbers, row by row:\n" + grid_text(chunk(nums, n))
        if givens:
            board_text += known_cells(givens, n, {0: ("o", "unshaded"), 1: ("#", "shaded")})
        note = ("Of two equal numbers in a line at most one stays unshaded; a shaded cell's neighbours must stay "
                "unshaded, and keeping the unshaded cells connected settles the rest.")
        free = [divmod(i, n) for i in range(n * n) if i not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, n),
                           note=note, free=free, meta={"n": n, "cell": cfg["cell"], "nums": nums,
                                                       "givens": {str(k): v for k, v in givens.items()}})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        im, d, x0, y0 = board(n, n, cell)
        fs = font_px(cell, 0.55)
        givens = {int(k): v for k, v in meta["givens"].items()}
        told = set(hide)
        for i, v in enumerate(meta["nums"]):
            x, y = centre(x0, y0, cell, *divmod(i, n))
            if givens.get(i) == 1:
                fill_cell(d, x0, y0, cell, *divmod(i, n), color=(150, 150, 150))
            elif givens.get(i) == 0:
                rr = cell * 0.38
                d.ellipse([x - rr, y - rr, x + rr, y + rr], outline=(30, 60, 200), width=2)
            if i not in told:
                label(im, (x, y), str(v), size=fs)
        return im

    def split(self, meta, rng):
        n = meta["n"]
        last = list(range(n * (n - 1), n * n))
        return last, (f"the numbers of the bottom row (row {n}) are not drawn; left to right they are "
                      f"{' '.join(str(meta['nums'][i]) for i in last)}.")
