"""`thermometers`: fill thermometers from their bulbs so the row and column counts of filled cells match.

Every cell belongs to one straight thermometer. A thermometer is filled from its bulb without
gaps (any length from empty to full). Generation: a random tiling by straight thermometers of
length 1-4, a random fill level for each, clues counted from it; tilings are redrawn until
the search below finds exactly one solution, after which (if tries run out) cells are revealed
as givens until it is unique.
"""

from __future__ import annotations

import random
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
    known_cells,
    reveal_until_unique,
)


def tile(rng: random.Random, n: int, longest: int) -> list[list[int]]:
    """Straight thermometers (cell lists from bulb to tip) covering the n×n grid."""
    owner = [-1] * (n * n)
    therms: list[list[int]] = []
    for i in rng.sample(range(n * n), n * n):
        if owner[i] >= 0:
            continue
        r, c = divmod(i, n)
        runs = []
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            cells = [i]
            while len(cells) < longest:
                rr, cc = r + dr * len(cells), c + dc * len(cells)
                if not (0 <= rr < n and 0 <= cc < n) or owner[rr * n + cc] >= 0:
                    break
                cells.append(rr * n + cc)
            runs.append(cells)
        cells = rng.choice(runs)[:rng.randint(2, longest)] if max(map(len, runs)) > 1 else [i]
        while len(cells) < 2 and max(map(len, runs)) > 1:
            cells = rng.choice(runs)[:rng.randint(2, longest)]
        if rng.random() < 0.5:
            cells.reverse()
        for j in cells:
            owner[j] = len(therms)
        therms.append(cells)
    return therms


def fill(n: int, therms: list[list[int]], levels: list[int]) -> list[int]:
    g = [0] * (n * n)
    for cells, k in zip(therms, levels, strict=True):
        for j in cells[:k]:
            g[j] = 1
    return g


def solve(n: int, therms: list[list[int]], rows: list[int], cols: list[int], givens: dict[int, int],
          limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 solutions: each thermometer filled from its bulb, counts matching the clues.

    Thermometers are decided in reading order of their first cell; a row or column count may never
    be exceeded nor become unreachable with the cells still undecided.
    """
    therms = sorted(therms, key=min)
    cap_r, cap_c = [0] * n, [0] * n
    for cells in therms:
        for j in cells:
            cap_r[j // n] += 1
            cap_c[j % n] += 1
    # fill levels the givens allow: at least past the last given filled cell, at most up to the first given empty one
    lo = [max((k + 1 for k, j in enumerate(t) if givens.get(j) == 1), default=0) for t in therms]
    hi = [min((k for k, j in enumerate(t) if givens.get(j) == 0), default=len(t)) for t in therms]
    sum_r, sum_c = [0] * n, [0] * n
    levels = [0] * len(therms)
    out: list[list[int]] = []

    def rec(t: int) -> None:
        if t == len(therms):
            if sum_r == rows and sum_c == cols:
                out.append(fill(n, therms, levels))
            return
        cells = therms[t]
        for j in cells:
            cap_r[j // n] -= 1
            cap_c[j % n] -= 1
        for k in range(len(cells) + 1):
            if k:
                j = cells[k - 1]
                sum_r[j // n] += 1
                sum_c[j % n] += 1
                if sum_r[j // n] > rows[j // n] or sum_c[j % n] > cols[j % n]:
                    break
            if k < lo[t]:
                continue
            if k > hi[t]:
                break
            if all(sum_r[j // n] + cap_r[j // n] >= rows[j // n] and sum_c[j % n] + cap_c[j % n] >= cols[j % n]
                   for j in cells):
                levels[t] = k
                rec(t + 1)
                if len(out) >= limit:
                    break
        for j in cells[:k]:
            sum_r[j // n] -= 1
            sum_c[j % n] -= 1
        for j in cells:
            cap_r[j // n] += 1
            cap_c[j % n] += 1

    rec(0)
    return out


@register
class Thermometers(GridPuzzle):
    """Thermometers: fill each thermometer from its bulb so the row/column counts of filled cells match.

    Level knobs:
        n: grid size (4-7).
        longest: longest thermometer (cells).
        tries: tilings drawn before falling back to revealing givens.
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: the row counts are stated in text instead of drawn.
    """

    name = "thermometers"
    description = "Thermometers: fill thermometers from the bulb to match row/column counts (grid)."
    tags = ("logic", "spatial")
    answer_legend = "1 for a filled cell and 0 for an empty cell, without spaces"
    levels = {
        1: dict(n=4, longest=3, tries=10, cell=40, queries=EASY),
        2: dict(n=4, longest=4, tries=10, cell=40, queries=HARD),
        3: dict(n=5, longest=4, tries=10, cell=38, queries=HARD),
        4: dict(n=6, longest=4, tries=8, cell=34, queries=HARD),
        5: dict(n=6, longest=6, tries=6, cell=34, queries=HARD),
        6: dict(n=7, longest=6, tries=4, cell=32, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        for _ in range(cfg["tries"]):
            therms = tile(rng, n, cfg["longest"])
            sol = fill(n, therms, [rng.randint(0, len(t)) for t in therms])
            rows = [sum(sol[r * n:(r + 1) * n]) for r in range(n)]
            cols = [sum(sol[c::n]) for c in range(n)]
            if len(solve(n, therms, rows, cols, {})) == 1:
                givens: dict[int, int] = {}
                break
        else:
            givens = reveal_until_unique(rng, sol, lambda g, t=therms, r=rows, c=cols: solve(n, t, r, c, g))
        rules = (f"Thermometers on a {n}x{n} grid: every cell belongs to a thermometer (the round end is its bulb). "
                 f"Fill some cells so that each thermometer is filled from its bulb upward without gaps (it may "
                 f"be empty or full), and the number of filled cells in each row (right of the grid) and each "
                 f"column (below the grid) matches.")
        if givens:
            rules += " Cells with a red dot are known to be filled; cells marked x are known to be empty."
        desc = "; ".join(f"bulb at (row {t[0] // n + 1}, column {t[0] % n + 1})"
                         + (f" running {self.direction(n, t)} for {len(t)} cells" if len(t) > 1 else ", 1 cell")
                         for t in therms)
        board_text = (f"Thermometers: {desc}.\nFilled cells per row, top to bottom: {' '.join(map(str, rows))}.\n"
                      f"Filled cells per column, left to right: {' '.join(map(str, cols))}.")
        if givens:
            board_text += known_cells(givens, n, {1: ("#", "filled"), 0: ("x", "empty")})
        note = "A thermometer fills from its bulb, so each count caps how far the thermometers crossing that line reach."
        free = [divmod(i, n) for i in range(n * n) if i not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, n),
                           note=note, free=free, meta={"n": n, "cell": cfg["cell"], "therms": therms, "rows": rows,
                                                       "cols": cols, "givens": {str(k): v for k, v in givens.items()}})

    @staticmethod
    def direction(n: int, t: list[int]) -> str:
        step = t[1] - t[0]
        return {1: "right", -1: "left", n: "down", -n: "up"}[step]

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        m = int(cell * 0.8)
        im, d, x0, y0 = board(n, n, cell, right=m, bottom=m)
        tube, edge = (205, 205, 205), (90, 90, 90)
        w = int(cell * 0.34)
        for t in meta["therms"]:
            pts = [centre(x0, y0, cell, *divmod(j, n)) for j in t]
            if len(pts) > 1:
                d.line(pts, fill=edge, width=w + 4)
                ex, ey = pts[-1]
                d.ellipse([ex - w / 2 - 2, ey - w / 2 - 2, ex + w / 2 + 2, ey + w / 2 + 2], fill=edge)
                d.line(pts, fill=tube, width=w)
                d.ellipse([ex - w / 2, ey - w / 2, ex + w / 2, ey + w / 2], fill=tube)
            bx, by = pts[0]
            rb = cell * 0.34
            d.ellipse([bx - rb, by - rb, bx + rb, by + rb], fill=tube, outline=edge, width=2)
        fs = font_px(cell, 0.5)
        for k, v in meta["givens"].items():
            x, y = centre(x0, y0, cell, *divmod(int(k), n))
            if v:
                d.ellipse([x - cell * 0.14, y - cell * 0.14, x + cell * 0.14, y + cell * 0.14], fill=(220, 30, 30))
            else:
                label(im, (x, y), "x", size=fs)
        for i in range(n):
            if "rows" not in hide:
                label(im, (x0 + n * cell + m / 2, y0 + (i + 0.5) * cell), str(meta["rows"][i]), size=fs,
                       fill=(30, 60, 200))
            label(im, (x0 + (i + 0.5) * cell, y0 + n * cell + m / 2), str(meta["cols"][i]), size=fs,
                   fill=(30, 60, 200))
        return im

    def split(self, meta, rng):
        return ["rows"], ("the row counts (right of the grid) are not drawn; top to bottom they are "
                          f"{' '.join(map(str, meta['rows']))}.")
