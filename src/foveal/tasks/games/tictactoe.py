"""`tictactoe`: read a tic-tac-toe position and name the winner, the winning or blocking move, the best
move, or the outcome under perfect play (exact minimax over the whole game tree, memoised).

Boards are 9-character strings in reading order ('X', 'O', '.'); X moves first, so the player to
move follows from the counts. Cells are numbered 1-9 row by row, and the picture shows the
numbers of the empty cells.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng
from foveal.tasks.puzzles._puzzle import PAD

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
OUTCOMES = ("X wins", "O wins", "draw")


def winner(b: str) -> str | None:
    for a, c, d in LINES:
        if b[a] != "." and b[a] == b[c] == b[d]:
            return b[a]
    return None


def to_move(b: str) -> str:
    return "X" if b.count("X") == b.count("O") else "O"


def play(b: str, i: int) -> str:
    return b[:i] + to_move(b) + b[i + 1:]


@cache
def value(b: str) -> int:
    """Minimax value for X: +1 X wins, -1 O wins, 0 draw, with perfect play from `b`."""
    w = winner(b)
    if w:
        return 1 if w == "X" else -1
    moves = [i for i in range(9) if b[i] == "."]
    if not moves:
        return 0
    vals = [value(play(b, i)) for i in moves]
    return max(vals) if to_move(b) == "X" else min(vals)


def wins_now(b: str) -> list[int]:
    """Empty cells where the player to move completes a line."""
    return [i for i in range(9) if b[i] == "." and winner(play(b, i))]


def threats(b: str) -> list[int]:
    """Empty cells where the opponent of the player to move would complete a line."""
    other = "O" if to_move(b) == "X" else "X"
    return [i for i in range(9) if b[i] == "." and winner(b[:i] + other + b[i + 1:])]


def best_moves(b: str) -> list[int]:
    sign = 1 if to_move(b) == "X" else -1
    vals = {i: sign * value(play(b, i)) for i in range(9) if b[i] == "."}
    top = max(vals.values())
    return [i for i, v in vals.items() if v == top]


def random_board(rng: random.Random, moves: int) -> str:
    """A board after `moves` random moves on which no one has won yet (redrawn until so)."""
    while True:
        b = "." * 9
        for _ in range(moves):
            b = play(b, rng.choice([i for i in range(9) if b[i] == "."]))
            if winner(b):
                break
        if len(b) == 9 and b.count(".") == 9 - moves and not winner(b):
            return b


def rows(b: str) -> str:
    return "\n".join(b[k:k + 3] for k in (0, 3, 6))


@register
class TicTacToe(Task):
    """Tic-tac-toe positions: who won, the winning move, the blocking move, the best move, the outcome,
    how many cells are empty.

    Queries: "winner" (finished game: X, O or nobody; choice), "win" (the one cell that wins at once;
    number), "block" (the one cell that stops the opponent's immediate win; number), "outcome" (result
    with perfect play from here; choice), "best" (the one move that keeps the best result under perfect
    play; number), "empty" (how many cells are empty; number).

    Level knobs:
        queries: the queries the level asks; its first is the question the level asked before queries
            existed.
        moves: (min, max) moves already played (unused by "winner", which plays random games to the end).
        cell: board cell side in pixels.

    Problem space (documented exception to 10^4): tic-tac-toe has 5,478 legal positions in all, so no
    query reaches 10^4 at any level; level 1 "winner" has 958 finished games (the measured counts per
    query and level are in docs/gym.md).

    Mixed form: the marks of one row are stated in text and not drawn.
    """

    name = "tictactoe"
    description = "Tic-tac-toe: winner, winning/blocking move, best move, perfect-play outcome or empty cells."
    tags = ("planning", "logic", "spatial")
    forms = ("image", "text", "mixed")
    questions = {
        "winner": {
            "direct": "Who has won this finished game?",
            "imperative": "Name the winner of this finished game.",
            "polite": "Could you tell me who has won this finished game?",
            "terse": "Finished game: winner?",
        },
        "win": {
            "direct": "It is {p}'s turn. Which cell wins the game at once?",
            "imperative": "It is {p}'s turn. Find the cell that wins the game at once.",
            "polite": "It is {p}'s turn. Could you tell me which cell wins the game at once?",
            "terse": "{p} to move: winning cell?",
        },
        "block": {
            "direct": "It is {p}'s turn. Which cell must {p} play to stop the opponent from winning on the next move?",
            "imperative": "It is {p}'s turn. Find the cell {p} must play to stop the opponent from winning on the next move.",
            "polite": "It is {p}'s turn. Could you tell me which cell {p} must play to stop the opponent from winning "
                      "on the next move?",
            "terse": "{p}'s turn: cell where {p} blocks the opponent's next-move win?",
        },
        "outcome": {
            "direct": "It is {p}'s turn. If both players play perfectly from here, how does the game end?",
            "imperative": "It is {p}'s turn. Say how the game ends if both players play perfectly from here.",
            "polite": "It is {p}'s turn. Could you tell me how the game ends if both players play perfectly from here?",
            "terse": "{p} to move, perfect play: result?",
        },
        "best": {
            "direct": "It is {p}'s turn. Exactly one move gives {p} the best result under perfect play. Which cell?",
            "imperative": "It is {p}'s turn. Exactly one move gives {p} the best result under perfect play. Find it.",
            "polite": "It is {p}'s turn. Exactly one move gives {p} the best result under perfect play. Could you tell "
                      "me which cell?",
            "terse": "{p}'s turn: the one best cell for {p} under perfect play?",
        },
        "empty": {
            "direct": "How many cells are empty?",
            "imperative": "Count the empty cells.",
            "polite": "Could you tell me how many cells are empty?",
            "terse": "Empty cells: how many?",
        },
    }
    levels = {
        1: dict(queries=("winner", "empty", "win"), moves=(5, 9), cell=48),
        2: dict(queries=("win", "block", "empty", "winner"), moves=(4, 6), cell=48),
        3: dict(queries=("block", "win", "empty", "winner"), moves=(3, 6), cell=48),
        4: dict(queries=("outcome", "best", "win", "block"), moves=(3, 5), cell=48),
        5: dict(queries=("best", "outcome", "block", "win"), moves=(3, 5), cell=48),
        6: dict(queries=("best",), moves=(1, 2), cell=48),  # 12 problems: one query, as before
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        q = self.query
        choices = None
        while True:
            if q == "winner":
                b = self.finished(rng)
                w = winner(b)
                choices = ("X", "O", "nobody")
                answer = "ABC"[choices.index(w or "nobody")]
                sol = (f"{w} has three in a row, so {w} won." if w else
                       "The board is full and no line holds three equal marks, so nobody won.") + f" Answer: {answer}."
                break
            b = random_board(rng, rng.randint(*cfg["moves"]))
            me = to_move(b)
            if q == "empty":
                answer = str(b.count("."))
                sol = (f"{b.count('X')} cells hold X and {b.count('O')} hold O, so {answer} of the 9 are empty. "
                       f"Answer: {answer}.")
                break
            win, thr = wins_now(b), threats(b)
            if q == "win" and len(win) == 1:
                answer = str(win[0] + 1)
                sol = f"{me} to move completes a line by playing cell {answer}. Answer: {answer}."
                break
            if q == "block" and not win and len(thr) == 1:
                answer = str(thr[0] + 1)
                sol = (f"{me} to move has no immediate win, but the opponent threatens to complete a line at cell "
                       f"{answer}, so {me} must block there. Answer: {answer}.")
                break
            if q == "outcome" and not win:
                v = value(b)
                choices = OUTCOMES
                answer = "ABC"[{1: 0, -1: 1, 0: 2}[v]]
                sol = (f"Searching all replies with best play for both sides, the game ends: "
                       f"{OUTCOMES[{1: 0, -1: 1, 0: 2}[v]]}. Answer: {answer}.")
                break
            if q == "best" and not win and not thr:
                best = best_moves(b)
                if len(best) == 1:
                    answer = str(best[0] + 1)
                    res = OUTCOMES[{1: 0, -1: 1, 0: 2}[value(play(b, best[0]))]]
                    sol = (f"Only cell {answer} keeps the best result for {me} under perfect play ({res}); "
                           f"every other move does worse. Answer: {answer}.")
                    break
        ask = self.ask(p=to_move(b))
        tail = ("\n" + D.choice_block(list(choices)) + "\nAnswer with the letter.") if choices else \
            (" Answer with a number." if q == "empty" else " Answer with the cell number.")
        intro = "A tic-tac-toe board (X moves first; cells are numbered 1-9 row by row from the top left)."
        twin = f"{intro} The board, row by row ('.' = empty):\n{rows(b)}\n{ask}{tail}"
        return self.sample(seed, level, prompt=self.image_prompt(f"{intro} Empty cells show their number.\n{ask}{tail}"),
                           images=(self.picture(render, b, cfg["cell"], ()),), answer=answer,
                           answer_type="choice" if choices else "number", choices=choices, text_twin=twin,
                           solution=sol, meta={"board": b, "question": q, "cell": cfg["cell"], "ask": ask + tail,
                                               "intro": intro})

    @staticmethod
    def finished(rng: random.Random) -> str:
        """A random game played to its end (a win or a full board)."""
        while True:
            b = "." * 9
            for _ in range(9):
                b = play(b, rng.choice([i for i in range(9) if b[i] == "."]))
                if winner(b) or "." not in b:
                    return b

    def mixed(self, sample: Sample) -> Sample:
        """One row with marks is stated in text; the picture leaves it empty (numbers hidden too)."""
        m = sample.meta
        b = m["board"]
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        row = rng.choice([r for r in range(3) if b[3 * r:3 * r + 3] != "..."])
        said = ", ".join(f"cell {i + 1} is {'empty' if b[i] == '.' else b[i]}" for i in range(3 * row, 3 * row + 3))
        prompt = self.image_prompt(f"{m['intro']} Empty cells show their number, except in row {row + 1}, which is "
                                   f"drawn blank: there {said}.\n{m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(b, m["cell"], range(3 * row, 3 * row + 3)),), meta={**m, "described": row})


def render(b: str, cell: int, hide) -> Any:
    size = 3 * cell + 2 * PAD
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    for k in (1, 2):
        d.line([(PAD + k * cell, PAD), (PAD + k * cell, PAD + 3 * cell)], fill=D.ink(), width=D.width(3))
        d.line([(PAD, PAD + k * cell), (PAD + 3 * cell, PAD + k * cell)], fill=D.ink(), width=D.width(3))
    s = cell * 0.3
    for i, v in enumerate(b):
        if i in hide:
            continue
        x, y = PAD + (i % 3 + 0.5) * cell, PAD + (i // 3 + 0.5) * cell
        if v == "X":
            d.line([(x - s, y - s), (x + s, y + s)], fill=(210, 30, 30), width=5)
            d.line([(x - s, y + s), (x + s, y - s)], fill=(210, 30, 30), width=5)
        elif v == "O":
            d.ellipse([x - s, y - s, x + s, y + s], outline=(30, 60, 210), width=5)
        else:
            label(im, (x, y), str(i + 1), size=max(D.MIN_FONT_PX, cell // 4), fill=(160, 160, 160))
    return im
