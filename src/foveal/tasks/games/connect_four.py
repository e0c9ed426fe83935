"""`connect_four`: read a Connect Four position and name the winner, the winning or blocking column, or
the column that wins by force within two moves (exhaustive search to that depth).

Boards are lists of rows, top row first, cells 'R' (red, moves first), 'Y' (yellow) or '.'. Pieces
drop to the lowest empty cell of a column. Columns are numbered 1..cols from the left and the
picture labels them.
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
from foveal.tasks.puzzles._puzzle import PAD

PIECE = {"R": (220, 40, 40), "Y": (245, 205, 30), ".": (255, 255, 255)}
NAME = {"R": "Red", "Y": "Yellow"}


def to_move(b: list[str]) -> str:
    flat = "".join(b)
    return "R" if flat.count("R") == flat.count("Y") else "Y"


def drop(b: list[str], c: int, p: str) -> tuple[list[str], int] | None:
    """The board after `p` drops in column c and the row it lands in, or None if the column is full."""
    for r in range(len(b) - 1, -1, -1):
        if b[r][c] == ".":
            nb = list(b)
            nb[r] = b[r][:c] + p + b[r][c + 1:]
            return nb, r
    return None


def wins_at(b: list[str], r: int, c: int) -> bool:
    """Whether the piece at (r, c) is part of four in a row."""
    p, rows, cols = b[r][c], len(b), len(b[0])
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        k = 1
        for s in (1, -1):
            rr, cc = r + s * dr, c + s * dc
            while 0 <= rr < rows and 0 <= cc < cols and b[rr][cc] == p:
                k, rr, cc = k + 1, rr + s * dr, cc + s * dc
        if k >= 4:
            return True
    return False


# Bitboards for the searches: column c, row r (0 = bottom) is bit c·(rows+1) + r; the extra bit on
# top of each column keeps shifted lines from wrapping into the next column.
def bits(b: list[str], p: str) -> tuple[int, int]:
    """(pieces of `p`, all pieces) of board `b` as bitboards."""
    rows = len(b)
    mine = every = 0
    for r in range(rows):
        for c, v in enumerate(b[r]):
            if v != ".":
                bit = 1 << (c * (rows + 1) + rows - 1 - r)
                every |= bit
                if v == p:
                    mine |= bit
    return mine, every


def four(x: int, rows: int) -> bool:
    """Whether bitboard x holds four in a row: vertical, horizontal or either diagonal."""
    for s in (1, rows + 1, rows, rows + 2):
        y = x & (x >> s)
        if y & (y >> 2 * s):
            return True
    return False


def move_bit(every: int, c: int, rows: int) -> int:
    """The bit a piece dropped in column c lands on, or 0 if the column is full."""
    bottom = 1 << (c * (rows + 1))
    column = ((1 << rows) - 1) << (c * (rows + 1))
    landed = (every + bottom) & column & ~every
    return landed


def winning_cols(b: list[str], p: str) -> list[int]:
    """Columns where `p` dropping a piece makes four in a row."""
    rows = len(b)
    mine, every = bits(b, p)
    return [c for c in range(len(b[0])) if (m := move_bit(every, c, rows)) and four(mine | m, rows)]


def has_winner(b: list[str]) -> str | None:
    for r in range(len(b)):
        for c in range(len(b[0])):
            if b[r][c] != "." and wins_at(b, r, c):
                return b[r][c]
    return None


def forced_two(b: list[str], p: str) -> list[int]:
    """Columns c where, after `p` plays c (not winning at once), every reply by the opponent (none of which
    wins) leaves `p` an immediate win: a forced win in two of `p`'s moves."""
    rows, cols = len(b), len(b[0])
    mine, every = bits(b, p)
    theirs = every & ~mine
    out = []
    for c in range(cols):
        m = move_bit(every, c, rows)
        if not m or four(mine | m, rows):
            continue
        me1, all1 = mine | m, every | m
        ok, replied = True, False
        for d in range(cols):
            r = move_bit(all1, d, rows)
            if not r:
                continue
            replied = True
            all2 = all1 | r
            if four(theirs | r, rows) or not any(
                    (w := move_bit(all2, e, rows)) and four(me1 | w, rows) for e in range(cols)):
                ok = False
                break
        if ok and replied:
            out.append(c)
    return out


def random_position(rng: random.Random, rows: int, cols: int, moves: int) -> list[str]:
    """A board after `moves` random moves on which no one has four in a row (redrawn until so)."""
    while True:
        b = ["." * cols] * rows
        ok = True
        for _ in range(moves):
            c = rng.choice([c for c in range(cols) if b[0][c] == "."])
            b, r = drop(b, c, to_move(b))
            if wins_at(b, r, c):
                ok = False
                break
        if ok:
            return b


@register
class ConnectFour(Task):
    """Connect Four positions: who won, the winning column, the blocking column, the forced win in two,
    how many pieces of a colour, how many pieces in a column.

    Queries: "winner" (finished game; choice Red/Yellow/nobody), "win" (the one column that wins at
    once; number), "block" (the one column that stops the opponent's immediate win; number), "win2"
    (the one column after which every reply still loses to an immediate win; number), "count" (how
    many pieces of a named colour; number), "height" (how many pieces in a named column; number).

    Level knobs:
        rows, cols: board size.
        queries: the queries the level asks; its first is the question the level asked before queries
            existed.
        moves: (min, max) pieces already on the board; (0, 0) means finished games (random play to the
            end), which "winner" always uses.
        cell: cell side in pixels.

    Mixed form: the pieces of the bottom row are stated in text and not drawn.
    """

    name = "connect_four"
    description = "Connect Four: winner, winning/blocking column, forced win in two, or counting pieces."
    tags = ("planning", "logic", "spatial")
    forms = ("image", "text", "mixed")
    questions = {
        "winner": {
            "direct": "This game is over. Who won?",
            "imperative": "This game is over. Name the winner.",
            "polite": "This game is over. Could you tell me who won?",
            "terse": "Game over: winner?",
        },
        "win": {
            "direct": "It is {me}'s turn. In which column should {me} drop a piece to win at once?",
            "imperative": "It is {me}'s turn. Find the column where {me} drops a piece to win at once.",
            "polite": "It is {me}'s turn. Could you tell me in which column {me} should drop a piece to win at once?",
            "terse": "{me}'s turn: column where {me} wins at once?",
        },
        "block": {
            "direct": "It is {me}'s turn. In which column must {me} drop a piece to stop the opponent from winning "
                      "on the next move?",
            "imperative": "It is {me}'s turn. Find the column where {me} must drop a piece to stop the opponent from "
                          "winning on the next move.",
            "polite": "It is {me}'s turn. Could you tell me in which column {me} must drop a piece to stop the "
                      "opponent from winning on the next move?",
            "terse": "{me}'s turn: column where {me} blocks the opponent's next-move win?",
        },
        "win2": {
            "direct": "It is {me}'s turn. Exactly one column lets {me} force a win on the following move, whatever "
                      "the opponent replies. Which column?",
            "imperative": "It is {me}'s turn. Exactly one column lets {me} force a win on the following move, "
                          "whatever the opponent replies. Find it.",
            "polite": "It is {me}'s turn. Exactly one column lets {me} force a win on the following move, whatever "
                      "the opponent replies. Could you tell me which column?",
            "terse": "{me}'s turn: the one column that lets {me} force a win next move, whatever the reply?",
        },
        "count": {
            "direct": "How many {colour} pieces are on the board?",
            "imperative": "Count the {colour} pieces on the board.",
            "polite": "Could you tell me how many {colour} pieces are on the board?",
            "terse": "Number of {colour} pieces?",
        },
        "height": {
            "direct": "How many pieces are in column {col}?",
            "imperative": "Count the pieces in column {col}.",
            "polite": "Could you tell me how many pieces are in column {col}?",
            "terse": "Column {col}: how many pieces?",
        },
    }
    levels = {
        1: dict(rows=6, cols=7, queries=("winner", "count", "height"), moves=(0, 0), cell=34),
        2: dict(rows=6, cols=7, queries=("win", "block", "count", "height"), moves=(6, 14), cell=34),
        3: dict(rows=6, cols=7, queries=("block", "win", "count", "height"), moves=(6, 14), cell=34),
        4: dict(rows=6, cols=7, queries=("win", "block", "count", "height"), moves=(16, 28), cell=34),
        5: dict(rows=6, cols=7, queries=("win2", "win", "block", "count"), moves=(8, 16), cell=34),
        6: dict(rows=6, cols=7, queries=("win2", "win", "block", "height"), moves=(16, 26), cell=34),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        rows, cols, q = cfg["rows"], cfg["cols"], self.query
        choices, slots = None, {}
        while True:
            if q == "winner":
                b = self.finished(rng, rows, cols)
                w = has_winner(b)
                choices = ("Red", "Yellow", "nobody")
                answer = "ABC"[choices.index(NAME[w] if w else "nobody")]
                sol = (f"{NAME[w]} has four in a row, so {NAME[w]} won." if w else
                       "The board is full with no four in a row, so nobody won.") + f" Answer: {answer}."
                break
            if q in ("count", "height"):
                b = (self.finished(rng, rows, cols) if cfg["moves"] == (0, 0)
                     else random_position(rng, rows, cols, rng.randint(*cfg["moves"])))
                if q == "count":
                    p = rng.choice("RY")
                    slots = {"colour": NAME[p].lower()}
                    answer = str("".join(b).count(p))
                    sol = (f"Row by row from the top, the {NAME[p].lower()} pieces number "
                           f"{' + '.join(str(row.count(p)) for row in b)} = {answer}. Answer: {answer}.")
                else:
                    c = rng.randrange(cols)
                    slots = {"col": c + 1}
                    answer = str(sum(row[c] != "." for row in b))
                    sol = f"Column {c + 1} holds pieces in its bottom {answer} cells. Answer: {answer}."
                break
            b = random_position(rng, rows, cols, rng.randint(*cfg["moves"]))
            me = to_move(b)
            other = "Y" if me == "R" else "R"
            win, thr = winning_cols(b, me), winning_cols(b, other)
            if q == "win" and len(win) == 1:
                answer = str(win[0] + 1)
                sol = f"A {NAME[me].lower()} piece dropped in column {answer} makes four in a row. Answer: {answer}."
                break
            if q == "block" and not win and len(thr) == 1:
                answer = str(thr[0] + 1)
                sol = (f"{NAME[me]} cannot win at once, but {NAME[other]} would make four in a row in column "
                       f"{answer}, so {NAME[me]} must drop there. Answer: {answer}.")
                break
            if q == "win2" and not win and not thr:
                f2 = forced_two(b, me)
                if len(f2) == 1:
                    answer = str(f2[0] + 1)
                    sol = (f"After {NAME[me]} drops in column {answer}, every reply by {NAME[other]} leaves "
                           f"{NAME[me]} a column that makes four in a row. Answer: {answer}.")
                    break
        ask = self.ask(me=NAME[to_move(b)], **slots)
        tail = ("\n" + D.choice_block(list(choices)) + "\nAnswer with the letter.") if choices else \
            (" Answer with a number." if q in ("count", "height") else " Answer with the column number.")
        intro = (f"A Connect Four board with {rows} rows and {cols} columns (columns numbered 1-{cols} from the left). "
                 f"Red moves first; pieces fall to the lowest empty cell of a column; four in a row horizontally, "
                 f"vertically or diagonally wins.")
        twin = f"{intro} The board, top row first ('R' red, 'Y' yellow, '.' empty):\n" + "\n".join(b) + f"\n{ask}{tail}"
        return self.sample(seed, level, prompt=self.image_prompt(f"{intro}\n{ask}{tail}"),
                           images=(self.picture(render, b, cfg["cell"], False),), answer=answer,
                           answer_type="choice" if choices else "number", choices=choices, text_twin=twin,
                           solution=sol, meta={"board": b, "question": q, "cell": cfg["cell"], "ask": ask + tail,
                                               "intro": intro})

    @staticmethod
    def finished(rng: random.Random, rows: int, cols: int) -> list[str]:
        """A random game played to its end (four in a row or a full board)."""
        b = ["." * cols] * rows
        while True:
            c = rng.choice([c for c in range(cols) if b[0][c] == "."])
            b, r = drop(b, c, to_move(b))
            if wins_at(b, r, c) or "." not in b[0]:
                return b

    def mixed(self, sample: Sample) -> Sample:
        """The bottom row's pieces are stated in text; the picture draws that row empty."""
        m = sample.meta
        b = m["board"]
        said = ", ".join(f"column {c + 1} {NAME.get(v, 'empty').lower()}" for c, v in enumerate(b[-1]))
        prompt = self.image_prompt(f"{m['intro']} The bottom row is drawn empty; its cells are, left to right: "
                                   f"{said}.\n{m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(b, m["cell"], True),), meta={**m, "described": "bottom row"})


def render(b: list[str], cell: int, hide_bottom: bool) -> Any:
    rows, cols = len(b), len(b[0])
    top = int(cell * 0.7)
    im = D.canvas(cols * cell + 2 * PAD, rows * cell + 2 * PAD + top)
    d = ImageDraw.Draw(im)
    y0 = PAD + top
    d.rectangle([PAD, y0, PAD + cols * cell, y0 + rows * cell], fill=(40, 80, 200))
    rr = cell * 0.4
    for c in range(cols):
        label(im, (PAD + (c + 0.5) * cell, PAD + top / 2), str(c + 1), size=max(D.MIN_FONT_PX, int(cell * 0.45)))
        for r in range(rows):
            v = "." if hide_bottom and r == rows - 1 else b[r][c]
            x, y = PAD + (c + 0.5) * cell, y0 + (r + 0.5) * cell
            d.ellipse([x - rr, y - rr, x + rr, y + rr], fill=PIECE[v], outline=(20, 40, 120), width=D.width(1))
    if hide_bottom:
        d.rectangle([PAD, y0 + (rows - 1) * cell, PAD + cols * cell, y0 + rows * cell], fill=(170, 170, 170))
    return im
