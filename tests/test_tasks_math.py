"""Visual-math families: every answer recomputed from the figure's geometry recorded in `meta`.

Clock times come back from the hand angles, angles from the points' pixel coordinates, areas from
the polygon by the shoelace formula, fractions from the pieces, plot answers from the curves'
coefficients, table answers from the table, Venn answers from the region counts, number-line
values from the marker's pixel position. None of these use the generator's answer bookkeeping.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from itertools import product

import pytest

from _gym_checks import level1_distinct
from foveal import tasks
from foveal.errors import FovealError
from foveal.sample import IMAGE_TOKEN, png_bytes
from foveal.split import image_id, text_id
from foveal.tasks import draw as D
from foveal.tasks.style import STYLES
from foveal.tasks.variant import PHRASINGS

MATH = ("clock", "angle", "area", "fraction_shaded", "function_plot", "table_lookup", "venn", "number_line")
SEEDS = range(12)


def clock_answer(hour_angle: float, minute_angle: float, query: str, question: str) -> str:
    """The answer from the hands' angles: the time (now or a span later), minutes until a time, or the
    angle between the hands."""
    minute = minute_angle / 6
    assert minute == int(minute)
    hour = int(hour_angle // 30)
    assert hour_angle - 30 * hour == pytest.approx(minute * 0.5)  # the hour hand agrees with the minutes
    now = hour * 60 + int(minute)
    if query == "angle":
        t = abs(minute_angle - hour_angle) % 360
        return f"{min(t, 360 - t):g}"
    if query == "until":
        h, mm = map(int, re.search(r"(\d+):(\d\d)[?.]", question).groups())
        return str((h % 12 * 60 + mm - now) % 720)
    span = 0
    if query in ("later", "earlier"):
        hrs = re.search(r"(\d+) hours?", question)
        mins = re.search(r"(\d+) minutes (?:later|earlier)", question)
        span = 60 * int(hrs.group(1) if hrs else 0) + int(mins.group(1) if mins else 0)
        span = span if query == "later" else -span
    h, mm = divmod((now + span) % 720, 60)
    return f"{h or 12}:{mm:02d}"


def measured(m, tri) -> int:
    """Angle a-v-b in whole degrees, measured from the points' pixel coordinates."""
    a, v, b = (m["points"][k] for k in tri)
    t = abs(math.degrees(math.atan2(a[1] - v[1], a[0] - v[0]) - math.atan2(b[1] - v[1], b[0] - v[0]))) % 360
    return round(min(t, 360 - t))


def angle_answer(m, query: str, question: str, choices) -> str:
    """The asked angle measured on the drawing; for `kind` / `compare` the option that describes it."""
    deg = measured(m, m["target"])
    assert re.search(rf"angle {''.join(m['target'])} \(marked '\?'\)", question, flags=re.I)
    if query == "unknown":
        return str(deg)
    if query == "supplement":
        return str(180 - deg)
    if query == "kind":
        word = "acute" if deg < 90 else "right" if deg == 90 else "obtuse"
    else:
        other = measured(m, re.search(r"angle (\w{3})\?|angle (\w{3}):", question).group(0)[6:9])
        word = "larger" if deg > other else "smaller" if deg < other else "equal"
    return "ABC"[list(choices).index(word)]


def area_answer(m) -> str:
    if m["figure"] == "squares":
        cells = {tuple(c) for c in m["cells"]}
        assert len(cells) == len(m["cells"])
        return str(len(cells))
    p = m["poly"]
    twice = abs(sum(p[i][0] * p[(i + 1) % len(p)][1] - p[(i + 1) % len(p)][0] * p[i][1] for i in range(len(p))))
    a = Fraction(twice).limit_denominator() / 2
    return str(a.numerator) if a.denominator == 1 else str(float(a))


def fraction_answer(m) -> Fraction:
    return Fraction(sum(s for _, s in m["pieces"]), sum(a for a, _ in m["pieces"]))


def table_answer(m, choices) -> str:
    t, q = m["table"], m["query"]
    if q[0] == "cell":
        return str(t[q[1]][q[2]])
    if q[0] == "row_sum":
        return str(sum(t[q[1]]))
    if q[0] == "col_sum":
        return str(sum(row[q[1]] for row in t))
    if q[0] == "diff":
        return str(t[q[1]][q[3]] - t[q[2]][q[3]])
    if q[0] == "argmax":
        col = [row[q[1]] for row in t]
        assert col.count(max(col)) == 1
        return "ABCDEFGH"[col.index(max(col))]
    return str(sum(row[q[1]] > row[q[2]] for row in t))


VENN = {
    "in_a": lambda a, b, c: a, "only_a": lambda a, b, c: a and not b, "both": lambda a, b, c: a and b,
    "either": lambda a, b, c: a or b, "neither": lambda a, b, c: not a and not b,
    "exactly_one": lambda a, b, c: a + b + c == 1, "exactly_two": lambda a, b, c: a + b + c == 2,
    "both_not_c": lambda a, b, c: a and b and not c, "total": lambda a, b, c: a or b or c,
}


def venn_answer(m) -> str:
    k = m["sets"]
    total = 0
    for bits in product((0, 1), repeat=k):
        key = "".join(map(str, bits))
        a, b, c = (*bits, 0) if k == 2 else bits
        if VENN[m["query"]](a, b, c):
            total += m["regions"][key]
    return str(total)


def number_line_answer(m, query: str, question: str) -> str:
    """From the marker's pixels: the arrow's value (and k ticks beside it, or the right end's distance),
    or the bar's length / ends."""
    if m["ruler"]:
        lo, hi = ((x - m["x0"]) / m["scale"] for x in m["bar"])
        v = {"length": hi - lo, "start": lo, "end": hi}[query]
    else:
        v = m["v0"] + (m["arrow"] - m["x0"]) / m["scale"]
        if query == "offset":
            k, side = re.search(r"(\d) ticks? (?:to the )?(left|right) of the arrow", question).groups()
            v += int(k) * m["step"] * (1 if side == "right" else -1)
        elif query == "to_end":
            v = m["v0"] + m["ticks"] * m["step"] - v
        elif query == "to_start":
            v -= m["v0"]
    v = round(v, 1)
    return str(int(v)) if v == int(v) else f"{v:.1f}"


def check(name: str, s) -> None:
    m = s.meta
    if name == "clock":
        assert s.answer == clock_answer(m["hour_angle"], m["minute_angle"], m["variant"]["query"], m["question"])
        (cx, cy), r = m["centre"], m["radius"]
        assert r + 2 <= min(cx, cy) and max(cx, cy) + r + 2 <= m["size"]  # the face fits in the picture
    elif name == "angle":
        assert s.answer == angle_answer(m, m["variant"]["query"], m["question"], s.choices)
    elif name == "area":
        assert s.answer == area_from_twin(s.text_twin, m["variant"]["query"])
        if m["variant"]["query"] == "area":
            assert s.answer == area_answer(m)
    elif name == "fraction_shaded":
        assert s.answer == fraction_query_answer(m, m["variant"]["query"])
    elif name == "function_plot":
        assert s.answer == plot_from_twin(s.text_twin, m["variant"]["query"])
    elif name == "table_lookup":
        assert s.answer == table_answer(m, s.choices) == table_from_twin(s.text_twin, m["variant"]["query"])
    elif name == "count":
        assert s.answer == count_from_twin(s.text_twin, m["variant"]["query"], s.choices)
        listed = re.findall(r"\ban? (\w+) (\w+) at \((\d+), (\d+)\)", s.text_twin)
        assert sorted(listed) == sorted((o["color"], o["shape"], str(o["x"]), str(o["y"])) for o in m["objects"])
    elif name == "chart":
        assert s.answer == chart_from_twin(s.text_twin, m["variant"]["query"])
        assert dict(re.findall(r"\b([A-Z]) = (\d+)", s.text_twin.split(". ")[0])) == {k: str(v) for k, v in
                                                                                      m["values"].items()}
    elif name == "venn":
        assert m["query"] == m["variant"]["query"]
        assert s.answer == venn_answer(m) == venn_from_twin(s.text_twin)
    else:
        assert s.answer == number_line_answer(m, m["variant"]["query"], s.prompt)


@pytest.mark.parametrize("name", MATH)
def test_answer_recomputed_from_figure(name):
    task = tasks.get(name)
    for level in task.levels:
        for seed in SEEDS:
            check(name, task.generate(seed, level))


@pytest.mark.parametrize("name", MATH)
def test_forms_determinism_and_legibility(name):
    task = tasks.get(name)
    assert len(task.levels) >= 5 and task.tags and "knobs" in task.__doc__
    assert set(task.tags) <= {"counting", "spatial", "arithmetic", "logic", "temporal", "grounding", "planning",
                              "perception"}
    for level in task.levels:
        a, b = task.generate(3, level), task.generate(3, level)
        assert a.prompt == b.prompt and a.answer == b.answer and a.text_twin == b.text_twin
        assert [png_bytes(i) for i in a.images] == [png_bytes(i) for i in b.images]
        assert a.prompt.count(IMAGE_TOKEN) == 1 == len(a.images)
        assert a.meta["font_px"] >= D.MIN_FONT_PX
        t = task.generate(3, level, "text")
        assert IMAGE_TOKEN not in t.prompt and t.images == () and t.answer == a.answer
        assert a.solution.endswith(f"{a.answer}.")
        if a.answer_type == "choice":
            assert a.choices and a.answer in "ABCDEFGH"[:len(a.choices)]
        m = task.generate(3, level, "mixed")
        assert m.form == "mixed" and m.answer == a.answer and m.prompt != a.prompt
        assert png_bytes(m.images[0]) != png_bytes(a.images[0])


# -- variants of fraction_shaded, area, function_plot, table_lookup, venn (issue 15) ----------------------

def lowest(f: Fraction) -> str:
    return f"{f.numerator}/{f.denominator}" if f.denominator != 1 else str(f.numerator)


def fraction_query_answer(m, query: str) -> str:
    """The answer to `query` from the figure's pieces ([area, shaded] each)."""
    f = fraction_answer(m)
    assert 0 < f < 1
    if query == "shaded":
        return lowest(f)
    if query == "unshaded":
        return lowest(1 - f)
    if query == "shaded_parts":
        return str(sum(a == sh for a, sh in m["pieces"]))
    assert query == "parts"
    return str(len(m["pieces"]))


def fraction_from_twin(twin: str, query: str) -> str:
    """The answer to `query` read from the text twin alone (what it says is shaded where)."""
    if "grid" in twin.split(";")[0]:
        rows, cols = map(int, re.search(r"A (\d+) by (\d+) grid", twin).groups())
        full = len(re.findall(r"\(\d+, \d+\)", re.search(r"fully shaded \w+, at \(row, column\) (.*?)(?:, and|\.)",
                                                              twin).group(1)))
        half_m = re.search(r"half shaded \(cut along a diagonal\), at (.*?)\.", twin)
        half = len(re.findall(r"\(\d+, \d+\)", half_m.group(1))) if half_m else 0
        parts, shaded, total = rows * cols, 2 * full + half, 2 * rows * cols
    else:
        n = int(re.search(r"divided into (\d+) equal", twin).group(1))
        listed = re.search(r"\((?:strips|sectors) ([\d, and]+?)(?:, first and second shape)?, counting", twin).group(1)
        per = [len(chunk.split(",")) for chunk in listed.split(" and ")]
        assert all(1 <= k < n for k in per)
        parts, shaded, total = n * len(per), sum(per), n * len(per)
        full = shaded
    return {"shaded": lowest(Fraction(shaded, total)), "unshaded": lowest(Fraction(total - shaded, total)),
            "shaded_parts": str(full), "parts": str(parts)}[query]


def test_fraction_shaded_every_query_style_and_phrasing_rederived():
    task = tasks.get("fraction_shaded")
    assert set(task.queries) == {"shaded", "unshaded", "shaded_parts", "parts"}
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                seed = 7 * k + level
                phrasing = ("direct", "imperative", "polite", "terse")[k % 4]
                s = task.generate(seed, level, query=query, phrasing=phrasing, style=style)
                assert s.answer == fraction_query_answer(s.meta, query) == fraction_from_twin(s.text_twin, query)
                assert s.meta["variant"] == {"query": query, "phrasing": phrasing, "style": style}
                assert s.solution.endswith(f"Answer: {s.answer}.") and s.meta["question"] in s.prompt
                t = task.generate(seed, level, "text", query=query, phrasing=phrasing, style=style)
                assert t.text_twin == s.text_twin and t.problem_key == s.problem_key
    with pytest.raises(FovealError, match="unknown query"):
        task.generate(0, 6, query="shaded_parts")


@pytest.mark.parametrize("query", ["shaded", "unshaded", "shaded_parts", "parts"])
def test_fraction_shaded_level1_is_95_percent_distinct(query):
    texts, images = level1_distinct("fraction_shaded", query)
    assert texts >= 950 and images >= 950, (texts, images)


def area_from_twin(twin: str, query: str) -> str:
    """The answer to `query` from the figure as the twin states it: a polygon in units (or unit cells)."""
    ints = lambda pat: [int(v) for v in re.search(pat, twin).groups()]  # noqa: E731
    cells = None
    if twin.startswith("A rectangle"):
        w, h = ints(r"is (\d+) units wide and (\d+) units tall")
        poly = [(0, 0), (w, 0), (w, h), (0, h)]
    elif twin.startswith("A shape is made of unit squares"):
        cells = {tuple(map(int, p)) for p in re.findall(r"\((\d+), (\d+)\)", twin)}
        poly = None
    elif twin.startswith("A right triangle"):
        a, b = ints(r"legs of (\d+) and (\d+) units")
        poly = [(0, 0), (a, 0), (0, b)]
    elif twin.startswith("An L-shaped"):
        W, H, w, h = ints(r"a (\d+) by (\d+) rectangle with a (\d+) by (\d+) rectangle cut")
        poly = [(0, 0), (W, 0), (W, H - h), (W - w, H - h), (W - w, H), (0, H)]
    elif twin.startswith("A polygon"):
        corners = re.search(r"corners at the points (.*?)\. ", twin).group(1)
        poly = [tuple(map(int, p)) for p in re.findall(r"\((\d+), (\d+)\)", corners)]
    else:
        W, H, R = ints(r"a (\d+) by (\d+) rectangle with a triangle of base \d+ and height (\d+) on top")
        poly = [(0, 0), (W, 0), (W, H), (Fraction(W, 2), H + R), (0, H)]
    if cells is not None:
        area = Fraction(len(cells))
        perimeter = sum((c + dc, r + dr) not in cells for c, r in cells for dc, dr in ((1, 0), (-1, 0), (0, 1), (0, -1)))
        xs = [c + d for c, _ in cells for d in (0, 1)]
        ys = [r + d for _, r in cells for d in (0, 1)]
    else:
        n = len(poly)
        area = abs(sum(Fraction(poly[i][0]) * poly[(i + 1) % n][1] - Fraction(poly[(i + 1) % n][0]) * poly[i][1]
                       for i in range(n))) / 2
        edges = [(poly[i], poly[(i + 1) % n]) for i in range(n)]
        assert query != "perimeter" or all(a[0] == b[0] or a[1] == b[1] for a, b in edges)  # whole sides only
        perimeter = sum(math.dist(a, b) for a, b in edges)
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    value = {"area": area, "scaled_area": 4 * area, "perimeter": perimeter, "width": max(xs) - min(xs),
             "height": max(ys) - min(ys)}[query]
    return str(int(value)) if value == int(value) else f"{float(value):g}"


def test_area_every_query_style_and_phrasing_rederived():
    task = tasks.get("area")
    assert set(task.queries) == {"area", "perimeter", "width", "height", "scaled_area"}
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                seed = 5 * k + level
                phrasing = ("direct", "imperative", "polite", "terse")[k % 4]
                s = task.generate(seed, level, query=query, phrasing=phrasing, style=style)
                assert s.answer == area_from_twin(s.text_twin, query), (s.id, query)
                assert s.meta["variant"] == {"query": query, "phrasing": phrasing, "style": style}
                assert s.solution.endswith(f"Answer: {s.answer}.") and s.meta["question"] in s.prompt
                t = task.generate(seed, level, "text", query=query, phrasing=phrasing, style=style)
                assert t.text_twin == s.text_twin and t.problem_key == s.problem_key
    assert "perimeter" not in task.level_queries(5)  # a lattice polygon's sides are not whole numbers


@pytest.mark.parametrize("query", ["area", "perimeter", "width", "height", "scaled_area"])
def test_area_level1_is_95_percent_distinct(query):
    texts, images = level1_distinct("area", query)
    assert texts >= 950 and images >= 950, (texts, images)


def plot_from_twin(twin: str, query: str) -> str:
    """The answer to `query` from the equations the twin states, by evaluating them on the grid."""
    R = int(re.search(r"x and y from -(\d+) to", twin).group(1))
    found = re.findall(r"y = (.*?) \(in (\w+)\)", twin)
    curves = {}
    for expr, ink in found:
        py = re.sub(r"(\d)([x(])", r"\1*\2", expr.replace("^", "**"))
        kind = "parabola" if "^" in expr else "line"
        curves[(ink, kind)] = (lambda src: lambda x: eval(src, {"x": x}))(py)  # our own twin's formulas
    question = twin.rsplit(" drawn. ", 1)[1]
    named = ([key for key in curves if f"the {key[0]} {key[1]}" in question]
             or [key for key in curves if f"the {key[1]}" in question])
    xs = range(-R, R + 1)
    if query in ("meet", "meet_y"):
        f1, f2 = curves.values()
        (x,) = [x for x in xs if f1(x) == f2(x)]
        return str(x if query == "meet" else f1(x))
    if query == "count":
        line = curves[next(k for k in curves if k[1] == "line")]
        par = curves[next(k for k in curves if k[1] == "parabola")]
        grid = [-40 + i / 100 for i in range(8001)]
        diff = [line(x) - par(x) for x in grid]
        return str(sum((diff[i] > 0) != (diff[i + 1] > 0) for i in range(len(diff) - 1)))
    (key,) = named
    fn = curves[key]
    if query == "value":
        return str(fn(int(re.search(r"at x = (-?\d+)", question).group(1))))
    if query == "slope":
        return str(fn(1) - fn(0))
    if query == "y_intercept":
        return str(fn(0))
    if query == "root":
        (x,) = [x for x in xs if fn(x) == 0]
        return str(x)
    values = {x: fn(x) for x in xs}
    best = min(values.values()) if "smallest" in question else max(values.values())
    (x,) = [x for x, v in values.items() if v == best]
    return str(best if query == "vertex" else x)


def test_function_plot_every_query_style_and_phrasing_rederived():
    task = tasks.get("function_plot")
    assert len(task.queries) == 9
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                seed = 3 * k + level
                phrasing = ("direct", "imperative", "polite", "terse")[k % 4]
                s = task.generate(seed, level, query=query, phrasing=phrasing, style=style)
                assert s.answer == plot_from_twin(s.text_twin, query), (s.id, query)
                assert s.meta["variant"] == {"query": query, "phrasing": phrasing, "style": style}
                assert s.solution.endswith(f"Answer: {s.answer}.") and s.meta["ask"] in s.prompt
                t = task.generate(seed, level, "text", query=query, phrasing=phrasing, style=style)
                assert t.text_twin == s.text_twin and t.problem_key == s.problem_key


@pytest.mark.parametrize("query", ["value", "slope", "y_intercept"])
def test_function_plot_level1_is_95_percent_distinct(query):
    texts, images = level1_distinct("function_plot", query)
    assert texts >= 950 and images >= 950, (texts, images)


def table_from_twin(twin: str, query: str) -> str:
    """The answer to `query` from the table the twin prints and the names its question mentions
    (in the order it mentions them)."""
    lines = twin.split("\n")
    header = lines[1].split(" | ")[1:]
    body = [line.split(" | ") for line in lines[2:] if " | " in line]
    table = {row[0]: dict(zip(header, map(int, row[1:]), strict=True)) for row in body}
    question = lines[2 + len(body)]
    mentioned = lambda names: sorted((n for n in names if re.search(rf"\b{n}\b", question)),  # noqa: E731
                                     key=lambda n: re.search(rf"\b{n}\b", question).start())
    people, items = mentioned(table), mentioned(header)
    if query == "cell":
        return str(table[people[0]][items[0]])
    if query == "row_sum":
        return str(sum(table[people[0]].values()))
    if query == "col_sum":
        return str(sum(row[items[0]] for row in table.values()))
    if query == "diff":
        return str(table[people[0]][items[0]] - table[people[1]][items[0]])
    if query == "count_gt":
        return str(sum(row[items[0]] > row[items[1]] for row in table.values()))
    column = {p: row[items[0]] for p, row in table.items()}
    (top,) = [p for p, v in column.items() if v == max(column.values())]
    options = [line.split(". ", 1)[1] for line in lines if re.match(r"^[A-H]\. ", line)]
    return "ABCDEFGH"[options.index(top)]


def test_table_lookup_every_query_style_and_phrasing_rederived():
    task = tasks.get("table_lookup")
    assert set(task.queries) == {"cell", "row_sum", "col_sum", "diff", "argmax", "count_gt"}
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                seed = 11 * k + level
                phrasing = ("direct", "imperative", "polite", "terse")[k % 4]
                s = task.generate(seed, level, query=query, phrasing=phrasing, style=style)
                assert s.answer == table_from_twin(s.text_twin, query) == table_answer(s.meta, s.choices), (s.id, query)
                assert s.meta["variant"] == {"query": query, "phrasing": phrasing, "style": style}
                assert s.solution.endswith(f"Answer: {s.answer}.") and s.meta["ask"] in s.prompt
                t = task.generate(seed, level, "text", query=query, phrasing=phrasing, style=style)
                assert t.text_twin == s.text_twin and t.problem_key == s.problem_key


@pytest.mark.parametrize("query", ["cell", "row_sum", "col_sum", "diff", "argmax", "count_gt"])
def test_table_lookup_level1_is_95_percent_distinct(query):
    texts, images = level1_distinct("table_lookup", query)
    assert texts >= 950 and images >= 950, (texts, images)


def venn_from_twin(twin: str) -> str:
    """The answer from the twin alone: its group counts, and the question's wording of who counts."""
    facts, question = twin.split("\n")
    names = re.search(r"which of these they do: (.*?)\. Counts by group", facts).group(1).split(", ")
    counts = {}
    for part in facts.split("Counts by group: ")[1].rstrip(".").split("; "):
        who, n = part.rsplit(": ", 1)
        ins = set() if who == "none of them" else {g for g in names if re.search(rf"(^| and ){g}( only| and|$| but)", who)}
        counts[frozenset(ins)] = int(n)
    A, B = names[0], names[1]
    C = names[-1]
    rules = [  # (question text, which memberships count), most specific wording first
        (f"{A} and {B} but do not {C}", lambda m: A in m and B in m and C not in m),
        (f"{A} but do not {B}", lambda m: A in m and B not in m),
        (f"both {A} and {B}", lambda m: A in m and B in m),
        (f"{A} or {B} (or both)", lambda m: A in m or B in m),
        (f"do not {A} and do not {B}", lambda m: A not in m and B not in m),
        ("exactly one of these", lambda m: len(m) == 1),
        ("exactly two of these", lambda m: len(m) == 2),
        ("at least one of these", lambda m: len(m) >= 1),
        (f"{A}", lambda m: A in m),
    ]
    rule = next(pred for text, pred in rules if text in question)
    return str(sum(v for m, v in counts.items() if rule(m)))


def test_venn_every_query_style_and_phrasing_rederived():
    task = tasks.get("venn")
    assert len(task.queries) == 9
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                seed = 13 * k + level
                phrasing = ("direct", "imperative", "polite", "terse")[k % 4]
                s = task.generate(seed, level, query=query, phrasing=phrasing, style=style)
                assert s.answer == venn_from_twin(s.text_twin) == venn_answer(s.meta), (s.id, query)
                assert s.meta["variant"] == {"query": query, "phrasing": phrasing, "style": style}
                assert s.solution.endswith(f"Answer: {s.answer}.") and s.meta["ask"] in s.prompt
                t = task.generate(seed, level, "text", query=query, phrasing=phrasing, style=style)
                assert t.text_twin == s.text_twin and t.problem_key == s.problem_key


@pytest.mark.parametrize("query", ["in_a", "only_a", "both"])
def test_venn_level1_is_95_percent_distinct(query):
    texts, images = level1_distinct("venn", query)
    assert texts >= 950 and images >= 950, (texts, images)
# -- variants: every query, under every style, re-derived; level-1 problem spaces ---------------

MY_VARIANT_FAMILIES = ("number_line", "clock", "angle", "chart", "count")


def distinct_share(name: str, query: str, form: str, n: int = 1000) -> float:
    """Share of distinct form ids (image_id / text_id) among n level-1 draws of one query."""
    t = tasks.get(name)
    ids = {(text_id if form == "text" else image_id)(t.generate(s, 1, form, query=query, phrasing="direct", style="plain"))
           for s in range(n)}
    return len(ids) / n


@pytest.mark.parametrize("name", MY_VARIANT_FAMILIES)
def test_every_query_under_every_style_recomputed(name):
    t = tasks.get(name)
    for level in t.levels:
        for query in t.level_queries(level):
            for k, style in enumerate(STYLES):
                s = t.generate(k, level, query=query, style=style)  # drawn in the style; answers from meta
                assert s.meta["variant"] == {"query": query, "phrasing": s.meta["variant"]["phrasing"],
                                             "style": style}
                check(name, s)
                assert s.solution.endswith(f" {s.answer}.")


def number_line_from_twin(twin: str) -> str:
    """The answer from the text twin's stated ticks and marker, and its question."""
    if m := re.search(r"from the ([\d.]+) cm mark to ([\d.]+) cm\. (.*)", twin):
        lo, hi, q = float(m.group(1)), float(m.group(2)), m.group(3)
        v = hi - lo if "long" in q or "length" in q else lo if "left end" in q else hi
    else:
        step, v0, end, t, q = re.search(r"ticks every ([\d.]+) from (-?[\d.]+) to (-?[\d.]+)\. An arrow points at "
                                        r"the tick (\d+) steps right of -?[\d.]+\. (.*)", twin).groups()
        v = float(v0) + int(t) * float(step)
        if m := re.search(r"(\d) ticks? (?:to the )?(left|right) of the arrow", q):
            v += int(m.group(1)) * float(step) * (1 if m.group(2) == "right" else -1)
        elif "right end" in q.lower():
            v = float(end) - v
        elif "left end" in q.lower():
            v -= float(v0)
    v = round(v, 1)
    return str(int(v)) if v == int(v) else f"{v:.1f}"


def test_number_line_every_query_and_phrasing_from_twin():
    t = tasks.get("number_line")
    for level in t.levels:
        for query in t.level_queries(level):
            for seed, phrasing in enumerate(PHRASINGS * 3):
                s = t.generate(seed, level, "text", query=query, phrasing=phrasing)
                assert s.answer == number_line_from_twin(s.text_twin), (level, query, phrasing, s.text_twin)


@pytest.mark.parametrize("name", MY_VARIANT_FAMILIES)
@pytest.mark.parametrize("form", ("text", "image"))
def test_level_1_is_varied_for_every_query(name, form):
    """1,000 level-1 draws of each query are >= 95% distinct in each form (docs: >= 10^4 problems each)."""
    for query in tasks.get(name).level_queries(1):
        assert distinct_share(name, query, form) >= 0.95, query


def test_clock_every_query_and_phrasing_from_twin():
    t = tasks.get("clock")
    for level in t.levels:
        for query in t.level_queries(level):
            for seed, phrasing in enumerate(PHRASINGS * 3):
                s = t.generate(seed, level, "text", query=query, phrasing=phrasing)
                ha, ma, q = re.search(r"hour hand points ([\d.]+) degrees and its minute hand ([\d.]+) degrees "
                                      r"clockwise from the 12 o'clock direction\. (.*)", s.text_twin).groups()
                assert s.answer == clock_answer(float(ha), float(ma), query, q), (level, query, phrasing)


def test_clock_face_drawn_where_the_twin_says():
    """Under plain, the face's outline is ink at (cx ± r, cy) and its cream fill just inside."""
    t = tasks.get("clock")
    for seed in range(6):
        s = t.generate(seed, 1, query="time", phrasing="direct", style="plain")
        cx, cy = map(int, re.search(r"centred at \((\d+), (\d+)\)", s.text_twin).groups())
        r = int(re.search(r"radius (\d+) px", s.text_twin).group(1))
        im = s.images[0]
        inside = (round(cx + (r - 6) * math.sin(math.radians(15))), round(cy - (r - 6) * math.cos(math.radians(15))))
        assert im.getpixel((cx - r + 1, cy)) == (0, 0, 0) and im.getpixel(inside) == (252, 250, 240)


def angle_from_twin(twin: str, choices) -> str:
    """Solve the twin's stated figure with the angle facts (own solver), then answer its question."""
    cut = twin.rindex(". ", 0, twin.index("(marked"))  # the facts end before the question's sentence
    facts, q = twin[:cut + 1], twin[cut + 2:]
    target = re.search(r"angle (\w{3}) \(marked", q, flags=re.I).group(1)
    given = [int(x) for x in re.findall(r"= (\d+) degrees", facts)]
    if "straight line and ray" in facts:
        deg = 180 - given[0]
    elif "right angle" in facts:
        deg = 90 - given[0]
    elif "cross at" in facts:
        named = re.search(r"angle (\w{3}) =", facts).group(1)
        shared = {named[0], named[2]} & {target[0], target[2]}  # a shared ray: neighbours on a line
        deg = 180 - given[0] if shared else given[0]
    elif "around" in facts or "leave point" in facts:
        deg = 360 - sum(given)
    elif re.search(r"has (\w)(\w) = (\w)(\w)", facts):
        deg = (180 - given[0]) // 2
    else:
        deg = 180 - sum(given)
    if not choices:
        return str(180 - deg if "supplement" in q.lower() else deg)
    if "acute" in q:
        word = "acute" if deg < 90 else "right" if deg == 90 else "obtuse"
    else:
        other = re.search(r"angle (\w{3})[?:]", q).group(1)
        stated = dict(re.findall(r"angle (\w{3}) = (\d+)", facts))
        if other not in stated:  # a triangle's vertex angle stated by its vertex letter
            stated = {k: v for k, v in re.findall(r"angle (\w) = (\d+)", facts)}
            other = other[1]
        v = int(stated[other])
        word = "larger" if deg > v else "smaller" if deg < v else "equal"
    return "ABC"[list(choices).index(word)]


def test_angle_every_query_and_phrasing_from_twin():
    t = tasks.get("angle")
    for level in t.levels:
        for query in t.level_queries(level):
            for seed, phrasing in enumerate(PHRASINGS * 3):
                s = t.generate(seed, level, "text", query=query, phrasing=phrasing)
                assert s.answer == angle_from_twin(s.text_twin, s.choices), (level, query, s.text_twin)


def chart_from_twin(twin: str, query: str) -> str:
    """The chart question answered from the values the twin lists (own arithmetic)."""
    listed, q = twin.split(". ", 1)
    v = {k: int(x) for k, x in re.findall(r"\b([A-Z]) = (\d+)", listed)}
    named = [w for w in re.findall(r"\b[A-Z]\b", q) if w in v]
    out = {"value": lambda: v[named[0]], "max": lambda: max(v.values()), "min": lambda: min(v.values()),
           "diff": lambda: v[named[0]] - v[named[1]], "sum": lambda: sum(v[k] for k in named),
           "total": lambda: sum(v.values()), "range": lambda: max(v.values()) - min(v.values()),
           "above": lambda: sum(x > int(re.search(r"than (\d+)|above (\d+)", q).group(0).split()[-1])
                                for x in v.values())}[query]()
    return str(out)


def test_chart_every_query_and_phrasing_from_twin():
    t = tasks.get("chart")
    for level in t.levels:
        for query in t.level_queries(level):
            for seed, phrasing in enumerate(PHRASINGS * 3):
                s = t.generate(seed, level, "text", query=query, phrasing=phrasing)
                assert s.answer == chart_from_twin(s.text_twin, query), (level, query, s.text_twin)


def n_one(kind: str, c: str, sh: str, colours) -> bool:
    """Whether a c-coloured sh matches a kind named 'red circles', 'circles' or 'red objects'."""
    words = kind.split()
    colour = words[0] if words[0] in colours or len(words) == 2 else None
    shape = words[-1].rstrip("s") if words[-1] not in ("objects", "object") else None
    return (colour is None or c == colour) and (shape is None or sh == shape)


def count_from_twin(twin: str, query: str, choices) -> str:
    """Count the twin's listed objects for its question (own tally; kinds named as 'red circles',
    'circles' or 'red objects')."""
    listed, q = twin.split(". ", 1)
    objs = re.findall(r"\ban? (\w+) (\w+) at \(\d+, \d+\)", listed)
    colours = {c for c, _ in objs}

    def n(kind: str) -> int:
        return sum(n_one(kind, c, sh, colours) for c, sh in objs)

    if query == "total":
        return str(len(objs))
    if query == "half":
        size = int(re.search(r"A (\d+)x\d+ picture", twin).group(1))
        what, side = next(m.groups() for p in (r"many (.+?) are in the (\w+) half", r"Count the (.+?) in the (\w+) half",
                                               r"^Number of (.+?) in the (\w+) half") if (m := re.search(p, q)))
        located = re.findall(r"\ban? (\w+) (\w+) at \((\d+), (\d+)\)", listed)
        keep = {"left": lambda x, y: x < size / 2, "right": lambda x, y: x > size / 2,
                "top": lambda x, y: y < size / 2, "bottom": lambda x, y: y > size / 2}[side]
        return str(sum(n_one(what.lower(), c, sh, colours) and keep(int(x), int(y)) for c, sh, x, y in located))
    if query == "most_colour":
        tally = {c: sum(c == x for x, _ in objs) for c in colours}
        best = max(tally, key=tally.get)
        assert sorted(tally.values())[-2:][0] < tally[best]  # a unique most common colour
        return "ABCDEFGHIJ"[list(choices).index(best)]
    if query == "which_more":
        a, b = choices
        assert n(a) != n(b)
        return "A" if n(a) > n(b) else "B"
    if query == "how_many":
        pats = (r"How many (.+?) are there\?", r"Count the (.+?)\.", r"how many (.+?) there are\?", r"^Number of (.+?)\?")
    else:
        pats = (r"How many more (.+?) than (.+?) are there\?", r"how many more (.+?) there are than (.+?)[.?]",
                r"^Count of (.+?) minus count of (.+?)\?")
    kinds = next(m.groups() for p in pats if (m := re.search(p, q)))
    counts = [n(k.lower()) for k in kinds]
    return str(counts[0] if query == "how_many" else counts[0] - counts[1])


def test_count_every_query_and_phrasing_from_twin():
    t = tasks.get("count")
    for level in t.levels:
        for query in t.level_queries(level):
            for seed, phrasing in enumerate(PHRASINGS * 3):
                s = t.generate(seed, level, "text", query=query, phrasing=phrasing)
                assert s.answer == count_from_twin(s.text_twin, query, s.choices), (level, query, s.text_twin)


def test_count_first_query_direct_plain_keeps_the_old_wording():
    """The first query in the direct register under plain is the family's original question."""
    s = tasks.get("count").generate(3, 2, query="how_many", phrasing="direct", style="plain")
    assert re.search(r"How many \w+ \w+s are there\? Answer with a number\.$", s.prompt)
    assert s.solution.endswith(f"The answer is {s.answer}.")


def test_count_mixed_form_states_where_each_described_object_is():
    """Two level-1 problems that differ only in where the described (undrawn) circle is get different
    mixed forms: the mixed-form leak sweep found them identical when how_many's description left the
    positions out (a picture shared by two problem keys can cross the split)."""
    from foveal.split import image_id

    t = tasks.get("count")
    a, b = t.mixed_of(t.generate(1499, 1)), t.mixed_of(t.generate(1911, 1))
    assert "a blue circle at (46, 15)" in a.prompt and "a blue circle at (48, 46)" in b.prompt
    assert a.problem_key != b.problem_key and image_id(a) != image_id(b)
