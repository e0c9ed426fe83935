"""`area`: the area of a drawn figure: labelled rectangles, triangles and composite shapes, squares
counted on a grid, and polygons on a coordinate grid.

Every figure is stored as a polygon in units (`meta["poly"]`, or unit cells in `meta["cells"]`), so
the area can be recomputed with the shoelace formula: A = |Σ (x_i·y_{i+1} − x_{i+1}·y_i)| / 2.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng

FILL, EDGE = (190, 215, 250), (30, 60, 160)  # lattice polygons (tinted by the style)
COLOURS = ("blue", "green", "orange", "purple", "yellow", "cyan")  # what other figures may be filled in
SHIFT = 12  # a labelled figure is moved by up to this many pixels each way from the centre
NUMBER = "Answer with a number."
LABELLED = ("rectangle", "triangle", "lshape", "house")


def shoelace(poly: list[tuple[float, float]]) -> float:
    """Area of a simple polygon given by its vertices in order."""
    s = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1], strict=True))
    return abs(s) / 2


def num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Convex hull (monotone chain), counter-clockwise, without collinear points."""
    pts = sorted(set(points))

    def half(seq):
        out: list[tuple[int, int]] = []
        for p in seq:
            while len(out) >= 2 and (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - \
                    (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0]) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return lower[:-1] + upper[:-1]


def polyomino(rng: random.Random, k: int, n: int) -> list[tuple[int, int]]:
    """k edge-connected unit cells (col, row) inside an n×n board, grown at random from a random cell."""
    cells = [(rng.randrange(n), rng.randrange(n))]
    while len(cells) < k:
        c, r = rng.choice(cells)
        dc, dr = rng.choice(((1, 0), (-1, 0), (0, 1), (0, -1)))
        nxt = (c + dc, r + dr)
        if 0 <= nxt[0] < n and 0 <= nxt[1] < n and nxt not in cells:
            cells.append(nxt)
    return sorted(cells)


@register
class Area(Task):
    """Area of a drawn figure.

    Level knobs:
        figure: "rectangle", "squares" (unit squares on a grid, counted), "triangle" (right triangle with
            labelled legs), "lshape" (rectangle with a corner cut out, all sides labelled), "lattice"
            (convex polygon with corners on a coordinate grid whose squares are `scale` units wide),
            "house" (rectangle with a triangular roof: width, wall height and roof height labelled).
        sides: (min, max) side lengths in units; cells: (min, max) squares for "squares".
        size: image side in pixels.
        queries: the queries the level asks ("perimeter" only where every side is a whole number).

    The "squares" shape grows from a random cell of the 6×6 board, so it can sit anywhere on it, and
    is filled in one of COLOURS (stated in the twin).

    Queries: "area"; "perimeter"; "width" and "height" of the figure (leftmost to rightmost,
    lowest to highest point, in units); "scaled_area" (the area once every length is doubled, 4·A).
    Labelled figures are filled in one of COLOURS and shifted by up to SHIFT pixels; the twin
    states the colour and the pixel position of the figure's lower-left corner.

    Mixed form: one labelled length is stated in text instead of drawn ("squares": a third of the
    squares are listed in text instead of drawn; "lattice": the grid's scale is stated in text).
    """

    name = "area"
    description = "Area of a drawn figure: labelled shapes, squares on a grid, lattice polygons (number)."
    tags = ("arithmetic", "spatial", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "area": {
            "direct": "What is the area of the shaded figure in square units? " + NUMBER,
            "imperative": "Find the area of the shaded figure in square units. " + NUMBER,
            "polite": "Could you tell me the area of the shaded figure in square units? " + NUMBER,
            "terse": "Area of the shaded figure, in square units? " + NUMBER,
        },
        "perimeter": {
            "direct": "What is the perimeter of the shaded figure in units? " + NUMBER,
            "imperative": "Find the perimeter of the shaded figure in units. " + NUMBER,
            "polite": "Could you tell me the perimeter of the shaded figure in units? " + NUMBER,
            "terse": "Perimeter of the shaded figure, in units? " + NUMBER,
        },
        "width": {
            "direct": "How wide is the shaded figure, from its leftmost to its rightmost point, in units? " + NUMBER,
            "imperative": "Give the width of the shaded figure, from its leftmost to its rightmost point, in units. "
                          + NUMBER,
            "polite": "Could you tell me how wide the shaded figure is, from its leftmost to its rightmost point, "
                      "in units? " + NUMBER,
            "terse": "Width of the shaded figure, leftmost to rightmost point, in units? " + NUMBER,
        },
        "height": {
            "direct": "How tall is the shaded figure, from its lowest to its highest point, in units? " + NUMBER,
            "imperative": "Give the height of the shaded figure, from its lowest to its highest point, in units. "
                          + NUMBER,
            "polite": "Could you tell me how tall the shaded figure is, from its lowest to its highest point, "
                      "in units? " + NUMBER,
            "terse": "Height of the shaded figure, lowest to highest point, in units? " + NUMBER,
        },
        "scaled_area": {
            "direct": "If every length of the shaded figure were doubled, what would its area be in square units? "
                      + NUMBER,
            "imperative": "Double every length of the shaded figure and give the new area in square units. " + NUMBER,
            "polite": "Could you tell me the area of the shaded figure, in square units, if every length were "
                      "doubled? " + NUMBER,
            "terse": "Area with every length doubled, in square units? " + NUMBER,
        },
    }
    levels = {
        1: dict(figure="rectangle", sides=(2, 9), size=192),
        2: dict(figure="squares", cells=(4, 12), size=192),
        3: dict(figure="triangle", sides=(2, 12), size=192, queries=("area", "width", "height", "scaled_area")),
        4: dict(figure="lshape", sides=(3, 12), size=224),
        5: dict(figure="lattice", sides=(0, 8), size=224, queries=("area", "width", "height", "scaled_area")),
        6: dict(figure="house", sides=(2, 12), size=224, queries=("area", "width", "height", "scaled_area")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        fig = cfg["figure"]
        meta: dict[str, Any] = {"figure": fig, "size": cfg["size"], "font_px": 13}
        lo, hi = cfg.get("sides", (0, 0))
        if fig == "rectangle":
            w, h = rng.randint(lo, hi), rng.randint(lo, hi)
            poly = [(0, 0), (w, 0), (w, h), (0, h)]
            labels = [[0, 1, w], [1, 2, h]]
            facts = f"A rectangle is {w} units wide and {h} units tall."
            sol = f"Area = width × height = {w} × {h} = {w * h}."
        elif fig == "squares":
            cells = polyomino(rng, rng.randint(*cfg["cells"]), 6)
            meta["cells"], meta["colour"] = [list(c) for c in cells], rng.choice(COLOURS)
            poly, labels = [], []
            facts = (f"A shape is made of unit squares on a grid, filled {meta['colour']}; its squares are at "
                     "(column, row): " + ", ".join(f"({c + 1}, {r + 1})" for c, r in cells) + ".")
            sol = f"Counting the shaded unit squares gives {len(cells)}."
        elif fig == "triangle":
            while True:
                a, b = rng.randint(lo, hi), rng.randint(lo, hi)
                if a * b % 2 == 0:
                    break
            poly = [(0, 0), (a, 0), (0, b)]
            labels = [[0, 1, a], [2, 0, b]]
            facts = f"A right triangle has legs of {a} and {b} units."
            sol = f"Area = base × height / 2 = {a} × {b} / 2 = {a * b // 2}."
        elif fig == "lshape":
            W, H = rng.randint(max(lo, 4), hi), rng.randint(max(lo, 4), hi)
            w, h = rng.randint(2, W - 2), rng.randint(2, H - 2)
            poly = [(0, 0), (W, 0), (W, H - h), (W - w, H - h), (W - w, H), (0, H)]
            labels = [[0, 1, W], [1, 2, H - h], [2, 3, w], [3, 4, h], [4, 5, W - w], [5, 0, H]]
            facts = (f"An L-shaped figure is a {W} by {H} rectangle with a {w} by {h} rectangle cut from one corner; "
                     f"its sides, going around, are {W}, {H - h}, {w}, {h}, {W - w} and {H} units.")
            sol = f"Area = {W} × {H} − {w} × {h} = {W * H} − {w * h} = {W * H - w * h}."
        elif fig == "lattice":
            scale = rng.choice((1, 2))
            while True:
                pts = [(rng.randint(0, hi), rng.randint(0, hi)) for _ in range(rng.randint(3, 5))]
                poly = hull(pts)
                if len(poly) >= 3 and shoelace(poly) >= 6:
                    break
            labels = []
            meta["scale"] = scale
            poly = [(x * scale, y * scale) for x, y in poly]
            facts = "A polygon has its corners at the points " + ", ".join(f"({x}, {y})" for x, y in poly) + "."
            sol = (f"By the shoelace formula over the corners {', '.join(f'({x}, {y})' for x, y in poly)}, the area "
                   f"is {num(shoelace(poly))}.")
        else:  # house
            W, H = rng.randint(lo, hi), rng.randint(lo, hi)
            R = rng.randint(2, max(2, hi // 2))
            if W * R % 2:
                W += 1
            poly = [(0, 0), (W, 0), (W, H), (W / 2, H + R), (0, H)]
            labels = [[0, 1, W], [1, 2, H]]
            meta["roof"] = R
            facts = (f"A figure is a {W} by {H} rectangle with a triangle of base {W} and height {R} on top.")
            sol = f"Area = {W} × {H} + {W} × {R} / 2 = {W * H} + {W * R // 2} = {W * H + W * R // 2}."
        if fig in LABELLED:
            colour, dx, dy = rng.choice(COLOURS), rng.randint(-SHIFT, SHIFT), rng.randint(-SHIFT, SHIFT)
            meta.update(colour=colour, shift=[dx, dy])
            x, y = frame(poly, cfg["size"], [dx, dy])[1]
            facts += f" It is filled {colour}, its lower-left corner at pixel ({round(x)}, {round(y)})."
        area = len(meta["cells"]) if fig == "squares" else shoelace(poly)
        answer, sol = self.measure(fig, poly, meta.get("cells"), area, sol)
        q = self.ask()
        meta.update(poly=[list(p) for p in poly], labels=labels, question=q)
        where = {"squares": "Each grid square is 1 unit by 1 unit.",
                 "lattice": "The axes are marked in units.",
                 }.get(fig, "Lengths are labelled in units; the figure is drawn to scale.")
        return self.sample(seed, level, prompt=self.image_prompt(f"{where} {q}"), images=(self.picture(render, meta, None),),
                           answer=answer, answer_type="number", text_twin=f"{facts} {q}",
                           solution=f"{sol} Answer: {answer}.", meta={**meta, "where": where})

    def measure(self, fig: str, poly: list, cells: list | None, area: float, sol: str) -> tuple[str, str]:
        """The answer to the current query and its worked solution (`sol` explains the area)."""
        query = self.query
        if query == "area":
            return num(area), sol
        if query == "scaled_area":
            return num(4 * area), f"{sol} Doubling every length multiplies the area by 4: 4 × {num(area)} = {num(4 * area)}."
        if fig == "squares":
            cells = {tuple(c) for c in cells}
            pts = [(c + dc, r + dr) for c, r in cells for dc in (0, 1) for dr in (0, 1)]
        else:
            pts = [tuple(p) for p in poly]
        if query == "perimeter":
            if fig == "squares":
                inner = sum((c + 1, r) in cells for c, r in cells) + sum((c, r + 1) in cells for c, r in cells)
                value = 4 * len(cells) - 2 * inner
                return str(value), (f"The {len(cells)} squares have 4 × {len(cells)} = {4 * len(cells)} sides, and "
                                    f"the {inner} sides shared by two squares lie inside, each counted twice: "
                                    f"{4 * len(cells)} − 2 × {inner} = {value}.")
            sides = [abs(x2 - x1) + abs(y2 - y1) for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True)]
            value = sum(sides)
            return num(value), f"Going around, the sides are {' + '.join(num(v) for v in sides)} = {num(value)}."
        axis = 0 if query == "width" else 1
        lo, hi = min(p[axis] for p in pts), max(p[axis] for p in pts)
        word = ("leftmost", "rightmost") if axis == 0 else ("lowest", "highest")
        return num(hi - lo), f"The {word[0]} point is at {num(lo)} and the {word[1]} at {num(hi)}: {num(hi)} − {num(lo)} = {num(hi - lo)}."

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        fig = m["figure"]
        if fig == "squares":
            rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
            told = sorted(rng.sample(range(len(m["cells"])), max(1, len(m["cells"]) // 3)))
            said = ("Some squares of the shape are not drawn; they are at (column, row): "
                    + ", ".join(f"({m['cells'][i][0] + 1}, {m['cells'][i][1] + 1})" for i in told)
                    + " (columns from the left, rows from the top).")
            hide: Any = told
        elif fig == "lattice":
            said = f"The axis numbers are not drawn: each grid square is {m['scale']} units wide."
            hide = "scale"
        else:
            i = 0
            v = m["labels"][i][2]
            said = f"The side marked '?' is {v} units long."
            hide = i
        prompt = self.image_prompt(f"{m['where']} {said} {m['question']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, hide),),
                       meta={**m, "described": hide})


def frame(poly: list, size: int, shift: list[int]) -> tuple[float, tuple[float, float]]:
    """Pixels per unit and the pixel position of the point (0, 0) for a labelled figure: scaled to
    fit `size` − 70 pixels, centred, then moved by `shift` (x right, y down)."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    s = (size - 70) / max(max(xs), max(ys))
    return s, ((size - s * max(xs)) / 2 + shift[0], (size + s * max(ys)) / 2 + shift[1])


def render(meta: dict[str, Any], hide: Any) -> Any:
    size, fig, fs = meta["size"], meta["figure"], meta["font_px"]
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    if fig == "squares":
        n, cell = 6, (size - 12) // 6
        x0 = (size - n * cell) // 2
        hidden = set(hide or [])
        for k, (c, r) in enumerate(meta["cells"]):
            if k not in hidden:
                d.rectangle([x0 + c * cell, x0 + r * cell, x0 + (c + 1) * cell, x0 + (r + 1) * cell],
                            fill=D.rgb(meta["colour"]))
        D.grid_lines(d, x0, x0, cell, n, n, width=1, fill=(150, 150, 150))
        return im
    poly = [tuple(p) for p in meta["poly"]]
    if fig == "lattice":
        span = 8 * meta["scale"]
        m0 = 26
        s = (size - m0 - 10) / span
        org = (m0, size - m0)
        step = meta["scale"]
        for k in range(0, span + 1, step):
            x, y = org[0] + k * s, org[1] - k * s
            d.line([(x, org[1]), (x, org[1] - span * s)], fill=(200, 200, 200))
            d.line([(org[0], y), (org[0] + span * s, y)], fill=(200, 200, 200))
            if hide != "scale" and k % (2 * step) == 0:
                label(im, (x, org[1] + 10), str(k), size=fs)
                label(im, (org[0] - 12, y), str(k), size=fs)
        pts = [(org[0] + x * s, org[1] - y * s) for x, y in poly]
        d.polygon(pts, fill=S.tint(FILL), outline=S.tint(EDGE), width=2)
        for x, y in pts:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=S.tint(EDGE))
        return im
    s, (ox, oy) = frame(poly, size, meta["shift"])
    pts = [(ox + x * s, oy - y * s) for x, y in poly]
    edge = D.ink()
    d.polygon(pts, fill=D.rgb(meta["colour"]), outline=edge, width=D.width(2))
    cx, cy = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    for k, (a, b, v) in enumerate(meta["labels"]):
        (x1, y1), (x2, y2) = pts[a], pts[b]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        nx, ny = y2 - y1, -(x2 - x1)  # outward normal for a counter-clockwise polygon on screen
        L = (nx * nx + ny * ny) ** 0.5 or 1.0
        if (mx + nx / L - cx) ** 2 + (my + ny / L - cy) ** 2 < (mx - cx) ** 2 + (my - cy) ** 2:
            nx, ny = -nx, -ny
        label(im, (mx + nx / L * 13, my + ny / L * 13), "?" if k == hide else str(v), size=fs)
    if fig == "house":
        (xa, ya), (xb, yb) = pts[4], pts[2]
        apex = pts[3]
        d.line([(xa, ya), (xb, yb)], fill=edge, width=1)
        d.line([(apex[0], apex[1]), (apex[0], ya)], fill=edge, width=1)
        label(im, (apex[0] + 10, (apex[1] + ya) / 2), str(meta["roof"]), size=fs)
    if fig == "triangle":
        x, y = pts[0]
        d.line([(x + 10, y), (x + 10, y - 10), (x, y - 10)], fill=edge, width=1)
    return im
