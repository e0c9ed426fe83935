"""`fifteen_puzzle`: the sliding-tile puzzle (8-puzzle on 3×3, 15-puzzle on 4×4) a few moves from solved.

The solved board reads 1, 2, ..., n²-1 row by row with the gap in the bottom-right corner. A
move slides a tile next to the gap into it. Generation: a random walk of the level's length
from the solved board (never undoing the previous move); the answer comes from IDA* search with
the Manhattan-distance bound, which is exact for these depths.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task
from foveal.tasks.puzzles._puzzle import PAD, grid_text


def goal(n: int) -> tuple[int, ...]:
    return (*range(1, n * n), 0)


def neighbours(n: int, i: int) -> list[int]:
    r, c = divmod(i, n)
    return [j for j, ok in ((i - n, r > 0), (i + n, r < n - 1), (i - 1, c > 0), (i + 1, c < n - 1)) if ok]


def manhattan(n: int, s: tuple[int, ...]) -> int:
    return sum(abs(i // n - (v - 1) // n) + abs(i % n - (v - 1) % n) for i, v in enumerate(s) if v)


def optimal(n: int, s: tuple[int, ...], limit: int = 2) -> tuple[int, list[list[int]]]:
    """(fewest moves to solve `s`, up to `limit` optimal solutions as lists of the tiles slid), by IDA*."""
    found: list[list[int]] = []
    path: list[int] = []

    def dfs(state: list[int], gap: int, g: int, bound: int, prev: int) -> int:
        h = manhattan(n, tuple(state))
        if g + h > bound:
            return g + h
        if h == 0:
            found.append(list(path))
            return g
        best = 10 ** 9
        for j in neighbours(n, gap):
            if j == prev:
                continue
            tile = state[j]
            state[gap], state[j] = tile, 0
            path.append(tile)
            t = dfs(state, j, g + 1, bound, gap)
            path.pop()
            state[gap], state[j] = 0, tile
            if len(found) >= limit:
                return t
            best = min(best, t)
        return best

    bound = manhattan(n, s)
    while True:
        t = dfs(list(s), s.index(0), 0, bound, -1)
        if found:
            return len(found[0]), found
        bound = t


def scramble(rng: random.Random, n: int, moves: int) -> tuple[int, ...]:
    s = list(goal(n))
    gap, prev = n * n - 1, -1
    for _ in range(moves):
        j = rng.choice([j for j in neighbours(n, gap) if j != prev])
        s[gap], s[j] = s[j], 0
        prev, gap = gap, j
    return tuple(s)


@register
class FifteenPuzzle(Task):
    """Sliding-tile puzzle: fewest moves, the unique shortest sequence of tiles to slide, the tiles that
    can move now, or how many tiles are out of place.

    Queries: "moves" (fewest moves to solve; number), "sequence" (the tiles to slide, in order, of the
    only shortest solution; positions with several shortest solutions are redrawn; sequence),
    "movable" (the tiles next to the gap, in increasing order; sequence), "misplaced" (tiles not on
    their home cell, the gap not counted; number).

    Level knobs:
        n: board side (3 for the 8-puzzle, 4 for the 15-puzzle).
        scramble: (min, max) random moves applied to the solved board.
        queries: the queries the level asks; its first is the question the level asked before
            queries existed ("sequence" on levels 1 and 3, "moves" elsewhere). "sequence" is left out
            of the long scrambles, where unique shortest solutions are rare and slow to find.
        cell: tile side in pixels.

    Problem space (documented exception to 10^4 per level): a board a few moves from solved is one
    of few. Level 1 (3x3, 2-3 moves) has 12 distinct boards per query, level 2 75, level 3 222,
    level 4 3,245, level 5 5,964 (`scripts/problem_spaces.py`); only level 6 exceeds 10^4. More
    moves would make level 1 hard, which it must not be.

    Mixed form: the tiles of the top row are stated in text and drawn blank.
    """

    name = "fifteen_puzzle"
    description = "Sliding-tile puzzle (3x3/4x4): fewest moves, unique shortest sequence, movable or misplaced tiles."
    tags = ("planning", "spatial")
    forms = ("image", "text", "mixed")
    questions = {
        "moves": {
            "direct": "What is the smallest number of moves that solves it?",
            "imperative": "Find the smallest number of moves that solves it.",
            "polite": "Could you tell me the smallest number of moves that solves it?",
            "terse": "Fewest moves to solve it?",
        },
        "sequence": {
            "direct": "There is exactly one shortest way to solve it.",
            "imperative": "There is exactly one shortest way to solve it. Give the tiles to slide.",
            "polite": "There is exactly one shortest way to solve it. Could you list the tiles to slide?",
            "terse": "Unique shortest solution: tiles to slide?",
        },
        "movable": {
            "direct": "Which tiles can slide into the gap right now?",
            "imperative": "Name the tiles that can slide into the gap right now.",
            "polite": "Could you tell me which tiles can slide into the gap right now?",
            "terse": "Tiles that can slide into the gap now?",
        },
        "misplaced": {
            "direct": "How many tiles are not on their home cell?",
            "imperative": "Count the tiles that are not on their home cell.",
            "polite": "Could you tell me how many tiles are not on their home cell?",
            "terse": "Tiles off their home cell: how many?",
        },
    }
    FORMAT = {
        "moves": "Answer with a number.",
        "sequence": "Answer with the numbers of the tiles to slide, in order, separated by spaces.",
        "movable": "Answer with their numbers in increasing order, separated by spaces.",
        "misplaced": "Answer with a number.",
    }
    levels = {
        1: dict(n=3, scramble=(2, 3), queries=("sequence", "moves", "movable", "misplaced"), cell=48),
        2: dict(n=3, scramble=(4, 6), queries=("moves", "sequence", "movable", "misplaced"), cell=48),
        3: dict(n=3, scramble=(5, 8), queries=("sequence", "moves", "movable", "misplaced"), cell=48),
        4: dict(n=3, scramble=(10, 14), queries=("moves", "movable", "misplaced"), cell=48),
        5: dict(n=4, scramble=(8, 12), queries=("moves", "movable", "misplaced"), cell=42),
        6: dict(n=4, scramble=(12, 18), queries=("moves", "movable", "misplaced"), cell=42),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, q = cfg["n"], self.query
        while True:
            s = scramble(rng, n, rng.randint(*cfg["scramble"]))
            if s == goal(n):
                continue
            k, sols = optimal(n, s, limit=2 if q == "sequence" else 1)
            if q != "sequence" or len(sols) == 1:
                break
        seq = " ".join(map(str, sols[0]))
        ask = f"{self.ask()} {self.FORMAT[q]}"
        if q == "sequence":
            answer, answer_type = seq, "sequence"
            sol = f"The gap must travel so that each slide brings tiles home; the shortest solution slides {seq}. Answer: {seq}."
        elif q == "moves":
            answer, answer_type = str(k), "number"
            sol = (f"The tiles are {manhattan(n, s)} steps from home in Manhattan distance, and a search shows the "
                   f"shortest solution slides {seq}, which is {k} moves. Answer: {k}.")
        elif q == "movable":
            gap = s.index(0)
            tiles = sorted(s[j] for j in neighbours(n, gap))
            answer, answer_type = " ".join(map(str, tiles)), "sequence"
            sol = (f"The gap is in row {gap // n + 1}, column {gap % n + 1}; the tiles beside it are "
                   f"{', '.join(map(str, tiles))}. Answer: {answer}.")
        else:
            off = [v for i, v in enumerate(s) if v and v != i + 1]
            answer, answer_type = str(len(off)), "number"
            sol = (f"Tile v belongs in cell v (reading order); the tiles elsewhere are "
                   f"{', '.join(map(str, sorted(off)))}, {len(off)} in all. Answer: {answer}.")
        last = n * n - 1
        intro = (f"A {n}x{n} sliding puzzle. A move slides a tile next to the gap into the gap. It is solved when the "
                 f"tiles read 1 to {last} row by row from the top left with the gap in the bottom-right corner.")
        twin = (f"{intro} The board, row by row ('0' is the gap):\n"
                f"{grid_text([s[r * n:(r + 1) * n] for r in range(n)])}\n{ask}")
        return self.sample(seed, level, prompt=self.image_prompt(f"{intro}\n{ask}"),
                           images=(self.picture(render, s, n, cfg["cell"], False),), answer=answer, answer_type=answer_type,
                           text_twin=twin, solution=sol,
                           meta={"n": n, "board": list(s), "cell": cfg["cell"], "moves": k, "ask": ask,
                                 "intro": intro, "query": q})

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        n, s = m["n"], m["board"]
        said = ", ".join("the gap" if v == 0 else str(v) for v in s[:n])
        prompt = self.image_prompt(f"{m['intro']} The top row is drawn blank; left to right it holds: {said}.\n"
                                   f"{m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(tuple(s), n, m["cell"], True),), meta={**m, "described": "top row"})


def render(s: tuple[int, ...], n: int, cell: int, hide_top: bool) -> Any:
    im = D.canvas(n * cell + 2 * PAD)
    d = ImageDraw.Draw(im)
    d.rectangle([PAD - 2, PAD - 2, PAD + n * cell + 2, PAD + n * cell + 2], fill=(90, 90, 90))
    for i, v in enumerate(s):
        r, c = divmod(i, n)
        x, y = PAD + c * cell, PAD + r * cell
        if hide_top and r == 0:
            d.rectangle([x + 2, y + 2, x + cell - 2, y + cell - 2], fill=(200, 200, 200))
        elif v:
            d.rectangle([x + 2, y + 2, x + cell - 2, y + cell - 2], fill=(250, 230, 180), outline=(120, 90, 40), width=D.width(2))
            label(im, (x + cell / 2, y + cell / 2), str(v), size=int(cell * 0.5))
    return im
