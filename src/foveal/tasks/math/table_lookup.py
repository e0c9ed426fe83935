"""`table_lookup`: read a rendered table and look up, add, subtract, compare or count.

The table is `meta["table"]` (rows of integers) with `meta["rows"]` / `meta["cols"]` as headers, and
`meta["query"]` names the operation and its operands, so every answer can be recomputed.
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

NAMES = ("Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana")
ITEMS = ("apples", "pears", "plums", "figs", "kiwis", "limes", "dates")
HEADER = (225, 232, 245)  # header cells' fill (tinted by the style)


def answer_of(table: list[list[int]], query: list) -> int:
    """The answer to `query` over `table`: ["cell", r, c], ["row_sum", r], ["col_sum", c],
    ["diff", r1, r2, c], ["argmax", c] (row index), ["count_gt", c1, c2] (rows where column c1 > column c2)."""
    kind = query[0]
    if kind == "cell":
        return table[query[1]][query[2]]
    if kind == "row_sum":
        return sum(table[query[1]])
    if kind == "col_sum":
        return sum(row[query[1]] for row in table)
    if kind == "diff":
        return table[query[1]][query[3]] - table[query[2]][query[3]]
    if kind == "argmax":
        col = [row[query[1]] for row in table]
        return col.index(max(col))
    return sum(row[query[1]] > row[query[2]] for row in table)


@register
class TableLookup(Task):
    """Questions over a table of how many fruits each person picked.

    Level knobs:
        shape: (rows, cols) of the table body.
        queries: the queries the level asks, the level's original one first.
        vmax: values are 1..vmax.
        size: table cell height in pixels (width is 2.6×).

    Queries: "cell" (one value), "row_sum" (a person's total), "col_sum" (everyone's total of one
    fruit), "diff" (how many more one person has than another of an item), "argmax" (who has the most
    of an item; choice), "count_gt" (how many people have more of one item than of another). Every
    table allows every query.

    Mixed form: a third of the table's values are shown as "?" and stated in text.
    """

    name = "table_lookup"
    description = "Read a table: look up, add a row, subtract, find the largest, count comparisons (number/choice)."
    tags = ("arithmetic", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "cell": {
            "direct": "How many {item} did {person} pick?",
            "imperative": "Look up how many {item} {person} picked.",
            "polite": "Could you tell me how many {item} {person} picked?",
            "terse": "Number of {item} picked by {person}?",
        },
        "row_sum": {
            "direct": "How many fruits did {person} pick in total?",
            "imperative": "Add up all the fruits {person} picked.",
            "polite": "Could you tell me how many fruits {person} picked in total?",
            "terse": "Fruits picked by {person} in total?",
        },
        "col_sum": {
            "direct": "How many {item} did everyone pick together?",
            "imperative": "Add up the {item} everyone picked.",
            "polite": "Could you tell me how many {item} everyone picked together?",
            "terse": "Total {item} picked by everyone?",
        },
        "diff": {
            "direct": "How many more {item} did {first} pick than {second}?",
            "imperative": "Work out how many more {item} {first} picked than {second}.",
            "polite": "Could you tell me how many more {item} {first} picked than {second}?",
            "terse": "Difference in {item}, {first} minus {second}?",
        },
        "argmax": {
            "direct": "Who picked the most {item}?",
            "imperative": "Name the person who picked the most {item}.",
            "polite": "Could you tell me who picked the most {item}?",
            "terse": "Most {item}: who?",
        },
        "count_gt": {
            "direct": "How many people picked more {item} than {other}?",
            "imperative": "Count the people who picked more {item} than {other}.",
            "polite": "Could you tell me how many people picked more {item} than {other}?",
            "terse": "People with more {item} than {other}: how many?",
        },
    }
    levels = {
        1: dict(shape=(2, 3), vmax=20, size=24),
        2: dict(shape=(4, 4), vmax=50, size=22),
        3: dict(shape=(3, 4), vmax=20, size=22, queries=("row_sum", "cell", "col_sum", "diff", "argmax", "count_gt")),
        4: dict(shape=(4, 5), vmax=50, size=22, queries=("diff", "cell", "row_sum", "col_sum", "argmax", "count_gt")),
        5: dict(shape=(5, 5), vmax=60, size=22, queries=("argmax", "cell", "row_sum", "col_sum", "diff", "count_gt")),
        6: dict(shape=(6, 5), vmax=30, size=22, queries=("count_gt", "cell", "row_sum", "col_sum", "diff", "argmax")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        nr, nc = cfg["shape"]
        rows, cols = rng.sample(NAMES, nr), rng.sample(ITEMS, nc)
        table = [[rng.randint(1, cfg["vmax"]) for _ in range(nc)] for _ in range(nr)]
        kind = self.query
        choices = None
        if kind == "cell":
            r, c = rng.randrange(nr), rng.randrange(nc)
            query = ["cell", r, c]
            q = self.ask(item=cols[c], person=rows[r])
        elif kind == "row_sum":
            r = rng.randrange(nr)
            query = ["row_sum", r]
            q = self.ask(person=rows[r])
        elif kind == "col_sum":
            c = rng.randrange(nc)
            query = ["col_sum", c]
            q = self.ask(item=cols[c])
        elif kind == "diff":
            c = rng.randrange(nc)
            r1, r2 = rng.sample(range(nr), 2)
            if table[r1][c] == table[r2][c]:
                table[r1][c] += 1
            if table[r1][c] < table[r2][c]:
                r1, r2 = r2, r1
            query = ["diff", r1, r2, c]
            q = self.ask(item=cols[c], first=rows[r1], second=rows[r2])
        elif kind == "argmax":
            c = rng.randrange(nc)
            top = max(row[c] for row in table)
            for row in table:  # make the largest value unique
                if row[c] == top:
                    row[c] -= 1
            table[rng.randrange(nr)][c] = top
            query = ["argmax", c]
            choices = tuple(rows)
            q = self.ask(item=cols[c])
        else:
            c1, c2 = rng.sample(range(nc), 2)
            for row in table:
                if row[c1] == row[c2]:
                    row[c1] += 1
            query = ["count_gt", c1, c2]
            q = self.ask(item=cols[c1], other=cols[c2])
        val = answer_of(table, query)
        if choices:
            answer = "ABCDEFGH"[val]
            tail = "\n" + D.choice_block(list(choices)) + "\nAnswer with the letter."
            sol = f"In the {cols[query[1]]} column the largest number is {table[val][query[1]]}, in {rows[val]}'s row."
        else:
            answer = str(val)
            tail = " Answer with a number."
            sol = {
                "cell": lambda: f"{rows[query[1]]}'s row and the {cols[query[2]]} column meet at {val}.",
                "row_sum": lambda: f"{rows[query[1]]}'s row holds {' + '.join(map(str, table[query[1]]))} = {val}.",
                "col_sum": lambda: f"The {cols[query[1]]} column holds "
                                   f"{' + '.join(str(row[query[1]]) for row in table)} = {val}.",
                "diff": lambda: f"{table[query[1]][query[3]]} - {table[query[2]][query[3]]} = {val}.",
                "count_gt": lambda: f"Comparing the two columns row by row, {val} people picked more of the first.",
            }[kind]()
        head = "The table shows how many of each fruit each person picked."
        twin = (f"{head} Rows are people, columns are fruits.\n" + "person | " + " | ".join(cols) + "\n"
                + "\n".join(f"{rows[i]} | " + " | ".join(map(str, table[i])) for i in range(nr)) + f"\n{q}{tail}")
        meta = {"table": table, "rows": rows, "cols": cols, "query": query, "cell": cfg["size"],
                "font_px": max(D.MIN_FONT_PX, int(cfg["size"] * 0.55)), "ask": q + tail, "head": head}
        return self.sample(seed, level, prompt=self.image_prompt(f"{head}\n{q}{tail}"), images=(self.picture(render, meta, ()),),
                           answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=twin, solution=f"{sol} Answer: {answer}.", meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        nr, nc = len(m["rows"]), len(m["cols"])
        told = sorted(rng.sample(range(nr * nc), max(1, nr * nc // 3)))
        said = "; ".join(f"{m['rows'][i // nc]} picked {m['table'][i // nc][i % nc]} {m['cols'][i % nc]}" for i in told)
        prompt = self.image_prompt(f"{m['head']} The cells marked '?' are given here: {said}.\n{m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, told),),
                       meta={**m, "described": told})


def render(meta: dict[str, Any], hide) -> Any:
    rows, cols, table = meta["rows"], meta["cols"], meta["table"]
    h = meta["cell"]
    w = int(h * 2.6)
    fs = meta["font_px"]
    nr, nc = len(rows), len(cols)
    im = D.canvas((nc + 1) * w + 12, (nr + 1) * h + 12)
    d = ImageDraw.Draw(im)
    x0 = y0 = 6
    d.rectangle([x0, y0, x0 + (nc + 1) * w, y0 + h], fill=S.tint(HEADER))
    d.rectangle([x0, y0, x0 + w, y0 + (nr + 1) * h], fill=S.tint(HEADER))
    hidden = set(hide)
    label(im, (x0 + w / 2, y0 + h / 2), "person", size=fs, fill=(90, 90, 90))
    for c, name in enumerate(cols):
        label(im, (x0 + (c + 1.5) * w, y0 + h / 2), name, size=fs)
    for r, name in enumerate(rows):
        label(im, (x0 + w / 2, y0 + (r + 1.5) * h), name, size=fs)
        for c in range(nc):
            s = "?" if r * nc + c in hidden else str(table[r][c])
            label(im, (x0 + (c + 1.5) * w, y0 + (r + 1.5) * h), s, size=fs)
    for r in range(nr + 2):
        d.line([(x0, y0 + r * h), (x0 + (nc + 1) * w, y0 + r * h)], fill=(120, 120, 120))
    for c in range(nc + 2):
        d.line([(x0 + c * w, y0), (x0 + c * w, y0 + (nr + 1) * h)], fill=(120, 120, 120))
    return im
