"""`sudoku`: solve a 4x4, 6x6 or 9x9 Sudoku rendered as an image (VGRP-Bench style).

A full grid comes from a shuffled base pattern; givens are removed in random order while
the puzzle keeps exactly one solution (checked by the solver below) until the level's
target number of givens is reached or no further cell can be removed.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache
from typing import Any

from PIL import Image, ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng
from foveal.tasks.puzzles._puzzle import latin_solve

BOXES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}  # grid size -> (box rows, box cols)


@cache
def units(n: int) -> tuple[tuple[int, ...], ...]:
    """For each cell index, the (row, col, box) unit numbers it belongs to."""
    br, bc = BOXES[n]
    return tuple((i // n, i % n, (i // n) // br * (n // bc) + (i % n) // bc) for i in range(n * n))


def solve(grid: list[int], n: int, limit: int = 2, exclude: tuple[int, int] | None = None) -> list[list[int]]:
    """Up to `limit` solutions of `grid` (0 = empty): the Latin-square search of `_puzzle.latin_solve`
    with the boxes as a third unit (most constrained cell first).

    `exclude=(i, v)` forbids digit v in empty cell i (used to ask "is there another solution?").
    """
    allowed = None
    if exclude is not None:
        allowed = [(1 << n) - 1] * (n * n)
        allowed[exclude[0]] &= ~(1 << (exclude[1] - 1))
    return latin_solve(n, grid, limit, box=boxes(n), allowed=allowed)


@cache
def boxes(n: int) -> tuple[int, ...]:
    """For each cell index, its box number."""
    return tuple(b for _, _, b in units(n))


def full_grid(rng: random.Random, n: int) -> list[int]:
    """A random complete grid. 4x4: one of all 288, uniformly. Larger: the base pattern with shuffled
    digits, rows within bands, bands, columns within stacks and stacks."""
    if n == 4:
        grids = all_grids4()
        return list(grids[rng.randrange(len(grids))])
    br, bc = BOXES[n]
    base = lambda r, c: (bc * (r % br) + r // br + c) % n  # noqa: E731
    bands = rng.sample(range(n // br), n // br)
    rows = [b * br + r for b in bands for r in rng.sample(range(br), br)]
    stacks = rng.sample(range(n // bc), n // bc)
    cols = [s * bc + c for s in stacks for c in rng.sample(range(bc), bc)]
    digits = rng.sample(range(1, n + 1), n)
    return [digits[base(r, c)] for r in rows for c in cols]


@cache
def all_grids4() -> tuple[tuple[int, ...], ...]:
    """Every complete 4x4 Sudoku (there are 288), in the solver's order."""
    return tuple(map(tuple, solve([0] * 16, 4, limit=1000)))


@cache
def unavoidable4(grid: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """For each cell i, the minimal unavoidable sets of a complete 4x4 `grid` that contain i.

    An unavoidable set (a 16-bit cell mask) is where some other complete grid differs from
    `grid`; givens make `grid` the unique solution iff they hit every minimal such set. The sets
    depend only on the pattern, so the grid is first relabelled to have first row 1 2 3 4
    (12 patterns, each computed once).
    """
    relabel = {v: k + 1 for k, v in enumerate(grid[:4])}
    canon = tuple(relabel[v] for v in grid)
    if canon != grid:
        return unavoidable4(canon)
    diffs = sorted({sum(1 << i for i, (a, b) in enumerate(zip(grid, other, strict=True)) if a != b)
                    for other in all_grids4()} - {0}, key=int.bit_count)
    minimal: list[int] = []
    for d in diffs:
        if not any(m & d == m for m in minimal):
            minimal.append(d)
    return tuple(tuple(m for m in minimal if m >> i & 1) for i in range(16))


@cache
def peers(n: int) -> tuple[tuple[int, ...], ...]:
    """For each cell index, the other cells sharing its row, column or box."""
    u = units(n)
    return tuple(tuple(j for j in range(n * n) if j != i and any(a == b for a, b in zip(u[i], u[j], strict=True)))
                 for i in range(n * n))


def candidates(grid: list[int], n: int, i: int) -> int:
    """Bitmask of the digits cell `i` can take given the filled cells of its row, column and box."""
    used = 0
    for j in peers(n)[i]:
        if grid[j]:
            used |= 1 << (grid[j] - 1)
    return ((1 << n) - 1) & ~used


def carve(rng: random.Random, solution: list[int], n: int, givens: int) -> list[int]:
    """Remove cells in random order while the solution stays unique, down to `givens` filled cells.

    The order is the cells sorted by one uniform draw each. 4x4 checks that the remaining givens
    hit every minimal unavoidable set (`unavoidable4`); larger grids ask the solver whether any
    solution has another digit in the removed cell.
    """
    grid = list(solution)
    filled = n * n
    draw = rng.random
    order = sorted(range(n * n), key=lambda _: draw())
    if n == 4:
        sets, kept = unavoidable4(tuple(solution)), (1 << 16) - 1  # kept: mask of the given cells
        for i in order:
            if filled <= givens:
                break
            rest = kept & ~(1 << i)
            if all(d & rest for d in sets[i]):  # the other givens still hit every set through cell i
                kept, grid[i] = rest, 0
                filled -= 1
        return grid
    cells, members = units(n), unit_cells(n)
    used = [0] * (3 * n)  # digit bitmasks of the filled cells: rows, then columns, then boxes
    for i, v in enumerate(grid):
        r, c, b = cells[i]
        used[r] |= 1 << (v - 1)
        used[n + c] |= 1 << (v - 1)
        used[2 * n + b] |= 1 << (v - 1)

    def takes(j: int, bit: int) -> bool:  # could empty cell j hold the digit `bit`, given the filled cells?
        r, c, b = cells[j]
        return not (used[r] | used[n + c] | used[2 * n + b]) & bit

    for i in order:
        if filled <= givens:
            break
        v, bit = grid[i], 1 << (grid[i] - 1)
        grid[i] = 0
        r, c, b = cells[i]
        used[r] ^= bit
        used[n + c] ^= bit
        used[2 * n + b] ^= bit
        # still forced (only v fits cell i, or no other empty cell of one of its units takes v):
        # unique without search; otherwise unique iff no solution has another digit here
        if (candidates(grid, n, i) == bit
                or any(not any(takes(j, bit) for j in members[u] if j != i and not grid[j])
                       for u in (r, n + c, 2 * n + b))
                or not solve(grid, n, limit=1, exclude=(i, v))):
            filled -= 1
            continue
        grid[i] = v
        used[r] |= bit
        used[n + c] |= bit
        used[2 * n + b] |= bit
    return grid


@cache
def unit_cells(n: int) -> tuple[tuple[int, ...], ...]:
    """The cells of each unit: rows 0..n-1, then columns n..2n-1, then boxes 2n..3n-1."""
    out: list[list[int]] = [[] for _ in range(3 * n)]
    for i, (r, c, b) in enumerate(units(n)):
        out[r].append(i)
        out[n + c].append(i)
        out[2 * n + b].append(i)
    return tuple(map(tuple, out))


DIGITS = bytes.maketrans(bytes(range(10)), b".123456789")  # cell value -> its character


def rows_text(grid: list[int], n: int, blank: str = ".") -> str:
    """The grid as n lines of n characters, `blank` for empty cells."""
    flat = bytes(grid).translate(DIGITS).decode().replace(".", blank)
    return "\n".join([flat[r * n:(r + 1) * n] for r in range(n)])


PAD = 6  # margin around the board, pixels


@cache
def board(n: int, cell: int, style: str) -> Image.Image:
    """The empty board in `style`: thin cell lines and bold box lines (drawn once per size and
    style, then copied)."""
    im = D.canvas(n * cell + 2 * PAD)
    D.grid_lines(ImageDraw.Draw(im), PAD, PAD, cell, n, n, width=1, bold_every=BOXES[n])
    return im


def render(grid: list[int], n: int, cell: int):
    """The board with the given digits centred in their cells."""
    pad, im, size = PAD, board(n, cell, S.current().name).copy(), int(cell * 0.62)
    for i, v in enumerate(grid):
        if v:  # pasting cached glyph masks is ~4x faster than drawing text each time
            r, c = divmod(i, n)
            label(im, (pad + (2 * c + 1) * cell // 2, pad + (2 * r + 1) * cell // 2), str(v), size)
    return im


@register
class Sudoku(Task):
    """Solve a Sudoku from its image: 4x4 at low levels up to 9x9, fewer givens as the level rises.

    Level knobs:
        n: grid size (4, 6 or 9; boxes 2x2, 2x3, 3x3).
        givens: target number of given digits (fewer is harder); carving stops earlier if no
            further cell can be removed without losing uniqueness.
        cell: cell side in pixels.

    Queries (every puzzle has exactly one solution):
        grid: the solved rows, top to bottom, one line each, digits without spaces,
            e.g. "1234\\n3412\\n2143\\n4321" (the original question).
        cell: the digit of one empty cell of the solution (a number).
        row, column: one line of the solution holding an empty cell, its digits on one line
            (a one-row grid, e.g. "3412").

    Problem space: a 4x4 Sudoku has 288 complete grids, but level 1's puzzles (10 givens carved
    from them in random order) number in the millions (Chao1 from 2,000 draws), so no level is
    small by nature.

    Mixed form: a third of the givens are listed in text instead of drawn.
    """

    name = "sudoku"
    modality = "image"
    description = "Solve a Sudoku shown as an image, 4x4 to 9x9 with fewer givens at higher levels (grid)."
    tags = ("logic", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "grid": {
            "direct": "Fill the empty cells of this {n}x{n} Sudoku so that every row, every column and every "
                      "{box} box contains each digit 1-{n} exactly once. Answer with the completed grid, one row "
                      "per line, top to bottom, digits without spaces.",
            "imperative": "Solve this {n}x{n} Sudoku: every row, every column and every {box} box must contain "
                          "each digit 1-{n} exactly once. Write the completed grid, one row per line, top to "
                          "bottom, digits without spaces.",
            "polite": "Could you solve this {n}x{n} Sudoku so that every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once? Please give the completed grid, one row per line, "
                      "top to bottom, digits without spaces.",
            "terse": "{n}x{n} Sudoku, each digit 1-{n} once per row, column and {box} box. Completed grid? One "
                     "row per line, top to bottom, digits without spaces.",
        },
        "cell": {
            "direct": "This {n}x{n} Sudoku has one solution in which every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once. In the solved grid, what is the digit in row "
                      "{row}, column {col} (rows counted from the top, columns from the left)? Answer with a "
                      "single number.",
            "imperative": "Solve this {n}x{n} Sudoku (every row, every column and every {box} box contains each "
                          "digit 1-{n} exactly once) and give the digit in row {row}, column {col} (rows counted "
                          "from the top, columns from the left). Answer with a single number.",
            "polite": "Could you tell me which digit goes in row {row}, column {col} (rows counted from the top, "
                      "columns from the left) of this {n}x{n} Sudoku, where every row, every column and every "
                      "{box} box contains each digit 1-{n} exactly once? Answer with a single number.",
            "terse": "{n}x{n} Sudoku, each digit 1-{n} once per row, column and {box} box. Row {row}, column "
                     "{col} (from the top, from the left): digit? Answer with a single number.",
        },
        "row": {
            "direct": "This {n}x{n} Sudoku has one solution in which every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once. In the solved grid, what does row {row}, counted "
                      "from the top, read from left to right? Answer with its digits on one line, without spaces.",
            "imperative": "Solve this {n}x{n} Sudoku (every row, every column and every {box} box contains each "
                          "digit 1-{n} exactly once) and write row {row}, counted from the top, from left to "
                          "right. Answer with its digits on one line, without spaces.",
            "polite": "Could you tell me what row {row}, counted from the top, of this {n}x{n} Sudoku reads from "
                      "left to right once solved, given that every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once? Answer with its digits on one line, without "
                      "spaces.",
            "terse": "{n}x{n} Sudoku, each digit 1-{n} once per row, column and {box} box. Solved row {row} "
                     "from the top, left to right? Answer with its digits on one line, without spaces.",
        },
        "column": {
            "direct": "This {n}x{n} Sudoku has one solution in which every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once. In the solved grid, what does column {col}, "
                      "counted from the left, read from top to bottom? Answer with its digits on one line, "
                      "without spaces.",
            "imperative": "Solve this {n}x{n} Sudoku (every row, every column and every {box} box contains each "
                          "digit 1-{n} exactly once) and write column {col}, counted from the left, from top to "
                          "bottom. Answer with its digits on one line, without spaces.",
            "polite": "Could you tell me what column {col}, counted from the left, of this {n}x{n} Sudoku reads "
                      "from top to bottom once solved, given that every row, every column and every {box} box "
                      "contains each digit 1-{n} exactly once? Answer with its digits on one line, without "
                      "spaces.",
            "terse": "{n}x{n} Sudoku, each digit 1-{n} once per row, column and {box} box. Solved column {col} "
                     "from the left, top to bottom? Answer with its digits on one line, without spaces.",
        },
    }
    levels = {
        1: dict(n=4, givens=10, cell=32),
        2: dict(n=4, givens=6, cell=32),
        3: dict(n=6, givens=18, cell=30),
        4: dict(n=9, givens=40, cell=28),
        5: dict(n=9, givens=32, cell=28),
        6: dict(n=9, givens=26, cell=28),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n = cfg["n"]
        solution = full_grid(rng, n)
        puzzle = carve(rng, solution, n, cfg["givens"])
        answer_grid = rows_text(solution, n)
        first = next((i for i, v in enumerate(puzzle) if not v and candidates(puzzle, n, i).bit_count() == 1),
                     None)
        hint = (f"r{first // n + 1}c{first % n + 1} can only be {solution[first]}, and continuing cell by "
                f"cell" if first is not None else "Trying candidates and eliminating contradictions")
        sol = f"Using the row, column and box rules, {hint} gives the unique solution:\n{answer_grid}"
        br, bc = BOXES[n]
        slots: dict[str, Any] = {"n": n, "box": f"{br}x{bc}"}
        meta: dict[str, Any] = {"n": n, "cell": cfg["cell"], "puzzle": puzzle, "givens": sum(map(bool, puzzle))}
        empty = [i for i, v in enumerate(puzzle) if not v]
        query = self.query
        if query == "cell":
            i = rng.choice(empty)
            answer, answer_type = str(solution[i]), "number"
            slots.update(row=i // n + 1, col=i % n + 1)
            sol += f"\nRow {i // n + 1}, column {i % n + 1} holds {answer}. The answer is {answer}."
            meta["ask"] = [i // n, i % n]
        elif query in ("row", "column"):
            k = rng.choice(sorted({(i // n, i % n)[query == "column"] for i in empty}))
            cells = range(k * n, (k + 1) * n) if query == "row" else range(k, n * n, n)
            answer, answer_type = "".join(str(solution[i]) for i in cells), "grid"
            slots["row" if query == "row" else "col"] = k + 1
            sol += f"\nIts {query} {k + 1} reads {answer}. The answer is {answer}."
            meta["line"] = [query, k]
        else:
            answer, answer_type = answer_grid, "grid"
        question = self.ask(**slots)
        twin = f"{question}\nThe grid, row by row ('.' is an empty cell):\n{rows_text(puzzle, n)}"
        return self.sample(
            seed, level, prompt=self.image_prompt(question), images=(self.picture(render, puzzle, n, cfg["cell"]),),
            answer=answer, answer_type=answer_type, text_twin=twin, solution=sol,
            meta={**meta, "question": question, "solution_grid": answer_grid},
        )

    def mixed(self, sample: Sample) -> Sample:
        """Draw two thirds of the givens; list the rest in text as 'row r, column c is v'."""
        m = sample.meta
        n, puzzle = m["n"], m["puzzle"]
        given = [i for i, v in enumerate(puzzle) if v]
        told = sorted(task_rng(f"{self.name}/mixed", sample.seed, sample.level).sample(given, len(given) // 3))
        drawn = [0 if i in told else v for i, v in enumerate(puzzle)]
        said = "; ".join(f"row {i // n + 1}, column {i % n + 1} is {puzzle[i]}" for i in told)
        prompt = self.image_prompt(f"{m['question']}\nBesides the digits drawn, these cells are given: {said}.")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(drawn, n, m["cell"]),), meta={**m, "described": told})
