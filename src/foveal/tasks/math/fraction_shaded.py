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

SHADE, EDGE, COVER = (70, 130, 230), (20, 20, 20), (175, 175, 175)


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

    Mixed form: about a third of the pieces are covered in grey; the text says how many of them are shaded.
    """

    name = "fraction_shaded"
    description = "Fraction of a bar, pie or grid that is shaded, in lowest terms (math)."
    tags = ("arithmetic", "perception", "counting")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(shape="bar", parts=(2, 5), shapes=1, size=96),
        2: dict(shape="pie", parts=(3, 8), shapes=1, size=160),
        3: dict(shape="grid", parts=(2, 4), shapes=1, size=160),
        4: dict(shape="pie", parts=(6, 12), shapes=1, size=192),
        5: dict(shape="bar", parts=(3, 8), shapes=2, size=128),
        6: dict(shape="half", parts=(3, 5), shapes=1, size=192),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        shape, lo, hi = cfg["shape"], *cfg["parts"]
        meta: dict[str, Any] = {"shape": shape, "size": cfg["size"], "shapes": cfg["shapes"]}
        if shape in ("bar", "pie"):
            n = rng.randint(lo, hi)
            meta["n"] = n
            pieces = []
            for _ in range(cfg["shapes"]):
                shaded = set(rng.sample(range(n), rng.randint(1, n - 1)))
                pieces += [[1, int(i in shaded)] for i in range(n)]
            word = "strips" if shape == "bar" else "sectors"
            per = [sum(p[1] for p in pieces[k * n:(k + 1) * n]) for k in range(cfg["shapes"])]
            facts = (f"{'Two equal' if cfg['shapes'] == 2 else 'A'} {'bars' if shape == 'bar' and cfg['shapes'] == 2 else shape} "
                     f"{'are each' if cfg['shapes'] == 2 else 'is'} divided into {n} equal {word}; "
                     + " and ".join(f"{k} of {n}" for k in per) + " are shaded.")
        else:
            rows, cols = rng.randint(lo, hi), rng.randint(lo, hi + 1)
            meta["rows"], meta["cols"] = rows, cols
            pieces = []
            for _ in range(rows * cols):
                kind = rng.choice((0, 1, 2) if shape == "half" else (0, 2))
                pieces.append([2, kind])  # area 2 halves; shaded 0, 1 (one triangle) or 2
            if not any(p[1] for p in pieces):
                pieces[rng.randrange(len(pieces))][1] = 2
            if all(p[1] == 2 for p in pieces):
                pieces[0][1] = 0
            full = sum(p[1] == 2 for p in pieces)
            half = sum(p[1] == 1 for p in pieces)
            facts = (f"A {rows} by {cols} grid of equal squares has {full} squares fully shaded"
                     + (f" and {half} squares half shaded (cut along a diagonal)" if shape == "half" else "") + ".")
        total = sum(p[0] for p in pieces)
        shaded = sum(p[1] for p in pieces)
        answer = reduced(shaded, total)
        q = ("What fraction of the " + ("two shapes together" if cfg["shapes"] == 2 else "shape")
             + " is shaded? Answer with a fraction in lowest terms, like 3/4.")
        unit = "half-squares" if shape in ("grid", "half") else "equal parts"
        sol = f"{shaded} of the {total} {unit} are shaded: {shaded}/{total}" + (
            f", which reduces to {answer}." if answer != f"{shaded}/{total}" else ", already in lowest terms.")
        meta.update(pieces=pieces, question=q, font_px=D.MIN_FONT_PX)
        return self.sample(seed, level, prompt=self.image_prompt(f"The parts of each shape are equal. {q}"),
                           images=(self.picture(render, meta, ()),), answer=answer, answer_type="math",
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
    if shape == "bar":
        n = meta["n"]
        w = max(n * 28, 200)
        im = D.canvas(w + 16, size)
        d = ImageDraw.Draw(im)
        bh = min(44, (size - 16 - 12 * (k - 1)) // k)
        for s in range(k):
            y = 8 + s * (bh + 12) + (size - 16 - k * bh - 12 * (k - 1)) // 2
            for i in range(n):
                j = s * n + i
                x = 8 + i * w / n
                fill = COVER if j in hidden else SHADE if pieces[j][1] else (255, 255, 255)
                d.rectangle([x, y, x + w / n, y + bh], fill=fill, outline=EDGE, width=2)
        return im
    if shape == "pie":
        n = meta["n"]
        im = D.canvas(k * size, size)
        d = ImageDraw.Draw(im)
        r = size / 2 - 6
        for s in range(k):
            cx = s * size + size / 2
            for i in range(n):
                j = s * n + i
                fill = COVER if j in hidden else SHADE if pieces[j][1] else (255, 255, 255)
                d.pieslice([cx - r, size / 2 - r, cx + r, size / 2 + r], start=-90 + 360 * i / n,
                           end=-90 + 360 * (i + 1) / n, fill=fill, outline=EDGE, width=2)
        return im
    rows, cols = meta["rows"], meta["cols"]
    cell = min((size - 12) // rows, 44)
    im = D.canvas(cols * cell + 12, rows * cell + 12)
    d = ImageDraw.Draw(im)
    for j, (_, sh) in enumerate(pieces):
        r, c = divmod(j, cols)
        x, y = 6 + c * cell, 6 + r * cell
        if j in hidden:
            d.rectangle([x, y, x + cell, y + cell], fill=COVER)
        elif sh == 2:
            d.rectangle([x, y, x + cell, y + cell], fill=SHADE)
        elif sh == 1:
            tri = [(x, y), (x + cell, y + cell), (x, y + cell)] if (r + c) % 2 else [(x, y), (x + cell, y), (x, y + cell)]
            d.polygon(tri, fill=SHADE)
    D.grid_lines(d, 6, 6, cell, rows, cols, width=2, fill=EDGE)
    return im
