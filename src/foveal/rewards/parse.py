"""Reading an answer string as a typed value: number, letter, text, grid, sequence, box.

Every parser here is linear-time regex/string code, returns None for anything it cannot
read (model output is never trusted), and never calls `eval`. Callers cap input sizes
(`foveal.rewards.limits`) before calling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

from foveal.rewards.limits import MAX_EXPONENT_DIGITS

# ---------------------------------------------------------------- LaTeX / markup clean-up

_TEXT_CMD = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_LATEX_THOUSANDS = re.compile(r"(?<=\d)(?:\{,\}|,\s*\\[!,;])\s*(?=\d{3}(?!\d))")
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
    """Undo common LaTeX/markdown wrapping: `\\text{}`, `\\,`, `{,}`, `\\%`, `**bold**`, degree marks,
    thousands separators written with LaTeX spacing (`11,\\! 111,\\! 100` -> `11,111,100`)."""
    if "\\" in text or "{,}" in text:
        text = _LATEX_THOUSANDS.sub(",", text)
    for old, new in _SIMPLE_REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    if "\\" in text:
        text = _TEXT_CMD.sub(r"\1", text)
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "*_`\"'":
        text = text[1:-1].strip()
    return text


# ---------------------------------------------------------------- answer phrases

_INLINE_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{([^{}]*)\}")
_MARKUP = re.compile(r"\*\*|__|`|(?<!\\)\$")
_LEADS = re.compile(
    r"(?:(?:so|thus|therefore|hence)\s*,?\s+"
    r"|(?:the\s+)?(?:final\s+|correct\s+|right\s+)?(?:total\s+)?"
    r"(?:answer|result|total|count|number|value|sum|option|choice)(?:\s+of(?:\s+[a-z]+){1,3})?\s*(?:is\s*:?|:|=)\s*"
    r"|(?:there\s+(?:are|is)|i\s+count|i\s+see|it\s+is|it's|that\s+is|exactly|a\s+total\s+of|in\s+total,?)\s+)",
    re.IGNORECASE,
)
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn"})


def plain(text: str) -> str:
    """`normalise`, then inline markup removed: `**`, `__`, backticks, `$`, and `\\boxed{X}` -> X."""
    t = normalise(text)
    if "\\" in t:
        t = _INLINE_BOX.sub(r"\1", t)
    return _MARKUP.sub("", t).strip()


def strip_leads(text: str) -> str:
    """Drop the harmless lead-ins of a stated answer: `so`, `the answer is`, `answer:`, `there are`,
    `I count`, `it is`, `exactly`, ... (a closed list; anything else stays and must parse)."""
    for _ in range(4):
        m = _LEADS.match(text)
        if not m or not m.end():
            break
        text = text[m.end() :].lstrip()
    return text


def has_invisible(text: str) -> bool:
    """Whether `text` holds zero-width, format, control or unassigned characters (tabs and newlines aside):
    what a reader sees and what a parser reads would differ."""
    return any(
        unicodedata.category(ch) in _INVISIBLE_CATEGORIES
        for ch in text
        if not ch.isascii() or ch < " " and ch not in "\t\n\r"
    )


# ---------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Number:
    """An exactly parsed number. `decimals`: digits after the point when written as a decimal."""

    value: Fraction
    percent: bool = False
    decimals: int | None = None


_PLAIN = re.compile(
    rf"([+-]?)([1-9]\d{{0,2}}(?:,\d{{3}})+|\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d{{1,{MAX_EXPONENT_DIGITS}}}))?",
    re.ASCII,
)
_FRAC = re.compile(r"([+-]?)\\frac\s*(?:\{([^{}]+)\}|(\d))\s*(?:\{([^{}]+)\}|(\d))")
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
    (`\\dfrac`, `\\frac12`), number words zero..twenty. With `loose` (how a model's answer
    is read), also one stated number: an allowed lead-in (`the answer is`, `x =`, `there
    are`, see `strip_leads`), the number, then up to four unit words (`4 circles`, `12 cm`).
    Anything else makes it not a number: two numbers (`3 or 4`, `3-5`, `x = 3, y = 4`,
    `3 = 4`), a hedge, bound or negation (`not 4`, `at least 4`, `4 or more`, `~4`, `≥4`,
    `4?`), operators or code (`2^3`, `print(1)`).
    """
    t = normalise(text).rstrip(".").strip()
    if t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    n = _strict(t)
    if n is not None or not loose:
        return n
    return _stated_number(text)


_VARIABLE = re.compile(r"[A-Za-z][A-Za-z_]{0,15}\s*=\s*")
_NOT_UNITS = frozenset(
    """or and not no nor than more less fewer least most maybe perhaps probably possibly likely unlikely
    approximately approx about around roughly nearly almost over under above below between to plus minus
    times either neither except unless wait guess think believe if but actually instead ish up max min
    maximum minimum greater smaller larger lower higher beyond at wrong incorrect false unsure uncertain
    possible could might may would should estimate estimated none isn't aren't wasn't not's so each per
    range through till until from another other others else excluding besides next previous""".split()
)


def _stated_number(text: str) -> Number | None:
    """One stated number: [lead-in] [name =] number [unit words], see `parse_number`."""
    t = " ".join(plain(text).split())
    t = t[:-1].rstrip() if t.endswith((".", "!")) else t
    t = strip_leads(t)
    m = _VARIABLE.match(t)
    if m:
        t = t[m.end() :]
    if "=" in t:
        return None
    head, _, tail = t.partition(" ")
    if head.startswith("(") and head.endswith(")") and len(head) > 2:
        head = head[1:-1]
    n = _strict(head)
    if n is None:
        return None
    words = tail.split()
    return n if len(words) <= 4 and all(unit_word(w) for w in words) else None


def unit_word(word: str) -> bool:
    """Whether `word` may follow a stated number as its unit (`circles`, `cm^2`): a plain word
    that is no hedge, bound, negation, connective or number word (see _NOT_UNITS)."""
    w = word.lower()
    return (
        re.fullmatch(r"[a-z][a-z'\-]*(?:\^\{?\d\}?)?", w) is not None
        and w not in _NOT_UNITS
        and w not in _WORDS
        and not w.endswith("n't")
    )


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

_LABEL = r"(?:\(([A-Za-z])\)|\[([A-Za-z])\]|([A-Z])|(?i:option|choice)\s*\(?([A-Za-z])\)?)"
_LETTER = re.compile(_LABEL + r"[.):]?")
_LETTER_AND_TEXT = re.compile(_LABEL + r"(?:\s*[.):\-]\s*|\s+)(\S.*)", re.DOTALL)
_BARE = re.compile(r"\(?([A-Za-z])[.)]?")
_ARTICLE = re.compile(r"(?:a|an|the)\s+", re.IGNORECASE)
_UNSURE = re.compile(
    r"\b(?:no|not|wait|or|maybe|perhaps|probably|possibly|actually|instead|but|either|unless)\b|\b[A-Z]\b|\?",
    re.IGNORECASE,
)


def parse_choice(text: str, choices: tuple[str, ...] | None = None) -> str | None:
    """The one option `text` names (its letter, upper case), or None.

    An option is named by its label, `B`, `(b)`, `[B]`, `B.`, `B)`, `Option B`, `choice b`,
    after an allowed lead-in (`The answer is (B).`); a bare lower-case letter only when it
    is the whole answer (`b`), never inside a sentence (`the answer is a guess`: the
    article, not option A). A label may be followed by that option's text (`B. circle`);
    text that is not that option's text makes it wrong (`A. no wait, B`; with unknown
    `choices`, any hedge or other letter). With `choices` (option texts, A first), the
    text of exactly one option names it (`The answer is a circle`), and a letter must be
    one of the options (a letter beyond them is read as option text: `O` among X, O).
    """
    t = " ".join(plain(text).split())
    t = t[:-1].rstrip() if t.endswith((".", "!")) else t
    m = _BARE.fullmatch(t)
    if m and (t[0] != "(" or t[-1] == ")"):
        return _in_range(m.group(1).upper(), t, choices)
    t = strip_leads(t)
    m = _LETTER.fullmatch(t)
    if m:
        return _in_range(_group(m), t, choices)
    m = _LETTER_AND_TEXT.fullmatch(t)
    if m:
        letter, rest = _group(m), m.group(5)
        if choices:
            i = ord(letter) - ord("A")
            return letter if i < len(choices) and _same_text(rest, choices[i]) else _by_text(t, choices)
        return None if _UNSURE.search(rest) else letter
    return _by_text(t, choices)


def _group(m: re.Match) -> str:
    return next(g for g in m.groups()[:4] if g).upper()


def _in_range(letter: str, text: str, choices: tuple[str, ...] | None) -> str | None:
    if not choices or ord(letter) - ord("A") < len(choices):
        return letter
    return _by_text(text, choices)


def _same_text(said: str, option: str) -> bool:
    a, b = normalise_text(said), normalise_text(option)
    return a == b or _ARTICLE.sub("", a, count=1) == _ARTICLE.sub("", b, count=1)


def _by_text(text: str, choices: tuple[str, ...] | None) -> str | None:
    """The letter of the one option whose text `text` is (articles aside); None if none or several."""
    if not choices:
        return None
    hits = [i for i, option in enumerate(choices[:26]) if _same_text(text, option)]
    return chr(ord("A") + hits[0]) if len(hits) == 1 else None


# ---------------------------------------------------------------- free text

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Case-folded, whitespace collapsed, surrounding quotes and trailing punctuation removed
    (not `?`: a question is not an answer)."""
    t = _WS.sub(" ", normalise(text)).strip().casefold()
    return t.rstrip(".,;:!\u3002 ").strip()


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

_N = r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?)\s*"
_BOX_FORMS = (
    re.compile(rf"\[?{_N},{_N},{_N},{_N}\]?"),
    re.compile(rf"\({_N},{_N},{_N},{_N}\)"),
    re.compile(rf"\[?\s*[\[(]{_N},{_N}[\])]\s*,?\s*[\[(]{_N},{_N}[\])]\s*\]?"),
)


def parse_box(text: str) -> tuple[float, float, float, float] | None:
    """A box `[x1, y1, x2, y2]`, or None.

    Written as `[x1, y1, x2, y2]`, `x1, y1, x2, y2`, `(x1, y1, x2, y2)`, `(x1, y1), (x2, y2)`
    or `[[x1, y1], [x2, y2]]`, after an allowed lead-in; exactly four finite numbers with
    x1 <= x2 and y1 <= y2. Anything else around them (`not`, a second box) is not a box.
    """
    t = strip_leads(" ".join(plain(text).split()))
    t = t[:-1].rstrip() if t.endswith(".") else t
    m = next((m for form in _BOX_FORMS if (m := form.fullmatch(t))), None)
    if m is None:
        return None
    x1, y1, x2, y2 = (float(n) for n in m.groups())
    if not all(abs(v) < 1e12 for v in (x1, y1, x2, y2)) or x2 < x1 or y2 < y1:
        return None
    return (x1, y1, x2, y2)


# ---------------------------------------------------------------- frame intervals

_FRAME = r"\s*(?:frames?\s*)?(\d{1,6})\s*"
_INTERVAL_FORMS = (
    re.compile(rf"\[{_FRAME},{_FRAME}\]"),
    re.compile(rf"\({_FRAME},{_FRAME}\)"),
    re.compile(rf"{_FRAME},{_FRAME}"),
    re.compile(rf"(?:from\s+)?{_FRAME}(?:-|\u2013|\u2014|to|through|until){_FRAME}"),
)


def parse_interval(text: str) -> tuple[int, int] | None:
    """A frame interval `[start, end]` (1-based, inclusive, start <= end), or None.

    Written as `[s, e]`, `(s, e)`, `s, e`, `s-e`, `s–e`, `s to e`, `frames s to e` or `from
    frame s to frame e`, after an allowed lead-in; exactly two whole frame numbers >= 1.
    Anything else around them (`not`, `or`, a second interval, a decimal) is not an interval.
    """
    t = strip_leads(" ".join(plain(text).split()))
    t = t[:-1].rstrip() if t.endswith(".") else t
    m = next((m for form in _INTERVAL_FORMS if (m := form.fullmatch(t))), None)
    if m is None:
        return None
    start, end = int(m.group(1)), int(m.group(2))
    return (start, end) if 1 <= start <= end else None
