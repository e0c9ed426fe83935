"""Reading an answer string as a typed value: number, letter, text, grid, sequence, box.

Every parser here is linear-time regex/string code, returns None for anything it cannot
read (model output is never trusted), and never calls `eval`. Callers cap input sizes
(`foveal.rewards.limits`) before calling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from foveal.rewards.limits import MAX_EXPONENT_DIGITS

# ---------------------------------------------------------------- LaTeX / markup clean-up

_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SIMPLE_REPLACEMENTS = (
    ("\u2212", "-"),  # unicode minus
    ("\\!", ""),
    ("\\,", ""),
    ("\\;", " "),
    ("\\ ", " "),
    ("{,}", ","),
    ("\\%", "%"),
    ("\\$", ""),
    ("\\left", ""),
    ("\\right", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("^\\circ", ""),
    ("^{\\circ}", ""),
    ("\u00b0", ""),
)


def normalise(text: str) -> str:
    """Undo common LaTeX/markdown wrapping: `\\text{}`, `\\,`, `{,}`, `\\%`, `**bold**`, degree marks."""
    for old, new in _SIMPLE_REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    if "\\" in text:
        text = _TEXT_CMD.sub(r"\1", text)
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "*_`\"'":
        text = text[1:-1].strip()
    return text


# ---------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Number:
    """An exactly parsed number. `decimals`: digits after the point when written as a decimal."""

    value: Fraction
    percent: bool = False
    decimals: int | None = None


_PLAIN = re.compile(
    rf"([+-]?)(\d{{1,3}}(?:,\d{{3}})+|\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d{{1,{MAX_EXPONENT_DIGITS}}}))?"
)
_FRAC = re.compile(r"([+-]?)\\frac\s*(?:\{([^{}]+)\}|(\d))\s*(?:\{([^{}]+)\}|(\d))")
_TOKEN = re.compile(
    rf"(?<![\w.,/])(?:[+-]?\\frac\s*\{{[^{{}}]+\}}\s*\{{[^{{}}]+\}}"
    rf"|[+-]?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d{{1,{MAX_EXPONENT_DIGITS}}})?"
    rf"(?:\s*/\s*\d+(?:\.\d+)?)?%?"
    rf"|[+-]?\.\d+%?)(?!\w|[.,/]\d)"
)
_PROSE = re.compile(r"[^\W\d_]*(?:[\s.,:;!?'\u2019-]+[^\W\d_]*)*")  # words and punctuation only
_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}


def _plain(text: str) -> Number | None:
    """A plain decimal: `-1,234.50`, `.5`, `3e4`, `12%` (commas only as thousands separators)."""
    text = text.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].rstrip()
    m = _PLAIN.fullmatch(text)
    if not m or (m.group(2) is None and not m.group(3)):
        return None
    sign, whole, frac, exp = m.groups()
    try:
        value = Fraction((whole or "0").replace(",", "") + "." + (frac or "0"))
        if exp:
            value *= Fraction(10) ** int(exp)
    except (ValueError, ZeroDivisionError):  # e.g. more digits than int() will read
        return None
    if sign == "-":
        value = -value
    decimals = len(frac) if frac and not exp else None
    return Number(value, percent, decimals)


def parse_number(text: str, loose: bool = False) -> Number | None:
    """`text` as an exact number, or None.

    Strict forms: plain decimals (`1,000`, `-0.5`, `2e3`, `50%`), `a/b`, `\\frac{a}{b}`
    (`\\dfrac`, `\\frac12`), number words zero..twenty. With `loose`, also the one number
    in a phrase of plain words (`12 apples`, `about 3 cm.`) or after the last `=`
    (`x = 7`); two numbers, operators or code around it (`3 or 4`, `2^3`, `print(1)`)
    make it not a number.
    """
    t = normalise(text).rstrip(".").strip()
    if t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    n = _strict(t)
    if n is not None or not loose:
        return n
    if "=" in t:
        return parse_number(t.rsplit("=", 1)[1])
    matches = []
    for m in _TOKEN.finditer(t):
        matches.append(m)
        if len(matches) > 1:
            return None
    if not matches:
        return None
    (m,) = matches
    rest = t[: m.start()] + " " + t[m.end() :]
    return _strict(m.group(0)) if _PROSE.fullmatch(rest) else None


def _strict(t: str) -> Number | None:
    if not t:
        return None
    n = _plain(t)
    if n is not None:
        return n
    low = t.lower()
    if low in _WORDS:
        return Number(Fraction(_WORDS[low]))
    m = _FRAC.fullmatch(t)
    if m:
        sign, num_b, num_d, den_b, den_d = m.groups()
        num, den = _plain(num_b or num_d), _plain(den_b or den_d)
        return _ratio(sign, num, den)
    if "/" in t and t.count("/") == 1:
        a, b = t.split("/")
        return _ratio("", _plain(a), _plain(b))
    return None


def _ratio(sign: str, num: Number | None, den: Number | None) -> Number | None:
    if num is None or den is None or den.value == 0 or num.percent or den.percent:
        return None
    value = num.value / den.value
    return Number(-value if sign == "-" else value)


def numbers_equal(pred: Number, gold: Number) -> bool:
    """Exact equality, with two readings that graders accept.

    * Percent: `p%` may mean p or p/100 (on either side): `50%` = `50` = `0.5`.
    * Rounding: when the gold has no finite decimal expansion (1/3, 2/7), a prediction
      with d >= 2 decimals that equals the gold rounded half-away-from-zero to d places
      is right: `0.33` = `1/3`, `0.667` = `2/3`. A gold with a finite expansion is
      compared exactly: `0.13` != `0.125`.
    """
    preds = {pred.value} | ({pred.value / 100} if pred.percent else set())
    golds = {gold.value} | ({gold.value / 100} if gold.percent else set())
    if preds & golds:
        return True
    d = pred.decimals
    if d is None or d < 2 or pred.percent:
        return False
    scale = Fraction(10) ** d
    for g in golds:
        if _terminates(g):
            continue  # an exact decimal gold is compared exactly
        scaled = g * scale
        rounded = int(abs(scaled) + Fraction(1, 2)) * (1 if scaled >= 0 else -1)
        if Fraction(rounded) / scale == pred.value:
            return True
    return False


def _terminates(x: Fraction) -> bool:
    """Whether `x` has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


# ---------------------------------------------------------------- choices

_LETTER = re.compile(r"\(?\[?([A-Za-z])\]?\)?[.):]?")
_LETTER_LEAD = re.compile(r"\(?([A-Z])(?:\)|\.|:|\s*-)\s+\S.*|\(([A-Za-z])\)\s+\S.*", re.DOTALL)
_LETTER_PHRASE = re.compile(
    r"(?:the\s+)?(?:correct\s+|final\s+)?(?:option|choice|answer)(?:\s+is)?\s*[:\-]?\s*"
    r"\(?([A-Za-z])\)?(?:[.):,]|\s|$).*",
    re.IGNORECASE | re.DOTALL,
)


def parse_choice(text: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The option letter `text` names (upper case), or None.

    `B`, `b`, `(B)`, `B.`, `B) 12 apples`, `B. 12 apples`, `Option B`, `the answer is (b)` all
    name B. With `choices` (the option texts, A first), the text of an option names its
    letter too: `left` names A when choices[0] is "left"; a letter beyond the options
    (`y` among two options) is read as option text first.
    """
    t = normalise(text)
    m = _LETTER.fullmatch(t) or _LETTER_LEAD.fullmatch(t) or _LETTER_PHRASE.fullmatch(t)
    letter = next(g for g in m.groups() if g).upper() if m else None
    if choices and (letter is None or ord(letter) - ord("A") >= len(choices)):
        key = normalise_text(t)
        for i, option in enumerate(choices[:26]):
            if normalise_text(option) == key:
                return chr(ord("A") + i)
    return letter


# ---------------------------------------------------------------- free text

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Case-folded, whitespace collapsed, surrounding quotes and trailing punctuation removed."""
    t = _WS.sub(" ", normalise(text)).strip().casefold()
    return t.rstrip(".,;:!?\u3002 ").strip()


# ---------------------------------------------------------------- sequences and grids


def _cell(token: str) -> str:
    """A canonical cell/item: integers without leading zeros or `+`, other text case-folded."""
    t = token.strip().strip("\"'`").strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return str(int(t)) if len(t) < 1000 else t.lstrip("+")
    return t.casefold()


_OUTER = {"[": "]", "(": ")", "{": "}", "<": ">"}


def parse_sequence(text: str) -> tuple[str, ...] | None:
    """An ordered list: `[1, 2, 3]`, `1,2,3`, `1 2 3`, `(a; b; c)`, `1 -> 2 -> 3`; None if empty.

    Items are split on commas/semicolons when present (so items may contain spaces),
    else on arrows, else on whitespace.
    """
    t = normalise(text)
    if len(t) >= 2 and _OUTER.get(t[0]) == t[-1]:
        t = t[1:-1].strip()
    if not t:
        return None
    if "," in t or ";" in t:
        parts = re.split(r"[,;]", t)
    elif "->" in t or "\u2192" in t:
        parts = re.split(r"->|\u2192", t)
    else:
        parts = t.split()
    items = tuple(_cell(p) for p in parts)
    return items if items and all(items) else None


_ROW_RULE = re.compile(r"[-+=|:\s]+")
_MATRIX_ENV = re.compile(r"\\(?:begin|end)\{[a-zA-Z*]*\}")


def parse_grid(text: str) -> tuple[tuple[str, ...], ...] | None:
    """Rows of cells, or None. Any of these is the grid ((1, 2), (3, 4)):

    `1 2\\n3 4`, `12\\n34` (a row with no separators is one cell per character),
    `[[1,2],[3,4]]`, `1,2;3,4`, `| 1 | 2 |` table rows, and LaTeX matrices
    `\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}`.
    """
    if "\\begin" in text or "&" in text:  # before `normalise`, which would eat the `\\ ` row breaks
        t = _MATRIX_ENV.sub("", text)
        rows_text = [normalise(r).replace("&", " ") for r in t.split("\\\\")]
    elif (t := normalise(text)).startswith("["):
        inner = re.findall(r"\[([^\[\]]*)\]", t)
        if not inner:
            return None
        rows_text = [r.replace(",", " ").replace("'", " ").replace('"', " ") for r in inner]
    else:
        lines = t.splitlines()
        if len(lines) == 1 and ";" in t:
            lines = t.split(";")
        rows_text = [ln for ln in lines if ln.strip() and not _ROW_RULE.fullmatch(ln.strip())]
    rows = []
    for r in rows_text:
        r = r.strip().strip("|").strip()
        if not r:
            continue
        if re.search(r"[\s,|]", r):
            cells = [c for c in re.split(r"[\s,|]+", r) if c]
        elif r.isalnum() or re.fullmatch(r"[\w.*]+", r):
            cells = list(r)
        else:
            return None
        rows.append(tuple(_cell(c) for c in cells))
    return tuple(rows) if rows else None


def fit_grid_shape(grid: tuple[tuple[str, ...], ...], shape: tuple[int, int]) -> tuple[tuple[str, ...], ...]:
    """Read a one-line grid in the gold's (rows, cols) shape when that is unambiguous.

    `1234 3412 2143 4321` (one token per row) or `1 2 3 4 3 4 1 2 ...` (all cells in
    row-major order) become rows; anything else is returned unchanged.
    """
    n_rows, n_cols = shape
    if len(grid) != 1 or n_rows <= 1:
        return grid
    (row,) = grid
    if len(row) == n_rows and all(len(tok) == n_cols for tok in row):
        return tuple(tuple(_cell(ch) for ch in tok) for tok in row)
    if len(row) == n_rows * n_cols:
        return tuple(row[i * n_cols : (i + 1) * n_cols] for i in range(n_rows))
    return grid


# ---------------------------------------------------------------- boxes

_BOX_NUM = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")


def parse_box(text: str) -> tuple[float, float, float, float] | None:
    """A box `[x1, y1, x2, y2]` (any brackets/separators, e.g. `(x1,y1),(x2,y2)`), or None.

    Exactly four numbers, with x1 <= x2 and y1 <= y2, all finite.
    """
    nums = _BOX_NUM.findall(normalise(text))
    if len(nums) != 4:
        return None
    x1, y1, x2, y2 = (float(n) for n in nums)
    if not all(abs(v) < 1e12 for v in (x1, y1, x2, y2)) or x2 < x1 or y2 < y1:
        return None
    return (x1, y1, x2, y2)
