"""Games (tictactoe, connect_four, fifteen_puzzle) at variant scale: every query's answer re-derived
from the text twin alone by solvers written here, under every style and phrasing; level-1 variety."""

from __future__ import annotations

import re
from collections import deque
from functools import cache

import pytest

from foveal.split import image_id, text_id
from foveal.tasks import get
from foveal.tasks.style import STYLES
from foveal.tasks.variant import PHRASINGS


def board_lines(twin: str, rows: int, marker: str = "row by row") -> list[str]:
    """The `rows` board lines that follow the twin's line containing `marker`."""
    lines = twin.split("\n")
    start = next(i for i, line in enumerate(lines) if marker in line) + 1
    return lines[start:start + rows]


# ---------------------------------------------------------------------------------------------
# tic-tac-toe
LINES3 = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def t3_win(b: str) -> str | None:
    return next((b[i] for i, j, k in LINES3 if b[i] != "." and b[i] == b[j] == b[k]), None)


@cache
def t3_value(b: str) -> int:
    w = t3_win(b)
    if w or "." not in b:
        return {"X": 1, "O": -1, None: 0}[w]
    p = "X" if b.count("X") == b.count("O") else "O"
    vals = [t3_value(b[:i] + p + b[i + 1:]) for i in range(9) if b[i] == "."]
    return max(vals) if p == "X" else min(vals)


def solve_tictactoe(s, query: str) -> str:
    b = "".join(board_lines(s.text_twin, 3))
    p = "X" if b.count("X") == b.count("O") else "O"
    o = "O" if p == "X" else "X"
    empty = [i for i in range(9) if b[i] == "."]
    lines = s.text_twin.split("\n")
    asked = lines[next(i for i, line in enumerate(lines) if "row by row" in line) + 4]
    if query not in ("winner", "empty"):  # the twin names the player to move
        assert f"{p}'s turn" in asked or f"{p} to move" in asked, asked
    if query == "winner":
        assert t3_win(b) or not empty
        return "ABC"[s.choices.index(t3_win(b) or "nobody")]
    if query == "empty":
        return str(len(empty))
    wins = [i for i in empty if t3_win(b[:i] + p + b[i + 1:])]
    if query == "win":
        assert len(wins) == 1
        return str(wins[0] + 1)
    assert not wins
    if query == "block":
        blocks = [i for i in empty if t3_win(b[:i] + o + b[i + 1:])]
        assert len(blocks) == 1
        return str(blocks[0] + 1)
    if query == "outcome":
        return "ABC"[s.choices.index({1: "X wins", -1: "O wins", 0: "draw"}[t3_value(b)])]
    sign = 1 if p == "X" else -1
    vals = {i: sign * t3_value(b[:i] + p + b[i + 1:]) for i in empty}
    best = [i for i, v in vals.items() if v == max(vals.values())]
    assert len(best) == 1
    return str(best[0] + 1)


# ---------------------------------------------------------------------------------------------
# sliding puzzle
def fifteen_board(s) -> tuple[int, tuple[int, ...]]:
    n = int(re.search(r"A (\d)x\d sliding puzzle", s.text_twin).group(1))
    lines = board_lines(s.text_twin, n)
    cells = [int(v) for line in lines for v in (line.split() if " " in line else line)]
    return n, tuple(cells)


def beside(n: int, z: int) -> list[int]:
    r, c = divmod(z, n)
    return [z + d for d, ok in ((-n, r > 0), (n, r < n - 1), (-1, c > 0), (1, c < n - 1)) if ok]


def solve_fifteen(s, query: str) -> str:
    n, board = fifteen_board(s)
    goal = (*range(1, n * n), 0)
    if query == "movable":
        return " ".join(str(board[j]) for j in sorted(beside(n, board.index(0)), key=lambda j: board[j]))
    if query == "misplaced":
        return str(sum(1 for i, v in enumerate(board) if v and v != goal[i]))
    dist, ways, todo = {board: 0}, {board: 1}, deque([board])  # breadth-first, counting shortest paths
    while todo:
        st = todo.popleft()
        if st == goal:
            break
        z = st.index(0)
        for j in beside(n, z):
            nxt = list(st)
            nxt[z], nxt[j] = nxt[j], 0
            nxt = tuple(nxt)
            if nxt not in dist:
                dist[nxt], ways[nxt] = dist[st] + 1, ways[st]
                todo.append(nxt)
            elif dist[nxt] == dist[st] + 1:
                ways[nxt] += ways[st]
    if query == "moves":
        return str(dist[goal])
    assert ways[goal] == 1
    st = list(board)
    for tile in map(int, s.answer.split()):
        z, j = st.index(0), st.index(tile)
        assert j in beside(n, z)
        st[z], st[j] = tile, 0
    assert tuple(st) == goal and len(s.answer.split()) == dist[goal]
    return s.answer


# ---------------------------------------------------------------------------------------------
# Connect Four
def c4_drop(b: list[str], c: int, p: str) -> list[str] | None:
    r = max((r for r in range(len(b)) if b[r][c] == "."), default=None)
    return None if r is None else b[:r] + [b[r][:c] + p + b[r][c + 1:]] + b[r + 1:]


def c4_four(b: list[str], p: str) -> bool:
    R, C = len(b), len(b[0])
    return any(all(0 <= r + k * dr < R and 0 <= c + k * dc < C and b[r + k * dr][c + k * dc] == p for k in range(4))
               for r in range(R) for c in range(C) for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)))


def solve_connect_four(s, query: str) -> str:
    b = board_lines(s.text_twin, 6, "top row first")
    lines = s.text_twin.split("\n")
    asked = lines[next(i for i, line in enumerate(lines) if "top row first" in line) + 7]
    flat = "".join(b)
    p = "R" if flat.count("R") == flat.count("Y") else "Y"
    o = "Y" if p == "R" else "R"
    cols = range(len(b[0]))
    if query == "winner":
        w = [x for x in "RY" if c4_four(b, x)]
        assert len(w) <= 1 and (w or "." not in b[0])
        return "ABC"[s.choices.index({"R": "Red", "Y": "Yellow"}[w[0]] if w else "nobody")]
    if query == "count":
        colour = re.search(r"\b(red|yellow)\b", asked.lower()).group(1)
        return str(flat.count(colour[0].upper()))
    if query == "height":
        c = int(re.search(r"column (\d)", asked.lower()).group(1)) - 1
        return str(sum(row[c] != "." for row in b))
    assert {"R": "Red", "Y": "Yellow"}[p] in asked  # the twin names the player to move
    win = [c for c in cols if (nb := c4_drop(b, c, p)) and c4_four(nb, p)]
    if query == "win":
        assert len(win) == 1
        return str(win[0] + 1)
    threat = [c for c in cols if (nb := c4_drop(b, c, o)) and c4_four(nb, o)]
    assert not win
    if query == "block":
        assert len(threat) == 1
        return str(threat[0] + 1)
    assert not threat
    good = []
    for c in cols:
        b1 = c4_drop(b, c, p)
        replies = [x for d in cols if b1 and (x := c4_drop(b1, d, o))]
        if replies and all(not c4_four(x, o) and any((y := c4_drop(x, e, p)) and c4_four(y, p) for e in cols)
                           for x in replies):
            good.append(c)
    assert len(good) == 1
    return str(good[0] + 1)


SOLVERS = {"tictactoe": solve_tictactoe, "fifteen_puzzle": solve_fifteen, "connect_four": solve_connect_four}
CHEAP = {"tictactoe": (1, 2, 3, 4, 5, 6), "fifteen_puzzle": (1, 2, 3, 4),  # 4x4 breadth-first search is slow
         "connect_four": (1, 2, 3, 4, 5, 6)}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_every_query_rederived_under_every_style(name):
    task = get(name)
    for level in CHEAP[name]:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                s = task.generate(k, level, "text", query=query, style=style)
                assert s.meta["variant"] == {"query": query, "phrasing": s.meta["variant"]["phrasing"], "style": style}
                assert SOLVERS[name](s, query) == s.answer, (level, query, style)
                assert s.solution.endswith(f"{s.answer}.")


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_pictures_in_every_style_keep_their_size(name):
    task = get(name)
    for query in task.level_queries(1):
        plain = task.generate(3, 1, query=query, style="plain")
        for style in STYLES:
            s = task.generate(3, 1, query=query, style=style)
            assert s.images[0].size == plain.images[0].size and s.answer == plain.answer
            assert s.problem_key == plain.problem_key


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_phrasings_word_one_question_consistently(name):
    task = get(name)
    for level in (1, 2):
        for query in task.level_queries(level):
            asked = {}
            for phrasing in PHRASINGS:
                img = task.generate(5, level, query=query, phrasing=phrasing, style="plain")
                txt = task.generate(5, level, "text", query=query, phrasing=phrasing)
                assert txt.answer == img.answer and txt.problem_key == img.problem_key
                q = img.prompt.split("\n", 2)[-1] if "\n" in img.prompt else img.prompt
                last = q.split("\n")[-1] if "letter" not in q else q.split("\n")[0]
                assert last.split(" Answer with")[0] in txt.text_twin  # the twin asks the same question
                asked[phrasing] = last
            assert len(set(asked.values())) == len(PHRASINGS), asked


# Level-1 variety. The 3x3 boards are few by nature (documented in each family's docstring): a
# sliding puzzle 2-3 moves from solved is one of 12 boards; tic-tac-toe has 5,478 legal positions.
LEVEL1_SPACE = {"fifteen_puzzle": {"sequence": 12, "moves": 12, "movable": 12, "misplaced": 12}}


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_level1_distinct_per_query(name):
    task = get(name)
    for query in task.level_queries(1):
        samples = [task.generate(seed, 1, "text", query=query, phrasing="direct") for seed in range(1000)]
        texts = {text_id(s) for s in samples}
        if name == "fifteen_puzzle":
            assert len(texts) == LEVEL1_SPACE[name][query]
        elif name == "tictactoe":
            boards = {"".join(board_lines(s.text_twin, 3)) for s in samples}
            assert len(texts) == len(boards) >= 300  # one twin per board; boards are what limits it
        else:
            assert len(texts) >= 950, (query, len(texts))


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_level1_pictures_as_distinct_as_twins(name):
    task = get(name)
    for query in task.level_queries(1):
        pairs = [(text_id(task.generate(seed, 1, "text", query=query, phrasing="direct")),
                  image_id(task.generate(seed, 1, query=query, phrasing="direct", style="plain")))
                 for seed in range(200)]
        assert len({t for t, _ in pairs}) == len({i for _, i in pairs}) == len(set(pairs)), query
