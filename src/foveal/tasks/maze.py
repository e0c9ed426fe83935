"""Maze: does a path exist, how long is the shortest path, which first move (MARBLE-style planning)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks._spatial import MOVES, bfs, cells_image, rc
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters

WALL, FLOOR, START, GOAL = (30, 30, 30), (255, 255, 255), (40, 160, 60), (220, 40, 40)
DIRS = list(MOVES)  # up, down, left, right: the fixed option order of "next" questions


def carve(rng: random.Random, n: int, loops: float) -> list[list[bool]]:
    """An n×n (n odd) block maze: depth-first carving, then a `loops` fraction of inner walls opened."""
    open_ = [[False] * n for _ in range(n)]
    stack = [(1, 1)]
    open_[1][1] = True
    while stack:
        r, c = stack[-1]
        nbrs = [(r + 2 * dr, c + 2 * dc, dr, dc) for dr, dc in MOVES.values()
                if 0 < r + 2 * dr < n - 1 and 0 < c + 2 * dc < n - 1 and not open_[r + 2 * dr][c + 2 * dc]]
        if not nbrs:
            stack.pop()
            continue
        r2, c2, dr, dc = rng.choice(nbrs)
        open_[r + dr][c + dc] = open_[r2][c2] = True
        stack.append((r2, c2))
    inner = [(r, c) for r in range(1, n - 1) for c in range(1, n - 1)
             if not open_[r][c] and (r % 2) != (c % 2)]
    for r, c in rng.sample(inner, int(loops * len(inner))):
        open_[r][c] = True
    return open_


@register
class Maze(Task):
    """A block maze (dark = wall, white = floor, green = start, red = goal); moves go up/down/left/right.

    Knobs per level:
        size: the maze is size×size cells (odd; the outer ring is wall).
        loops: fraction of inner walls knocked out, creating alternative routes (0 = one route).
        questions: which questions may be asked: "exists" (is the goal reachable? yes/no),
            "length" (moves on the shortest path, found by BFS), "next" (the unique first move
            of every shortest path; seeds where two first moves tie are redrawn).
        cell: pixels per cell (≥7).
    A "no" answer to "exists" is made by walling off cells of the shortest route until none remains.
    """

    name = "maze"
    description = "Block maze: path exists / shortest path length / next move"
    tags = ("spatial", "planning")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"size": 5, "loops": 0.0, "questions": ("exists", "length"), "cell": 20},
        2: {"size": 7, "loops": 0.1, "questions": ("exists", "length", "next"), "cell": 16},
        3: {"size": 9, "loops": 0.15, "questions": ("exists", "length", "next"), "cell": 13},
        4: {"size": 11, "loops": 0.2, "questions": ("length", "next"), "cell": 11},
        5: {"size": 13, "loops": 0.25, "questions": ("length", "next"), "cell": 9},
        6: {"size": 15, "loops": 0.3, "questions": ("length", "next"), "cell": 8},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, question = cfg["size"], rng.choice(cfg["questions"])
        while True:
            open_ = carve(rng, n, cfg["loops"])
            floor = [(r, c) for r in range(n) for c in range(n) if open_[r][c]]
            start, goal = rng.sample(floor, 2)
            dist = bfs(open_, goal)
            if dist.get(start, 0) < 2:
                continue
            if question == "exists" and rng.random() < 0.5:
                while start in dist:  # wall off route cells until the goal is unreachable
                    route = [p for p in floor if p not in (start, goal) and open_[p[0]][p[1]]
                             and p in dist and dist[p] < dist[start]]
                    r, c = rng.choice(route)
                    open_[r][c] = False
                    dist = bfs(open_, goal)
            if question == "next":
                firsts = [d for d, (dr, dc) in MOVES.items()
                          if dist.get((start[0] + dr, start[1] + dc)) == dist[start] - 1]
                if len(firsts) != 1:
                    continue
            break
        grid = ["".join("S" if (r, c) == start else "G" if (r, c) == goal else "." if open_[r][c] else "#"
                        for c in range(n)) for r in range(n)]
        where = f"The start is at {rc(*start)} and the goal at {rc(*goal)} (rows counted from the top, columns from the left, starting at 1)."
        rules = "Moves go one cell up, down, left or right, never into a wall."
        choices = None
        if question == "exists":
            reachable = start in dist
            q = "Can the goal be reached from the start?"
            choices, answer = ("yes", "no"), "A" if reachable else "B"
            sol = (f"Searching outward from the start reaches the goal in {dist[start]} moves, so yes. Answer: A."
                   if reachable else "Searching outward from the start, every reachable cell is exhausted without meeting the goal, so no. Answer: B.")
        elif question == "length":
            q = "What is the smallest number of moves from the start to the goal?"
            answer = str(dist[start])
            sol = f"A breadth-first search from the start reaches the goal after {answer} moves at the earliest. Answer: {answer}."
        else:
            q = "What is the first move of a shortest path from the start to the goal?"
            choices = tuple(DIRS)
            answer = letters(4)[DIRS.index(firsts[0])]
            sol = (f"The goal is {dist[start]} moves away; only moving {firsts[0]} brings the start one move closer "
                   f"({dist[start] - 1} move{'' if dist[start] == 2 else 's'} left). Answer: {answer}.")
        ask = q + (f"\n{choice_block(list(choices))}\nAnswer with the letter." if choices else " Answer with a number.")
        img = self.picture(self.render, grid, cfg["cell"], marks=True)
        prompt = self.image_prompt(f"The picture is a maze: dark cells are walls, white cells are floor, the green cell is the start and the red cell is the goal. {rules}\n{ask}")
        twin = (f"A maze is a {n}×{n} grid, given row by row from the top: '#' is a wall, '.' is floor, "
                f"'S' is the start and 'G' is the goal.\n" + "\n".join(grid) + f"\n{where} {rules}\n{ask}")
        return self.sample(seed, level, prompt=prompt, images=(img,), answer=answer,
                           answer_type="choice" if choices else "number", choices=choices, text_twin=twin,
                           solution=sol, meta={"grid": grid, "question": question, "start": list(start),
                                               "goal": list(goal), "cell": cfg["cell"], "where": where, "ask": ask, "rules": rules})

    @staticmethod
    def render(grid: list[str], cell: int, marks: bool):
        col = {"#": WALL, ".": FLOOR, "S": START if marks else FLOOR, "G": GOAL if marks else FLOOR}
        return cells_image([[col[ch] for ch in row] for row in grid], cell, border=4)

    def mixed(self, sample: Sample) -> Sample:
        """The walls in the picture (no start/goal marks); the start and goal positions in words."""
        m = sample.meta
        img = self.render(m["grid"], m["cell"], marks=False)
        prompt = self.image_prompt(f"The picture is a maze: dark cells are walls, white cells are floor. {m['where']} {m['rules']}\n{m['ask']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
