"""Reading a completion: its final answer, its reasoning, and whether it keeps the R1 format.

A completion in R1 format is `<think>reasoning</think><answer>final answer</answer>`
(see `foveal.prompts`). Everything here is linear in the completion's length (a few
`str.rfind` calls and one brace scan), so a 1 MB completion costs milliseconds.
"""

from __future__ import annotations

import re

from foveal.prompts import ANSWER_CLOSE, ANSWER_OPEN, THINK_CLOSE, THINK_OPEN

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\{")
_BRACE = re.compile(r"[{}]")
TAIL_CHARS = 65_536
"""`\\boxed{}` answers are looked for in this many final characters of a completion."""
UNWRAP_CHARS = 10_000
"""A whole-answer `\\boxed{}` is unwrapped only in answers up to this long."""
_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


def extract_answer(completion: str) -> str | None:
    """The final answer of `completion`, or None when it states none.

    The content of the last `<answer>…</answer>` block; else the content of the last
    `\\boxed{…}` (nested braces handled); else None. The result is stripped of
    surrounding whitespace and math delimiters (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`), and
    a `\\boxed{…}` that wraps the whole answer is unwrapped.
    """
    if not isinstance(completion, str):
        return None
    end = completion.rfind(ANSWER_CLOSE)
    if end >= 0:
        start = completion.rfind(ANSWER_OPEN, 0, end)
        if start >= 0:  # the block closes at the first `</answer>` after its opening tag
            body = start + len(ANSWER_OPEN)
            return clean_answer(completion[body : completion.find(ANSWER_CLOSE, body)])
    boxed = last_boxed(completion)
    return clean_answer(boxed) if boxed is not None else None


def clean_answer(text: str) -> str:
    """Strip whitespace, surrounding math delimiters and a whole-answer `\\boxed{}` (up to 8 layers)."""
    prev = None
    for _ in range(8):
        if text == prev:
            break
        prev = text
        text = text.strip()
        for open_, close in _MATH_DELIMS:
            if len(text) >= len(open_) + len(close) and text.startswith(open_) and text.endswith(close):
                text = text[len(open_) : len(text) - len(close)]
                break
        for cmd in _BOX_COMMANDS:
            if len(text) <= UNWRAP_CHARS and text.startswith(cmd + "{") and text.endswith("}"):
                inner = _braced(text, len(cmd))
                if inner is not None and len(cmd) + len(inner) + 2 == len(text):
                    text = inner
                    break
    return text


def last_boxed(text: str) -> str | None:
    """The content of the last balanced `\\boxed{…}` (or `\\fbox{…}`) in `text`; None if none.

    Only the final TAIL_CHARS characters are searched (a final answer sits at the end),
    and the search is linear: one brace scan, plus one brace-matching pass when the last
    box is unclosed.
    """
    text = text[-TAIL_CHARS:]
    starts = [m.end() - 1 for m in _BOX_OPEN.finditer(text)]
    if not starts:
        return None
    inner = _braced(text, starts[-1])
    if inner is not None:
        return inner
    pairs = _brace_pairs(text)
    for start in reversed(starts[:-1]):
        if start in pairs:
            return text[start + 1 : pairs[start]]
    return None


def _braced(text: str, open_at: int) -> str | None:
    """The text inside the brace group opening at `text[open_at] == '{'`, or None if unclosed."""
    depth = 0
    for m in _BRACE.finditer(text, open_at):
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return text[open_at + 1 : m.start()]
    return None


def _brace_pairs(text: str) -> dict[int, int]:
    """Position of each `{` that is closed -> position of its `}`."""
    stack, pairs = [], {}
    for m in _BRACE.finditer(text):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            pairs[stack.pop()] = m.start()
    return pairs


def extract_think(completion: str) -> str | None:
    """The reasoning: the content of the first `<think>…</think>` block, or None."""
    if not isinstance(completion, str):
        return None
    start = completion.find(THINK_OPEN)
    if start < 0:
        return None
    end = completion.find(THINK_CLOSE, start)
    return completion[start + len(THINK_OPEN) : end] if end >= 0 else None


def is_r1_format(completion: str) -> bool:
    """True when `completion` is exactly `<think>…</think>` then `<answer>…</answer>`.

    Whitespace may surround the blocks; nothing else may. Each tag appears exactly once
    and the answer is not empty.
    """
    if not isinstance(completion, str):
        return False
    for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE):
        if completion.count(tag) != 1:
            return False
    s = completion.strip()
    if not (s.startswith(THINK_OPEN) and s.endswith(ANSWER_CLOSE)):
        return False
    between = s[s.index(THINK_CLOSE) + len(THINK_CLOSE) : s.index(ANSWER_OPEN)]
    answer = s[s.index(ANSWER_OPEN) + len(ANSWER_OPEN) : -len(ANSWER_CLOSE)]
    return s.index(THINK_CLOSE) < s.index(ANSWER_OPEN) and not between.strip() and bool(answer.strip())


_CONCLUSION = re.compile(
    r"(?:final answer|the answer|answer|result|so|therefore|thus|hence)\s*(?:is|was|would be|:|=|,)\s*"
    r"(\(?[^\n]{1,200}?)\s*(?:\.\s|\.$|\n|$)",
    re.IGNORECASE,
)


def reasoning_conclusion(reasoning: str, max_chars: int = 20_000) -> str | None:
    """The answer the reasoning reaches at its end, or None if it states none.

    The last `\\boxed{…}` in the reasoning; else the last "the answer is X" / "so X" /
    "therefore X" phrase; else the right-hand side of the last `=` on the last non-empty
    line. Only the final `max_chars` characters are read: a conclusion sits at the end.
    """
    tail = reasoning[-max_chars:]
    boxed = last_boxed(tail)
    if boxed is not None:
        return clean_answer(boxed)
    matches = list(_CONCLUSION.finditer(tail))
    if matches:
        return clean_answer(matches[-1].group(1))
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if lines and "=" in lines[-1]:
        rhs = lines[-1].rsplit("=", 1)[1].strip().rstrip(".")
        return clean_answer(rhs) or None
    return None
