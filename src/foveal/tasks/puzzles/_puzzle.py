"""Helpers shared by the grid-puzzle and game families (underscore module: not a family).

Cells are addressed (row, col) from the top-left, 0-based in code and 1-based in every
prompt. A grid answer is its rows top to bottom, one per line: single-character cells
written without separators ("1234\\n3412"), longer cells separated by spaces.

What is here:
    grid_text             a grid of cells as answer/twin text
    latin_square          a random n×n Latin square
    latin_solve           completions of a partial Latin square (optionally with boxes: Sudoku)
    line_solutions        binary-grid search: every row and every column drawn from option lists
    reveal_until_unique   add givens from the true solution until a solver finds only it
    unique_binary_grid    a random 0/1 grid whose clues have a unique solution, else with givens revealed
    board                 a blank board image with margins for clues, and cell centres
    GridPuzzle            the Task base of the puzzles: rules + board -> Sample, "cell" questions, mixed form
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks.base import Task, task_rng

PAD = 6  # pixels around every board


def grid_text(grid: Sequence[Sequence[Any]], blank: str = ".") -> str:
    """Rows top to bottom, one per line; cells without separators if all are one character, else spaced.

    Cells equal to None or 0-as-"empty" are the caller's business: pass them already as strings,
    or None, which prints as `blank`.
    """
    rows = [[blank if v is None else str(v) for v in row] for row in grid]
    sep = "" if all(len(v) == 1 for row in rows for v in row) else " "
    return "\n".join(sep.join(row) for row in rows)


def known_cells(givens: dict[int, int], n: int, marks: dict[int, tuple[str, str]]) -> str:
    """The text twin's block of revealed cells of an n×n board: a legend, then the grid.

    givens: {row * n + col: value}; marks: {value: (symbol, meaning)}, legend in this order;
    unknown cells print as '.'.
    """
    legend = ", ".join(f"'{sym}' {meaning}" for sym, meaning in marks.values())
    cells = [marks[givens[i]][0] if i in givens else "." for i in range(n * n)]
    return f"\nKnown cells ({legend}, '.' unknown):\n" + grid_text(chunk(cells, n))


def chunk(flat: Sequence[Any], cols: int) -> list[list[Any]]:
    return [list(flat[i:i + cols]) for i in range(0, len(flat), cols)]


def latin_square(rng: random.Random, n: int) -> list[list[int]]:
    """A random n×n Latin square over 1..n: random row-by-row construction with backtracking."""
    while True:
        rows: list[list[int]] = []
        cols = [set() for _ in range(n)]
        ok = True
        for _ in range(n):
            row = _latin_row(rng, n, cols)
            if row is None:
                ok = False
                break
            rows.append(row)
            for c, v in enumerate(row):
                cols[c].add(v)
        if ok:
            return rows


def _latin_row(rng: random.Random, n: int, cols: list[set[int]]) -> list[int] | None:
    """A random row avoiding each column's used values (a random perfect matching, by backtracking)."""
    row = [0] * n
    used: set[int] = set()

    def fill(c: int) -> bool:
        if c == n:
            return True
        opts = [v for v in range(1, n + 1) if v not in used and v not in cols[c]]
        rng.shuffle(opts)
        for v in opts:
            row[c] = v
            used.add(v)
            if fill(c + 1):
                return True
            used.discard(v)
        return False

    return row if fill(0) else None


def latin_solve(n: int, grid: Sequence[int], limit: int = 2, box: Sequence[int] | None = None,
                allowed: Sequence[int] | None = None,
                less: Sequence[tuple[int, int]] = ()) -> list[list[int]]:
    """Up to `limit` completions of the flat n×n `grid` (0 = empty) with each digit 1..n at most once
    in every row, every column and, given `box` (box[i]: the box number of cell i, 0..n-1), every box.

    Digit sets are bitmasks (bit v-1 = digit v). `allowed[i]`: the digits cell i may take at all;
    `less`: pairs (a, b) meaning cell a < cell b (Futoshiki's signs): a filled cell bounds its
    partner's digits, an empty one keeps 1 out of the larger cell and n out of the smaller. Search:
    the empty cell with the fewest candidates first (the first of a tie), its digits in increasing
    order; solutions come in that order. [] if the givens already clash.
    """
    full = (1 << n) - 1
    where = _latin_cells(n, None if box is None else tuple(box))
    rows, cols, boxes = [0] * n, [0] * n, [0] * (n * n)
    for i, v in enumerate(grid):
        if v:
            r, c, b = where[i]
            bit = 1 << (v - 1)
            if (rows[r] | cols[c] | boxes[b]) & bit:
                return []
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
    base = list(allowed) if allowed is not None else [full] * (n * n)
    # bounds[i]: (j, table) pairs; table[g[j]] is the mask cell i keeps given cell j's digit (0: empty)
    bounds: list[list[tuple[int, list[int]]]] = [[] for _ in range(n * n)]
    if less:
        above = [~1] + [~((1 << v) - 1) for v in range(1, n + 1)]  # digits larger than v
        below = [~(1 << (n - 1))] + [(1 << (v - 1)) - 1 for v in range(1, n + 1)]  # digits smaller than v
        for a, b in less:
            bounds[b].append((a, above))
            bounds[a].append((b, below))
    g = list(grid)
    empty = [i for i, v in enumerate(g) if not v]
    out: list[list[int]] = []

    def search(k: int) -> None:
        if k == len(empty):
            out.append(list(g))
            return
        best, best_m, best_n = k, 0, n + 1
        for j in range(k, len(empty)):
            i = empty[j]
            r, c, b = where[i]
            m = base[i] & ~(rows[r] | cols[c] | boxes[b])
            for other, table in bounds[i]:
                m &= table[g[other]]
            cnt = m.bit_count()
            if cnt < best_n:
                best, best_m, best_n = j, m, cnt
                if cnt <= 1:
                    break
        if best_n == 0:
            return
        empty[k], empty[best] = empty[best], empty[k]
        i = empty[k]
        r, c, b = where[i]
        m = best_m
        while m and len(out) < limit:
            bit = m & -m
            m ^= bit
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            g[i] = bit.bit_length()
            search(k + 1)
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
        g[i] = 0
        empty[k], empty[best] = empty[best], empty[k]

    search(0)
    return out


@cache
def _latin_cells(n: int, box: tuple[int, ...] | None) -> tuple[tuple[int, int, int], ...]:
    """(row, column, box) of each cell; without a box rule each cell is its own box, which never clashes."""
    return tuple((i // n, i % n, i if box is None else box[i]) for i in range(n * n))


def line_solutions(row_opts: Sequence[Sequence[int]], col_opts: Sequence[Sequence[int]], n_rows: int,
                   n_cols: int, limit: int = 2,
                   accept: Callable[[list[int]], bool] | None = None) -> list[tuple[int, ...]]:
    """Up to `limit` binary grids whose row r is one of `row_opts[r]` and column c one of `col_opts[c]`.

    A row option is a bitmask over columns (bit c = column c), a column option a bitmask over rows
    (bit r = row r). Rows are chosen top to bottom; after each row every column keeps only the options
    agreeing with it, and a row is tried only if every column still has an option. `accept` is a final
    check on the complete grid (row masks) for rules that are not per-line. Returns row-mask tuples.
    """
    out: list[tuple[int, ...]] = []
    rows: list[int] = []

    def rec(r: int, cols: list[list[int]]) -> None:
        if r == n_rows:
            if accept is None or accept(rows):
                out.append(tuple(rows))
            return
        can1 = can0 = 0
        for c in range(n_cols):
            b1 = b0 = False
            for o in cols[c]:
                if o >> r & 1:
                    b1 = True
                else:
                    b0 = True
                if b1 and b0:
                    break
            can1 |= b1 << c
            can0 |= b0 << c
        full = (1 << n_cols) - 1
        for m in row_opts[r]:
            if m & ~can1 or (~m & full) & ~can0:
                continue
            new = [[o for o in cols[c] if (o >> r & 1) == (m >> c & 1)] for c in range(n_cols)]
            rows.append(m)
            rec(r + 1, new)
            rows.pop()
            if len(out) >= limit:
                return

    rec(0, [list(o) for o in col_opts])
    return out


def filter_options(n: int, row_opts, col_opts, givens: dict[int, int]) -> tuple[list[list[int]], list[list[int]]]:
    """Row/column option lists of an n×n binary grid keeping only options that agree with `givens`.

    `row_opts`/`col_opts` are either one sequence shared by every line or one sequence per line
    (sequence of sequences); `givens` maps flat cell index -> 0/1.
    """
    per_line = lambda opts: opts if opts and not isinstance(opts[0], int) else [opts] * n  # noqa: E731
    row_opts, col_opts = per_line(row_opts), per_line(col_opts)
    rk, rv, ck, cv = [0] * n, [0] * n, [0] * n, [0] * n
    for i, v in givens.items():
        r, c = divmod(i, n)
        rk[r] |= 1 << c
        rv[r] |= v << c
        ck[c] |= 1 << r
        cv[c] |= v << r
    return ([[m for m in row_opts[r] if m & rk[r] == rv[r]] for r in range(n)],
            [[m for m in col_opts[c] if m & ck[c] == cv[c]] for c in range(n)])


def masks_to_grid(rows: Sequence[int], n_cols: int) -> list[list[int]]:
    return [[m >> c & 1 for c in range(n_cols)] for m in rows]


def reveal_until_unique(rng: random.Random, truth: Sequence[Any],
                        solve: Callable[[dict[int, Any]], list[Sequence[Any]]],
                        givens: dict[int, Any] | None = None) -> dict[int, Any]:
    """Givens {flat cell index: value} from `truth` that make `solve(givens)` (≤2 solutions, flat) unique.

    While the solver finds a second solution, one cell where it differs from `truth` becomes a given.
    Ends because each round fixes a cell on which some alternative disagreed.
    """
    givens = dict(givens or {})
    truth = list(truth)
    while True:
        sols = [list(s) for s in solve(givens)]
        other = next((s for s in sols if s != truth), None)
        if other is None:
            return givens
        diff = [i for i, (a, b) in enumerate(zip(truth, other, strict=True)) if a != b]
        i = rng.choice(diff)
        givens[i] = truth[i]


def unique_binary_grid(rng: random.Random, n: int, density: float, tries: int,
                       clues: Callable[[list[list[int]]], tuple[Any, Any]],
                       solve: Callable[[Any, Any, dict[int, int]], list[Sequence[int]]],
                       ) -> tuple[list[list[int]], Any, Any, dict[int, int]]:
    """A random n×n 0/1 grid (each cell 1 with chance `density`), its (row, column) `clues` and givens.

    The first of `tries` grids whose clues `solve(rows, cols, givens)` (≤2 flat solutions) finds
    unique comes with no givens; if none is, the last one comes with cells revealed by
    `reveal_until_unique` until it is. Returns (grid, rows, cols, givens {flat index: 0/1}).
    """
    for _ in range(tries):
        grid = [[int(rng.random() < density) for _ in range(n)] for _ in range(n)]
        rows, cols = clues(grid)
        if len(solve(rows, cols, {})) == 1:
            return grid, rows, cols, {}
    flat = [v for row in grid for v in row]
    return grid, rows, cols, reveal_until_unique(rng, flat, lambda g: solve(rows, cols, g))


def board(rows: int, cols: int, cell: int, left: int = 0, top: int = 0, right: int = 0, bottom: int = 0,
          lines: bool = True) -> tuple[Image.Image, ImageDraw.ImageDraw, int, int]:
    """An image (the style's background) holding a rows×cols board of `cell`-pixel cells, with clue margins on each side.

    Returns (image, draw, x0, y0) where (x0, y0) is the board's top-left corner.
    """
    w = PAD * 2 + left + right + cols * cell
    h = PAD * 2 + top + bottom + rows * cell
    im = D.canvas(w, h)
    d = ImageDraw.Draw(im)
    x0, y0 = PAD + left, PAD + top
    if lines:
        D.grid_lines(d, x0, y0, cell, rows, cols, width=D.width(1))
        d.rectangle([x0 - 1, y0 - 1, x0 + cols * cell + 1, y0 + rows * cell + 1], outline=D.ink(), width=D.width(2))
    return im, d, x0, y0


def centre(x0: int, y0: int, cell: int, r: int, c: int) -> tuple[float, float]:
    return x0 + (c + 0.5) * cell, y0 + (r + 0.5) * cell


def fill_cell(d: ImageDraw.ImageDraw, x0: int, y0: int, cell: int, r: int, c: int,
              color: tuple[int, int, int] = (40, 40, 40)) -> None:
    d.rectangle([x0 + c * cell + 1, y0 + r * cell + 1, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1],
                fill=color)


def font_px(cell: int, frac: float = 0.6) -> int:
    """Font size for digits in a `cell`-pixel cell (at least draw.MIN_FONT_PX)."""
    return max(D.MIN_FONT_PX, int(cell * frac))


_CELL = "row {row}, column {col}"
_FROM = "(rows counted from the top, columns from the left)"
_ONE_LINE = "Answer with its values on one line, written as {legend}."
# The questions every grid puzzle asks about its unique solution ({query: {phrasing: template}}).
QUESTIONS: dict[str, dict[str, str]] = {
    "grid": {
        "direct": "Answer with the solved grid, one row per line from top to bottom, written as {legend}.",
        "imperative": "Solve the puzzle and write the solved grid, one row per line from top to bottom, "
                      "as {legend}.",
        "polite": "Could you solve the puzzle and give the solved grid, one row per line from top to bottom, "
                  "written as {legend}?",
        "terse": "Solved grid? One row per line, top to bottom, as {legend}.",
    },
    "cell": {
        "direct": f"In the solved grid, what is the value of the cell in {_CELL} {_FROM}? "
                  "Answer with a single number.",
        "imperative": f"Give the value of the cell in {_CELL} of the solved grid {_FROM}. "
                      "Answer with a single number.",
        "polite": f"Could you tell me the value of the cell in {_CELL} of the solved grid {_FROM}? "
                  "Answer with a single number.",
        "terse": f"Solved grid, {_CELL} {_FROM}: value? Answer with a single number.",
    },
    "row": {
        "direct": f"In the solved grid, what does row {{row}}, counted from the top, read from left to right? "
                  f"{_ONE_LINE}",
        "imperative": f"Write row {{row}} of the solved grid, counted from the top, from left to right. {_ONE_LINE}",
        "polite": f"Could you tell me what row {{row}} of the solved grid, counted from the top, reads from left "
                  f"to right? {_ONE_LINE}",
        "terse": f"Solved grid, row {{row}} from the top, left to right? {_ONE_LINE}",
    },
    "column": {
        "direct": f"In the solved grid, what does column {{col}}, counted from the left, read from top to "
                  f"bottom? {_ONE_LINE}",
        "imperative": f"Write column {{col}} of the solved grid, counted from the left, from top to bottom. "
                      f"{_ONE_LINE}",
        "polite": f"Could you tell me what column {{col}} of the solved grid, counted from the left, reads from "
                  f"top to bottom? {_ONE_LINE}",
        "terse": f"Solved grid, column {{col}} from the left, top to bottom? {_ONE_LINE}",
    },
}
EASY = ("cell", "row", "column", "grid")  # level 1's queries: its original question (one cell) first
HARD = ("grid", "cell", "row", "column")  # higher levels': the whole grid first


class GridPuzzle(Task):
    """Base of the grid puzzles: turns (rules, board image, board text, solution grid) into a Sample.

    Queries (`QUESTIONS`), all about the unique solution: `grid` (the whole solved grid), `cell`
    (one cell's value, a number), `row` and `column` (one line of it, written on one line like a
    one-row grid). `cell`, `row` and `column` pick a cell or line that is not fully given (`free`).
    Each level lists its queries in the knob `queries`, its original question first (level 1:
    `EASY`, a cell; higher levels: `HARD`, the grid), so that query under the direct phrasing and
    the plain style reproduces the family's sample from before queries existed.
    `answer_legend` says how grid answers are written (e.g. "1 for a star, 0 for an empty cell").
    Subclasses implement `make` and `render(meta, hide)`; the mixed form moves the clues listed by
    `split(meta, rng)` into text (`hide` tells `render` not to draw them).
    """

    forms = ("image", "text", "mixed")
    answer_legend: str = "digits"
    questions = QUESTIONS

    def finish(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int, *, rules: str,
               board_text: str, solution: Sequence[Sequence[Any]], note: str, meta: dict[str, Any],
               free: Sequence[tuple[int, int]] | None = None) -> Sample:
        """Assemble the sample for the current query. `free`: cells a cell, row or column question may
        ask about (default: all); a row or column question asks about a line holding one of them."""
        answer_grid = grid_text(solution)
        query = self.query
        cells = list(free) if free else [(r, c) for r in range(len(solution)) for c in range(len(solution[0]))]
        if query == "cell":
            r, c = rng.choice(cells)
            answer = str(solution[r][c])
            ask = self.ask(row=r + 1, col=c + 1)
            sol = f"{note} In the unique solution, row {r + 1} reads {' '.join(map(str, solution[r]))}, " \
                  f"so the cell in column {c + 1} is {answer}. The answer is {answer}."
            answer_type = "number"
            meta = {**meta, "ask": [r, c]}
        elif query in ("row", "column"):
            k = rng.choice(sorted({rc[query == "column"] for rc in cells}))
            line = solution[k] if query == "row" else [row[k] for row in solution]
            answer, answer_type = grid_text([line]), "grid"
            ask = self.ask(row=k + 1, legend=self.answer_legend) if query == "row" else \
                self.ask(col=k + 1, legend=self.answer_legend)
            sol = f"{note} The unique solution is:\n{answer_grid}\nIts {query} {k + 1} reads {answer}. " \
                  f"The answer is {answer}."
            meta = {**meta, "line": [query, k]}
        else:
            answer, answer_type = answer_grid, "grid"
            ask = self.ask(legend=self.answer_legend)
            sol = f"{note} The unique solution is:\n{answer_grid}"
        meta = {**meta, "rules": rules, "ask_text": ask, "solution_grid": answer_grid}
        return self.sample(
            seed, level, prompt=self.image_prompt(f"{rules}\n{ask}"), images=(self.picture(self.render, meta, ()),),
            answer=answer, answer_type=answer_type,
            text_twin=f"{rules}\n{board_text}\n{ask}", solution=sol, meta=meta)

    def render(self, meta: dict[str, Any], hide: Sequence[Any]) -> Image.Image:
        raise NotImplementedError

    def split(self, meta: dict[str, Any], rng: random.Random) -> tuple[list[Any], str]:
        """(clues to leave out of the picture, the sentence stating them in text)."""
        raise NotImplementedError

    def mixed(self, sample: Sample) -> Sample:
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        hide, said = self.split(sample.meta, rng)
        m = sample.meta
        prompt = self.image_prompt(f"{m['rules']}\nNot everything is drawn: {said}\n{m['ask_text']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(self.render(m, hide),), meta={**m, "described": [list(h) if isinstance(h, tuple)
                                                                                  else h for h in hide]})


def third(items: Sequence[Any], rng: random.Random) -> list[Any]:
    """A random third (at least one) of `items`, in their original order."""
    k = max(1, len(items) // 3) if items else 0
    idx = sorted(rng.sample(range(len(items)), k))
    return [items[i] for i in idx]
