"""Pattern continuation: which panel comes next in a sequence of panels."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, ink, letters, rgb, shape

SHAPES = ("circle", "square", "triangle", "diamond", "star", "hexagon")
PCOLORS = ("red", "blue", "green", "orange", "purple")
PANEL, GAP, MAXCOUNT = 48, 4, 9


def next_periodic(seq: list) -> Any:
    """The next value under the shortest period p (p ≤ len/2) that the sequence repeats with."""
    for p in range(1, len(seq) // 2 + 1):
        if all(seq[i] == seq[i - p] for i in range(p, len(seq))):
            return seq[len(seq) - p]
    return None


def next_arithmetic(seq: list[int]) -> int | None:
    """The next value when consecutive values differ by a constant step, else None."""
    d = seq[1] - seq[0]
    return seq[-1] + d if all(b - a == d for a, b in zip(seq, seq[1:], strict=False)) else None


def words(p: dict[str, int]) -> str:
    return f"{p['count']} {PCOLORS[p['color']]} {SHAPES[p['shape']]}{'s' if p['count'] > 1 else ''}"


@register
class Pattern(Task):
    """A row of panels following a rule, then a '?' panel; choose the next panel among candidates.

    Shape and colour repeat in a cycle (of period ≤ max_period, shown at least twice); the number of
    shapes changes by a constant step (±1 or ±2). Distractors differ from the answer in one property.
    Queries: "next" (the candidate that continues the sequence; choice), "count" (shapes in a named
    shown panel; number), "step" (the constant change in the count per panel, 0 when it stays;
    number), "color" (the colour of a named shown panel's shapes; choice among the colours).

    Knobs per level:
        shown: panels shown before the '?'.
        active: which properties change (others stay fixed).
        max_period: longest cycle for shape/colour.
        steps: allowed count steps (the count stays within 1-9 over every panel and the answer).
        choices: number of candidate panels.
        queries: the queries the level asks (default all; "step" only where the count changes).
    """

    name = "pattern"
    questions = {
        "next": {
            "direct": "Which candidate comes next, as panel {n}?",
            "imperative": "Pick the candidate that comes next, as panel {n}.",
            "polite": "Could you tell me which candidate comes next, as panel {n}?",
            "terse": "Panel {n}: which candidate?",
        },
        "count": {
            "direct": "How many shapes are in panel {panel}?",
            "imperative": "Count the shapes in panel {panel}.",
            "polite": "Could you tell me how many shapes are in panel {panel}?",
            "terse": "Shapes in panel {panel}: how many?",
        },
        "step": {
            "direct": "By how much does the number of shapes change from one panel to the next?",
            "imperative": "Give the change in the number of shapes from one panel to the next.",
            "polite": "Could you tell me by how much the number of shapes changes from one panel to the next?",
            "terse": "Count step per panel?",
        },
        "color": {
            "direct": "What colour are the shapes in panel {panel}?",
            "imperative": "Name the colour of the shapes in panel {panel}.",
            "polite": "Could you tell me what colour the shapes in panel {panel} are?",
            "terse": "Panel {panel}: colour?",
        },
    }
    description = "Continue a sequence of panels (cycles of shape/colour, count progressions)"
    tags = ("logic", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"shown": 4, "active": ("count",), "max_period": 2, "steps": (1,), "choices": 4},
        2: {"shown": 4, "active": ("shape",), "max_period": 2, "steps": (1,), "choices": 4,
            "queries": ("next", "count", "color")},
        3: {"shown": 4, "active": ("shape", "count"), "max_period": 2, "steps": (1, -1, 2, -2), "choices": 4},
        4: {"shown": 6, "active": ("shape", "color", "count"), "max_period": 3, "steps": (1, -1), "choices": 4},
        5: {"shown": 6, "active": ("shape", "color", "count"), "max_period": 3, "steps": (1, -1), "choices": 6},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        m, active = cfg["shown"], cfg["active"]
        cols: dict[str, list[int]] = {}
        for a, n in (("shape", len(SHAPES)), ("color", len(PCOLORS))):
            if a in active:
                cycle = rng.sample(range(n), rng.randint(2, min(cfg["max_period"], m // 2)))
                cols[a] = [cycle[i % len(cycle)] for i in range(m + 1)]
            else:
                cols[a] = [rng.randrange(n)] * (m + 1)
        if "count" in active:
            d = rng.choice(cfg["steps"])
            lo, hi = (1, MAXCOUNT - d * m) if d > 0 else (1 - d * m, MAXCOUNT)
            start = rng.randint(lo, hi)
            cols["count"] = [start + d * i for i in range(m + 1)]
        else:
            cols["count"] = [rng.randint(1, 3)] * (m + 1)
        panels = [{a: cols[a][i] for a in cols} for i in range(m + 1)]
        correct = panels[-1]
        cands = [correct]
        while len(cands) < cfg["choices"]:
            a = rng.choice(active)
            if a == "count":
                v = rng.randint(1, MAXCOUNT)
            else:
                v = rng.randrange(len(SHAPES) if a == "shape" else len(PCOLORS))
            alt = dict(correct, **{a: v})
            if alt not in cands:
                cands.append(alt)
        rng.shuffle(cands)
        names = letters(len(cands))
        query = self.query
        seq = "; ".join(f"panel {i + 1}: {words(p)}" for i, p in enumerate(panels[:-1]))
        listing = "\n".join(f"{L}. {words(p)}" for L, p in zip(names, cands, strict=False))
        rule = "Shapes and colours repeat in a cycle and the number of shapes changes by a constant step."
        choices, answer_type, fmt = tuple(words(p) for p in cands), "choice", "Answer with the letter."
        if query == "next":
            q, answer = self.ask(n=m + 1), names[cands.index(correct)]
            sol = f"Continuing each cycle and the count step, panel {m + 1} holds {words(correct)}. Answer: {answer}."
        elif query == "count":
            j = rng.randrange(m)
            q, answer, fmt = self.ask(panel=j + 1), str(panels[j]["count"]), "Answer with a number."
            sol = f"Panel {j + 1} holds {words(panels[j])}. Answer: {answer}."
        elif query == "step":
            step = panels[1]["count"] - panels[0]["count"]
            q, answer, fmt = self.ask(), str(step), "Answer with a number (negative if it falls)."
            sol = (f"The counts read {', '.join(str(p['count']) for p in panels[:-1])}, changing by {step} each time. "
                   f"Answer: {answer}.")
        else:
            j = rng.randrange(m)
            options = list(PCOLORS)
            choices, answer = tuple(options), letters(len(options))[panels[j]["color"]]
            q = f"{self.ask(panel=j + 1)}\n{choice_block(options)}"
            sol = f"Panel {j + 1} holds {words(panels[j])}. Answer: {answer}."
        if query != "next":
            choices, answer_type = (choices if query == "color" else None), ("choice" if query == "color" else "number")
        question = f"{q} {fmt}" if "\n" not in q else f"{q}\n{fmt}"
        if query == "next":
            twin = f"A sequence of panels: {seq}. {rule}\n{q}\n{listing}\n{fmt}"
        else:
            twin = f"A sequence of panels: {seq}, then a '?' panel, with candidates:\n{listing}\n{rule}\n{question}"
        return self.sample(seed, level, prompt=self.image_prompt(
            f"The top row shows {m} panels of a sequence and a '?' panel; candidates {names[0]}-{names[-1]} are below. {rule}\n{question}"),
            images=(self.picture(self.render, panels[:-1], cands),), answer=answer, answer_type=answer_type,
            choices=choices, text_twin=twin, solution=sol,
            meta={"panels": panels[:-1], "candidates": cands, "question_text": f"{rule}\n{question}", "query": query})

    @staticmethod
    def render(panels: list[dict[str, int]], cands: list[dict[str, int]]):
        n = len(panels) + 1
        w = max(n, len(cands)) * (PANEL + GAP) + GAP
        img = canvas(w, 2 * PANEL + 3 * GAP + 24)
        d = ImageDraw.Draw(img)

        def panel(p, x, y):
            d.rectangle([x, y, x + PANEL, y + PANEL], outline=ink())
            if p is None:
                label(img, (x + PANEL / 2, y + PANEL / 2), "?", size=22)
                return
            k = p["count"]
            for i in range(k):
                row, rows = i // 3, (k + 2) // 3
                in_row = min(3, k - 3 * row)
                cx = x + PANEL / 2 + ((i % 3) - (in_row - 1) / 2) * 13
                cy = y + PANEL / 2 + (row - (rows - 1) / 2) * 14.5
                shape(d, SHAPES[p["shape"]], cx, cy, 6, rgb(PCOLORS[p["color"]]))

        for i, p in enumerate(panels + [None]):
            panel(p, GAP + i * (PANEL + GAP), GAP)
        y = PANEL + 2 * GAP + 2
        d.line([(0, y), (w, y)], fill=(150, 150, 150))
        for i, p in enumerate(cands):
            x = GAP + i * (PANEL + GAP)
            label(img, (x + PANEL / 2, y + 8), letters(len(cands))[i], size=12)
            panel(p, x, y + 16)
        return img

    def mixed(self, sample: Sample) -> Sample:
        """The first panels told in words; the last two shown panels, the '?' and the candidates drawn."""
        m = sample.meta
        panels, k = m["panels"], len(m["panels"]) - 2
        said = "; ".join(f"panel {i + 1}: {words(p)}" for i, p in enumerate(panels[:k]))
        img = self.render(panels[k:], m["candidates"])
        n = letters(len(m["candidates"]))
        prompt = self.image_prompt(
            f"A sequence of panels begins: {said}. The picture shows panels {k + 1} and {k + 2}, then a '?' panel, "
            f"with candidates {n[0]}-{n[-1]} below. {m['question_text']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
