"""Maze: does a path exist, how long is the shortest path, which first move, how many dead ends
(MARBLE-style planning)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import replace
from functools import cache
from itertools import compress, permutations
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, letters
from foveal.tasks.spatial._spatial import MOVES, cells_image, rc

WALL, FLOOR, START, GOAL = (30, 30, 30), (255, 255, 255), (40, 160, 60), (220, 40, 40)
CELL_CHARS = bytes.maketrans(b"\x00\x01", b"#.")
DIRS = list(MOVES)  # up, down, left, right: the fixed option order of "next" questions


@cache
def layout(n: int) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, tuple[tuple[int, int], ...]]]:
    """(room cells, inner wall cells, links) of an n×n block maze, as flat indices r*n + c.

    Rooms sit at odd (row, column); a wall cell between two rooms has one odd and one even
    coordinate; links[room] lists (wall between, neighbouring room) pairs.
    """
    rooms = tuple(r * n + c for r in range(1, n - 1, 2) for c in range(1, n - 1, 2))
    walls = tuple(r * n + c for r in range(1, n - 1) for c in range(1, n - 1) if r % 2 != c % 2)
    links = {}
    for i in rooms:
        r, c = divmod(i, n)
        links[i] = tuple((i + dr * n + dc, i + 2 * (dr * n + dc)) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                         if 0 < r + 2 * dr < n - 1 and 0 < c + 2 * dc < n - 1)
    return rooms, walls, links


@cache
def orders(n: int) -> dict[int, list[tuple[tuple[int, int], ...]]]:
    """Every ordering of each room's links (`layout`), to draw a room's visiting order in one step."""
    rooms, _, links = layout(n)
    return {room: list(permutations(links[room])) for room in rooms}


def carve(rng: random.Random, n: int, loops: float) -> list[int]:
    """An n×n (n odd) block maze as a flat open (1) / wall (0) list, by depth-first carving from
    the top-left room, then a `loops` fraction of the remaining inner walls opened (alternative routes).

    On entering a room the search draws a uniform ordering of its links and later resumes that
    ordering at the next unvisited neighbour: the same law as drawing uniformly among the
    unvisited neighbours at each step, with one draw per room.
    """
    rooms, walls, _ = layout(n)
    perms = orders(n)
    open_ = [0] * (n * n)
    open_[rooms[0]] = 1
    draw = rng.random
    p = perms[rooms[0]]
    stack = [iter(p[int(draw() * len(p))])]
    while stack:
        for wall, room in stack[-1]:
            if not open_[room]:
                open_[wall] = open_[room] = 1
                p = perms[room]
                stack.append(iter(p[int(draw() * len(p))]))
                break
        else:
            stack.pop()
    if loops:
        closed = [w for w in walls if not open_[w]]
        for w in rng.sample(closed, int(loops * len(closed))):
            open_[w] = 1
    return open_


def bfs(open_: list[int], n: int, src: int, stop: int = -1) -> list[int]:
    """Moves from `src` to every cell (-1 if unreachable), 4-neighbour steps on the flat grid.

    With `stop`, the search ends once that cell is reached: every cell nearer than it already
    has its distance, farther ones may still read -1. Cells on the outer ring are always walls,
    so neighbours of a floor cell never wrap a row.
    """
    dist = [-1] * (n * n)
    dist[src] = 0
    todo = deque([src])
    while todo:
        i = todo.popleft()
        nd = dist[i] + 1
        for j in (i - n, i + n, i - 1, i + 1):
            if open_[j] and dist[j] < 0:
                dist[j] = nd
                if j == stop:
                    return dist
                todo.append(j)
    return dist


@register
class Maze(Task):
    """A block maze (dark = wall, white = floor, green = start, red = goal); moves go up/down/left/right.

    Queries: "exists" (is the goal reachable? yes/no), "length" (moves on the shortest path,
    found by BFS), "next" (the unique first move of every shortest path; seeds where two first
    moves tie are redrawn), "dead_ends" (floor cells, start and goal included, with exactly one
    floor neighbour).
    Knobs per level:
        size: the maze is size×size cells (odd; the outer ring is wall).
        loops: fraction of inner walls knocked out, creating alternative routes (0 = one route).
        queries: which queries the level asks.
        cell: pixels per cell (≥7); with `sizes`, drawn from cell .. cell + sizes - 1.
        jitter: the maze sits 0..jitter px right and down on a canvas `jitter` px larger (the
            twin states the cell size and offset).
    A "no" answer to "exists" is made by walling off cells of the shortest route until none remains.
    """

    name = "maze"
    description = "Block maze: path exists / shortest path length / next move"
    tags = ("spatial", "planning")
    forms = ("image", "text", "mixed")
    questions = {
        "exists": {
            "direct": "Can the goal be reached from the start?",
            "imperative": "Decide whether the goal can be reached from the start.",
            "polite": "Could you tell me whether the goal can be reached from the start?",
            "terse": "Goal reachable from the start?",
        },
        "length": {
            "direct": "What is the smallest number of moves from the start to the goal?",
            "imperative": "Give the smallest number of moves from the start to the goal.",
            "polite": "Could you tell me the smallest number of moves from the start to the goal?",
            "terse": "Fewest moves, start to goal?",
        },
        "next": {
            "direct": "What is the first move of a shortest path from the start to the goal?",
            "imperative": "Give the first move of a shortest path from the start to the goal.",
            "polite": "Could you tell me the first move of a shortest path from the start to the goal?",
            "terse": "First move of a shortest path, start to goal?",
        },
        "dead_ends": {
            "direct": "How many dead ends does the maze have (floor cells, the start and goal included, with exactly one floor neighbour)?",
            "imperative": "Count the dead ends of the maze (floor cells, the start and goal included, with exactly one floor neighbour).",
            "polite": "Could you tell me how many dead ends the maze has (floor cells, the start and goal included, with exactly one floor neighbour)?",
            "terse": "Dead ends (floor cells, start and goal included, with one floor neighbour): how many?",
        },
    }
    levels = {
        1: {"size": 5, "loops": 0.0, "queries": ("exists", "length", "dead_ends"), "cell": 16, "sizes": 9, "jitter": 12},
        2: {"size": 7, "loops": 0.1, "queries": ("exists", "length", "next", "dead_ends"), "cell": 14, "sizes": 5, "jitter": 8},
        3: {"size": 9, "loops": 0.15, "queries": ("exists", "length", "next", "dead_ends"), "cell": 13},
        4: {"size": 11, "loops": 0.2, "queries": ("length", "next", "dead_ends"), "cell": 11},
        5: {"size": 13, "loops": 0.25, "queries": ("length", "next", "dead_ends"), "cell": 9},
        6: {"size": 15, "loops": 0.3, "queries": ("length", "next", "dead_ends"), "cell": 8},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, question, draw = cfg["size"], self.query, rng.random
        step = {"up": -n, "down": n, "left": -1, "right": 1}
        while True:
            open_ = carve(rng, n, cfg["loops"])
            floor = list(compress(range(n * n), open_))
            k = int(draw() * len(floor))  # two distinct floor cells, uniformly
            j = int(draw() * (len(floor) - 1))
            start, goal = floor[k], floor[j + (j >= k)]
            dist = bfs(open_, n, goal, start)
            if dist[start] < 2:
                continue
            if question == "exists" and rng.random() < 0.5:
                while dist[start] >= 0:  # wall off route cells until the goal is unreachable
                    route = [i for i in floor if i != start and open_[i] and 0 < dist[i] < dist[start]]
                    open_[rng.choice(route)] = 0
                    dist = bfs(open_, n, goal, start)
            if question == "next":
                firsts = [d for d in DIRS if dist[start + step[d]] == dist[start] - 1]
                if len(firsts) != 1:
                    continue
            break
        flat = bytearray(bytes(open_).translate(CELL_CHARS))  # 1 -> '.', 0 -> '#'
        flat[start], flat[goal] = ord("S"), ord("G")
        text = flat.decode()
        grid = [text[r * n:(r + 1) * n] for r in range(n)]
        moves = dist[start]
        start, goal = divmod(start, n), divmod(goal, n)
        where = f"The start is at {rc(*start)} and the goal at {rc(*goal)} (rows counted from the top, columns from the left, starting at 1)."
        rules = "Moves go one cell up, down, left or right, never into a wall."
        choices = None
        cell, jitter = cfg["cell"] + rng.randrange(cfg.get("sizes", 1)), cfg.get("jitter", 0)
        offset = [rng.randint(0, jitter), rng.randint(0, jitter)] if jitter else [0, 0]
        if question == "exists":
            reachable = moves >= 0
            choices, answer = ("yes", "no"), "A" if reachable else "B"
            sol = (f"Searching outward from the start reaches the goal in {moves} moves, so yes. Answer: A."
                   if reachable else "Searching outward from the start, every reachable cell is exhausted without meeting the goal, so no. Answer: B.")
        elif question == "length":
            answer = str(moves)
            sol = f"A breadth-first search from the start reaches the goal after {answer} moves at the earliest. Answer: {answer}."
        elif question == "next":
            choices = tuple(DIRS)
            answer = letters(4)[DIRS.index(firsts[0])]
            sol = (f"The goal is {moves} moves away; only moving {firsts[0]} brings the start one move closer "
                   f"({moves - 1} move{'' if moves == 2 else 's'} left). Answer: {answer}.")
        else:
            ends = sum(1 for i, ch in enumerate(text) if ch != "#" and sum(text[j] != "#" for j in (i - n, i + n, i - 1, i + 1)) == 1)
            answer = str(ends)
            sol = f"Checking every floor cell's four neighbours, {ends} have exactly one floor neighbour. The answer is {answer}."
        q = self.ask()
        ask = q + (f"\n{choice_block(list(choices))}\nAnswer with the letter." if choices else " Answer with a number.")
        img = self.picture(self.render, grid, cell, marks=True, offset=offset, pad=jitter)
        look = f" In the picture each cell is {cell} px and the maze is shifted {offset[0]} px right and {offset[1]} px down." if jitter else ""
        prompt = self.image_prompt(f"The picture is a maze: dark cells are walls, white cells are floor, the green cell is the start and the red cell is the goal. {rules}\n{ask}")
        twin = (f"A maze is a {n}×{n} grid, given row by row from the top: '#' is a wall, '.' is floor, "
                f"'S' is the start and 'G' is the goal.\n" + "\n".join(grid) + f"\n{where} {rules}{look}\n{ask}")
        return self.sample(seed, level, prompt=prompt, images=(img,), answer=answer,
                           answer_type="choice" if choices else "number", choices=choices, text_twin=twin,
                           solution=sol, meta={"grid": grid, "question": question, "start": list(start),
                                               "goal": list(goal), "cell": cell, "offset": offset, "pad": jitter, "where": where,
                                               "ask": ask, "rules": rules})

    @staticmethod
    def render(grid: list[str], cell: int, marks: bool, offset: list[int] | tuple[int, int] = (0, 0), pad: int = 0):
        """The cells (4 px from the edge) on the style's background, `offset` px right and down on a
        canvas `pad` px larger."""
        col = {"#": WALL, ".": FLOOR, "S": START if marks else FLOOR, "G": GOAL if marks else FLOOR}
        cells = cells_image([[col[ch] for ch in row] for row in grid], cell)
        img = canvas(cells.width + 8 + pad, cells.height + 8 + pad)
        img.paste(cells, (4 + offset[0], 4 + offset[1]))
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The walls in the picture (no start/goal marks); the start and goal positions in words."""
        m = sample.meta
        img = self.render(m["grid"], m["cell"], marks=False, offset=m["offset"], pad=m["pad"])
        prompt = self.image_prompt(f"The picture is a maze: dark cells are walls, white cells are floor. {m['where']} {m['rules']}\n{m['ask']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
