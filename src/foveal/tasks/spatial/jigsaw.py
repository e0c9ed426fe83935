"""`jigsaw`: put the shuffled pieces of a picture back in order (Jigsaw-R1 style).

The source picture is a smooth four-colour gradient with a few large shapes drawn across
piece borders. It is cut into a k×k grid of square pieces, which are shuffled and shown
in one image, each under its number label (0 .. k²-1, in reading order of the shuffled
layout). The answer is the permutation: for each position of the original picture in
reading order, the number of the piece that belongs there, e.g. "3 1 0 2". Other queries ask
for one entry of it (which piece belongs at a position, where a piece belongs) or how many pieces
are numbered with their own position.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng

GAP, HEADER = 4, 14  # pixels between pieces; label strip above each piece


def corner_colour(corners: list[list[int]], u: float, v: float) -> tuple[int, int, int]:
    """The gradient's colour at relative position (u, v) in [0, 1]²: bilinear in the four corners."""
    w0, w1, w2, w3 = (1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v
    return tuple(math.floor(w0 * a + w1 * b + w2 * c + w3 * d + 0.5) for a, b, c, d in zip(*corners, strict=True))


def source(meta: dict[str, Any]) -> Image.Image:
    """The unshuffled picture: the gradient (pixel (x, y) at u = x/side, v = y/side) plus the shapes."""
    side = meta["k"] * meta["piece"]
    t = np.arange(side, dtype=np.float64) / side
    u, v = t[None, :, None], t[:, None, None]
    c00, c10, c01, c11 = (np.array(c, dtype=np.float64) for c in meta["corners"])
    arr = (1 - u) * (1 - v) * c00 + u * (1 - v) * c10 + (1 - u) * v * c01 + u * v * c11
    im = Image.fromarray(np.floor(arr + 0.5).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for s in meta["shapes"]:
        D.shape(d, s["shape"], s["x"], s["y"], s["r"], D.COLORS[s["color"]], outline=(20, 20, 20))
    return im


def slot_origin(k: int, piece: int, slot: int) -> tuple[int, int]:
    """Top-left pixel of the piece shown in `slot` (reading order) of the shuffled image."""
    r, c = divmod(slot, k)
    return GAP + c * (piece + GAP), GAP + r * (piece + HEADER + GAP) + HEADER


def render(meta: dict[str, Any]) -> Image.Image:
    """The shuffled image: slot s shows original piece order[s] under the label s."""
    k, piece, order = meta["k"], meta["piece"], meta["order"]
    src = source(meta)
    im = D.canvas(k * piece + (k + 1) * GAP, k * (piece + HEADER) + (k + 1) * GAP, (235, 235, 235))
    for slot, pos in enumerate(order):
        x, y = slot_origin(k, piece, slot)
        label(im, (x + piece / 2, y - HEADER / 2), str(slot), size=11)
        r, c = divmod(pos, k)
        im.paste(src.crop((c * piece, r * piece, (c + 1) * piece, (r + 1) * piece)), (x, y))
    return im


def hexc(c: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


@register
class Jigsaw(Task):
    """Reorder the k×k shuffled pieces of a picture; answer the permutation (sequence).

    Level knobs:
        k: pieces per side (k² pieces).
        piece: piece side in pixels.
        shapes: how many large shapes cross the piece borders (more shapes, more cues).

    Queries:
        "order" (sequence): k² numbers separated by spaces; the p-th is the label of the piece
            that belongs at position p of the original picture (positions in reading order: left
            to right, top to bottom). The shuffle is never the identity.
        "position" (number): the label of the piece that belongs at one named position.
        "where" (number): the position one named piece belongs at.
        "in_place" (number): how many pieces are labelled with their own original position.

    Mixed form: the correct position of about a third of the pieces is stated in text.
    """

    name = "jigsaw"
    modality = "image"
    description = "Reassemble a picture cut into k×k shuffled pieces; answer the permutation (sequence)."
    tags = ("spatial", "perception", "planning")
    forms = ("image", "text", "mixed")
    questions = {
        "order": {
            "direct": "For each position of the original picture in reading order (left to right, top to bottom), give "
                      "the number of the piece that belongs there: {n} numbers separated by spaces.",
            "imperative": "List, for each position of the original picture in reading order (left to right, top to "
                          "bottom), the number of the piece that belongs there: {n} numbers separated by spaces.",
            "polite": "Could you give, for each position of the original picture in reading order (left to right, top "
                      "to bottom), the number of the piece that belongs there? Write {n} numbers separated by spaces.",
            "terse": "Piece numbers for the original positions in reading order (left to right, top to bottom)? "
                     "{n} numbers separated by spaces.",
        },
        "position": {
            "direct": "Which piece belongs at position {p} of the original picture (positions numbered 0-{last} in "
                      "reading order: left to right, top to bottom)? Answer with its number.",
            "imperative": "Give the number of the piece that belongs at position {p} of the original picture "
                          "(positions numbered 0-{last} in reading order: left to right, top to bottom).",
            "polite": "Could you tell me which piece belongs at position {p} of the original picture (positions "
                      "numbered 0-{last} in reading order: left to right, top to bottom)? Answer with its number.",
            "terse": "Original position {p} (positions 0-{last} in reading order, left to right, top to bottom): "
                     "which piece? Answer with its number.",
        },
        "where": {
            "direct": "At which position of the original picture does piece {s} belong (positions numbered 0-{last} "
                      "in reading order: left to right, top to bottom)? Answer with a number.",
            "imperative": "Give the position of the original picture that piece {s} belongs at (positions numbered "
                          "0-{last} in reading order: left to right, top to bottom). Answer with a number.",
            "polite": "Could you tell me at which position of the original picture piece {s} belongs (positions "
                      "numbered 0-{last} in reading order: left to right, top to bottom)? Answer with a number.",
            "terse": "Piece {s}: its original position (0-{last} in reading order, left to right, top to bottom)? "
                     "Answer with a number.",
        },
        "in_place": {
            "direct": "How many pieces are numbered with their own position in the original picture (positions "
                      "numbered 0-{last} in reading order: left to right, top to bottom)? Answer with a number.",
            "imperative": "Count the pieces numbered with their own position in the original picture (positions "
                          "numbered 0-{last} in reading order: left to right, top to bottom). Answer with a number.",
            "polite": "Could you tell me how many pieces are numbered with their own position in the original picture "
                      "(positions numbered 0-{last} in reading order: left to right, top to bottom)? Answer with a number.",
            "terse": "Pieces numbered with their own original position (positions 0-{last} in reading order, left to "
                     "right, top to bottom): how many? Answer with a number.",
        },
    }
    levels = {
        1: dict(k=2, piece=48, shapes=3),
        2: dict(k=3, piece=40, shapes=4),
        3: dict(k=3, piece=40, shapes=1),
        4: dict(k=4, piece=36, shapes=5),
        5: dict(k=4, piece=36, shapes=2),
        6: dict(k=5, piece=32, shapes=6),
    }

    @staticmethod
    def question(k: int, ask: str) -> str:
        return (f"The image shows a picture cut into a {k}x{k} grid of square pieces, shuffled; each piece is "
                f"numbered by the label above it. {ask}")

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        k, piece = cfg["k"], cfg["piece"]
        side = k * piece
        while True:  # distinct corners, so every grid point of the gradient has its own colour
            corners = [[rng.randint(20, 235) for _ in range(3)] for _ in range(4)]
            far = all(sum(abs(a - b) for a, b in zip(p, q, strict=True)) >= 120
                      for i, p in enumerate(corners) for q in corners[i + 1:])
            if not far:
                continue
            at = [[corner_colour(corners, gx / k, gy / k) for gx in range(k + 1)] for gy in range(k + 1)]
            if len({c for row in at for c in row}) == (k + 1) ** 2:
                break
        shapes = [{"shape": rng.choice(D.SHAPES), "color": rng.choice(list(D.COLORS)),
                   "x": rng.randint(0, side), "y": rng.randint(0, side),
                   "r": rng.randint(int(piece * 0.35), int(piece * 0.7))} for _ in range(cfg["shapes"])]
        order = list(range(k * k))  # order[slot] = original position of the piece shown in that slot
        while order == sorted(order):
            rng.shuffle(order)
        perm = " ".join(str(order.index(p)) for p in range(k * k))
        query, slots = self.query, {"n": k * k, "last": k * k - 1}
        if query == "order":
            answer, asked = perm, None
            solution = (f"Matching the colours and shapes that continue across piece edges puts piece "
                        f"{answer.split()[0]} at the top-left and gives the order {answer}. The answer is {answer}.")
        elif query == "position":
            asked = slots["p"] = rng.randrange(k * k)
            answer = str(order.index(asked))
            solution = (f"Matching the colours and shapes that continue across piece edges, the original order is "
                        f"{perm}, so piece {answer} belongs at position {asked}. The answer is {answer}.")
        elif query == "where":
            slot = slots["s"] = rng.randrange(k * k)
            asked, answer = order[slot], str(order[slot])
            solution = (f"Matching the colours and shapes that continue across piece edges, the original order is "
                        f"{perm}, so piece {slot} belongs at position {answer}. The answer is {answer}.")
        else:
            asked = None
            same = [s for s in range(k * k) if order[s] == s]
            answer = str(len(same))
            solution = (f"Matching the colours and shapes that continue across piece edges, the original order is "
                        f"{perm}; {'pieces ' + ', '.join(map(str, same)) if same else 'no piece'} "
                        f"{'sit' if len(same) > 1 else 'sits'} at {'their' if len(same) > 1 else 'its'} own position. "
                        f"The answer is {answer}.")
        ask = self.ask(**slots)
        meta = {"k": k, "piece": piece, "corners": corners, "shapes": shapes, "order": order, "ask": ask,
                "asked": asked, "query": query}
        pieces = []
        for slot, pos in enumerate(order):
            r, c = divmod(pos, k)
            cs = [hexc(at[r + dy][c + dx]) for dy in (0, 1) for dx in (0, 1)]
            pieces.append(f"piece {slot}: {' '.join(cs)}")
        twin = (f"A picture with a smooth colour gradient was cut into a {k}x{k} grid of square pieces, which "
                f"were shuffled and numbered 0-{k * k - 1}. The colours at each piece's corners (top-left, "
                f"top-right, bottom-left, bottom-right) are: {'; '.join(pieces)}. Pieces that touch in the "
                f"original picture share the colours of their common corners. {ask}")
        return self.sample(seed, level, prompt=self.image_prompt(self.question(k, ask)), images=(self.picture(render, meta),),
                           answer=answer, answer_type="sequence" if query == "order" else "number", text_twin=twin,
                           solution=solution, meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        """State the correct position of about a third of the pieces in text (never the position asked about)."""
        m = sample.meta
        labels = [str(m["order"].index(p)) for p in range(len(m["order"]))]
        free = [p for p in range(len(labels)) if p != m["asked"]]
        told = sorted(task_rng(f"{self.name}/mixed", sample.seed, sample.level)
                      .sample(free, max(1, len(labels) // 3)))
        said = "; ".join(f"piece {labels[p]} belongs at position {p}" for p in told)
        prompt = self.image_prompt(f"{self.question(m['k'], m['ask'])} Positions are numbered 0-{len(labels) - 1} in "
                                   f"reading order, and some are known: {said}.")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       meta={**m, "described": told})
