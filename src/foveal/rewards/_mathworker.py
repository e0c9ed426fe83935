"""The child process behind `foveal.rewards.limits.WorkerPool`: math-verify on request.

Reads one JSON object per line on stdin, `{"gold": str, "pred": str, "mode": str}`, and
answers one per line on stdout: `{"ok": bool, "warm": bool}`, or `{"bad_gold": true}` when
the gold answer parses to nothing (anything else that prints goes to stderr, which the
parent discards). Modes: `answer` (an extracted answer: text without math delimiters is
read inside `$…$`) and `raw` (a whole completion, read by math-verify's own extraction as
its documentation calls it; a gold that parses to nothing alone is read inside `$…$`).

It prints `ready` as soon as SymPy and math-verify are imported (a few tenths of a
second), so the first request after start-up is answered at once; it then runs the
WARM_UP comparisons (SymPy is slow the first time each kind of comparison runs) one at a
time whenever no request is waiting (or all at once on `{"finish_warm_up": true}`); it
prints `warm` when it finishes them between requests, and its replies say `warm: true`
once they are done (the parent prefers warm workers and allows a cold one a longer
deadline). It runs
math-verify with its signal timeouts off: the parent enforces the deadline by killing
this process. Its address space is capped so a runaway SymPy computation ends in
MemoryError rather than swapping the machine.
"""

from __future__ import annotations

import json
import logging
import os
import select
import sys
from functools import lru_cache

MEMORY_LIMIT_BYTES = 2 << 30
WARM_UP = [
    ("\\frac{1}{2}", "0.5"),
    ("(x+2)^2", "x^2+4x+4"),
    ("x^{9} \\cdot x^{6}", "x^{15}"),
    ("3\\pi", "\\pi \\cdot 3"),
    ("\\frac{\\sqrt{12}}{3}", "\\frac{2\\sqrt{3}}{3}"),
    ("\\sin^2 x + \\cos^2 x", "1"),
    ("x = 2", "2"),
    ("[1, 2)", "[1, 2)"),
    ("\\{1, 2\\}", "\\{2, 1\\}"),
    ("e^{i\\pi}", "-1"),
    ("\\log_2 8", "3"),
]


def _limit_memory() -> None:
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT_BYTES, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _lines(fd: int, idle):
    """Lines from `fd`; `idle()` is called while no input is waiting and it has work left."""
    buf = b""
    while True:
        while b"\n" not in buf:
            while idle is not None and not select.select([fd], [], [], 0)[0]:
                if not idle():
                    idle = None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        yield line


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")  # the protocol channel; stray prints go to stderr (discarded)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _limit_memory()
    logging.disable(logging.CRITICAL)
    import math_verify.grader
    import math_verify.parser
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    math_verify.grader.TIMEOUT_WARNING_SHOWN = True
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True
    config = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]

    def as_latex(text: str) -> str:
        return text if any(d in text for d in ("$", "\\(", "\\[", "\\boxed")) else f"${text}$"

    @lru_cache(maxsize=4096)
    def parse_gold(text: str, mode: str):
        if mode == "raw":
            return parse(text, config, parsing_timeout=None) or parse(
                as_latex(text), config, parsing_timeout=None
            )
        return parse(as_latex(text), config, parsing_timeout=None)

    def compare(gold_text: str, pred_text: str, mode: str) -> dict:
        gold = parse_gold(gold_text, mode)
        if not gold:
            return {"bad_gold": True}
        pred = parse(pred_text if mode == "raw" else as_latex(pred_text), config, parsing_timeout=None)
        return {"ok": bool(pred) and bool(verify(gold, pred, timeout_seconds=None))}

    warm_up = list(WARM_UP)

    def idle() -> bool:
        """One warm-up comparison while no request waits; `warm` is announced after the last."""
        if warm_up:
            gold, pred = warm_up.pop(0)
            compare(gold, pred, "answer")
            if not warm_up:
                out.write(b"warm\n")
                out.flush()
        return bool(warm_up)

    out.write(b"ready\n")
    out.flush()
    for line in _lines(sys.stdin.buffer.fileno(), idle):
        try:
            req = json.loads(line)
            if req.get("finish_warm_up"):
                while warm_up:
                    idle()
                reply = {"ok": True}
            else:
                reply = compare(req["gold"], req["pred"], req.get("mode", "answer"))
        except BaseException:  # noqa: BLE001 - any failure on model output means "not verified"
            reply = {"ok": False}
        reply["warm"] = not warm_up
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
