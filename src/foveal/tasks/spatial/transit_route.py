"""Transit map: fewest stops, fewest line changes, which line links two stations, how many
interchanges (RewardMap/ReasonMap)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, ink, letters, rgb, text, width

LINE_COLORS = ("red", "blue", "green", "orange", "purple")
STEPS = ((0, 1), (1, 0), (0, -1), (-1, 0))


def route_lines(rng: random.Random, grid: int, n_lines: int, length: int) -> list[list[tuple[int, int]]] | None:
    """`n_lines` self-avoiding lattice walks of `length` stations that share no segment; None on a dead end."""
    used: set[frozenset] = set()
    lines = []
    for _ in range(n_lines):
        for _attempt in range(20):  # a walk that runs into a dead end is redrawn on its own
            walk = [(rng.randrange(grid), rng.randrange(grid))]
            while len(walk) < length:
                x, y = walk[-1]
                nxt = [(x + dx, y + dy) for dx, dy in STEPS if 0 <= x + dx < grid and 0 <= y + dy < grid
                       and (x + dx, y + dy) not in walk and frozenset({(x, y), (x + dx, y + dy)}) not in used]
                if not nxt:
                    break
                walk.append(rng.choice(nxt))
            if len(walk) == length:
                break
        else:
            return None
        used |= {frozenset(p) for p in zip(walk, walk[1:], strict=False)}
        lines.append(walk)
    return lines


def fewest_stops(lines: list[list[str]], a: str, b: str) -> int | None:
    """Edges on the shortest ride from a to b (consecutive stations of a line are one stop apart)."""
    adj: dict[str, set[str]] = {}
    for ln in lines:
        for u, v in zip(ln, ln[1:], strict=False):
            adj.setdefault(u, set()).add(v)
            adj.setdefault(v, set()).add(u)
    dist, todo = {a: 0}, deque([a])
    while todo:
        u = todo.popleft()
        for v in adj.get(u, ()):
            if v not in dist:
                dist[v] = dist[u] + 1
                todo.append(v)
    return dist.get(b)


def fewest_changes(lines: list[list[str]], a: str, b: str) -> int | None:
    """Fewest line changes on any ride from a to b (0-1 BFS over (station, line) states)."""
    start = [(a, i) for i, ln in enumerate(lines) if a in ln]
    best = {s: 0 for s in start}
    todo = deque((0, s) for s in start)
    while todo:
        d, (u, i) = todo.popleft()
        if d > best[(u, i)]:
            continue
        if u == b:
            return d
        k = lines[i].index(u)
        moves = [((v, i), 0) for v in lines[i][max(k - 1, 0):k + 2] if v != u]
        moves += [((u, j), 1) for j, ln in enumerate(lines) if j != i and u in ln]
        for s, w in moves:
            if d + w < best.get(s, 1 << 30):
                best[s] = d + w
                (todo.appendleft if w == 0 else todo.append)((d + w, s))
    return None


@register
class TransitRoute(Task):
    """A transit-style map: coloured lines through lettered stations on a lattice; shared stations are interchanges.

    Queries: "line" (the only line serving both stations, a choice), "stops" (fewest stops
    between two stations, counting every hop between neighbouring stations), "changes" (fewest
    line changes), "interchanges" (how many stations lie on two or more lines).
    Knobs per level:
        grid: the stations lie on a grid×grid lattice.
        lines: number of lines (distinct colours; no two lines share a segment).
        length: stations per line.
        queries: which queries the level asks.
    """

    name = "transit_route"
    description = "Transit map: fewest stops / fewest line changes / which line links two stations"
    tags = ("spatial", "planning")
    forms = ("image", "text", "mixed")
    questions = {
        "line": {
            "direct": "Which line serves both station {a} and station {b}?",
            "imperative": "Name the line that serves both station {a} and station {b}.",
            "polite": "Could you tell me which line serves both station {a} and station {b}?",
            "terse": "Line serving both {a} and {b}?",
        },
        "stops": {
            "direct": "Travelling from station {a} to station {b}, what is the fewest number of stops (hops between neighbouring stations) you can ride, changing lines freely?",
            "imperative": "Give the fewest number of stops (hops between neighbouring stations) you can ride from station {a} to station {b}, changing lines freely.",
            "polite": "Could you tell me the fewest number of stops (hops between neighbouring stations) you can ride from station {a} to station {b}, changing lines freely?",
            "terse": "From {a} to {b}, changing lines freely: fewest stops (hops between neighbouring stations)?",
        },
        "changes": {
            "direct": "Travelling from station {a} to station {b}, what is the fewest number of times you must change lines?",
            "imperative": "Give the fewest number of times you must change lines travelling from station {a} to station {b}.",
            "polite": "Could you tell me the fewest number of times you must change lines travelling from station {a} to station {b}?",
            "terse": "From {a} to {b}: fewest line changes?",
        },
        "interchanges": {
            "direct": "How many interchange stations (stations on two or more lines) does the network have?",
            "imperative": "Count the interchange stations (stations on two or more lines) of the network.",
            "polite": "Could you tell me how many interchange stations (stations on two or more lines) the network has?",
            "terse": "Interchange stations (on two or more lines): how many?",
        },
    }
    levels = {
        1: {"grid": 4, "lines": 2, "length": 4, "queries": ("line", "stops", "interchanges")},
        2: {"grid": 4, "lines": 3, "length": 4, "queries": ("line", "stops", "changes", "interchanges")},
        3: {"grid": 5, "lines": 3, "length": 5, "queries": ("stops", "changes", "interchanges")},
        4: {"grid": 5, "lines": 4, "length": 6, "queries": ("stops", "changes", "interchanges")},
        5: {"grid": 6, "lines": 5, "length": 7, "queries": ("stops", "changes", "interchanges")},
    }
    SPACING, MARGIN = 30, 18

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        question = self.query
        while True:
            walks = route_lines(rng, cfg["grid"], cfg["lines"], cfg["length"])
            if walks is None or len({p for w in walks for p in w}) > 26:
                continue
            points = sorted({p for w in walks for p in w})
            names = dict(zip(points, rng.sample(letters(26), len(points)), strict=False))
            lines = [[names[p] for p in w] for w in walks]
            stations = sorted(names.values())
            a, b = rng.sample(stations, 2)
            if question == "line":
                serving = [i for i, ln in enumerate(lines) if a in ln and b in ln]
                if len(serving) == 1 and abs(lines[serving[0]].index(a) - lines[serving[0]].index(b)) > 1:
                    break
            elif question == "interchanges":
                break
            elif fewest_stops(lines, a, b) is not None and fewest_stops(lines, a, b) >= 2:
                if question == "stops" or fewest_changes(lines, a, b) >= (1 if level > 2 else 0):
                    break
        colors = LINE_COLORS[: len(lines)]
        choices = None
        if question == "line":
            choices = tuple(f"the {c} line" for c in colors)
            answer = letters(len(colors))[serving[0]]
            sol = f"Only the {colors[serving[0]]} line passes through both {a} and {b}. Answer: {answer}."
        elif question == "stops":
            answer = str(fewest_stops(lines, a, b))
            sol = f"A breadth-first search over neighbouring stations from {a} reaches {b} after {answer} hops at the earliest. Answer: {answer}."
        elif question == "changes":
            answer = str(fewest_changes(lines, a, b))
            sol = (f"{a} and {b} lie on a common line, so no change is needed. Answer: 0." if answer == "0" else
                   f"No single line links {a} and {b}; the best route switches lines {answer} time(s) at interchange stations. Answer: {answer}.")
        else:
            hubs = [st for st in stations if sum(st in ln for ln in lines) >= 2]
            answer = str(len(hubs))
            sol = (f"The stations on two or more lines are {', '.join(hubs)}, so {answer}. The answer is {answer}." if hubs else
                   "No station lies on two lines, so 0. The answer is 0.")
        q = self.ask(a=a, b=b)
        ask = q + (f"\n{choice_block(list(choices))}\nAnswer with the letter." if choices else " Answer with a number.")
        lines_txt = [f"The {c} line runs through stations {', '.join(ln)} in this order." for c, ln in zip(colors, lines, strict=False)]
        img = self.picture(self.render, cfg["grid"], walks, names, colors)
        intro = "The picture is a transit map: each coloured line runs through the lettered stations on it; a station on several lines is an interchange."
        twin = "A transit network has these lines:\n" + "\n".join(lines_txt) + f"\nA station on several lines is an interchange.\n{ask}"
        return self.sample(seed, level, prompt=self.image_prompt(f"{intro}\n{ask}"), images=(img,), answer=answer,
                           answer_type="choice" if choices else "number", choices=choices, text_twin=twin, solution=sol,
                           meta={"lines": lines, "colors": list(colors), "from": a, "to": b, "question": question,
                                 "lines_txt": lines_txt, "ask": ask, "intro": intro})

    def render(self, grid, walks, names, colors):
        sp, m = self.SPACING, self.MARGIN
        img = canvas(2 * m + sp * (grid - 1))
        d = ImageDraw.Draw(img)
        xy = lambda p: (m + p[0] * sp, m + p[1] * sp)  # noqa: E731
        for w, c in zip(walks, colors, strict=False):
            d.line([xy(p) for p in w], fill=rgb(c), width=width(4))
        for p, nm in names.items():
            x, y = xy(p)
            d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=S.current().background, outline=ink(), width=2)
            text(d, (x + 11, y - 10), nm, size=12)
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The map in the picture; the first line's station order also spelled out in words."""
        m = sample.meta
        prompt = self.image_prompt(f"{m['intro']} For reference: {m['lines_txt'][0]}\n{m['ask']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, form="mixed")
