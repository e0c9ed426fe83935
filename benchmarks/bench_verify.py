"""foveal.rewards.score vs plain math-verify on a mixed corpus of (completion, gold) pairs.

    .venv/bin/python benchmarks/bench_verify.py            # 10,000 pairs
    .venv/bin/python benchmarks/bench_verify.py --n 2000   # quicker

The corpus (seeded) mixes integers, fractions, choice letters (A-E), LaTeX expressions
and junk, right and wrong, each pair labelled with the truth it was built from.
Completions are R1-formatted (`<think>…</think><answer>…</answer>`, reasoning without
digits).

* foveal: `score(completion, gold, answer_type)` (the `r1` format, extraction included).
* math-verify, called as its README says: `verify(parse(gold), parse(answer))` on the
  answer block's content: numbers and fractions as written (not wrapped in `$…$`; its
  default extraction reads plain numbers and `\\frac{a}{b}`), LaTeX expressions inside
  `$…$` as its README writes them, and for choices
  `parse(x, [StringExtractionConfig(strings=letters)])` with the corpus's letters A-E.
  Its own signal timeouts stay on (main thread).

Prints the first-call latency of a fresh process (import foveal.rewards, then one
symbolic comparison: no cold start), then for each side throughput and accuracy against
the labels, the agreement of the two per category, the speed ratios (overall and on
numbers, fractions and choices, the goal being >= 5x at >= 99.5% agreement), and the
disagreements by category, with examples.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from fractions import Fraction

THINK = "<think>Read the figure, count carefully, check the result once more.</think>"
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _completion(answer: str) -> str:
    return f"{THINK}<answer>{answer}</answer>"


def _integer(rng: random.Random):
    n = rng.choice([rng.randint(0, 20), rng.randint(-100, 100), rng.randint(1000, 10**7)])
    right = rng.random() < 0.6
    value = n if right else n + rng.choice([-1, 1, 2, 10])
    forms = [str(value), f"{value}.0", f"{value:,}" if abs(value) >= 1000 else str(value), f"{value} items"]
    if not right and rng.random() < 0.2:
        forms = [str(-n)] if n else ["1"]
    return (
        "integer",
        "number",
        str(n),
        _completion(rng.choice(forms)),
        right or (n == 0 and forms == [str(-n)]),
    )


def _fraction(rng: random.Random):
    f = Fraction(rng.randint(-40, 40), rng.randint(2, 16))
    if f.denominator == 1:
        f += Fraction(1, 2)
    gold = rng.choice([f"{f.numerator}/{f.denominator}", f"\\frac{{{f.numerator}}}{{{f.denominator}}}"])
    right = rng.random() < 0.6
    v = f if right else f + rng.choice([Fraction(1, f.denominator), Fraction(1), -2 * f])
    k = rng.randint(2, 4)
    forms = [
        f"{v.numerator}/{v.denominator}",
        f"\\frac{{{v.numerator}}}{{{v.denominator}}}",
        f"\\frac{{{v.numerator * k}}}{{{v.denominator * k}}}",
    ]
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        forms.append(str(v.numerator / v.denominator))
    return "fraction", "number", gold, _completion(rng.choice(forms)), v == f


LETTERS = ("A", "B", "C", "D", "E")


def _choice(rng: random.Random):
    letters = LETTERS
    gold = rng.choice(letters)
    right = rng.random() < 0.6
    letter = gold if right else rng.choice([c for c in letters if c != gold])
    form = rng.choice(["{}", "({})", "{}", "Option {}", "{}. the third figure"])
    return "choice", "choice", gold, _completion(form.format(letter)), right


def _latex(rng: random.Random):
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    kinds = [
        (f"(x+{a})^2", f"x^2+{2 * a}x+{a * a}", f"x^2+{2 * a}x+{a * a + 1}"),
        (
            f"\\frac{{\\sqrt{{{a * a * b}}}}}{{{b}}}",
            f"\\frac{{{a}\\sqrt{{{b}}}}}{{{b}}}",
            f"\\frac{{{a + 1}\\sqrt{{{b}}}}}{{{b}}}",
        ),
        (f"{a}\\pi", f"\\pi \\cdot {a}", f"{a + 1}\\pi"),
        (f"x^{{{a}}} \\cdot x^{{{b}}}", f"x^{{{a + b}}}", f"x^{{{a + b + 1}}}"),
        (f"\\sqrt{{{a * a}}}", f"{a}", f"{a + 1}"),
    ]
    gold, same, other = rng.choice(kinds)
    right = rng.random() < 0.6
    return "latex", "math", gold, _completion(same if right else other), right


_JUNK = [
    "I cannot tell from the image.",
    "print(1)",
    "\\frac{1}{",
    "the answer",
    "see above",
    "</answer>",
    "???",
    "{{}}",
]


def _junk(rng: random.Random):
    gold = str(rng.randint(1, 50))
    text = rng.choice(_JUNK + ["".join(rng.choice("qwertyuiop ") for _ in range(rng.randint(5, 60)))])
    return "junk", "number", gold, _completion(text), False


MIX = [(_integer, 0.30), (_fraction, 0.20), (_choice, 0.25), (_latex, 0.10), (_junk, 0.15)]


def corpus(n: int, seed: int) -> list[tuple[str, str, str, str, bool]]:
    rng = random.Random(seed)
    makers, weights = zip(*MIX, strict=True)
    return [rng.choices(makers, weights)[0](rng) for _ in range(n)]


def run_foveal(pairs):
    from foveal.rewards import score
    from foveal.rewards.limits import POOL

    POOL.warm(2)  # worker start-up happens once per process; not part of throughput
    out, secs = [], defaultdict(float)
    for cat, t, g, c, _ in pairs:
        t0 = time.perf_counter()
        out.append(score(c, g, t) == 1.0)
        secs[cat] += time.perf_counter() - t0
    return out, secs


def run_math_verify(pairs):
    from math_verify import StringExtractionConfig, parse, verify

    strings = [StringExtractionConfig(strings=LETTERS)]
    parse("$\\frac{1}{2}$"), parse("B", strings)  # warm its grammar and caches
    decided, verdicts, secs = [], [], defaultdict(float)
    for cat, t, g, c, _ in pairs:
        t0 = time.perf_counter()
        m = _ANSWER.search(c)
        answer = m.group(1) if m else ""
        if t == "choice":
            pg, pp = parse(g, strings), parse(answer, strings)
        elif cat == "latex":  # LaTeX goes in math delimiters, as math-verify's README writes it
            pg, pp = parse(f"${g}$"), parse(f"${answer}$")
        else:  # numbers and fractions as written
            pg, pp = parse(g), parse(answer)
        decided.append(bool(pg) and bool(pp))
        verdicts.append(bool(pg) and bool(pp) and verify(pg, pp))
        secs[cat] += time.perf_counter() - t0
    return verdicts, decided, secs


FIRST_CALL = """
import os, time
t0 = time.perf_counter()
import foveal.rewards as R
t1 = time.perf_counter()
ok = R.verify("x^2+2x+1", "(x+1)^2", "math")
t2 = time.perf_counter()
cpu = -1.0
try:  # CPU seconds of the busiest worker until now (the one that answered): the latency on an idle machine
    for w in R.limits.POOL._idle:
        fields = open(f"/proc/{w.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = max(cpu, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
except (OSError, ValueError, IndexError):
    pass
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {ok} {cpu:.2f}")
"""


def first_call_latency() -> tuple[float, float, bool, float]:
    """(import s, first symbolic verification s, its verdict, worker CPU s until then) in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CALL],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    imp, first, ok, cpu = out.stdout.split()
    return float(imp), float(first), ok == "True", float(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    imp, first, ok, cpu = first_call_latency()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"first call: import foveal.rewards {imp:.3f} s, then the first symbolic verification {first:.3f} s "
        f"({'right' if ok else 'WRONG'}; load average {load:.1f} on {os.cpu_count()} cores); the worker "
        f"used {cpu:.2f} s of CPU until its reply, about the wall time on an idle machine (goal < 1 s)"
    )

    pairs = corpus(args.n, args.seed)
    mix = Counter(p[0] for p in pairs)
    print(
        f"corpus: {len(pairs)} pairs, {sum(p[4] for p in pairs)} right by construction; "
        + ", ".join(f"{k} {v}" for k, v in sorted(mix.items()))
    )

    fov, fov_s = run_foveal(pairs)
    mv, mv_decided, mv_s = run_math_verify(pairs)

    labels = [p[4] for p in pairs]
    cats = sorted(mix)
    print(f"{'':12s} {'all':>16s} " + " ".join(f"{c:>10s}" for c in cats) + "   (pairs/s)")
    for name, verdicts, secs in (("foveal", fov, fov_s), ("math-verify", mv, mv_s)):
        acc = sum(v == y for v, y in zip(verdicts, labels, strict=True)) / len(pairs)
        total = sum(secs.values())
        print(
            f"{name:12s} {len(pairs) / total:8.0f} ({total:5.1f} s) "
            + " ".join(f"{mix[c] / secs[c]:10.0f}" for c in cats)
            + f"   accuracy vs labels {acc:.4f}"
        )
    for name, verdicts in (("foveal", fov), ("math-verify", mv)):
        print(
            f"{'right/label ' + name:24s} "
            + " ".join(
                f"{sum(verdicts[i] == labels[i] for i in range(len(pairs)) if pairs[i][0] == c) / mix[c]:10.4f}"
                for c in cats
            )
        )
    agree = {c: sum(fov[i] == mv[i] for i in range(len(pairs)) if pairs[i][0] == c) / mix[c] for c in cats}
    print(f"{'agreement foveal = mv':24s} " + " ".join(f"{agree[c]:10.4f}" for c in cats))
    total_agree = sum(fov[i] == mv[i] for i in range(len(pairs))) / len(pairs)
    core = [c for c in ("integer", "fraction", "choice") if c in mix]
    core_n = sum(mix[c] for c in core)
    core_agree = sum(fov[i] == mv[i] for i in range(len(pairs)) if pairs[i][0] in core) / max(1, core_n)
    core_ratio = sum(mv_s[c] for c in core) / max(1e-9, sum(fov_s[c] for c in core))
    print(
        f"agreement overall {total_agree:.4f}; on numbers, fractions and choices {core_agree:.4f} "
        f"(math-verify parsed nothing on {len(pairs) - sum(mv_decided)} pairs)"
    )
    print(
        f"speed ratio foveal / math-verify: {sum(mv_s.values()) / sum(fov_s.values()):.1f}x overall, "
        f"{core_ratio:.1f}x on numbers, fractions and choices "
        f"(goal >= 5x at >= 99.5% agreement: {'met' if core_ratio >= 5 and core_agree >= 0.995 else 'NOT met'})"
    )

    against = sum(fov[i] != mv[i] and fov[i] != labels[i] for i in range(len(pairs)))
    print(
        f"disagreements where foveal contradicts the label: {against} "
        f"(where math-verify does: {sum(fov[i] != mv[i] and mv[i] != labels[i] for i in range(len(pairs)))})"
    )
    cases = defaultdict(list)
    for i, (cat, _t, g, c, y) in enumerate(pairs):
        if fov[i] != mv[i]:
            key = "foveal wrong, math-verify right" if mv[i] else "foveal right, math-verify wrong"
            cases[(key, cat)].append((g, _ANSWER.search(c).group(1), y))
    for (key, cat), items in sorted(cases.items()):
        fov_correct = sum((key.startswith("foveal right")) == y for _, _, y in items)
        print(
            f"  {key:34s} {cat:9s} {len(items):5d}  (foveal matches the label on {fov_correct}); "
            f"e.g. " + "; ".join(f"gold {g!r} answer {a!r}" for g, a, _ in items[:2])
        )


if __name__ == "__main__":
    main()
