"""Raven-style progressive matrices: pick the panel that completes a 3×3 matrix."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, ink, letters, rgb, shape, text

SHAPES = ("circle", "square", "triangle", "diamond", "hexagon", "star")
PCOLORS = ("red", "blue", "green", "orange", "purple")
SIZES = ("small", "medium", "large")
RADIUS = {"small": 4, "medium": 7, "large": 10}
DOMAIN = {"shape": len(SHAPES), "color": len(PCOLORS), "count": 4, "size": 3}  # count value v means v+1 objects
ORDINAL = {"count", "size"}  # attributes that may progress
LAYOUT = {1: [(24, 24)], 2: [(13, 24), (35, 24)], 3: [(24, 13), (13, 35), (35, 35)],
          4: [(13, 13), (35, 13), (13, 35), (35, 35)]}
PANEL = 48
ATTRS = ("shape", "color", "count", "size")


def predictions(rows: list[list[int]], ordinal: bool) -> set[int]:
    """Every value of the missing cell (row 3, column 3) that some rule consistent with the data predicts.

    Rules: constant along each row; progression by +1 or -1 along each row (ordinal attributes
    only); each row a permutation of the same three distinct values.
    """
    full, last = rows[:2], rows[2][:2]
    out = set()
    if all(len(set(r)) == 1 for r in full) and last[0] == last[1]:
        out.add(last[0])
    if ordinal:
        for d in (1, -1):
            if all(r[1] - r[0] == d and r[2] - r[1] == d for r in full) and last[1] - last[0] == d:
                out.add(last[1] + d)
    s = set(full[0])
    if len(s) == 3 and set(full[1]) == s and len(set(last)) == 2 and set(last) <= s:
        out |= s - set(last)
    return out


def attribute_rows(rng: random.Random, attr: str, active: bool) -> list[list[int]]:
    n = DOMAIN[attr]
    if not active:
        return [[rng.randrange(n)] * 3] * 3
    rule = rng.choice(("constant", "progression", "distribute") if attr in ORDINAL else ("constant", "distribute"))
    if rule == "constant":
        return [[v] * 3 for v in rng.sample(range(n), 3)]
    if rule == "progression":
        d = rng.choice((1, -1))
        starts = [rng.randrange(0, n - 2) if d == 1 else rng.randrange(2, n) for _ in range(3)]
        return [[s, s + d, s + 2 * d] for s in starts]
    vals = rng.sample(range(n), 3)
    return [[vals[(i + k) % 3] for i in range(3)] for k in (0, 1, 2)]


def words(p: dict[str, int]) -> str:
    k = p["count"] + 1
    return f"{k} {SIZES[p['size']]} {PCOLORS[p['color']]} {SHAPES[p['shape']]}{'s' if k > 1 else ''}"


@register
class Raven(Task):
    """A 3×3 matrix of panels whose last panel is missing, and lettered candidate panels.

    Each panel holds 1-4 copies of one shape in one colour and size. Each varying attribute follows
    a row rule (constant, +1/-1 progression for count and size, or the same three values permuted
    in every row); the generator checks that every rule consistent with the visible panels predicts
    the same missing panel. Distractors differ from the answer in exactly one varying attribute.
    Queries: "complete" (the candidate that fills the '?'; choice), "missing_count" (how many shapes the
    '?' panel holds, by the rules; number), "count" (shapes in a named panel; number), "shape_of" (the
    shape in a named panel; choice among the shapes).

    Knobs per level:
        attrs: how many attributes vary (shape, then colour, count, size); the rest stay fixed.
        choices: number of candidate panels.
    """

    name = "raven"
    questions = {
        "complete": {
            "direct": "Which candidate panel completes the matrix (the '?' panel)?",
            "imperative": "Pick the candidate panel that completes the matrix (the '?' panel).",
            "polite": "Could you tell me which candidate panel completes the matrix (the '?' panel)?",
            "terse": "Candidate for the '?' panel?",
        },
        "missing_count": {
            "direct": "How many shapes does the missing '?' panel hold?",
            "imperative": "Work out how many shapes the missing '?' panel holds.",
            "polite": "Could you tell me how many shapes the missing '?' panel holds?",
            "terse": "Shapes in the '?' panel: how many?",
        },
        "count": {
            "direct": "How many shapes are in the panel in row {row}, column {col} of the matrix?",
            "imperative": "Count the shapes in the panel in row {row}, column {col} of the matrix.",
            "polite": "Could you tell me how many shapes are in the panel in row {row}, column {col} of the matrix?",
            "terse": "Matrix row {row}, column {col}: how many shapes?",
        },
        "shape_of": {
            "direct": "What shape is in the panel in row {row}, column {col} of the matrix?",
            "imperative": "Name the shape in the panel in row {row}, column {col} of the matrix.",
            "polite": "Could you tell me what shape is in the panel in row {row}, column {col} of the matrix?",
            "terse": "Matrix row {row}, column {col}: shape?",
        },
    }
    description = "Raven-style 3×3 matrix completion (choose the missing panel)"
    tags = ("logic", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"attrs": 1, "choices": 4},
        2: {"attrs": 2, "choices": 4},
        3: {"attrs": 3, "choices": 4},
        4: {"attrs": 4, "choices": 6},
        5: {"attrs": 4, "choices": 8},
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        active = set(ATTRS[: cfg["attrs"]])
        while True:
            table = {a: attribute_rows(rng, a, a in active) for a in ATTRS}
            if all(predictions(table[a], a in ORDINAL) == {table[a][2][2]} for a in ATTRS):
                break
        panels = [[{a: table[a][r][c] for a in ATTRS} for c in range(3)] for r in range(3)]
        correct = panels[2][2]
        cands = [correct]
        while len(cands) < cfg["choices"]:
            a = rng.choice(sorted(active))
            alt = dict(correct, **{a: rng.choice([v for v in range(DOMAIN[a]) if v != correct[a]])})
            if alt not in cands:
                cands.append(alt)
        rng.shuffle(cands)
        n = letters(len(cands))
        choices = tuple(words(p) for p in cands)
        rules = "Each attribute (shape, colour, number, size) follows a rule along every row."
        grid = "\n".join(f"Row {r + 1}: " + "; ".join(words(p) if (r, c) != (2, 2) else "?" for c, p in enumerate(row))
                         for r, row in enumerate(panels))
        why = "; ".join(f"{a} {'stays the same along each row' if len(set(table[a][0])) == 1 else 'changes along each row by a rule'}"
                        for a in ATTRS if a in active)
        query, answer_type, fmt = self.query, "choice", "Answer with the letter."
        if query == "complete":
            q, answer = self.ask(), n[cands.index(correct)]
            ask = f"{q}\n{choice_block(list(choices))}\n{fmt}"
            question = f"{q} {fmt[:-1]} of the candidate."
            sol = f"Reading the rows: {why}. The missing panel must be {words(correct)}. Answer: {answer}."
        elif query == "missing_count":
            q, answer, fmt = self.ask(), str(correct["count"] + 1), "Answer with a number."
            choices, answer_type = None, "number"
            ask = question = f"{q} {fmt}"
            sol = (f"The number of shapes {'stays the same along each row' if len(set(table['count'][0])) == 1 else 'follows a row rule'}"
                   f"; row 3 reads {table['count'][2][0] + 1}, {table['count'][2][1] + 1}, so the missing panel holds "
                   f"{answer}. Answer: {answer}.")
        else:
            r, c = rng.choice([(r, c) for r in range(3) for c in range(3) if (r, c) != (2, 2)])
            p = panels[r][c]
            if query == "count":
                q, answer, fmt = self.ask(row=r + 1, col=c + 1), str(p["count"] + 1), "Answer with a number."
                choices, answer_type = None, "number"
                ask = question = f"{q} {fmt}"
            else:
                options = list(SHAPES)
                q, answer, choices = self.ask(row=r + 1, col=c + 1), letters(len(options))[p["shape"]], tuple(options)
                ask = question = f"{q}\n{choice_block(options)}\n{fmt}"
            sol = f"The panel in row {r + 1}, column {c + 1} holds {words(p)}. Answer: {answer}."
        return self.sample(seed, level, prompt=self.image_prompt(
            f"The picture shows a 3×3 matrix of panels with the last one missing, and candidate panels {n[0]}-{n[-1]} below it. "
            f"{rules}\n{question}"),
            images=(self.picture(self.render, panels, cands),), answer=answer, answer_type=answer_type, choices=choices,
            text_twin=(f"A 3×3 matrix of panels, row by row, with the last panel missing:\n{grid}\n{rules}\n{ask}"
                       if query == "complete" else
                       f"A 3×3 matrix of panels, row by row, with the last panel missing:\n{grid}\nCandidate panels: "
                       + "; ".join(f"{L}. {words(p)}" for L, p in zip(n, cands, strict=True)) + f".\n{rules}\n{ask}"),
            solution=sol,
            meta={"table": table, "candidates": cands, "active": sorted(active), "rows_text": grid.split("\n"),
                  "question_text": f"{rules}\n{question}", "query": query})

    @staticmethod
    def render(panels, cands, rows=(0, 1, 2)):
        """The matrix rows `rows` (the '?' in place of the last panel) above the lettered candidates."""
        per_row = 4
        cand_rows = (len(cands) + per_row - 1) // per_row
        gap = 4
        w = per_row * (PANEL + gap) + gap
        h = len(rows) * (PANEL + gap) + gap + 6 + cand_rows * (PANEL + 16 + gap)
        img = canvas(w, h)
        d = ImageDraw.Draw(img)
        x0 = (w - 3 * (PANEL + gap)) // 2

        def panel(p, x, y):
            d.rectangle([x, y, x + PANEL, y + PANEL], outline=ink(), width=1)
            if p is None:
                text(d, (x + PANEL / 2, y + PANEL / 2), "?", size=22)
                return
            for cx, cy in LAYOUT[p["count"] + 1]:
                shape(d, SHAPES[p["shape"]], x + cx, y + cy, RADIUS[SIZES[p["size"]]], rgb(PCOLORS[p["color"]]))

        for k, r in enumerate(rows):
            for c in range(3):
                panel(panels[r][c] if (r, c) != (2, 2) else None, x0 + c * (PANEL + gap), gap + k * (PANEL + gap))
        y0 = len(rows) * (PANEL + gap) + gap + 6
        d.line([(0, y0 - 4), (w, y0 - 4)], fill=(150, 150, 150))
        for i, p in enumerate(cands):
            x, y = gap + (i % per_row) * (PANEL + gap), y0 + (i // per_row) * (PANEL + 16 + gap)
            text(d, (x + PANEL / 2, y + 7), letters(len(cands))[i], size=12)
            panel(p, x, y + 14)
        return img

    def mixed(self, sample: Sample) -> Sample:
        """Rows 1 and 2 told in words; row 3 (with the '?') and the candidates drawn."""
        m = sample.meta
        panels = [[{a: m["table"][a][r][c] for a in ATTRS} for c in range(3)] for r in range(3)]
        img = self.render(panels, m["candidates"], rows=(2,))
        n = letters(len(m["candidates"]))
        prompt = self.image_prompt(
            f"A 3×3 matrix of panels has these first two rows:\n{m['rows_text'][0]}\n{m['rows_text'][1]}\n"
            f"The picture shows its third row, whose last panel is missing ('?'), and candidate panels {n[0]}-{n[-1]}. "
            f"{m['question_text']}")
        return replace(sample, id=sample.id + "/mixed", prompt=prompt, images=(img,), form="mixed")
