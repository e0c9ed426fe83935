"""`number_line`: read the value a marker points at on a number line, or a length on a ruler.

The line maps value v to pixel x = x0 + (v − v0)·scale; `meta` stores x0, v0, scale and the
marker's pixel position, so the value can be recomputed from the drawing.
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


def num(v: float) -> str:
    return str(int(round(v))) if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


@register
class NumberLine(Task):
    """Read a marked value on a number line, or the length of a bar on a centimetre ruler.

    Level knobs:
        start: (min, max) value of the leftmost tick; step: value between neighbouring ticks;
        ticks: number of intervals; label_every: a number is written at every k-th tick
            (0: only the two ends).
        ruler: draw a ruler (mm ticks, cm numbers) and a bar on it; ask the bar's length.
        width: image width in pixels.

    Mixed form: no numbers are drawn; the text gives the leftmost tick's value and the step.
    """

    name = "number_line"
    description = "Read the value marked on a number line or a bar's length on a ruler (number)."
    tags = ("perception", "arithmetic")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(start=(0, 0), step=1, ticks=10, label_every=1, ruler=False, width=288),
        2: dict(start=(0, 0), step=1, ticks=20, label_every=5, ruler=False, width=320),
        3: dict(start=(0, 0), step=5, ticks=10, label_every=5, ruler=False, width=320),
        4: dict(start=(-10, -10), step=1, ticks=20, label_every=5, ruler=False, width=320),
        5: dict(start=(0, 8), step=0.1, ticks=10, label_every=5, ruler=False, width=320),
        6: dict(start=(0, 0), step=0.1, ticks=100, label_every=10, ruler=True, width=352),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        step, n = cfg["step"], cfg["ticks"]
        v0 = rng.randint(*cfg["start"])
        if cfg["step"] == 5:
            step = rng.choice((2, 5, 10))
        margin = 20
        scale = (cfg["width"] - 2 * margin) / (n * step)
        if cfg["ruler"]:
            a = rng.randint(0, 3)
            k = rng.randint(15, (n - 10 * a) - 5)
            lo, hi = a, a + k * step
            value = round(hi - lo, 1)
            q = "How long is the bar, in centimetres? Answer with a number (one decimal place)."
            sol = f"The bar starts at {num(lo)} cm and ends at {num(hi)} cm, so it is {num(hi)} - {num(lo)} = {num(value)} cm long."
            twin_fact = (f"A ruler is marked in centimetres with millimetre ticks. A bar lies along it from the {num(lo)} cm "
                         f"mark to {num(hi)} cm.")
            meta_pts = {"bar": [margin + (lo - v0) * scale, margin + (hi - v0) * scale]}
        else:
            t = rng.randint(1, n - 1)
            while cfg["label_every"] > 1 and t % cfg["label_every"] == 0:
                t = rng.randint(1, n - 1)
            value = round(v0 + t * step, 1)
            hi = value
            q = "What number does the arrow point to? Answer with a number."
            lab = cfg["label_every"]
            near = round(v0 + (t // lab) * lab * step, 1) if lab else v0
            sol = (f"Neighbouring ticks are {num(step)} apart; the arrow is {t - (t // lab) * lab if lab else t} ticks right "
                   f"of {num(near)}, at {num(value)}.")
            twin_fact = (f"A number line has ticks every {num(step)} from {num(v0)} to {num(v0 + n * step)}. An arrow "
                         f"points at the tick {t} steps right of {num(v0)}.")
            meta_pts = {"arrow": margin + t * step * scale}
        answer = num(value)
        meta = {"x0": margin, "v0": v0, "scale": scale, "step": step, "ticks": n, "label_every": cfg["label_every"],
                "ruler": cfg["ruler"], "width": cfg["width"], "font_px": 12, "ask": q, **meta_pts}
        return self.sample(seed, level, prompt=self.image_prompt(q), images=(self.picture(render, meta, True),), answer=answer,
                           answer_type="number", text_twin=f"{twin_fact} {q}", solution=f"{sol} Answer: {answer}.",
                           meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        unit = " cm" if m["ruler"] else ""
        prompt = self.image_prompt(f"No numbers are drawn: the leftmost tick is {num(m['v0'])}{unit} and neighbouring "
                                   f"ticks are {num(m['step'])}{unit} apart. {m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, False),),
                       meta={**m, "described": "scale"})


def render(meta: dict[str, Any], numbers: bool) -> Any:
    W, x0, v0, s, step, n = meta["width"], meta["x0"], meta["v0"], meta["scale"], meta["step"], meta["ticks"]
    ruler = meta["ruler"]
    H = 96 if ruler else 80
    im = D.canvas(W, H)
    d = ImageDraw.Draw(im)
    y = 60 if ruler else 44
    fs = meta["font_px"]
    if ruler:
        d.rectangle([x0 - 8, y - 26, x0 + n * step * s + 8, y + 8], fill=(250, 235, 190), outline=(120, 90, 40))
        bx0, bx1 = meta["bar"]
        d.rectangle([bx0, 8, bx1, 24], fill=(70, 130, 230), outline=(20, 40, 120))
    else:
        d.line([(x0 - 10, y), (x0 + n * step * s + 10, y)], fill=(20, 20, 20), width=2)
    for k in range(n + 1):
        x = x0 + k * step * s
        every = meta["label_every"]
        major = k in (0, n) or (every and k % every == 0)
        if ruler:
            length = 14 if k % 10 == 0 else 9 if k % 5 == 0 else 5
            d.line([(x, y - 26), (x, y - 26 + length)], fill=(20, 20, 20), width=1)
            if numbers and k % 10 == 0:
                label(im, (x, y - 4), num(v0 + k * step), size=fs)
        else:
            d.line([(x, y - (8 if major else 5)), (x, y + (8 if major else 5))], fill=(20, 20, 20), width=2 if major else 1)
            if numbers and major:
                label(im, (x, y + 18), num(v0 + k * step), size=fs)
    if not ruler:
        ax = meta["arrow"]
        d.line([(ax, 8), (ax, y - 12)], fill=(210, 30, 30), width=3)
        d.polygon([(ax - 6, y - 16), (ax + 6, y - 16), (ax, y - 8)], fill=(210, 30, 30))
    return im
