"""`star_battle`: place one star in every row, column and outlined region, no two stars touching.

Generation: the stars come first (one per row and column, no two in neighbouring rows closer
than two columns apart); each star then grows a region by random flood fill until the regions
tile the grid. While the permutation search below finds a second solution, one of its stars
(not a true star) is moved into a neighbouring region, which breaks it (if no star can move, the
regions are regrown); if the level's tries run out, cells are revealed as givens until the solution is unique.
"""

from __future__ import annotations

import random
from typing import Any

from foveal.tasks import draw as D
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
    known_cells,
    reveal_until_unique,
)

LETTERS = "ABCDEFGHIJ"
PASTELS = [(255, 214, 214), (214, 234, 255), (220, 245, 210), (255, 240, 200), (235, 220, 250), (210, 245, 240),
           (250, 225, 240), (235, 235, 235), (255, 228, 196), (225, 255, 225)]


def solve(n: int, region: list[int], givens: dict[int, int], limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 solutions: one star per row, column and region, no two touching."""
    must = {i // n: i % n for i, v in givens.items() if v == 1}
    banned = {i for i, v in givens.items() if v == 0}
    out: list[list[int]] = []
    cols: list[int] = []
    last = {}  # region -> its lowest row
    for i, k in enumerate(region):
        last[k] = i // n
    closed = [sum(1 << k for k, lr in last.items() if lr < r) for r in range(n + 1)]  # regions ending above row r

    def rec(r: int, used_c: int, used_reg: int) -> None:
        if used_reg & closed[r] != closed[r]:
            return  # a region lying wholly above this row has no star
        if r == n:
            g = [0] * (n * n)
            for rr, c in enumerate(cols):
                g[rr * n + c] = 1
            out.append(g)
            return
        for c in ([must[r]] if r in must else range(n)):
            i = r * n + c
            if used_c >> c & 1 or used_reg >> region[i] & 1 or i in banned or (cols and abs(cols[-1] - c) < 2):
                continue
            cols.append(c)
            rec(r + 1, used_c | 1 << c, used_reg | 1 << region[i])
            cols.pop()
            if len(out) >= limit:
                return

    rec(0, 0, 0)
    return out


def stars(rng: random.Random, n: int) -> list[int]:
    """A random column per row: all distinct, neighbouring rows at least two columns apart."""
    cols: list[int] = []

    def rec() -> bool:
        if len(cols) == n:
            return True
        opts = [c for c in range(n) if c not in cols and (not cols or abs(cols[-1] - c) > 1)]
        rng.shuffle(opts)
        for c in opts:
            cols.append(c)
            if rec():
                return True
            cols.pop()
        return False

    rec()
    return cols


def grow(rng: random.Random, n: int, seeds: list[int]) -> list[int]:
    """Regions by random flood fill from the seed cells: region[i] = index of the seed that claimed cell i."""
    region = [-1] * (n * n)
    frontier = []
    for k, i in enumerate(seeds):
        region[i] = k
        frontier.append(i)
    while frontier:
        i = frontier.pop(rng.randrange(len(frontier)))
        r, c = divmod(i, n)
        nbrs = [j for j, ok in ((i - n, r > 0), (i + n, r < n - 1), (i - 1, c > 0), (i + 1, c < n - 1))
                if ok and region[j] < 0]
        if nbrs:
            j = rng.choice(nbrs)
            region[j] = region[i]
            frontier.extend((i, j))
    return region


def connected(n: int, cells: set[int]) -> bool:
    if not cells:
        return False
    todo, seen = [next(iter(cells))], set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        r, c = divmod(i, n)
        todo += [j for j, ok in ((i - n, r > 0), (i + n, r < n - 1), (i - 1, c > 0), (i + 1, c < n - 1))
                 if ok and j in cells]
    return seen == cells


def reshape(rng: random.Random, n: int, region: list[int], other: list[int], sol: list[int]) -> bool:
    """Break the alternative solution `other`: move one of its stars that is not a star of `sol` into a
    neighbouring region (keeping both regions connected), so `other` puts two stars in that region
    while `sol` is untouched. Returns False if no such move exists."""
    cands = [i for i in range(n * n) if other[i] and not sol[i]]
    rng.shuffle(cands)
    for x in cands:
        r, c = divmod(x, n)
        nbrs = [j for j, ok in ((x - n, r > 0), (x + n, r < n - 1), (x - 1, c > 0), (x + 1, c < n - 1)) if ok]
        targets = sorted({region[j] for j in nbrs} - {region[x]})
        rest = {i for i in range(n * n) if region[i] == region[x]} - {x}
        if targets and connected(n, rest):
            region[x] = rng.choice(targets)
            return True
    return False


@register
class StarBattle(GridPuzzle):
    """Star Battle (one star): a star in every row, column and region; stars never touch, even diagonally.

    Level knobs:
        n: grid size and number of regions (5-9; 4 has no valid star layout).
        tries: region reshapes before falling back to revealing givens.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the top half of the rows is drawn without regions and their region letters are
    given in text; the drawn cells carry their region's letter.
    """

    name = "star_battle"
    description = "Star Battle: one star per row, column and region, stars never touching (grid)."
    tags = ("logic", "spatial")
    answer_legend = "1 for a star and 0 for an empty cell, without spaces"
    levels = {
        1: dict(n=5, tries=30, cell=40, queries=EASY),
        2: dict(n=5, tries=30, cell=40, queries=HARD),
        3: dict(n=6, tries=30, cell=36, queries=HARD),
        4: dict(n=7, tries=30, cell=34, queries=HARD),
        5: dict(n=8, tries=20, cell=32, queries=HARD),
        6: dict(n=9, tries=20, cell=30, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        cols = stars(rng, n)
        sol = [0] * (n * n)
        for r, c in enumerate(cols):
            sol[r * n + c] = 1
        region = grow(rng, n, [r * n + c for r, c in enumerate(cols)])
        givens: dict[int, int] = {}
        for _ in range(cfg["tries"]):
            other = next((s for s in solve(n, region, {}) if s != sol), None)
            if other is None:
                break
            if not reshape(rng, n, region, other, sol):
                region = grow(rng, n, [r * n + c for r, c in enumerate(cols)])
        if other is not None:
            givens = reveal_until_unique(rng, sol, lambda g: solve(n, region, g))
        rules = (f"Star Battle on a {n}x{n} grid divided into {n} outlined regions: place {n} stars so that every "
                 f"row, every column and every region holds exactly one star, and no two stars touch, not even "
                 f"diagonally.")
        if givens:
            rules += " A drawn star is given; a cell marked x holds no star."
        board_text = ("The regions, row by row (each letter names a region):\n"
                      + grid_text(chunk([LETTERS[k] for k in region], n)))
        if givens:
            board_text += known_cells(givens, n, {1: ("*", "star"), 0: ("x", "no star")})
        small = min(range(n), key=lambda k: region.count(k))
        note = (f"The smallest region ({LETTERS[small]}, {region.count(small)} cells) narrows its star first; each "
                f"star then rules out its row, column, region and the cells around it.")
        free = [divmod(i, n) for i in range(n * n) if i not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, n),
                           note=note, free=free, meta={"n": n, "cell": cfg["cell"], "region": region,
                                                       "givens": {str(k): v for k, v in givens.items()}})

    def render(self, meta: dict[str, Any], hide):
        n, cell, region = meta["n"], meta["cell"], meta["region"]
        plain = set(hide)
        im, d, x0, y0 = board(n, n, cell, lines=False)
        for i, k in enumerate(region):
            r, c = divmod(i, n)
            if i not in plain:
                d.rectangle([x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell, y0 + (r + 1) * cell],
                            fill=PASTELS[k % len(PASTELS)])
        D.grid_lines(d, x0, y0, cell, n, n, width=1, fill=(150, 150, 150))
        for i in range(n * n):
            r, c = divmod(i, n)
            if c < n - 1 and region[i] != region[i + 1] and not {i, i + 1} & plain:
                d.line([(x0 + (c + 1) * cell, y0 + r * cell), (x0 + (c + 1) * cell, y0 + (r + 1) * cell)],
                       fill=D.ink(), width=D.width(3))
            if r < n - 1 and region[i] != region[i + n] and not {i, i + n} & plain:
                d.line([(x0 + c * cell, y0 + (r + 1) * cell), (x0 + (c + 1) * cell, y0 + (r + 1) * cell)],
                       fill=D.ink(), width=D.width(3))
        d.rectangle([x0 - 1, y0 - 1, x0 + n * cell + 1, y0 + n * cell + 1], outline=D.ink(), width=D.width(3))
        if plain:  # mixed form: label the drawn cells with their region letters
            for i, k in enumerate(region):
                if i not in plain:
                    label(im, centre(x0, y0, cell, *divmod(i, n)), LETTERS[k], size=font_px(cell, 0.4),
                           fill=(110, 110, 110))
        for k, v in meta["givens"].items():
            x, y = centre(x0, y0, cell, *divmod(int(k), n))
            if v:
                D.shape(d, "star", x, y, cell * 0.38, (235, 180, 0), outline=D.ink())
            else:
                label(im, (x, y), "x", size=font_px(cell, 0.5))
        return im

    def split(self, meta, rng):
        n, region = meta["n"], meta["region"]
        top = n // 2
        rows = " / ".join("".join(LETTERS[k] for k in region[r * n:(r + 1) * n]) for r in range(top))
        return list(range(top * n)), (f"rows 1-{top} are drawn without their regions; every drawn cell is "
                                      f"labelled with its region's letter, and the letters of rows 1-{top}, top "
                                      f"to bottom, are: {rows}.")
