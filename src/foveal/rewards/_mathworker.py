"""The child process behind `foveal.rewards.limits.WorkerPool`: math-verify on request.

Reads one JSON object per line on stdin, `{"gold": str, "pred": str}`, and answers one
per line on stdout: `{"ok": bool}`, or `{"bad_gold": true}` when the gold answer parses
to nothing (anything else that prints goes to stderr, which the parent discards). It
prints `ready` once SymPy and math-verify are imported and warmed up. It runs
math-verify with its signal timeouts off: the parent enforces the deadline by killing
this process. Its address space is capped so a runaway SymPy computation ends in
MemoryError rather than swapping the machine.
"""

from __future__ import annotations

import json
import logging
import os
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
    def parse_gold(text: str):
        return parse(as_latex(text), config, parsing_timeout=None)

    for gold, pred in WARM_UP:  # SymPy is slow the first time each kind of comparison runs
        verify(parse_gold(gold), parse(as_latex(pred), config, parsing_timeout=None), timeout_seconds=None)
    out.write(b"ready\n")
    out.flush()
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            gold = parse_gold(req["gold"])
            if not gold:
                reply = {"bad_gold": True}
            else:
                pred = parse(as_latex(req["pred"]), config, parsing_timeout=None)
                reply = {"ok": bool(pred) and bool(verify(gold, pred, timeout_seconds=None))}
        except BaseException:  # noqa: BLE001 - any failure on model output means "not verified"
            reply = {"ok": False}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
