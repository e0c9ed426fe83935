"""Reading a completion: its final answer, its reasoning, and whether it keeps the R1 format.

Three named answer formats say where the final answer is (docs/rewards.md has the tables):

* `r1`: `<think>reasoning</think><answer>final answer</answer>`: each tag exactly once, in
  that order, only whitespace around and between the blocks. The answer is the content
  of the one `<answer>` block.
* `answer`: `<answer>final answer</answer>` alone (answer-only SFT, no-thinking RL): one
  answer block, no think tags, only whitespace around it.
* `caption`: `<caption>description</caption><think>reasoning</think><answer>final answer</answer>`
  (Visionary-R1's caption-reason-answer format): a non-empty caption block first, then an
  `r1` completion; each tag exactly once.
* `raw`: a free completion with no answer tags (math benchmarks). Text inside a closed
  `<think>…</think>` is skipped; the answer is the `\\boxed{}` content (several boxes must
  agree), else the last "answer is X" / "answer: X" statement, else the whole text.

In `r1`, `answer` and `caption` a completion that breaks the format (a missing, unclosed, repeated or
nested answer tag, text after `</answer>`) has no answer: nothing falls back to a
`\\boxed{}` or to text inside `<think>`. Text is NFKC-normalised first (full-width digits
and tags are digits and tags; superscript digits become `^{…}`). Everything here is linear
in the completion's length.
"""

from __future__ import annotations

import re
import unicodedata

from foveal.prompts import ANSWER_CLOSE, ANSWER_OPEN, CAPTION_CLOSE, CAPTION_OPEN, THINK_CLOSE, THINK_OPEN

ANSWER_FORMATS = ("r1", "answer", "raw", "caption")
_BOX_COMMANDS = ("\\boxed", "\\fbox")
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\{")
_BRACE = re.compile(r"[{}]")
TAIL_CHARS = 65_536
"""`\\boxed{}` answers are looked for in this many final characters of a completion."""
UNWRAP_CHARS = 10_000
"""A whole-answer `\\boxed{}` is unwrapped only in answers up to this long."""
RAW_WHOLE_CHARS = 300
"""In the `raw` format, a completion with no box and no "answer is" is read whole up to this long."""
_MATH_DELIMS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_SUPERSCRIPTS = re.compile("[\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u207a\u207b]+")
_SUPER_MAP = str.maketrans(
    "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207a\u207b", "0123456789+-"
)
_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


def nfkc(text: str) -> str:
    """NFKC normal form, with superscript digits kept as exponents (`x²` -> `x^{2}`, not `x2`)
    and the fraction slash of `½` read as `/`."""
    if text.isascii():
        return text
    text = _SUPERSCRIPTS.sub(lambda m: "^{" + m.group().translate(_SUPER_MAP) + "}", text)
    return unicodedata.normalize("NFKC", text).replace("\u2044", "/")


def check_format(answer_format: str) -> str:
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(f"unknown answer_format {answer_format!r}; expected one of {ANSWER_FORMATS}")
    return answer_format


def extract_answer(completion: str, answer_format: str = "r1") -> str | None:
    """The final answer of `completion` under `answer_format`, or None when it states none.

    `r1` / `answer` / `caption`: the content of the one `<answer>` block of a well-formed
    completion (see the module docstring); `raw`: the boxed answer, else the last "answer is X", else
    the whole (short) text, outside any `<think>` block. The result is NFKC-normalised and
    stripped of surrounding whitespace, math delimiters and a whole-answer `\\boxed{}`.
    """
    check_format(answer_format)
    if not isinstance(completion, str):
        return None
    text = nfkc(completion)
    if answer_format == "raw":
        answer = _raw_answer(text)
    elif answer_format == "caption":
        parts = _caption_parts(text)
        answer = parts[1] if parts is not None else None
    else:
        answer = _tagged_answer(text, think=answer_format == "r1")
    if answer is None:
        return None
    answer = clean_answer(answer)
    return answer or None


def _tagged_answer(text: str, think: bool) -> str | None:
    """The answer block's content when `text` is exactly [<think>…</think>]<answer>…</answer>."""
    counts = [text.count(tag) for tag in _TAGS]
    if counts != ([1, 1, 1, 1] if think else [0, 0, 1, 1]):
        return None
    s = text.strip()
    start = s.index(THINK_CLOSE) + len(THINK_CLOSE) if think else 0
    if think and not s.startswith(THINK_OPEN):
        return None
    rest = s[start:].lstrip()
    if not (rest.startswith(ANSWER_OPEN) and rest.endswith(ANSWER_CLOSE)):
        return None
    return rest[len(ANSWER_OPEN) : -len(ANSWER_CLOSE)]


def _caption_parts(text: str) -> tuple[str, str] | None:
    """(caption, answer) when `text` is exactly <caption>…</caption><think>…</think><answer>…</answer>
    with a non-empty caption; else None."""
    if text.count(CAPTION_OPEN) != 1 or text.count(CAPTION_CLOSE) != 1:
        return None
    s = text.strip()
    if not s.startswith(CAPTION_OPEN):
        return None
    end = s.find(CAPTION_CLOSE)
    caption = s[len(CAPTION_OPEN) : end]
    answer = _tagged_answer(s[end + len(CAPTION_CLOSE) :], think=True)
    return (caption, answer) if caption.strip() and answer is not None else None


def extract_caption(completion: str) -> str | None:
    """The caption of a well-formed `caption`-format completion (NFKC-normalised, stripped), else None.

    None too when the completion has no non-empty answer: a caption counts only in a
    completion that keeps the whole caption-think-answer format.
    """
    if not isinstance(completion, str):
        return None
    parts = _caption_parts(nfkc(completion))
    if parts is None or not clean_answer(parts[1]):
        return None
    return parts[0].strip()


def raw_text(completion: str) -> str | None:
    """A `raw` completion without its reasoning: the text after a closed `<think>` block.

    None when it carries answer tags (use the `answer` or `r1` format) or an unclosed or
    repeated think block.
    """
    if ANSWER_OPEN in completion or ANSWER_CLOSE in completion:
        return None
    n_open, n_close = completion.count(THINK_OPEN), completion.count(THINK_CLOSE)
    if n_open > 1 or n_close > 1 or n_open > n_close:
        return None
    if n_close:
        return completion[completion.index(THINK_CLOSE) + len(THINK_CLOSE) :]
    return completion


_TAIL_HEDGE = re.compile(r"\b(?:or|maybe|perhaps|wait|actually|no|not|hmm|alternatively|unless)\b", re.IGNORECASE)
"""After the last "the answer is X" of a raw completion, any of these words takes the statement back."""
_STATED = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:)\s*:?\s*([^\n]{1,500}?)\s*(?:\.\s|\.?$|\n)",
    re.IGNORECASE | re.MULTILINE,
)


def _raw_answer(text: str) -> str | None:
    body = raw_text(text)
    if body is None:
        return None
    boxes = all_boxed(body)
    if boxes:
        distinct = {" ".join(b.split()) for b in boxes}
        return boxes[-1] if len(distinct) == 1 else None  # several different boxed answers: no one answer
    tail = body[-TAIL_CHARS:]
    stated = list(_STATED.finditer(tail))
    if stated:
        after = tail[stated[-1].end():]
        return None if _TAIL_HEDGE.search(after) else stated[-1].group(1)  # "The answer is A. Hmm, or B."
    body = body.strip()
    return body if len(body) <= RAW_WHOLE_CHARS else None


def all_boxed(text: str) -> list[str]:
    """The contents of every balanced, outermost `\\boxed{…}` / `\\fbox{…}` in the last TAIL_CHARS of `text`."""
    text = text[-TAIL_CHARS:]
    pairs = _brace_pairs(text)
    out, end = [], -1
    for m in _BOX_OPEN.finditer(text):
        start = m.end() - 1
        if start < end or start not in pairs:
            continue  # nested inside the previous box, or unclosed
        end = pairs[start]
        out.append(text[start + 1 : end])
    return out


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
    and the answer is not empty (the `r1` answer format, see `extract_answer`).
    """
    if not isinstance(completion, str):
        return False
    answer = _tagged_answer(nfkc(completion), think=True)
    return answer is not None and bool(answer.strip())


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
