"""`function_plot`: read values off plotted lines and parabolas on a coordinate grid.

Curves are y = a·x + b (lines) and y = s·(x − h)² + k (parabolas) with integer coefficients,
stored in `meta["curves"]` as ["line", a, b] / ["parabola", s, h, k], so every answer can be
recomputed from them. Everything asked lies on grid points inside the plotted window.
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

COLORS = ((30, 80, 220), (220, 60, 40))


def f(curve: list, x: float) -> float:
    if curve[0] == "line":
        return curve[1] * x + curve[2]
    return curve[1] * (x - curve[2]) ** 2 + curve[3]


def formula(curve: list) -> str:
    def lin(a, b, x="x"):
        s = "" if a == 1 else "-" if a == -1 else str(a)
        head = f"{s}{x}" if a else ""
        if not b:
            return head or "0"
        return f"{head} {'+' if b > 0 else '-'} {abs(b)}" if head else str(b)

    if curve[0] == "line":
        return "y = " + lin(curve[1], curve[2])
    s, h, k = curve[1:]
    sq = f"(x {'-' if h > 0 else '+'} {abs(h)})^2" if h else "x^2"
    return "y = " + lin(s, k, sq)


def intersections(line: list, par: list) -> int:
    """Number of real solutions of a·x + b = s(x − h)² + k."""
    _, a, b = line
    _, s, h, k = par
    # s x² − (2sh + a) x + (s h² + k − b) = 0
    A, B, C = s, -(2 * s * h + a), s * h * h + k - b
    disc = B * B - 4 * A * C
    return 2 if disc > 0 else 1 if disc == 0 else 0


@register
class FunctionPlot(Task):
    """Read a plotted function: a value, a slope, a root, a vertex, an intersection.

    Level knobs:
        question: "value" (y of a line at a given x), "slope" (of a line), "root" (where a line crosses
            the x-axis), "vertex" (the lowest/highest value of a parabola), "meet" (x where two lines
            cross), "count" (how many times a line and a parabola meet).
        R: the window is −R..R on both axes, one grid line per unit.
        size: image side in pixels.

    Mixed form: the axis numbers are not drawn; the text says grid lines are one unit apart and the
    axes cross at the origin.
    """

    name = "function_plot"
    description = "Read a function plot: value, slope, root, vertex, intersection, crossing count (number)."
    tags = ("arithmetic", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(question="value", R=4, size=208),
        2: dict(question="slope", R=5, size=224),
        3: dict(question="root", R=6, size=240),
        4: dict(question="vertex", R=6, size=240),
        5: dict(question="meet", R=6, size=240),
        6: dict(question="count", R=6, size=240),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        q, R = cfg["question"], cfg["R"]
        inside = lambda y: -R < y < R  # noqa: E731
        while True:
            if q in ("value", "slope", "root"):
                a = rng.choice([v for v in range(-3, 4) if v])
                if q == "root":
                    r = rng.randint(-R + 1, R - 1)
                    b = -a * r
                else:
                    b = rng.randint(-3, 3)
                curves = [["line", a, b]]
                x0 = rng.randint(-R + 1, R - 1)
                if q == "value" and not inside(f(curves[0], x0)):
                    continue
                if q == "root" and not inside(b):
                    continue
                ask = {"value": f"What is the value of y on the line at x = {x0}?",
                       "slope": "What is the slope of the line?",
                       "root": "At what x does the line cross the x-axis?"}[q]
                answer = {"value": f(curves[0], x0), "slope": a, "root": r if q == "root" else 0}[q]
                sol = {"value": f"The line passes through grid points such as (0, {b}) and rises {a} per unit, so at "
                                f"x = {x0} it is at y = {answer}.",
                       "slope": f"Between two grid points one unit apart in x the line changes by {a} in y, so the "
                                f"slope is {a}.",
                       "root": f"The line meets the x-axis at the grid point ({answer}, 0)."}[q]
            elif q == "vertex":
                s = rng.choice((-1, 1))
                h, k = rng.randint(-3, 3), rng.randint(-4, 4)
                curves = [["parabola", s, h, k]]
                ask = f"What is the {'smallest' if s > 0 else 'largest'} value of y on the parabola?"
                answer = k
                sol = f"The parabola's {'lowest' if s > 0 else 'highest'} point is its vertex at ({h}, {k}), so the value is {k}."
            elif q == "meet":
                x0, y0 = rng.randint(-R + 2, R - 2), rng.randint(-R + 2, R - 2)
                a1, a2 = rng.sample([v for v in range(-3, 4) if v], 2)
                curves = [["line", a1, y0 - a1 * x0], ["line", a2, y0 - a2 * x0]]
                ask = "At what x do the two lines cross?"
                answer = x0
                sol = f"The lines meet at the grid point ({x0}, {y0})."
            else:
                s = rng.choice((-1, 1))
                h, k = rng.randint(-3, 3), rng.randint(-4, 4)
                a = rng.choice([v for v in range(-2, 3)])
                b = rng.randint(-4, 4)
                curves = [["line", a, b], ["parabola", s, h, k]]
                answer = intersections(curves[0], curves[1])
                A, B, C = s, -(2 * s * h + a), s * h * h + k - b
                disc = B * B - 4 * A * C
                if disc == 0 or (disc > 0 and not all(inside(f(curves[0], (-B + sg * disc ** 0.5) / (2 * A)))
                                                      and -R < (-B + sg * disc ** 0.5) / (2 * A) < R
                                                      for sg in (1, -1))):
                    continue  # tangent, or meeting points outside the window
                ask = "How many times do the line and the parabola meet?"
                sol = f"Setting {formula(curves[0])[4:]} equal to {formula(curves[1])[4:]} gives a quadratic with " \
                      f"{answer} real solution{'s' * (answer != 1)}, and the picture shows {answer} meeting point" \
                      f"{'s' * (answer != 1)}."
            break
        answer = int(answer)
        q_text = f"{ask} Answer with a number."
        eqs = " and ".join(formula(c) for c in curves)
        twin = f"On a coordinate plane (x and y from -{R} to {R}) the graph{'s' * (len(curves) > 1)} of {eqs} " \
               f"{'are' if len(curves) > 1 else 'is'} drawn. {q_text}"
        meta = {"curves": curves, "R": R, "size": cfg["size"], "question": q, "ask": q_text, "font_px": D.MIN_FONT_PX,
                "x": x0 if q == "value" else None}
        return self.sample(seed, level, prompt=self.image_prompt(f"The plot shows {'two graphs' if len(curves) > 1 else 'a graph'} on a grid. {q_text}"),
                           images=(self.picture(render, meta, True),), answer=str(answer), answer_type="number", text_twin=twin,
                           solution=f"{sol} Answer: {answer}.", meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        prompt = self.image_prompt(f"The plot shows graphs on a grid without axis numbers: grid lines are 1 unit "
                                   f"apart and the two thick axes cross at the origin (0, 0). {m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, False),),
                       meta={**m, "described": "scale"})


def render(meta: dict[str, Any], numbers: bool) -> Any:
    size, R = meta["size"], meta["R"]
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    m = 14
    s = (size - 2 * m) / (2 * R)
    X = lambda x: m + (x + R) * s  # noqa: E731
    Y = lambda y: m + (R - y) * s  # noqa: E731
    for k in range(-R, R + 1):
        d.line([(X(k), Y(R)), (X(k), Y(-R))], fill=(220, 220, 220))
        d.line([(X(-R), Y(k)), (X(R), Y(k))], fill=(220, 220, 220))
    d.line([(X(-R), Y(0)), (X(R), Y(0))], fill=(60, 60, 60), width=2)
    d.line([(X(0), Y(-R)), (X(0), Y(R))], fill=(60, 60, 60), width=2)
    if numbers:
        for k in range(-R + 1, R):
            if k and k % 2 == 0:
                label(im, (X(k), Y(0) + 8), str(k), size=meta["font_px"], fill=(60, 60, 60))
                label(im, (X(0) - 9, Y(k)), str(k), size=meta["font_px"], fill=(60, 60, 60))
    d.rectangle([X(-R), Y(R), X(R), Y(-R)], outline=(60, 60, 60))
    for curve, color in zip(meta["curves"], COLORS, strict=False):
        pts = []
        steps = 2 if curve[0] == "line" else 120
        for i in range(steps + 1):
            x = -R + 2 * R * i / steps
            pts.append((X(x), Y(f(curve, x))))
        d.line(pts, fill=color, width=3)
    # clip: repaint the margins so curves leaving the window do not spill out
    d.rectangle([0, 0, size, m - 1], fill=(255, 255, 255))
    d.rectangle([0, size - m + 1, size, size], fill=(255, 255, 255))
    d.rectangle([0, 0, m - 1, size], fill=(255, 255, 255))
    d.rectangle([size - m + 1, 0, size, size], fill=(255, 255, 255))
    return im
