"""`chart`: read a bar or line chart and answer a value, comparison or arithmetic question.

Values are multiples of the chart's grid step, so every bar top or line point sits on a
grid line and can be read exactly from the labelled axis.
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
from foveal.tasks.base import Task, task_rng

PALETTE = ("blue", "orange", "green", "purple", "red", "cyan")


def answer_of(question: dict[str, Any], values: dict[str, int]) -> int:
    """The answer to a question over the chart's `values` (pure; also used by the tests)."""
    kind, keys = question["kind"], question["keys"]
    v = [values[k] for k in keys]
    if kind == "value":
        return v[0]
    if kind == "max":
        return max(values.values())
    if kind == "min":
        return min(values.values())
    if kind == "diff":
        return v[0] - v[1]
    if kind in ("sum2", "sum3", "total"):
        return sum(values.values()) if kind == "total" else sum(v)
    if kind == "range":
        return max(values.values()) - min(values.values())
    if kind == "above":
        return sum(x > question["threshold"] for x in values.values())
    raise ValueError(f"unknown chart question {kind!r}")


def wording(question: dict[str, Any]) -> str:
    kind, keys = question["kind"], question["keys"]
    return {
        "value": lambda: f"What is the value of {keys[0]}?",
        "max": lambda: "What is the largest value in the chart?",
        "min": lambda: "What is the smallest value in the chart?",
        "diff": lambda: f"How much larger is the value of {keys[0]} than the value of {keys[1]}?",
        "sum2": lambda: f"What is the sum of the values of {keys[0]} and {keys[1]}?",
        "sum3": lambda: f"What is the sum of the values of {keys[0]}, {keys[1]} and {keys[2]}?",
        "total": lambda: "What is the total of all the values?",
        "range": lambda: "What is the difference between the largest and the smallest value?",
        "above": lambda: f"How many categories have a value greater than {question['threshold']}?",
    }[kind]() + " Answer with a number."


def working(question: dict[str, Any], values: dict[str, int], answer: int) -> str:
    """The short arithmetic of the worked solution."""
    kind, keys = question["kind"], question["keys"]
    if kind == "value":
        return f"Reading the chart, {keys[0]} = {answer}."
    if kind in ("max", "min"):
        k = (max if kind == "max" else min)(values, key=values.get)
        return f"The {'largest' if kind == 'max' else 'smallest'} value is {k} = {answer}."
    if kind == "diff":
        return f"{keys[0]} = {values[keys[0]]} and {keys[1]} = {values[keys[1]]}, so {values[keys[0]]} - " \
               f"{values[keys[1]]} = {answer}."
    if kind in ("sum2", "sum3", "total"):
        ks = list(values) if kind == "total" else keys
        return f"{', '.join(f'{k} = {values[k]}' for k in ks)}; the sum is {answer}."
    if kind == "range":
        hi, lo = max(values, key=values.get), min(values, key=values.get)
        return f"The largest is {hi} = {values[hi]} and the smallest {lo} = {values[lo]}, so {values[hi]} - " \
               f"{values[lo]} = {answer}."
    big = [k for k, x in values.items() if x > question["threshold"]]
    return f"The values above {question['threshold']} are {', '.join(big) or 'none'}: {answer} of them."


def render(meta: dict[str, Any]):
    """Draw the chart: labelled y axis with grid lines, bars or a line with markers."""
    w, h, vmax, step, label_every = meta["width"], meta["height"], meta["vmax"], meta["step"], meta["label_every"]
    values = meta["values"]
    im = D.canvas(w, h)
    d = ImageDraw.Draw(im)
    x0, x1, y0, y1 = 30, w - 6, 8, h - 18  # plot area
    py = lambda v: y1 - (y1 - y0) * v / vmax  # noqa: E731
    for t in range(0, vmax + 1, step):
        labelled = t % (step * label_every) == 0
        d.line([(x0, py(t)), (x1, py(t))], fill=(170, 170, 170) if labelled else (222, 222, 222))
        if labelled:
            label(im, (x0 - 3, py(t)), str(t), size=10, anchor="rm")
    d.line([(x0, y0), (x0, y1), (x1, y1)], fill=(0, 0, 0), width=1)
    n = len(values)
    slot = (x1 - x0) / n
    colour = D.COLORS[meta["color"]]
    centres = [x0 + slot * (i + 0.5) for i in range(n)]
    for cx, (k, v) in zip(centres, values.items(), strict=True):
        label(im, (cx, y1 + 9), k, size=10)
        if meta["kind"] == "bar":
            half = slot * 0.3
            d.rectangle([cx - half, py(v), cx + half, y1], fill=colour, outline=(30, 30, 30))
    if meta["kind"] == "line":
        pts = [(cx, py(v)) for cx, v in zip(centres, values.values(), strict=True)]
        d.line(pts, fill=colour, width=2)
        for x, y in pts:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour, outline=(30, 30, 30))
    return im


@register
class Chart(Task):
    """Read a bar or line chart; answer a value, comparison or arithmetic question (number).

    Level knobs:
        width, height: image size in pixels.
        categories: number of bars / points (labelled A, B, C, ...).
        vmax: top of the y axis; step: grid step (every value is a multiple of it);
        label_every: a tick label every this many grid lines.
        kinds: chart kinds to pick from ("bar", "line").
        questions: question kinds to pick from: value, max, min (read one value),
            diff (comparison), sum2/sum3/total/range (arithmetic), above (count above a threshold).

    Mixed form: the values of all but one of the categories the question needs are given in
    text; the remaining one must be read from the chart.
    """

    name = "chart"
    modality = "image"
    description = "Read a bar or line chart: a value, a comparison or arithmetic over values (number)."
    tags = ("arithmetic", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(width=112, height=112, categories=3, vmax=5, step=1, label_every=1, kinds=("bar",),
                questions=("value",)),
        2: dict(width=128, height=128, categories=4, vmax=10, step=1, label_every=2, kinds=("bar",),
                questions=("value", "max", "min")),
        3: dict(width=160, height=144, categories=5, vmax=20, step=2, label_every=2, kinds=("bar", "line"),
                questions=("value", "diff", "sum2")),
        4: dict(width=192, height=160, categories=6, vmax=50, step=5, label_every=2, kinds=("bar", "line"),
                questions=("diff", "sum2", "range")),
        5: dict(width=224, height=176, categories=7, vmax=100, step=5, label_every=4, kinds=("bar", "line"),
                questions=("sum3", "range", "above")),
        6: dict(width=256, height=192, categories=8, vmax=100, step=5, label_every=4, kinds=("line",),
                questions=("sum3", "total", "above", "range")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        cats = [chr(ord("A") + i) for i in range(cfg["categories"])]
        step, vmax = cfg["step"], cfg["vmax"]
        values = {k: step * rng.randint(1, vmax // step) for k in cats}
        kind = rng.choice(cfg["questions"])
        keys = rng.sample(cats, {"value": 1, "diff": 2, "sum2": 2, "sum3": 3}.get(kind, 0))
        if kind == "diff":
            while values[keys[0]] == values[keys[1]]:
                values[keys[0]] = step * rng.randint(1, vmax // step)
            keys.sort(key=values.get, reverse=True)
        else:
            keys.sort()
        question = {"kind": kind, "keys": keys}
        if kind == "above":
            question["threshold"] = step * rng.randint(1, vmax // step - 1) + step // 2 * (step > 1)
        answer = answer_of(question, values)
        chart = rng.choice(cfg["kinds"])
        meta = {"width": cfg["width"], "height": cfg["height"], "vmax": vmax, "step": step,
                "label_every": cfg["label_every"], "kind": chart, "color": rng.choice(PALETTE),
                "values": values, "question": question}
        q = wording(question)
        twin = f"A {chart} chart shows these values: {', '.join(f'{k} = {v}' for k, v in values.items())}. {q}"
        return self.sample(
            seed, level, prompt=self.image_prompt(q), images=(self.picture(render, meta),), answer=str(answer),
            answer_type="number", text_twin=twin,
            solution=f"{working(question, values, answer)} The answer is {answer}.", meta=meta,
        )

    def mixed(self, sample: Sample) -> Sample:
        """State every value in text except one the question needs, which is left to the chart."""
        m = sample.meta
        values, needed = m["values"], m["question"]["keys"] or list(m["values"])
        hidden = task_rng(f"{self.name}/mixed", sample.seed, sample.level).choice(needed)
        told = ", ".join(f"{k} = {v}" for k, v in values.items() if k != hidden)
        prompt = self.image_prompt(f"In this {m['kind']} chart, {told}; read the value of {hidden} from the "
                                   f"image. {wording(m['question'])}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       meta={**m, "hidden": hidden})
