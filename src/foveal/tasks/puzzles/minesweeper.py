"""`minesweeper`: find every mine on a Minesweeper board from the revealed numbers and the mine total.

A revealed cell shows how many of its up to eight neighbours are mines. Generation: random
mines; every safe cell starts revealed; safe cells are then covered in random order while the
search below still finds exactly one placement of the mines, down to the level's target.
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
    fill_cell,
    font_px,
    grid_text,
)

NUMBER_COLORS = {1: (30, 60, 220), 2: (20, 130, 40), 3: (210, 30, 30), 4: (20, 20, 130), 5: (130, 20, 20),
                 6: (20, 130, 130), 7: (0, 0, 0), 8: (90, 90, 90)}


def neighbours(rows: int, cols: int, i: int) -> list[int]:
    r, c = divmod(i, cols)
    return [(r + dr) * cols + c + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)
            if (dr or dc) and 0 <= r + dr < rows and 0 <= c + dc < cols]


def solve(rows: int, cols: int, shown: dict[int, int], total: int, limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 mine layouts: `shown` maps revealed cells to their numbers; every other cell
    is covered; `total` mines in all. Covered cells are decided in reading order; each number's count
    of decided mines never exceeds it and can still reach it."""
    covered = [i for i in range(rows * cols) if i not in shown]
    cons = list(shown.items())
    need = [v for _, v in cons]
    left = [0] * len(cons)  # covered neighbours still undecided
    member: dict[int, list[int]] = {i: [] for i in covered}
    for k, (i, _) in enumerate(cons):
        for j in neighbours(rows, cols, i):
            if j in member:
                member[j].append(k)
                left[k] += 1
    if any(need[k] > left[k] for k in range(len(cons))):
        return []
    g = [0] * (rows * cols)
    out: list[list[int]] = []

    def rec(t: int, mines: int) -> None:
        if t == len(covered):
            if mines == total:
                out.append(list(g))
            return
        i = covered[t]
        if mines + len(covered) - t < total:
            return
        for v in (0, 1):
            if v and mines == total:
                break
            ok = True
            for k in member[i]:
                left[k] -= 1
                need[k] -= v
            for k in member[i]:
                if need[k] < 0 or need[k] > left[k]:
                    ok = False
            if ok:
                g[i] = v
                rec(t + 1, mines + v)
                g[i] = 0
            for k in member[i]:
                left[k] += 1
                need[k] += v
            if len(out) >= limit:
                return

    rec(0, 0)
    return out


@register
class Minesweeper(GridPuzzle):
    """Minesweeper: mark every mine, given the revealed numbers and the total number of mines.

    Level knobs:
        rows, cols: board size.
        mines: number of mines.
        covered: target number of covered safe cells (covering stops earlier if uniqueness would break).
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: a third of the revealed numbers are stated in text; their cells show "?".
    """

    name = "minesweeper"
    description = "Minesweeper: locate every mine from the revealed numbers and the mine count (grid)."
    tags = ("logic", "counting")
    answer_legend = "1 for a mine and 0 for a safe cell (revealed or covered), without spaces"
    levels = {
        1: dict(rows=4, cols=4, mines=3, covered=2, cell=36, queries=EASY),
        2: dict(rows=5, cols=5, mines=4, covered=4, cell=34, queries=HARD),
        3: dict(rows=6, cols=6, mines=6, covered=8, cell=32, queries=HARD),
        4: dict(rows=7, cols=7, mines=8, covered=12, cell=30, queries=HARD),
        5: dict(rows=8, cols=8, mines=11, covered=18, cell=28, queries=HARD),
        6: dict(rows=9, cols=9, mines=14, covered=26, cell=26, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        rows, cols, total = cfg["rows"], cfg["cols"], cfg["mines"]
        mines = set(rng.sample(range(rows * cols), total))
        sol = [int(i in mines) for i in range(rows * cols)]
        number = {i: sum(sol[j] for j in neighbours(rows, cols, i)) for i in range(rows * cols) if i not in mines}
        shown = dict(number)
        hidden = 0
        for i in rng.sample(sorted(number), len(number)):
            if hidden >= cfg["covered"]:
                break
            v = shown.pop(i)
            if len(solve(rows, cols, shown, total)) == 1:
                hidden += 1
            else:
                shown[i] = v
        rules = (f"Minesweeper on a {rows}x{cols} board with {total} mines in all. A revealed cell (white) shows how "
                 f"many of its up to 8 neighbours (including diagonal ones) are mines; a blank revealed cell has "
                 f"none. Mines lie only under covered (grey) cells, but not every covered cell is a mine. "
                 f"Find every mine.")
        board_text = ("The board, row by row ('#' = covered cell, a digit = revealed cell with that many "
                      "neighbouring mines):\n"
                      + grid_text(chunk([shown[i] if i in shown else "#" for i in range(rows * cols)], cols)))
        note = (f"Numbers that equal their count of covered neighbours mark those neighbours as mines, and "
                f"numbers already satisfied clear the rest; with {total} mines in all this places every mine.")
        free = [divmod(i, cols) for i in range(rows * cols) if i not in shown]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, cols),
                           note=note, free=free, meta={"rows": rows, "cols": cols, "cell": cfg["cell"],
                                                       "mines": total,
                                                       "shown": {str(k): v for k, v in sorted(shown.items())}})

    def render(self, meta: dict[str, Any], hide):
        rows, cols, cell = meta["rows"], meta["cols"], meta["cell"]
        im, d, x0, y0 = board(rows, cols, cell)
        fs = font_px(cell, 0.6)
        shown = {int(k): v for k, v in meta["shown"].items()}
        told = set(hide)
        for i in range(rows * cols):
            r, c = divmod(i, cols)
            if i not in shown:
                fill_cell(d, x0, y0, cell, r, c, (160, 160, 160))
                d.line([(x0 + c * cell + 2, y0 + (r + 1) * cell - 2), (x0 + c * cell + 2, y0 + r * cell + 2),
                        (x0 + (c + 1) * cell - 2, y0 + r * cell + 2)], fill=(225, 225, 225), width=2)
            elif i in told:
                label(im, centre(x0, y0, cell, r, c), "?", size=fs, fill=(120, 120, 120))
            elif shown[i]:
                label(im, centre(x0, y0, cell, r, c), str(shown[i]), size=fs, fill=NUMBER_COLORS[shown[i]])
        return im

    def split(self, meta, rng):
        cols = meta["cols"]
        told = sorted(rng.sample([int(k) for k in meta["shown"]], max(1, len(meta["shown"]) // 3)))
        return told, ("the revealed cells marked '?' hold these numbers: " + "; ".join(
            f"row {i // cols + 1}, column {i % cols + 1} shows {meta['shown'][str(i)]}" for i in told) + ".")
