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

    Queries (number lines, levels 1-5): `value` (the number the arrow points to), `offset` (the
    number k ticks left or right of the arrow), `to_end` / `to_start` (how far the arrow is from the
    line's right / left end). Rulers (level 6): `length` (the bar's length), `start` and `end` (the
    marks its ends lie on).

    Level knobs:
        start: (min, max) value of the leftmost tick (an integer); steps: values between
            neighbouring ticks to pick from; ticks: (min, max) number of intervals, a multiple of
            `label_every`; label_every: a number is written at every k-th tick (and at both ends).
        ruler: draw a ruler (mm ticks, cm numbers; `ticks` is then its length in cm) and a bar on it.
        width: image width in pixels.
        queries: the queries the level asks.

    Every level draws >= 10,000 distinct problems per query (start x step x ticks x marked tick;
    on rulers, ruler length x the bar's two ends to the millimetre).

    Mixed form: no numbers are drawn; the text gives the leftmost tick's value and the step.
    """

    name = "number_line"
    description = "Read the value marked on a number line or a bar's length on a ruler (number)."
    tags = ("perception", "arithmetic")
    forms = ("image", "text", "mixed")
    questions = {
        "value": {
            "direct": "What number does the arrow point to? Answer with a number.",
            "imperative": "Give the number the arrow points to. Answer with a number.",
            "polite": "Could you tell me which number the arrow points to? Answer with a number.",
            "terse": "Arrow: which number? Answer with a number.",
        },
        "offset": {
            "direct": "What number is {k} tick{s} to the {side} of the arrow? Answer with a number.",
            "imperative": "Give the number {k} tick{s} to the {side} of the arrow. Answer with a number.",
            "polite": "Could you tell me which number is {k} tick{s} to the {side} of the arrow? Answer with a number.",
            "terse": "{k} tick{s} {side} of the arrow: which number? Answer with a number.",
        },
        "to_end": {
            "direct": "How far is the arrow's number from the number at the right end of the line? Answer with a "
                      "number.",
            "imperative": "Find the difference between the number at the right end of the line and the arrow's "
                          "number. Answer with a number.",
            "polite": "Could you tell me how far the arrow's number is from the number at the right end of the "
                      "line? Answer with a number.",
            "terse": "Right end minus arrow: how much? Answer with a number.",
        },
        "to_start": {
            "direct": "How far is the arrow's number from the number at the left end of the line? Answer with a "
                      "number.",
            "imperative": "Find the difference between the arrow's number and the number at the left end of the "
                          "line. Answer with a number.",
            "polite": "Could you tell me how far the arrow's number is from the number at the left end of the "
                      "line? Answer with a number.",
            "terse": "Arrow minus left end: how much? Answer with a number.",
        },
        "length": {
            "direct": "How long is the bar, in centimetres? Answer with a number (one decimal place).",
            "imperative": "Measure the bar's length in centimetres. Answer with a number (one decimal place).",
            "polite": "Could you tell me how long the bar is, in centimetres? Answer with a number (one decimal "
                      "place).",
            "terse": "Bar length in cm? Answer with a number (one decimal place).",
        },
        "start": {
            "direct": "At which centimetre mark does the bar's left end lie? Answer with a number (one decimal "
                      "place).",
            "imperative": "Read the centimetre mark at the bar's left end. Answer with a number (one decimal place).",
            "polite": "Could you tell me at which centimetre mark the bar's left end lies? Answer with a number "
                      "(one decimal place).",
            "terse": "Bar's left end: which cm mark? Answer with a number (one decimal place).",
        },
        "end": {
            "direct": "At which centimetre mark does the bar's right end lie? Answer with a number (one decimal "
                      "place).",
            "imperative": "Read the centimetre mark at the bar's right end. Answer with a number (one decimal "
                          "place).",
            "polite": "Could you tell me at which centimetre mark the bar's right end lies? Answer with a number "
                      "(one decimal place).",
            "terse": "Bar's right end: which cm mark? Answer with a number (one decimal place).",
        },
    }
    LINE = ("value", "offset", "to_end", "to_start")
    levels = {
        1: dict(start=(0, 299), steps=(1, 2, 5, 10), ticks=(5, 10), label_every=1, ruler=False, width=320,
                queries=LINE),
        2: dict(start=(0, 299), steps=(1, 2, 5), ticks=(10, 20), label_every=5, ruler=False, width=320,
                queries=LINE),
        3: dict(start=(0, 300), steps=(2, 5, 10), ticks=(10, 20), label_every=5, ruler=False, width=320,
                queries=LINE),
        4: dict(start=(-200, -5), steps=(1, 2, 5), ticks=(10, 20), label_every=5, ruler=False, width=320,
                queries=LINE),
        5: dict(start=(0, 299), steps=(0.1, 0.2, 0.5), ticks=(10, 20), label_every=5, ruler=False, width=320,
                queries=LINE),
        6: dict(start=(0, 0), steps=(0.1,), ticks=(8, 15), label_every=10, ruler=True, width=480,
                queries=("length", "start", "end")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        v0, step = rng.randint(*cfg["start"]), rng.choice(cfg["steps"])
        every = cfg["label_every"]
        margin = 20
        if cfg["ruler"]:
            cm = rng.randint(*cfg["ticks"])
            n = 10 * cm
            a, b = 0, 0
            while b - a < 15:  # the bar's ends: two millimetre marks at least 1.5 cm apart, uniform
                a, b = sorted(rng.sample(range(n + 1), 2))
            lo, hi = round(a * step, 1), round(b * step, 1)
            value = {"length": round(hi - lo, 1), "start": lo, "end": hi}[self.query]
            q = self.ask()
            sol = {"length": f"The bar starts at {num(lo)} cm and ends at {num(hi)} cm, so it is {num(hi)} - "
                             f"{num(lo)} = {num(value)} cm long.",
                   "start": f"The bar's left end lines up with the {num(lo)} cm mark.",
                   "end": f"The bar's right end lines up with the {num(hi)} cm mark."}[self.query]
            twin_fact = (f"A {cm} cm ruler is marked in centimetres with millimetre ticks. A bar lies along it from "
                         f"the {num(lo)} cm mark to {num(hi)} cm.")
            scale = (cfg["width"] - 2 * margin) / (n * step)
            meta_pts = {"bar": [margin + (lo - v0) * scale, margin + (hi - v0) * scale]}
        else:
            n = every * rng.randint(cfg["ticks"][0] // every, cfg["ticks"][1] // every)
            t = rng.randint(1, n - 1)
            while every > 1 and t % every == 0:
                t = rng.randint(1, n - 1)
            at = round(v0 + t * step, 1)
            end = round(v0 + n * step, 1)
            near = round(v0 + (t // every) * every * step, 1)
            read = f"The arrow points at the tick labelled {num(at)}." if every == 1 else (f"Neighbouring ticks are {num(step)} apart; the arrow is {t - (t // every) * every} ticks right "
                    f"of {num(near)}, at {num(at)}.")
            if self.query == "value":
                value, q, sol = at, self.ask(), read
            elif self.query == "offset":
                side = rng.choice([sd for sd, ok in (("left", t > 1), ("right", t < n - 1)) if ok])
                k = rng.randint(1, min(3, t if side == "left" else n - t))
                value = round(at + (k if side == "right" else -k) * step, 1)
                q = self.ask(k=k, s="s" * (k > 1), side=side)
                sol = f"{read} {k} tick{'s' * (k > 1)} of {num(step)} to the {side} is {num(value)}."
            elif self.query == "to_end":
                value, q = round(end - at, 1), self.ask()
                sol = f"{read} The right end is {num(end)}, so the distance is {num(end)} - {num(at)} = {num(value)}."
            else:
                value, q = round(at - v0, 1), self.ask()
                sol = f"{read} The left end is {num(v0)}, so the distance is {num(at)} - {num(v0)} = {num(value)}."
            twin_fact = (f"A number line has ticks every {num(step)} from {num(v0)} to {num(end)}. An arrow "
                         f"points at the tick {t} steps right of {num(v0)}.")
            scale = (cfg["width"] - 2 * margin) / (n * step)
            meta_pts = {"arrow": margin + t * step * scale}
        answer = num(value)
        meta = {"x0": margin, "v0": v0, "scale": scale, "step": step, "ticks": n, "label_every": every,
                "ruler": cfg["ruler"], "width": cfg["width"], "font_px": 12, "ask": q, **meta_pts}
        return self.sample(seed, level, prompt=self.image_prompt(q), images=(self.picture(render, meta, True),),
                           answer=answer, answer_type="number", text_twin=f"{twin_fact} {q}",
                           solution=f"{sol} Answer: {answer}.", meta=meta)

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
        d.line([(x0 - 10, y), (x0 + n * step * s + 10, y)], fill=D.ink(), width=2)
    for k in range(n + 1):
        x = x0 + k * step * s
        every = meta["label_every"]
        major = k in (0, n) or (every and k % every == 0)
        if ruler:
            length = 14 if k % 10 == 0 else 9 if k % 5 == 0 else 5
            d.line([(x, y - 26), (x, y - 26 + length)], fill=D.ink(), width=1)
            if numbers and k % 10 == 0:
                label(im, (x, y - 4), num(v0 + k * step), size=fs)
        else:
            d.line([(x, y - (8 if major else 5)), (x, y + (8 if major else 5))], fill=D.ink(), width=2 if major else 1)
            if numbers and major:
                label(im, (x, y + 18), num(v0 + k * step), size=fs)
    if not ruler:
        ax = meta["arrow"]
        d.line([(ax, 8), (ax, y - 12)], fill=D.rgb("red"), width=3)
        d.polygon([(ax - 6, y - 16), (ax + 6, y - 16), (ax, y - 8)], fill=D.rgb("red"))
    return im
