"""`fraction_shaded`: what fraction of a shape (bar, pie, grid) is shaded, in lowest terms.

A figure is a list of pieces, each with its area and its shaded area in the same unit
(`meta["pieces"]` = [[area, shaded], ...]); the answer is Σ shaded / Σ area reduced by the
greatest common divisor, written "p/q" (or "0" / "1").
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks.base import Task, task_rng

COVER = (175, 175, 175)  # a piece whose shading is told in text (mixed form); distinct from every style's background
SHADES = ("blue", "red", "green", "orange", "purple")  # palette colours a figure may be shaded in
BAR_CANVAS = 256  # width of a bar picture in pixels
PIE_SLACK = GRID_SLACK = 32  # room in pixels a pie or grid is shifted by within its picture
FORMAT = "Answer with a fraction in lowest terms, like 3/4."


def reduced(p: int, q: int) -> str:
    g = math.gcd(p, q)
    return f"{p // g}/{q // g}" if q // g != 1 else str(p // g)


@register
class FractionShaded(Task):
    """The shaded fraction of bars, pies and grids, answered in lowest terms.

    Level knobs:
        shape: "bar" (n equal strips), "pie" (n equal sectors), "grid" (rows × cols squares),
            "half" (grid whose squares may be fully or half shaded along a diagonal).
        parts: (min, max) equal parts for bars and pies; grid: (rows, cols) bounds.
        shapes: how many equal shapes are drawn side by side (the fraction is of all of them together).
        size: height of the image in pixels.
        queries: the queries the level asks (level 6 leaves out "shaded_parts": its squares may be half shaded).

    Queries: "shaded" (the shaded fraction), "unshaded" (the fraction not shaded), "shaded_parts" (how
    many strips, sectors or squares are fully shaded), "parts" (how many there are in all). Each figure
    is drawn at a random place and size and shaded in one of SHADES; the twin states both, and which
    parts are shaded, so pictures and twins vary at every level.

    Mixed form: about a third of the pieces are covered in grey; the text says how many of them are shaded.
    """

    name = "fraction_shaded"
    description = "Fraction of a bar, pie or grid that is shaded, in lowest terms (math)."
    tags = ("arithmetic", "perception", "counting")
    forms = ("image", "text", "mixed")
    questions = {
        "shaded": {
            "direct": "What fraction of the {whole} is shaded? " + FORMAT,
            "imperative": "Give the fraction of the {whole} that is shaded. " + FORMAT,
            "polite": "Could you tell me what fraction of the {whole} is shaded? " + FORMAT,
            "terse": "Shaded fraction of the {whole}? " + FORMAT,
        },
        "unshaded": {
            "direct": "What fraction of the {whole} is not shaded? " + FORMAT,
            "imperative": "Give the fraction of the {whole} that is not shaded. " + FORMAT,
            "polite": "Could you tell me what fraction of the {whole} is not shaded? " + FORMAT,
            "terse": "Unshaded fraction of the {whole}? " + FORMAT,
        },
        "shaded_parts": {
            "direct": "How many {parts} are shaded{where}? Answer with a number.",
            "imperative": "Count the shaded {parts}{where}. Answer with a number.",
            "polite": "Could you tell me how many {parts} are shaded{where}? Answer with a number.",
            "terse": "Shaded {parts}{where}: how many? Answer with a number.",
        },
        "parts": {
            "direct": "How many {parts} are there{where}, shaded or not? Answer with a number.",
            "imperative": "Count all the {parts}{where}, shaded or not. Answer with a number.",
            "polite": "Could you tell me how many {parts} there are{where}, shaded or not? Answer with a number.",
            "terse": "All {parts}{where}, shaded or not: how many? Answer with a number.",
        },
    }
    levels = {
        1: dict(shape="bar", parts=(2, 5), shapes=1, size=96),
        2: dict(shape="pie", parts=(3, 8), shapes=1, size=160),
        3: dict(shape="grid", parts=(2, 4), shapes=1, size=160),
        4: dict(shape="pie", parts=(6, 12), shapes=1, size=192),
        5: dict(shape="bar", parts=(3, 8), shapes=2, size=128),
        6: dict(shape="half", parts=(3, 5), shapes=1, size=192, queries=("shaded", "unshaded", "parts")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        shape, lo, hi = cfg["shape"], *cfg["parts"]
        colour = rng.choice(SHADES)
        meta: dict[str, Any] = {"shape": shape, "size": cfg["size"], "shapes": cfg["shapes"], "colour": colour}
        k = cfg["shapes"]
        if shape in ("bar", "pie"):
            n = rng.randint(lo, hi)
            meta["n"] = n
            pieces = []
            shaded_at = []
            for _ in range(k):
                shaded = sorted(rng.sample(range(n), rng.randint(1, n - 1)))
                shaded_at.append(shaded)
                pieces += [[1, int(i in shaded)] for i in range(n)]
            word = "strips" if shape == "bar" else "sectors"
            if shape == "bar":
                length, thick = rng.randint(150, 230), rng.randint(28, 44)
                x0 = rng.randint(8, BAR_CANVAS - 8 - length)
                y0 = rng.randint(8, cfg["size"] - 8 - k * thick - 12 * (k - 1))
                meta.update(length=length, thick=thick, x0=x0, y0=y0)
                where = (f"{length} by {thick} pixels, top-left corner at ({x0}, {y0})"
                         + (f", the second {thick + 12} pixels below the first" if k == 2 else ""))
                count_from = "counting from the left"
            else:
                r = rng.randint(cfg["size"] // 2 - 22, cfg["size"] // 2 - 6)
                x0, y0 = rng.randint(0, PIE_SLACK), rng.randint(0, PIE_SLACK)
                meta.update(r=r, x0=x0, y0=y0)
                where = (f"radius {r} pixels, centred at ({x0 + cfg['size'] // 2}, {y0 + cfg['size'] // 2})"
                         + (f", the second {cfg['size']} pixels to its right" if k == 2 else ""))
                count_from = "counting clockwise from 12 o'clock"
            which = " and ".join(", ".join(str(i + 1) for i in at) for at in shaded_at)
            per = [len(at) for at in shaded_at]
            facts = (f"{'Two equal' if k == 2 else 'A'} {'bars' if shape == 'bar' and k == 2 else shape} "
                     f"({where}) {'are each' if k == 2 else 'is'} divided into {n} equal {word}; "
                     + " and ".join(f"{c} of {n}" for c in per) + f" are shaded {colour} ({word} {which}"
                     + (", first and second shape" if k == 2 else "") + f", {count_from}).")
            part_word = word
        else:
            rows, cols = rng.randint(lo, hi), rng.randint(lo, hi + 1)
            top = min((cfg["size"] - 12) // rows, 44)
            cell = rng.randint(top - 8, top)
            x0, y0 = rng.randint(0, GRID_SLACK), rng.randint(0, GRID_SLACK)
            meta.update(rows=rows, cols=cols, cell=cell, x0=x0, y0=y0)
            pieces = []
            for _ in range(rows * cols):
                kind = rng.choice((0, 1, 2) if shape == "half" else (0, 2))
                pieces.append([2, kind])  # area 2 halves; shaded 0, 1 (one triangle) or 2
            if not any(p[1] for p in pieces):
                pieces[rng.randrange(len(pieces))][1] = 2
            if all(p[1] == 2 for p in pieces):
                pieces[0][1] = 0
            full = [j for j, p in enumerate(pieces) if p[1] == 2]
            half = [j for j, p in enumerate(pieces) if p[1] == 1]
            at = lambda js: ", ".join(f"({j // cols + 1}, {j % cols + 1})" for j in js) or "none"  # noqa: E731
            facts = (f"A {rows} by {cols} grid of equal squares ({cell} pixels each, top-left corner at "
                     f"({x0 + 6}, {y0 + 6})) has {len(full)} squares fully shaded {colour}, at (row, column) {at(full)}"
                     + (f", and {len(half)} squares half shaded (cut along a diagonal), at {at(half)}"
                        if shape == "half" else "") + ".")
            part_word = "squares"
        total = sum(p[0] for p in pieces)
        shaded = sum(p[1] for p in pieces)
        unit = "half-squares" if shape in ("grid", "half") else "equal parts"
        whole = "two shapes together" if k == 2 else "shape"
        if self.query in ("shaded", "unshaded"):
            num = shaded if self.query == "shaded" else total - shaded
            answer = reduced(num, total)
            q = self.ask(whole=whole)
            sol = (f"{shaded} of the {total} {unit} are shaded"
                   + (f", so {total - shaded} are not" if self.query == "unshaded" else "") + f": {num}/{total}" + (
                       f", which reduces to {answer}." if answer != f"{num}/{total}" else ", already in lowest terms."))
            answer_type = "math"
        else:
            full_count = sum(p[1] == p[0] for p in pieces)
            value = full_count if self.query == "shaded_parts" else len(pieces)
            answer = str(value)
            q = self.ask(parts=part_word, where=" in the two bars together" if k == 2 else "")
            sol = (f"Counting the {'shaded ' if self.query == 'shaded_parts' else ''}{part_word} one by one gives "
                   f"{value}.")
            answer_type = "number"
        meta.update(pieces=pieces, question=q, font_px=D.MIN_FONT_PX)
        return self.sample(seed, level, prompt=self.image_prompt(f"The parts of each shape are equal. {q}"),
                           images=(self.picture(render, meta, ()),), answer=answer, answer_type=answer_type,
                           text_twin=f"{facts} {q}", solution=f"{sol} Answer: {answer}.", meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        told = sorted(rng.sample(range(len(m["pieces"])), max(1, len(m["pieces"]) // 3)))
        grid = m["shape"] in ("grid", "half")
        k = sum(m["pieces"][i][1] for i in told)
        what = "half-squares" if grid else "parts"
        said = (f"{len(told)} {'squares' if grid else 'parts'} are covered in grey; together they hold {k} shaded "
                f"{what} (out of {sum(m['pieces'][i][0] for i in told)} {what}).")
        prompt = self.image_prompt(f"The parts of each shape are equal. {said} {m['question']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, told),),
                       meta={**m, "described": told})


def render(meta: dict[str, Any], hide) -> Any:
    shape, size, k = meta["shape"], meta["size"], meta["shapes"]
    hidden = set(hide)
    pieces = meta["pieces"]
    shade, edge, line = D.rgb(meta["colour"]), D.ink(), D.width(2)

    def fill(j: int) -> tuple[int, int, int] | None:
        return COVER if j in hidden else shade if pieces[j][1] else None

    if shape == "bar":
        n, length, thick = meta["n"], meta["length"], meta["thick"]
        im = D.canvas(BAR_CANVAS, size)
        d = ImageDraw.Draw(im)
        for s in range(k):
            y = meta["y0"] + s * (thick + 12)
            for i in range(n):
                x = meta["x0"] + i * length / n
                d.rectangle([x, y, x + length / n, y + thick], fill=fill(s * n + i), outline=edge, width=line)
        return im
    if shape == "pie":
        n, r = meta["n"], meta["r"]
        im = D.canvas(k * size + PIE_SLACK, size + PIE_SLACK)
        d = ImageDraw.Draw(im)
        cy = meta["y0"] + size / 2
        for s in range(k):
            cx = meta["x0"] + s * size + size / 2
            for i in range(n):
                d.pieslice([cx - r, cy - r, cx + r, cy + r], start=-90 + 360 * i / n, end=-90 + 360 * (i + 1) / n,
                           fill=fill(s * n + i), outline=edge, width=line)
        return im
    rows, cols, cell = meta["rows"], meta["cols"], meta["cell"]
    im = D.canvas(cols * cell + 12 + GRID_SLACK, rows * cell + 12 + GRID_SLACK)
    d = ImageDraw.Draw(im)
    for j, (_, sh) in enumerate(pieces):
        r, c = divmod(j, cols)
        x, y = meta["x0"] + 6 + c * cell, meta["y0"] + 6 + r * cell
        if j in hidden:
            d.rectangle([x, y, x + cell, y + cell], fill=COVER)
        elif sh == 2:
            d.rectangle([x, y, x + cell, y + cell], fill=shade)
        elif sh == 1:
            tri = [(x, y), (x + cell, y + cell), (x, y + cell)] if (r + c) % 2 else [(x, y), (x + cell, y), (x, y + cell)]
            d.polygon(tri, fill=shade)
    D.grid_lines(d, meta["x0"] + 6, meta["y0"] + 6, cell, rows, cols, width=line, fill=edge)
    return im
