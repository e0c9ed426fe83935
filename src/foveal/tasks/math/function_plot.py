"""`function_plot`: read values off plotted lines and parabolas on a coordinate grid.

Curves are y = a·x + b (lines) and y = s·(x − h)² + k (parabolas) with integer coefficients,
stored in `meta["curves"]` as ["line", a, b] / ["parabola", s, h, k], so every answer can be
recomputed from them. Everything asked lies on grid points inside the plotted window.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task


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


NUMBER = "Answer with a number."
INKS = ("blue", "red", "green", "purple", "orange")  # curve colours (two curves never share one)
SLACK = 16  # the plot is placed anywhere up to this many pixels from the picture's top-left corner


@register
class FunctionPlot(Task):
    """Read a plotted function: a value, a slope, a root, a vertex, an intersection.

    Level knobs:
        scene: what is plotted, named after the question the level first asked: "value", "slope"
            (one line), "root" (one line crossing the x-axis at a grid point), "vertex" (one parabola),
            "meet" (two lines crossing at a grid point), "count" (a line and a parabola).
        R: the window is −R..R on both axes, one grid line per unit.
        size: side of the plot in pixels (the picture is SLACK pixels larger).
        queries: the queries the level asks.

    Queries: "value" (y on the curve at a given x), "slope" (of a line), "root" (where a line crosses
    the x-axis), "y_intercept" (where a curve crosses the y-axis), "vertex" (a parabola's smallest or
    largest y), "axis" (the x of a parabola's vertex), "meet" / "meet_y" (where two lines cross),
    "count" (how many times a line and a parabola meet). Every value asked lies on a grid point inside
    the window. Curves are drawn in colours from INKS and the plot is shifted by up to SLACK pixels;
    the twin states both (the colours and the origin's pixel position).

    Mixed form: the axis numbers are not drawn; the text says grid lines are one unit apart and the
    axes cross at the origin.
    """

    name = "function_plot"
    description = "Read a function plot: value, slope, root, intercept, vertex, intersection, crossing count (number)."
    tags = ("arithmetic", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "value": {
            "direct": "What is the value of y on {curve} at x = {x}? " + NUMBER,
            "imperative": "Read off the value of y on {curve} at x = {x}. " + NUMBER,
            "polite": "Could you tell me the value of y on {curve} at x = {x}? " + NUMBER,
            "terse": "y on {curve} at x = {x}? " + NUMBER,
        },
        "slope": {
            "direct": "What is the slope of {curve}? " + NUMBER,
            "imperative": "Find the slope of {curve}. " + NUMBER,
            "polite": "Could you tell me the slope of {curve}? " + NUMBER,
            "terse": "Slope of {curve}? " + NUMBER,
        },
        "root": {
            "direct": "At what x does {curve} cross the x-axis? " + NUMBER,
            "imperative": "Find the x where {curve} crosses the x-axis. " + NUMBER,
            "polite": "Could you tell me at what x {curve} crosses the x-axis? " + NUMBER,
            "terse": "x where {curve} crosses the x-axis? " + NUMBER,
        },
        "y_intercept": {
            "direct": "At what y does {curve} cross the y-axis? " + NUMBER,
            "imperative": "Find the y where {curve} crosses the y-axis. " + NUMBER,
            "polite": "Could you tell me at what y {curve} crosses the y-axis? " + NUMBER,
            "terse": "y where {curve} crosses the y-axis? " + NUMBER,
        },
        "vertex": {
            "direct": "What is the {extreme} value of y on {curve}? " + NUMBER,
            "imperative": "Find the {extreme} value of y on {curve}. " + NUMBER,
            "polite": "Could you tell me the {extreme} value of y on {curve}? " + NUMBER,
            "terse": "The {extreme} y on {curve}? " + NUMBER,
        },
        "axis": {
            "direct": "At what x does {curve} reach its {extreme} value of y? " + NUMBER,
            "imperative": "Find the x where {curve} reaches its {extreme} value of y. " + NUMBER,
            "polite": "Could you tell me at what x {curve} reaches its {extreme} value of y? " + NUMBER,
            "terse": "x where {curve} reaches its {extreme} y? " + NUMBER,
        },
        "meet": {
            "direct": "At what x do the two lines cross? " + NUMBER,
            "imperative": "Find the x where the two lines cross. " + NUMBER,
            "polite": "Could you tell me at what x the two lines cross? " + NUMBER,
            "terse": "x where the two lines cross? " + NUMBER,
        },
        "meet_y": {
            "direct": "At what y do the two lines cross? " + NUMBER,
            "imperative": "Find the y where the two lines cross. " + NUMBER,
            "polite": "Could you tell me at what y the two lines cross? " + NUMBER,
            "terse": "y where the two lines cross? " + NUMBER,
        },
        "count": {
            "direct": "How many times do the line and the parabola meet? " + NUMBER,
            "imperative": "Count the points where the line and the parabola meet. " + NUMBER,
            "polite": "Could you tell me how many times the line and the parabola meet? " + NUMBER,
            "terse": "Meeting points of the line and the parabola: how many? " + NUMBER,
        },
    }
    levels = {
        1: dict(scene="value", R=4, size=208, queries=("value", "slope", "y_intercept")),
        2: dict(scene="slope", R=5, size=224, queries=("slope", "value", "y_intercept")),
        3: dict(scene="root", R=6, size=240, queries=("root", "slope", "y_intercept", "value")),
        4: dict(scene="vertex", R=6, size=240, queries=("vertex", "axis", "value", "y_intercept")),
        5: dict(scene="meet", R=6, size=240, queries=("meet", "meet_y", "slope")),
        6: dict(scene="count", R=6, size=240, queries=("count", "vertex", "axis", "slope")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        q, R, query = cfg["scene"], cfg["R"], self.query
        inside = lambda y: -R < y < R  # noqa: E731
        x0 = None
        while True:
            if q in ("value", "slope", "root"):
                a = rng.choice([v for v in range(-3, 4) if v])
                r = rng.randint(-R + 1, R - 1) if q == "root" else None
                b = -a * r if q == "root" else rng.randint(-3, 3)
                curves = [["line", a, b]]
                x0 = rng.randint(-R + 1, R - 1)
                if query == "value" and not inside(f(curves[0], x0)):
                    continue
                if q == "root" and not inside(b):
                    continue
            elif q == "vertex":
                s = rng.choice((-1, 1))
                h, k = rng.randint(-3, 3), rng.randint(-4, 4)
                curves = [["parabola", s, h, k]]
                x0 = rng.randint(-R + 1, R - 1)
                if (query == "value" and not inside(f(curves[0], x0))) or (query == "y_intercept"
                                                                           and not inside(f(curves[0], 0))):
                    continue
            elif q == "meet":
                x0, y0 = rng.randint(-R + 2, R - 2), rng.randint(-R + 2, R - 2)
                a1, a2 = rng.sample([v for v in range(-3, 4) if v], 2)
                curves = [["line", a1, y0 - a1 * x0], ["line", a2, y0 - a2 * x0]]
            else:
                s = rng.choice((-1, 1))
                h, k = rng.randint(-3, 3), rng.randint(-4, 4)
                a = rng.choice([v for v in range(-2, 3)])
                b = rng.randint(-4, 4)
                curves = [["line", a, b], ["parabola", s, h, k]]
                A, B, C = s, -(2 * s * h + a), s * h * h + k - b
                disc = B * B - 4 * A * C
                if disc == 0 or (disc > 0 and not all(inside(f(curves[0], (-B + sg * disc ** 0.5) / (2 * A)))
                                                      and -R < (-B + sg * disc ** 0.5) / (2 * A) < R
                                                      for sg in (1, -1))):
                    continue  # tangent, or meeting points outside the window
            break
        inks = rng.sample(INKS, len(curves))
        shift = [rng.randint(0, SLACK), rng.randint(0, SLACK)]
        answer, sol, slots = self.read(q, curves, inks, x0)
        q_text = self.ask(**slots)
        eqs = " and ".join(f"{formula(c)} (in {ink})" for c, ink in zip(curves, inks, strict=True))
        origin = plot_origin(cfg["size"], shift)
        twin = f"On a coordinate plane (x and y from -{R} to {R}, the origin at pixel ({origin[0]}, {origin[1]})) " \
               f"the graph{'s' * (len(curves) > 1)} of {eqs} {'are' if len(curves) > 1 else 'is'} drawn. {q_text}"
        meta = {"curves": curves, "R": R, "size": cfg["size"], "question": query, "ask": q_text,
                "font_px": D.MIN_FONT_PX, "x": x0 if query == "value" else None, "inks": inks, "shift": shift}
        return self.sample(seed, level, prompt=self.image_prompt(f"The plot shows {'two graphs' if len(curves) > 1 else 'a graph'} on a grid. {q_text}"),
                           images=(self.picture(render, meta, True),), answer=str(answer), answer_type="number", text_twin=twin,
                           solution=f"{sol} Answer: {answer}.", meta=meta)

    def read(self, scene: str, curves: list, inks: list[str], x0: int | None) -> tuple[int, str, dict[str, Any]]:
        """The answer to the current query about `curves`, its worked solution and the question's slots."""
        query = self.query
        kind = "line" if query in ("slope", "meet", "meet_y") or scene != "count" and curves[0][0] == "line" else \
            "parabola"
        i = next(j for j, c in enumerate(curves) if c[0] == kind)
        curve = curves[i]
        name = f"the {inks[i]} {kind}" if len(curves) > 1 else f"the {kind}"
        slots: dict[str, Any] = {"curve": name}
        if query == "value":
            answer = int(f(curve, x0))
            slots["x"] = x0
            sol = (f"The line passes through grid points such as (0, {curve[2]}) and rises {curve[1]} per unit, so at "
                   f"x = {x0} it is at y = {answer}." if kind == "line" else
                   f"The parabola {formula(curve)} has its vertex at ({curve[2]}, {curve[3]}); at x = {x0} it is at "
                   f"y = {answer}.")
        elif query == "slope":
            answer = curve[1]
            sol = f"Between two grid points one unit apart in x {name} changes by {answer} in y, so the slope is {answer}."
        elif query == "root":
            answer = -curve[2] // curve[1]
            sol = f"The line meets the x-axis at the grid point ({answer}, 0)."
        elif query == "y_intercept":
            answer = int(f(curve, 0))
            sol = f"{name[0].upper()}{name[1:]} meets the y-axis at the grid point (0, {answer})."
        elif query in ("vertex", "axis"):
            _, sgn, h, k = curve
            slots["extreme"] = "smallest" if sgn > 0 else "largest"
            answer = k if query == "vertex" else h
            sol = f"The parabola's {'lowest' if sgn > 0 else 'highest'} point is its vertex at ({h}, {k}), so the answer is {answer}."
        elif query in ("meet", "meet_y"):
            (_, a1, b1), (_, a2, b2) = curves
            x = (b2 - b1) // (a1 - a2)
            answer = x if query == "meet" else a1 * x + b1
            sol = f"The lines meet at the grid point ({x}, {a1 * x + b1})."
        else:
            answer = intersections(curves[0], curves[1])
            sol = f"Setting {formula(curves[0])[4:]} equal to {formula(curves[1])[4:]} gives a quadratic with " \
                  f"{answer} real solution{'s' * (answer != 1)}, and the picture shows {answer} meeting point" \
                  f"{'s' * (answer != 1)}."
        return int(answer), sol, slots

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        prompt = self.image_prompt(f"The plot shows graphs on a grid without axis numbers: grid lines are 1 unit "
                                   f"apart and the two thick axes cross at the origin (0, 0). {m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, False),),
                       meta={**m, "described": "scale"})


def plot_origin(size: int, shift: list[int]) -> tuple[int, int]:
    """Pixel position of the point (0, 0): the plot's centre, moved by `shift` (rounded)."""
    return round(shift[0] + size / 2), round(shift[1] + size / 2)


def render(meta: dict[str, Any], numbers: bool) -> Any:
    size, R = meta["size"], meta["R"]
    im = D.canvas(size + SLACK)
    d = ImageDraw.Draw(im)
    m, (dx, dy) = 14, meta["shift"]
    s = (size - 2 * m) / (2 * R)
    X = lambda x: dx + m + (x + R) * s  # noqa: E731
    Y = lambda y: dy + m + (R - y) * s  # noqa: E731
    axis = D.ink()
    for k in range(-R, R + 1):
        d.line([(X(k), Y(R)), (X(k), Y(-R))], fill=(220, 220, 220))
        d.line([(X(-R), Y(k)), (X(R), Y(k))], fill=(220, 220, 220))
    d.line([(X(-R), Y(0)), (X(R), Y(0))], fill=axis, width=2)
    d.line([(X(0), Y(-R)), (X(0), Y(R))], fill=axis, width=2)
    if numbers:
        for k in range(-R + 1, R):
            if k and k % 2 == 0:
                label(im, (X(k), Y(0) + 8), str(k), size=meta["font_px"])
                label(im, (X(0) - 9, Y(k)), str(k), size=meta["font_px"])
    d.rectangle([X(-R), Y(R), X(R), Y(-R)], outline=axis)
    # curves on their own layer, pasted through the window only (so they never spill outside it)
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    lay = ImageDraw.Draw(layer)
    for curve, ink in zip(meta["curves"], meta["inks"], strict=True):
        steps = 2 if curve[0] == "line" else 120
        pts = [(X(-R + 2 * R * i / steps), Y(f(curve, -R + 2 * R * i / steps))) for i in range(steps + 1)]
        lay.line(pts, fill=(*D.rgb(ink), 255), width=D.width(3))
    box = (round(X(-R)), round(Y(R)), round(X(R)) + 1, round(Y(-R)) + 1)
    window = layer.crop(box)
    im.paste(window.convert("RGB"), box[:2], window)
    return im
