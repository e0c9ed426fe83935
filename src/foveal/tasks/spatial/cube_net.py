"""Cube nets: which faces end up opposite when six squares are folded, and is a shape a net at all."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, ink, letters, text, width

CROSS = ((0, 1), (1, 0), (1, 1), (1, 2), (1, 3), (2, 1))
# Rolling the cube one square in a direction: which cube position's face lands where.
ROLL = {
    (0, 1): {"bottom": "east", "east": "top", "top": "west", "west": "bottom"},
    (0, -1): {"bottom": "west", "west": "top", "top": "east", "east": "bottom"},
    (1, 0): {"bottom": "south", "south": "top", "top": "north", "north": "bottom"},
    (-1, 0): {"bottom": "north", "north": "top", "top": "south", "south": "bottom"},
}
OPPOSITE_POS = {"bottom": "top", "top": "bottom", "north": "south", "south": "north", "east": "west", "west": "east"}


def fold(squares) -> dict[tuple[int, int], int] | None:
    """Roll a cube over the squares from the first one; each square gets the cube face (0-5) touching it.

    Faces 2k and 2k+1 are opposite. Returns None when two squares would need the same face,
    i.e. the shape is not a cube net.
    """
    squares = list(squares)
    start = squares[0]
    here = {"bottom": 0, "top": 1, "north": 2, "south": 3, "east": 4, "west": 5}
    face = {start: 0}
    todo = deque([(start, here)])
    while todo:
        (r, c), pos = todo.popleft()
        for (dr, dc), moves in ROLL.items():
            nxt = (r + dr, c + dc)
            if nxt in squares and nxt not in face:
                new = dict(pos)
                for dst, src in moves.items():
                    new[dst] = pos[src]
                face[nxt] = new["bottom"]
                todo.append((nxt, new))
    return face if len(set(face.values())) == 6 else None


def hexomino(rng: random.Random) -> tuple[tuple[int, int], ...]:
    cells = {(0, 0)}
    while len(cells) < 6:
        r, c = rng.choice(sorted(cells))
        dr, dc = rng.choice(list(ROLL))
        cells.add((r + dr, c + dc))
    r0, c0 = min(r for r, _ in cells), min(c for _, c in cells)
    return tuple(sorted((r - r0, c - c0) for r, c in cells))


def orient(cells, rng: random.Random) -> tuple[tuple[int, int], ...]:
    """A random rotation/reflection of the shape, normalised to the origin."""
    k, flip = rng.randrange(4), rng.random() < 0.5
    cells = [(r, -c) if flip else (r, c) for r, c in cells]
    for _ in range(k):
        cells = [(c, -r) for r, c in cells]
    r0, c0 = min(r for r, _ in cells), min(c for _, c in cells)
    return tuple(sorted((r - r0, c - c0) for r, c in cells))


@register
class CubeNet(Task):
    """Six numbered squares; fold them into a cube (the squares fold along their shared edges).

    Queries: "opposite" (which face is opposite face X: 5 choices), "pair" (which of 4 pairs
    ends up opposite), "valid" (does the shape fold into a cube: yes/no; half of the shapes are
    random six-square shapes that are not nets), "adjacent" (do faces X and Y share an edge
    after folding: yes/no, Y opposite X half the time).
    Knobs per level:
        shapes: the nets drawn: "cross" (the Latin-cross net, turned or flipped) or "nets" (any of
            the 11 nets).
        cell: square size in pixels; with `sizes`, drawn from cell .. cell + sizes - 1 (stated in
            the twin).
    """

    name = "cube_net"
    description = "Cube nets: opposite faces after folding, or whether six squares fold into a cube"
    tags = ("spatial",)
    questions = {
        "opposite": {
            "direct": "When the shape is folded into a cube, which face is opposite face {x}?",
            "imperative": "Fold the shape into a cube and name the face opposite face {x}.",
            "polite": "Could you tell me which face is opposite face {x} when the shape is folded into a cube?",
            "terse": "Folded into a cube: face opposite face {x}?",
        },
        "pair": {
            "direct": "When the shape is folded into a cube, which pair of faces ends up on opposite sides?",
            "imperative": "Fold the shape into a cube and name the pair of faces that ends up on opposite sides.",
            "polite": "Could you tell me which pair of faces ends up on opposite sides when the shape is folded into a cube?",
            "terse": "Folded into a cube: which pair of faces is opposite?",
        },
        "valid": {
            "direct": "Can these six squares be folded along their edges into a closed cube?",
            "imperative": "Decide whether these six squares can be folded along their edges into a closed cube.",
            "polite": "Could you tell me whether these six squares can be folded along their edges into a closed cube?",
            "terse": "Six squares folded along their edges: a closed cube?",
        },
        "adjacent": {
            "direct": "When the shape is folded into a cube, do face {x} and face {y} share an edge?",
            "imperative": "Fold the shape into a cube and say whether face {x} and face {y} share an edge.",
            "polite": "Could you tell me whether face {x} and face {y} share an edge when the shape is folded into a cube?",
            "terse": "Folded into a cube: faces {x} and {y} share an edge?",
        },
    }
    levels = {
        1: {"shapes": "cross", "cell": 22, "sizes": 7},
        2: {"shapes": "nets", "cell": 22, "sizes": 5},
        3: {"shapes": "nets", "cell": 24},
        4: {"shapes": "nets", "cell": 22},
        5: {"shapes": "nets", "cell": 22},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        question = self.query
        want_net = question != "valid" or rng.random() < 0.5
        while True:
            cells = orient(CROSS, rng) if cfg["shapes"] == "cross" and want_net else hexomino(rng)
            if (fold(cells) is not None) == want_net:
                break
        labels = dict(zip(cells, map(str, rng.sample(range(1, 7), 6)), strict=False))
        faces = fold(cells)
        opp = {}
        if faces:
            by_face = {f: labels[sq] for sq, f in faces.items()}
            opp = {by_face[f]: by_face[f ^ 1] for f in range(6)}
        if question == "opposite":
            x = rng.choice(sorted(opp))
            choices = tuple(f"face {v}" for v in sorted(set(opp) - {x}))
            answer = letters(5)[choices.index(f"face {opp[x]}")]
            q = self.ask(x=x)
            sol = f"Folding around the squares, face {opp[x]} ends up parallel to face {x} on the far side. Answer: {answer}."
        elif question == "pair":
            pair = rng.choice(sorted(opp))
            good = tuple(sorted((pair, opp[pair])))
            bad = [(a, b) for a in sorted(opp) for b in sorted(opp) if a < b and opp[a] != b]
            options = rng.sample(bad, 3) + [good]
            rng.shuffle(options)
            choices = tuple(f"faces {a} and {b}" for a, b in options)
            answer = letters(4)[options.index(good)]
            q = self.ask()
            sol = f"Faces {good[0]} and {good[1]} never share an edge after folding; the other pairs meet at an edge. Answer: {answer}."
        elif question == "adjacent":
            x = rng.choice(sorted(opp))
            y = opp[x] if rng.random() < 0.5 else rng.choice(sorted(set(opp) - {x, opp[x]}))
            choices = ("yes", "no")
            answer = "B" if y == opp[x] else "A"
            q = self.ask(x=x, y=y)
            sol = (f"Folding around the squares, face {y} ends up opposite face {x}, so they share no edge. The answer is B."
                   if answer == "B" else
                   f"Folding around the squares, face {opp[x]} ends up opposite face {x}, so face {y} borders it. The answer is A.")
        else:
            choices = ("yes", "no")
            answer = "A" if faces else "B"
            q = self.ask()
            sol = ("Folding square by square gives every square a different face of the cube, so yes. Answer: A." if faces else
                   "Folding square by square, two squares land on the same face of the cube, leaving one face open, so no. Answer: B.")
        ask = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        rows, cols = max(r for r, _ in cells) + 1, max(c for _, c in cells) + 1
        art = "\n".join("".join(labels.get((r, c), ".") for c in range(cols)) for r in range(rows))
        cell = cfg["cell"] + rng.randrange(cfg.get("sizes", 1))
        look = f"In the picture each square is {cell} px.\n" if "sizes" in cfg else ""
        twin = f"Six squares numbered 1 to 6 are joined along their edges as in this grid ('.' is empty):\n{art}\n{look}{ask}"
        return self.sample(seed, level, prompt=self.image_prompt(f"The picture shows six numbered squares joined along their edges.\n{ask}"),
                           images=(self.picture(self.render, labels, cell),), answer=answer, answer_type="choice", choices=choices,
                           text_twin=twin, solution=sol, meta={"grid": art.split("\n"), "question": question, "cell": cell})

    @staticmethod
    def render(labels: dict[tuple[int, int], str], cell: int):
        rows, cols = max(r for r, _ in labels) + 1, max(c for _, c in labels) + 1
        m = 8
        img = canvas(cols * cell + 2 * m, rows * cell + 2 * m)
        d = ImageDraw.Draw(img)
        for (r, c), lab in labels.items():
            x, y = m + c * cell, m + r * cell
            d.rectangle([x, y, x + cell, y + cell], fill=(250, 225, 150), outline=ink(), width=width(2))
            text(d, (x + cell / 2, y + cell / 2), lab, size=14)
        return img
