"""`light_up`: place light bulbs (Akari) so every white cell is lit and no two bulbs see each other.

A bulb lights its own cell and every white cell in its row and column up to the next black
cell. A number on a black cell says how many bulbs sit on its four sides. Generation: random
black cells, then bulbs dropped on random unlit cells until all is lit; every black cell gets
its number; numbers are then erased in random order while the search below still finds
exactly one solution. If even all numbers leave it ambiguous, cells are revealed as givens.
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
    reveal_until_unique,
)


def sight(n: int, black: set[int]) -> list[list[int]]:
    """For every white cell, the other white cells in its row and column up to the nearest black cells."""
    out: list[list[int]] = [[] for _ in range(n * n)]
    for i in range(n * n):
        if i in black:
            continue
        r, c = divmod(i, n)
        for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            rr, cc = r + dr, c + dc
            while 0 <= rr < n and 0 <= cc < n and rr * n + cc not in black:
                out[i].append(rr * n + cc)
                rr, cc = rr + dr, cc + dc
    return out


def sides(n: int, i: int) -> list[int]:
    r, c = divmod(i, n)
    return [j for j, ok in ((i - n, r > 0), (i + n, r < n - 1), (i - 1, c > 0), (i + 1, c < n - 1)) if ok]


def solve(n: int, black: set[int], numbers: dict[int, int], givens: dict[int, int], limit: int = 2) -> list[list[int]]:
    """Up to `limit` flat 0/1 bulb layouts. Search: take the unlit cell with the fewest cells that could
    still light it and branch on which of them is the first bulb (earlier ones forbidden), so every
    layout is found once; numbers prune (never exceeded, always still reachable)."""
    see = sight(n, black)
    white = [i for i in range(n * n) if i not in black]
    lit = [0] * (n * n)
    bulb = [0] * (n * n)
    banned = [0] * (n * n)
    for i, v in givens.items():
        if v == 0:
            banned[i] = 1
    adj = {b: [j for j in sides(n, b) if j not in black] for b in numbers}
    out: list[list[int]] = []

    def place(i: int, d: int) -> None:
        bulb[i] += d
        lit[i] += d
        for j in see[i]:
            lit[j] += d

    near: dict[int, list[int]] = {}  # white cell -> numbered black cells beside it
    for b, cells in adj.items():
        for j in cells:
            near.setdefault(j, []).append(b)

    def numbers_ok(changed=None) -> bool:
        """The numbers beside the `changed` cells (all numbers if None) are neither exceeded nor out of reach."""
        todo = numbers if changed is None else {b for j in changed for b in near.get(j, ())}
        for b in todo:
            v = numbers[b]
            have = room = 0
            for j in adj[b]:
                if bulb[j]:
                    have += 1
                elif not lit[j] and not banned[j]:
                    room += 1
            if have > v or have + room < v:
                return False
        return True

    def rec() -> None:
        best = None
        for i in white:
            if lit[i]:
                continue
            cands = [j for j in [i, *see[i]] if not lit[j] and not banned[j]]
            if best is None or len(cands) < len(best):
                best = cands
                if len(cands) <= 1:
                    break
        if best is None:
            if numbers_ok():
                out.append(list(bulb))
            return
        tried = []
        for j in best:
            place(j, 1)
            if numbers_ok((j, *see[j])):
                rec()
            place(j, -1)
            banned[j] += 1  # later branches: j is not a bulb
            tried.append(j)
            if len(out) >= limit:
                break
        for j in tried:
            banned[j] -= 1

    for i, v in givens.items():
        if v == 1:
            if lit[i]:
                return []
            place(i, 1)
    if numbers_ok():
        rec()
    return out


@register
class LightUp(GridPuzzle):
    """Light Up (Akari): light every white cell with bulbs that never see each other.

    Level knobs:
        n: grid size (5-9).
        black: share of black cells.
        numbers: share of black cells whose number is kept at most (erasing stops earlier if
            uniqueness would break).
        cell: cell side in pixels.
        queries: the questions asked (`_puzzle.QUESTIONS`): `EASY` at level 1 (a cell first), `HARD` above
            (the whole grid first); row and column ask for one line of the solution.

    Mixed form: a third of the numbers are stated in text; their black cells show "?".
    """

    name = "light_up"
    description = "Light Up (Akari): place bulbs lighting every white cell, numbers count adjacent bulbs (grid)."
    tags = ("logic", "spatial")
    answer_legend = "1 for a bulb and 0 for every other cell (black cells included), without spaces"
    levels = {
        1: dict(n=5, black=0.25, numbers=1.0, cell=36, queries=EASY),
        2: dict(n=6, black=0.25, numbers=0.8, cell=36, queries=HARD),
        3: dict(n=6, black=0.3, numbers=0.6, cell=34, queries=HARD),
        4: dict(n=7, black=0.3, numbers=0.6, cell=32, queries=HARD),
        5: dict(n=8, black=0.3, numbers=0.5, cell=30, queries=HARD),
        6: dict(n=9, black=0.3, numbers=0.5, cell=28, queries=HARD),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int):
        n = cfg["n"]
        black = set(rng.sample(range(n * n), round(cfg["black"] * n * n)))
        see = sight(n, black)
        lit = set(black)
        sol = [0] * (n * n)
        for i in rng.sample(range(n * n), n * n):
            if i not in lit:
                sol[i] = 1
                lit.add(i)
                lit.update(see[i])
        numbers = {b: sum(sol[j] for j in sides(n, b)) for b in sorted(black)}
        givens = reveal_until_unique(rng, sol, lambda g: solve(n, black, numbers, g))
        keep = round(cfg["numbers"] * len(black))
        for b in rng.sample(sorted(numbers), len(numbers)):
            if len(numbers) <= keep:
                break
            v = numbers.pop(b)
            if len(solve(n, black, numbers, givens)) != 1:
                numbers[b] = v
        rules = (f"Light Up on a {n}x{n} grid: place light bulbs in some white cells. A bulb lights its own cell "
                 f"and every white cell in its row and column until a black cell blocks the light. Every white "
                 f"cell must be lit, no bulb may light another bulb, and a number on a black cell says exactly how "
                 f"many bulbs are on its four sides (black cells without a number allow any count).")
        if givens:
            rules += " Drawn bulbs are given; cells with a small dot hold no bulb."
        cells = [str(numbers[i]) if i in numbers else "#" if i in black else
                 "B" if givens.get(i) == 1 else "-" if givens.get(i) == 0 else "." for i in range(n * n)]
        legend = "'.' white cell, '#' black cell, a digit = black cell with that number"
        if givens:
            legend += ", 'B' = given bulb, '-' = white cell known to have no bulb"
        board_text = f"The grid, row by row ({legend}):\n" + grid_text(chunk(cells, n))
        note = ("Numbers fix the bulbs around them first (a 0 clears its sides); then each unlit cell must be lit "
                "by the only cell left that can see it.")
        free = [divmod(i, n) for i in range(n * n) if i not in black and i not in givens]
        return self.finish(rng, cfg, seed, level, rules=rules, board_text=board_text, solution=chunk(sol, n),
                           note=note, free=free, meta={"n": n, "cell": cfg["cell"], "black": sorted(black),
                                                       "numbers": {str(k): v for k, v in numbers.items()},
                                                       "givens": {str(k): v for k, v in givens.items()}})

    def render(self, meta: dict[str, Any], hide):
        n, cell = meta["n"], meta["cell"]
        im, d, x0, y0 = board(n, n, cell)
        fs = font_px(cell, 0.6)
        told = set(hide)
        for b in meta["black"]:
            fill_cell(d, x0, y0, cell, *divmod(b, n), color=(25, 25, 25))
            if str(b) in meta["numbers"]:
                s = "?" if b in told else str(meta["numbers"][str(b)])
                label(im, centre(x0, y0, cell, *divmod(b, n)), s, size=fs, fill=(255, 255, 255))
        for k, v in meta["givens"].items():
            x, y = centre(x0, y0, cell, *divmod(int(k), n))
            if v:
                rb = cell * 0.3
                d.ellipse([x - rb, y - rb, x + rb, y + rb], fill=(250, 210, 40), outline=(120, 90, 0), width=2)
            else:
                d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(60, 60, 60))
        return im

    def split(self, meta, rng):
        n = meta["n"]
        nums = [int(k) for k in meta["numbers"]]
        told = sorted(rng.sample(nums, max(1, len(nums) // 3))) if nums else []
        if not told:
            return [], "nothing is left out here: every number is drawn."
        return told, ("the black cells marked '?' hold these numbers: " + "; ".join(
            f"row {b // n + 1}, column {b % n + 1} is {meta['numbers'][str(b)]}" for b in told) + ".")
