"""Spot the difference: count what changed between two pictures of the same scene."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, rgb, shape

SHAPES = ("circle", "square", "triangle", "star")
PCOLORS = ("red", "blue", "green", "yellow", "purple")
CHANGES = ("color", "shape", "removed", "added", "size")


def listing(scene: dict[tuple[int, int], dict[str, Any]]) -> str:
    return "; ".join(f"row {r + 1}, column {c + 1}: {o['size']} {o['color']} {o['shape']}"
                     for (r, c), o in sorted(scene.items())) or "nothing"


@register
class SpotDifference(Task):
    """Two pictures of objects on a faint g×g grid (one object per cell at most); the second has
    some changes, each in its own cell: recoloured, reshaped, removed, added, or (harder) resized.

    Queries: "count" (how many cells changed; number), "kind" (what happened in a named changed cell;
    choice among the level's kinds of change; such problems always have a change), "objects" (how
    many objects picture 2 shows; number). `meta["about"]` holds the pixel boxes of the cells the
    question is about; geometry never depends on the style.

    Knobs per level:
        g: grid cells per side.
        objects: objects in the first picture.
        diffs: (min, max) number of changed cells.
        changes: kinds of change allowed.
        size: pixels per picture.
    """

    name = "spot_difference"
    questions = {
        "count": {
            "direct": "How many differences are there between the two pictures?",
            "imperative": "Count the differences between the two pictures.",
            "polite": "Could you tell me how many differences there are between the two pictures?",
            "terse": "Differences between the pictures: how many?",
        },
        "kind": {
            "direct": "What changed from picture 1 to picture 2 in row {row}, column {col}?",
            "imperative": "Say what changed from picture 1 to picture 2 in row {row}, column {col}.",
            "polite": "Could you tell me what changed from picture 1 to picture 2 in row {row}, column {col}?",
            "terse": "Row {row}, column {col}: what changed?",
        },
        "objects": {
            "direct": "How many objects does picture 2 show?",
            "imperative": "Count the objects in picture 2.",
            "polite": "Could you tell me how many objects picture 2 shows?",
            "terse": "Objects in picture 2: how many?",
        },
    }
    modality = "image"
    description = "Spot the difference: count the changes between two pictures"
    tags = ("perception", "counting")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"g": 3, "objects": 4, "diffs": (1, 2), "changes": ("color", "removed", "added"), "size": 120},
        2: {"g": 4, "objects": 6, "diffs": (1, 3), "changes": ("color", "shape", "removed", "added"), "size": 128},
        3: {"g": 4, "objects": 8, "diffs": (0, 3), "changes": ("color", "shape", "removed", "added"), "size": 128},
        4: {"g": 5, "objects": 12, "diffs": (0, 4), "changes": CHANGES, "size": 140},
        5: {"g": 6, "objects": 18, "diffs": (0, 5), "changes": CHANGES, "size": 156},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        g = cfg["g"]
        cells = [(r, c) for r in range(g) for c in range(g)]
        new = lambda: {"shape": rng.choice(SHAPES), "color": rng.choice(PCOLORS), "size": rng.choice(("large", "small"))}  # noqa: E731
        first = {cell: new() for cell in rng.sample(cells, cfg["objects"])}
        second = {k: dict(v) for k, v in first.items()}
        query = self.query
        n_diff = rng.randint(*cfg["diffs"])
        if query == "kind":
            n_diff = max(n_diff, 1)
        changed = []
        for cell in rng.sample(cells, n_diff):
            kinds = [k for k in cfg["changes"] if (k == "added") == (cell not in first)]
            kind = rng.choice(kinds)
            if kind == "added":
                second[cell] = new()
            elif kind == "removed":
                del second[cell]
            else:
                vals = {"color": PCOLORS, "shape": SHAPES, "size": ("large", "small")}[kind]
                second[cell][kind] = rng.choice([v for v in vals if v != first[cell][kind]])
            changed.append((cell, kind))
        what = {"color": "changes colour", "shape": "changes shape", "removed": "disappears", "added": "appears", "size": "changes size"}
        cell_px = (cfg["size"] - 4) / g
        box = lambda r, c: [round(2 + c * cell_px), round(2 + r * cell_px), round(2 + (c + 1) * cell_px), round(2 + (r + 1) * cell_px)]  # noqa: E731
        choices, fmt = None, "Answer with a number."
        if query == "count":
            answer, about = str(n_diff), [box(r, c) for (r, c), _ in sorted(changed)]
            q = self.ask()
            sol = (("Comparing cell by cell: " + "; ".join(f"at row {r + 1}, column {c + 1} an object {what[k]}" for (r, c), k in sorted(changed))
                    + f". That is {n_diff} difference{'s' if n_diff != 1 else ''}. Answer: {answer}.") if changed else
                   "Comparing cell by cell, every object matches in both pictures. Answer: 0.")
        elif query == "kind":
            (r, c), kind = rng.choice(changed)
            choices = tuple(f"an object {what[k]}" for k in cfg["changes"])
            answer, about, fmt = "ABCDE"[cfg["changes"].index(kind)], [box(r, c)], "Answer with the letter."
            q = f"{self.ask(row=r + 1, col=c + 1)}\n{choice_block(list(choices))}"
            sol = f"At row {r + 1}, column {c + 1} an object {what[kind]} from picture 1 to picture 2. Answer: {answer}."
        else:
            answer, about = str(len(second)), [box(r, c) for r, c in sorted(second)]
            q = self.ask()
            sol = f"Picture 2 holds objects in {len(second)} cells: {listing(second)}. Answer: {answer}."
        q = f"{q} {fmt}" if "\n" not in q else f"{q}\n{fmt}"
        twin = (f"Two pictures show objects on a {g}×{g} grid. Picture 1: {listing(first)}. "
                f"Picture 2: {listing(second)}.\n{q}")
        size = cfg["size"]
        prompt = self.image_prompt("The two pictures show the same scene, but the second may differ from the first.\n" + q, 2)
        enc = lambda s: [[r, c, o["shape"], o["color"], o["size"]] for (r, c), o in sorted(s.items())]  # noqa: E731
        return self.sample(seed, level, prompt=prompt, images=(self.picture(self.render, first, g, size), self.picture(self.render, second, g, size)),
                           answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=twin, solution=sol,
                           meta={"g": g, "size": size, "first": enc(first), "second": enc(second),
                                 "first_text": listing(first), "question": q, "query": query, "about": about})

    @staticmethod
    def render(scene: dict[tuple[int, int], dict[str, Any]], g: int, size: int):
        img = canvas(size)
        d = ImageDraw.Draw(img)
        d.rectangle([0, 0, size - 1, size - 1], outline=(90, 90, 90), width=2)
        cell = (size - 4) / g
        st = S.current()
        faint = tuple(b + round((i - b) * 30 / 255) for b, i in zip(st.background, st.ink, strict=True))
        for i in range(1, g):
            d.line([(2 + i * cell, 2), (2 + i * cell, size - 3)], fill=faint)
            d.line([(2, 2 + i * cell), (size - 3, 2 + i * cell)], fill=faint)
        for (r, c), o in scene.items():
            rad = cell * (0.36 if o["size"] == "large" else 0.22)
            shape(d, o["shape"], 2 + (c + 0.5) * cell, 2 + (r + 0.5) * cell, rad, rgb(o["color"]), outline=st.outline)
        return img

    def mixed(self, sample: Sample) -> Sample:
        """Picture 1 described in words, picture 2 shown."""
        m = sample.meta
        prompt = self.image_prompt(
            f"Picture 1 shows objects on a {m['g']}×{m['g']} grid (rows from the top, columns from the left): {m['first_text']}. "
            f"The image is picture 2 of the same scene, which may differ.\n{m['question']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=sample.images[1:], form="mixed")
