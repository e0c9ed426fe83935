"""`--keep` rules: a tiny, safe expression language over per-problem statistics.

    rule = Keep.parse("0.1 <= pass_rate <= 0.7 and not blind_solvable", names=STAT_NAMES)
    rule({"pass_rate": 0.5, "blind_solvable": False})   # True

Grammar (no `eval`: a whitelist tokenizer and a recursive-descent parser):

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := operand (CMP operand)*        CMP: < <= > >= == !=
    operand    := NUMBER | true | false | STAT

A chain `a < b <= c` means `a < b and b <= c`, as in Python. A lone statistic is true when it is
true or non-zero. A comparison with a statistic that was not measured (null) is false. Every name
must be a known statistic: an unknown one is a FovealError naming it, its close matches and the
statistics there are.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from foveal.errors import FovealError

CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
}
KEYWORDS = {"and", "or", "not", "true", "false"}
TOKEN = re.compile(r"\s*(?:(?P<num>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
                   r"|(?P<cmp><=|>=|==|!=|<|>)|(?P<paren>[()])|(?P<word>[A-Za-z_]\w*)|(?P<neg>-))")

# An AST node: ("or", [nodes]) | ("and", [nodes]) | ("not", node) | ("cmp", [operands], [ops])
# | ("truth", operand); an operand is ("num", float) or ("stat", name).
Node = tuple


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, column) for every token: num, cmp, paren, word; a leading '-' joins its number."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            at = len(text) - len(text[pos:].lstrip())
            raise FovealError(f"--keep {text!r}: unexpected character {text[at]!r} at column {at + 1}")
        kind = m.lastgroup
        col = m.start(kind) + 1
        if kind == "neg":
            nxt = TOKEN.match(text, m.end())
            if not nxt or nxt.lastgroup != "num":
                raise FovealError(f"--keep {text!r}: '-' at column {col} must start a number")
            out.append(("num", "-" + nxt.group("num"), col))
            pos = nxt.end()
            continue
        out.append((kind, m.group(kind), col))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, names: Iterable[str]) -> None:
        self.text, self.names = text, tuple(names)
        self.toks = tokenize(text)
        self.i = 0
        self.used: list[str] = []

    def fail(self, what: str) -> FovealError:
        at = f"at column {self.toks[self.i][2]}" if self.i < len(self.toks) else "at the end"
        return FovealError(f"--keep {self.text!r}: {what} {at}")

    def peek(self, *texts: str) -> bool:
        return self.i < len(self.toks) and self.toks[self.i][1] in texts

    def parse(self) -> Node:
        if not self.toks:
            raise FovealError("--keep is empty: give a rule such as '0.1 <= pass_rate <= 0.7'")
        node = self.expr()
        if self.i < len(self.toks):
            raise self.fail(f"unexpected {self.toks[self.i][1]!r}")
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.peek("or"):
            self.i += 1
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.peek("and"):
            self.i += 1
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_expr(self) -> Node:
        if self.peek("not"):
            self.i += 1
            return ("not", self.not_expr())
        if self.peek("("):
            self.i += 1
            node = self.expr()
            if not self.peek(")"):
                raise self.fail("expected ')'")
            self.i += 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        operands, ops = [self.operand()], []
        while self.i < len(self.toks) and self.toks[self.i][0] == "cmp":
            ops.append(self.toks[self.i][1])
            self.i += 1
            operands.append(self.operand())
        if not ops:
            return ("truth", operands[0])
        return ("cmp", operands, ops)

    def operand(self) -> Node:
        if self.i >= len(self.toks):
            raise self.fail("expected a number or a statistic")
        kind, text, _ = self.toks[self.i]
        if kind == "num":
            self.i += 1
            return ("num", float(text))
        if kind == "word" and text in ("true", "false"):
            self.i += 1
            return ("num", 1.0 if text == "true" else 0.0)
        if kind == "word" and text not in KEYWORDS:
            if text not in self.names:
                close = difflib.get_close_matches(text, self.names, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise FovealError(f"--keep {self.text!r}: unknown statistic {text!r}{hint}; "
                                  f"statistics: {', '.join(self.names)}")
            self.i += 1
            self.used.append(text)
            return ("stat", text)
        raise self.fail(f"expected a number or a statistic, got {text!r}")


def _value(operand: Node, stats: Mapping[str, Any]) -> Any:
    return operand[1] if operand[0] == "num" else stats.get(operand[1])


def evaluate(node: Node, stats: Mapping[str, Any]) -> bool:
    """The truth of a parsed rule for one problem's statistics."""
    kind = node[0]
    if kind == "or":
        return any(evaluate(n, stats) for n in node[1])
    if kind == "and":
        return all(evaluate(n, stats) for n in node[1])
    if kind == "not":
        return not evaluate(node[1], stats)
    if kind == "truth":
        return bool(_value(node[1], stats))
    values = [_value(o, stats) for o in node[1]]
    if any(v is None for v in values):
        return False
    return all(CMP[op](a, b) for op, a, b in zip(node[2], values, values[1:], strict=False))


@dataclass(frozen=True)
class Keep:
    """A parsed `--keep` rule: call it on a problem's statistics. `stats` are the names it reads."""

    text: str
    tree: Node
    stats: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, names: Iterable[str]) -> Keep:
        """Parse `text`; FovealError for a syntax error or a name outside `names`."""
        p = _Parser(text, names)
        tree = p.parse()
        return cls(text=text, tree=tree, stats=tuple(dict.fromkeys(p.used)))

    def __call__(self, stats: Mapping[str, Any]) -> bool:
        return evaluate(self.tree, stats)
