"""The six foundation families: determinism, forms, and answers re-derived independently.

Each family's answer is re-derived here from the text twin or the generator's scene, by
code that shares nothing with the generator's own bookkeeping (the sudoku solver, the
chart arithmetic, the jigsaw reassembly and the motion directions are all written anew).
"""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from foveal import tasks
from foveal.sample import IMAGE_TOKEN, png_bytes
from foveal.tasks import draw as D

FAMILIES = ("count", "spatial", "chart", "sudoku", "jigsaw", "motion")
SEEDS = range(4)


def cases():
    return [(name, level) for name in FAMILIES for level in tasks.get(name).levels]


def digest(sample) -> str:
    h = hashlib.sha256(f"{sample.id}|{sample.prompt}|{sample.answer}|{sample.text_twin}".encode())
    for im in sample.images:
        h.update(png_bytes(im))
    return h.hexdigest()


@pytest.mark.parametrize("name", FAMILIES)
def test_family_contract(name):
    t = tasks.get(name)
    assert len(t.levels) >= 5 and t.description and t.tags and "mixed" in t.forms
    assert t.__doc__ and "Level knobs" in t.__doc__


@pytest.mark.parametrize("name,level", cases())
def test_deterministic_and_forms(name, level):
    t = tasks.get(name)
    for seed in SEEDS:
        a, b = t.generate(seed, level), t.generate(seed, level)
        assert [png_bytes(i) for i in a.images] == [png_bytes(i) for i in b.images]
        assert a.to_record(with_images=False) == b.to_record(with_images=False)
        assert a.prompt.count(IMAGE_TOKEN) == len(a.images) >= 1
        assert all(im.mode == "RGB" for im in a.images)
        # the text twin states the whole problem, without images
        assert a.text_twin and IMAGE_TOKEN not in a.text_twin
        txt = t.generate(seed, level, "text")
        assert txt.prompt == a.text_twin and txt.images == () and txt.answer == a.answer
        mixed = t.generate(seed, level, "mixed")
        assert mixed.form == "mixed" and mixed.answer == a.answer and mixed.id == a.id + "/mixed"
        assert mixed.prompt.count(IMAGE_TOKEN) == len(mixed.images) >= 1
        # a short worked solution that ends in the answer
        assert a.solution.rstrip(". ").endswith(a.answer.rstrip(". ")) and len(a.solution) < 400
        assert set(a.tags) and a.answer_type in ("number", "choice", "grid", "sequence")
    # different seeds give different problems
    assert len({digest(t.generate(s, level)) for s in range(6)}) >= 5


def test_same_bytes_in_a_fresh_process():
    here = {f"{n}/{lv}": digest(tasks.get(n).generate(11, lv)) for n in FAMILIES for lv in (1, 5)}
    code = ("import hashlib, json\nfrom foveal import tasks\nfrom foveal.sample import png_bytes\n"
            f"out = {{}}\nfor n in {FAMILIES!r}:\n  for lv in (1, 5):\n    s = tasks.get(n).generate(11, lv)\n"
            "    h = hashlib.sha256(f'{s.id}|{s.prompt}|{s.answer}|{s.text_twin}'.encode())\n"
            "    [h.update(png_bytes(i)) for i in s.images]\n    out[f'{n}/{lv}'] = h.hexdigest()\n"
            "print(json.dumps(out))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    assert json.loads(r.stdout) == here


def choice_text(sample):
    return sample.choices[ord(sample.answer) - ord("A")]


# -- count ------------------------------------------------------------------------------


def plain(name: str, seed: int, level: int, form: str = "image"):
    """The family's first (original) question, worded directly, drawn in the plain style: what the
    pixel- and wording-level checks below read."""
    t = tasks.get(name)
    return t.generate(seed, level, form, query=t.queries[0], phrasing="direct", style="plain")


@pytest.mark.parametrize("level", range(1, 7))
def test_count_recounted_from_scene_and_pixels(level):
    for seed in SEEDS:
        s = plain("count", seed, level)
        q, objs = s.meta["query"], s.meta["objects"]
        assert int(s.answer) == len([o for o in objs if all(o[k] == v for k, v in q.items())])
        assert 1 <= int(s.answer)
        # every object of the scene is in the picture, at its place, in its colour
        im = s.images[0]
        for o in objs:
            assert im.getpixel((int(o["x"]), int(o["y"]))) == D.COLORS[o["color"]]
        # and the twin lists exactly the scene's objects
        listed = re.findall(r"\ban? (\w+) (\w+)", s.text_twin.split(":", 1)[1].split(". How many")[0])
        assert sorted(listed) == sorted((o["color"], o["shape"]) for o in objs)
    assert s.images[0].size[0] <= 96 or level > 2


def test_count_mixed_total_is_drawn_plus_described():
    t = tasks.get("count")
    for seed in range(10):
        s, m = plain(t.name, seed, 4), plain(t.name, seed, 4, "mixed")
        q = s.meta["query"]
        drawn = [o for i, o in enumerate(s.meta["objects"]) if i not in m.meta["described"]]
        said = re.findall(r"\ban? (\w+) (\w+)", m.prompt.split("not drawn:")[1].split(".")[0])
        hits = sum(all(o[k] == v for k, v in q.items()) for o in drawn)
        hits += sum((("color" not in q or c == q["color"]) and ("shape" not in q or sh == q["shape"]))
                    for c, sh in said)
        assert hits == int(m.answer)
        assert len(drawn) + len(said) == len(s.meta["objects"])


# -- spatial ----------------------------------------------------------------------------


@pytest.mark.parametrize("level", range(1, 7))
def test_spatial_relation_from_coordinates(level):
    for seed in SEEDS:
        s = plain("spatial", seed, level)
        m = re.search(r"Where is the (\w+) (\w+) relative to the (\w+) (\w+)\?", s.text_twin)
        pos = {(c, sh): (int(x), int(y)) for c, sh, x, y in
               re.findall(r"\ban? (\w+) (\w+) at \((\d+), (\d+)\)", s.text_twin)}
        (ax, ay), (bx, by) = pos[m.group(1), m.group(2)], pos[m.group(3), m.group(4)]
        dx, dy = ax - bx, ay - by
        want = ("left" if dx < 0 else "right") if abs(dx) > abs(dy) else ("above" if dy < 0 else "below")
        assert choice_text(s) == want and sorted(s.choices) == sorted(["left", "right", "above", "below"])
        for (c, _), (x, y) in pos.items():  # both named objects are drawn where the twin says
            if (c, _) in ((m.group(1), m.group(2)), (m.group(3), m.group(4))):
                assert s.images[0].getpixel((x, y)) == D.COLORS[c]


# -- chart ------------------------------------------------------------------------------


def chart_answer(question: str, values: dict[str, int]) -> int:
    v = values
    if m := re.search(r"What is the value of (\w)\?", question):
        return v[m.group(1)]
    if "largest value in" in question:
        return max(v.values())
    if "smallest value in" in question:
        return min(v.values())
    if m := re.search(r"How much larger is the value of (\w) than the value of (\w)", question):
        return v[m.group(1)] - v[m.group(2)]
    if m := re.search(r"sum of the values of ([\w, ]+?) and (\w)\?", question):
        return sum(v[k] for k in re.findall(r"\w", m.group(1))) + v[m.group(2)]
    if "total of all" in question:
        return sum(v.values())
    if "between the largest and the smallest" in question:
        return max(v.values()) - min(v.values())
    if m := re.search(r"greater than (\d+)", question):
        return sum(x > int(m.group(1)) for x in v.values())
    raise AssertionError(f"unknown question {question!r}")


@pytest.mark.parametrize("level", range(1, 7))
def test_chart_answer_from_twin_values(level):
    for seed in range(8):
        s = plain("chart", seed, level)
        values = {k: int(x) for k, x in re.findall(r"\b([A-Z]) = (\d+)", s.text_twin)}
        assert list(values) == sorted(values) and len(values) == tasks.get("chart").levels[level]["categories"]
        assert int(s.answer) == chart_answer(s.prompt, values)
        assert values == s.meta["values"]
        mixed = tasks.get("chart").generate(seed, level, "mixed")
        told = dict(re.findall(r"\b([A-Z]) = (\d+)", mixed.prompt))
        assert len(told) == len(values) - 1 and all(values[k] == int(x) for k, x in told.items())


# -- sudoku -----------------------------------------------------------------------------


def count_solutions(grid: list[list[int]], box: tuple[int, int], limit: int = 2) -> tuple[int, list]:
    """Plain backtracking over the first empty cell: (number of solutions up to limit, first one)."""
    n, (br, bc) = len(grid), box
    found: list = []

    def ok(r, c, v):
        if v in grid[r] or any(grid[i][c] == v for i in range(n)):
            return False
        r0, c0 = r - r % br, c - c % bc
        return all(grid[i][j] != v for i in range(r0, r0 + br) for j in range(c0, c0 + bc))

    def go() -> int:
        for r in range(n):
            for c in range(n):
                if grid[r][c] == 0:
                    total = 0
                    for v in range(1, n + 1):
                        if ok(r, c, v):
                            grid[r][c] = v
                            total += go()
                            grid[r][c] = 0
                            if total >= limit:
                                break
                    return total
        if not found:
            found.append([row[:] for row in grid])
        return 1

    return go(), found[0] if found else None


@pytest.mark.parametrize("level", range(1, 7))
def test_sudoku_unique_solution_by_independent_solver(level):
    for seed in range(2 if level >= 4 else 4):
        s = plain("sudoku", seed, level)
        rows = s.text_twin.strip().splitlines()[-s.meta["n"]:]
        grid = [[0 if ch == "." else int(ch) for ch in row] for row in rows]
        n = len(grid)
        box = {4: (2, 2), 6: (2, 3), 9: (3, 3)}[n]
        assert f"{box[0]}x{box[1]} box" in s.prompt
        k, sol = count_solutions(grid, box)
        assert k == 1
        assert s.answer == "\n".join("".join(map(str, r)) for r in sol)
        givens = sum(v > 0 for r in grid for v in r)
        assert givens == s.meta["givens"] and givens >= tasks.get("sudoku").levels[level]["givens"]


def test_sudoku_fewer_givens_as_level_rises_and_mixed_splits_givens():
    t = tasks.get("sudoku")
    g = [t.levels[lv]["givens"] / t.levels[lv]["n"] ** 2 for lv in sorted(t.levels)]
    assert g[0] > g[1] and g[3] > g[4] > g[5]
    s, m = t.generate(5, 3), t.generate(5, 3, "mixed")
    said = re.findall(r"row (\d+), column (\d+) is (\d+)", m.prompt)
    assert said and len(said) == len(m.meta["described"])
    for r, c, v in said:
        assert s.meta["puzzle"][(int(r) - 1) * 6 + int(c) - 1] == int(v)


# -- jigsaw -----------------------------------------------------------------------------


@pytest.mark.parametrize("level", range(1, 7))
def test_jigsaw_reassembled_pieces_equal_the_source(level):
    from PIL import Image

    from foveal.tasks.spatial.jigsaw import GAP, HEADER, source

    for seed in range(3):
        s = plain("jigsaw", seed, level)
        k, piece = s.meta["k"], s.meta["piece"]
        perm = [int(x) for x in s.answer.split()]
        assert sorted(perm) == list(range(k * k)) and perm != list(range(k * k))
        shown = s.images[0]
        rebuilt = Image.new("RGB", (k * piece, k * piece))
        for pos, label in enumerate(perm):  # cut the labelled piece out of the shuffled image
            r, c = divmod(label, k)
            x, y = GAP + c * (piece + GAP), GAP + r * (piece + HEADER + GAP) + HEADER
            rebuilt.paste(shown.crop((x, y, x + piece, y + piece)), ((pos % k) * piece, (pos // k) * piece))
        assert rebuilt.tobytes() == source(s.meta).tobytes()


@pytest.mark.parametrize("level", [1, 3, 6])
def test_jigsaw_twin_solvable_by_matching_corners(level):
    for seed in range(3):
        s = plain("jigsaw", seed, level)
        k = s.meta["k"]
        pieces = {int(p): cs.split() for p, cs in re.findall(r"piece (\d+): ((?:#\w{6} ?){4})", s.text_twin)}
        assert len(pieces) == k * k
        # only the top-left piece has a top-left colour that no other piece shares
        counts: dict[str, int] = {}
        for cs in pieces.values():
            for col in cs:
                counts[col] = counts.get(col, 0) + 1
        layout = [None] * (k * k)
        (layout[0],) = [p for p, cs in pieces.items() if counts[cs[0]] == 1]
        for pos in range(1, k * k):
            r, c = divmod(pos, k)
            if c:  # right neighbour: its top-left/bottom-left are the left piece's top-right/bottom-right
                left = pieces[layout[pos - 1]]
                layout[pos] = next(p for p, cs in pieces.items() if cs[0] == left[1] and cs[2] == left[3])
            else:
                up = pieces[layout[pos - k]]
                layout[pos] = next(p for p, cs in pieces.items() if cs[0] == up[2] and cs[1] == up[3])
        assert " ".join(map(str, layout)) == s.answer


# -- motion -----------------------------------------------------------------------------


def frames_from_twin(twin: str) -> list[dict[tuple[str, str], tuple[int, int]]]:
    out = []
    for body in re.findall(r"Frame \d+: (.*?)\.(?= Frame| [A-Z])", twin):
        out.append({(c, sh): (int(x), int(y)) for c, sh, x, y in
                    re.findall(r"(\w+) (\w+) at \((\d+), (\d+)\)", body)})
    return out


@pytest.mark.parametrize("level", range(1, 7))
def test_motion_answer_from_described_frames(level):
    t = tasks.get("motion")
    for seed, query in ((seed, q) for seed in range(6) for q in t.level_queries(level)):
        s = t.generate(seed, level, query=query, phrasing="direct", style="plain")
        frames = frames_from_twin(s.text_twin)
        assert len(frames) == len(s.images) == s.meta["frames"] and 4 <= len(frames) <= 16
        if m := re.search(r"(?:direction does|which way does|does) the (\w+) (\w+) move", s.text_twin, re.I):
            key = (m.group(1), m.group(2))
            (x0, y0), (x1, y1) = frames[0][key], frames[-1][key]
            h = ("right" if x1 > x0 else "left") if abs(x1 - x0) > 2 else ""
            v = ("down" if y1 > y0 else "up") if abs(y1 - y0) > 2 else ""
            want = {"direction": "-".join(p for p in (v, h) if p), "horizontal": f"to the {h}" if h else "neither",
                    "vertical": v or "neither"}[query]
            assert choice_text(s).split(":")[0] == want
        elif m := re.search(r"In which frame does the (\w+) (\w+) first appear", s.text_twin):
            assert s.answer == str(next(t + 1 for t, f in enumerate(frames) if (m.group(1), m.group(2)) in f))
        else:
            first = {}
            for t_, f in enumerate(frames):
                for key in f:
                    first.setdefault(key, t_)
            order = [f"{c} {sh}" for (c, sh) in sorted(first, key=first.get)]
            assert choice_text(s) == (order[0] if query == "first" else ", ".join(order))
        for f, im in zip(frames, s.images, strict=True):  # each described object is drawn where the twin says
            for (c, sh), (x, y) in f.items():
                alone = all(abs(x - x2) + abs(y - y2) > 40 for k2, (x2, y2) in f.items() if k2 != (c, sh))
                assert not alone or im.getpixel((x, y)) == D.COLORS[c]


def test_motion_mixed_shows_second_half_of_frames():
    t = tasks.get("motion")
    s, m = t.generate(3, 5), t.generate(3, 5, "mixed")
    half = s.meta["frames"] // 2
    assert len(m.images) == s.meta["frames"] - half
    assert [png_bytes(i) for i in m.images] == [png_bytes(i) for i in s.images[half:]]
    assert f"Frame {half}:" in m.prompt and f"Frame {half + 1}:" not in m.prompt


@pytest.mark.parametrize("name,level", cases())
def test_legible_at_default_resolution(name, level):
    """Objects at least 7 px in radius and inside the picture; cells, pieces and bar slots big enough."""
    t, cfg = tasks.get(name), tasks.get(name).levels[level]
    for seed in range(3):
        s = t.generate(seed, level)
        w, h = s.images[0].size
        for o in s.meta.get("objects", []):
            assert o["r"] >= 7 and o["r"] <= o["x"] + 1 and o["x"] + o["r"] <= w + 1 and o["r"] <= o["y"] + 1
        if name == "sudoku":
            assert int(cfg["cell"] * 0.62) >= 1.5 * D.MIN_FONT_PX  # digit size used by sudoku.render
        if name == "jigsaw":
            assert cfg["piece"] >= 32
        if name == "chart":
            assert (w - 36) / cfg["categories"] >= 20 and h >= 100


def test_a_broken_family_module_fails_loudly_naming_its_file(tmp_path):
    """Families live in subpackages (kinds); a broken one names its file. Top-level modules are
    infrastructure: discovery does not import them (a broken one there goes unnoticed until used)."""
    (tmp_path / "brokenkind").mkdir()
    (tmp_path / "brokenkind" / "__init__.py").write_text("")
    (tmp_path / "brokenkind" / "brokenfam.py").write_text("import foveal.no_such_module\n")
    (tmp_path / "brokeninfra.py").write_text("import foveal.no_such_module\n")
    code = ("import sys\nfrom foveal import tasks\n"
            f"tasks.__path__.append({str(tmp_path)!r})\n"
            "try:\n    tasks.names()\nexcept ImportError as e:\n"
            "    print(type(e).__name__, '|', e, '|', type(e.__cause__).__name__)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kind, msg, cause = (p.strip() for p in r.stdout.split("|"))
    assert kind == "FamilyImportError" and cause == "ModuleNotFoundError"
    assert str(tmp_path / "brokenkind" / "brokenfam.py") in msg and "foveal.no_such_module" in msg
    (tmp_path / "brokenkind" / "brokenfam.py").unlink()
    r = subprocess.run([sys.executable, "-c", code + "else:\n    print(len(tasks.names()))\n"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == str(len(tasks.names()))


def test_every_family_lives_in_the_subpackage_of_its_kind_listed_in_the_docs():
    """docs/gym.md's layout table names each kind's families; each family's module is
    `foveal.tasks.<kind>.<module>` for its kind, and every family is listed once."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "gym.md").read_text()
    rows = re.findall(r"^\| `(\w+)/` \| (.+?) \|", doc, flags=re.M)
    listed = {fam: kind for kind, fams in rows for fam in re.findall(r"`(\w+)`", fams)}
    assert sorted(listed) == tasks.names()
    for t in tasks.all_tasks():
        parts = type(t).__module__.split(".")
        assert parts[:2] == ["foveal", "tasks"] and len(parts) == 4 and parts[2] == listed[t.name], t.name
